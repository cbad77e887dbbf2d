// Challenge page: submit through the API, follow the submission (phase, queue position, wait) until its
// verdict, reveal hints, and show the history and (after a pass) the reference solution, all without a
// reload. The editor never loses work: drafts are kept in this browser's localStorage (per learner and
// challenge) as the learner types and restored on the next visit, reset asks first and can be undone, and
// "Run on examples" runs the code on the kind's visible examples without counting an attempt.
// Learner-controlled text (code, tracebacks in messages, example output) is only ever set with textContent,
// except in the verdict box, which is HTML rendered (and escaped) by the server's own template, and in
// hints, which are the server's sanitized rendering of the challenge's Markdown.
(function () {
  "use strict";

  const root = document.getElementById("challenge");
  if (!root) return;

  const BADGES = {
    passed: "badge-passed", failed: "badge-failed", error: "badge-failed", timeout: "badge-failed",
    queued: "badge-running", running: "badge-running", attempted: "badge-failed", not_tried: "badge-available",
  };
  const STATUS_LABELS = {
    queued: "Queued", running: "Running", passed: "Passed", failed: "Failed", error: "Error", timeout: "Timed out",
  };
  const STANDING_LABELS = { not_tried: "Not tried", attempted: "Attempted", passed: "Passed" };
  const PHASE_LABELS = { queued: "Queued…", running: "Running…", checking: "Checking…" };

  const form = document.getElementById("submit-form");
  const textarea = document.getElementById("id_code");
  const submitButton = document.getElementById("submit-button");
  const resetButton = document.getElementById("reset-button");
  const statusLine = document.getElementById("submit-status");
  const errorLine = document.getElementById("submit-error");
  const verdictBox = document.getElementById("verdict");
  const historyBox = document.getElementById("history");
  const hintForm = document.getElementById("hint-form");
  const hintButton = document.getElementById("hint-button");
  const hintsList = document.getElementById("hints-list");
  const solutionBox = document.getElementById("solution");
  const referenceCode = document.getElementById("reference-code");
  const starter = JSON.parse(document.getElementById("starter-code").textContent);
  const maxBytes = Number(root.dataset.maxBytes);
  const draftNote = document.getElementById("draft-note");
  const draftTime = document.getElementById("draft-time");
  const discardDraftButton = document.getElementById("discard-draft");
  const draftStatus = document.getElementById("draft-status");
  const resetDialog = document.getElementById("reset-dialog");
  const resetNote = document.getElementById("reset-note");
  const undoResetButton = document.getElementById("undo-reset");
  const tryButton = document.getElementById("try-button");
  const examplesBox = document.getElementById("examples");
  const examplesResult = document.getElementById("examples-result");

  function csrfToken() {
    const input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function editor() {
    return textarea._learnpathEditor || null;
  }

  function currentCode() {
    const ed = editor();
    return ed ? ed.getValue() : textarea.value;
  }

  function setCode(code) {
    const ed = editor();
    if (ed) ed.setValue(code);
    else textarea.value = code;
  }

  function tooLong(code) {
    return new TextEncoder().encode(code).length > maxBytes;
  }

  async function api(url, { headers = {}, ...options } = {}) {
    const response = await fetch(url, {
      credentials: "same-origin",
      ...options,
      headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken(), ...headers },
    });
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    return { response, body };
  }

  // A fresh Idempotency-Key per user action: the server carries an action out once, and answers a retry of it
  // (same key) with the first response instead of recording it again. randomUUID needs a secure context
  // (https, or localhost); a site served over plain http elsewhere gets the same from getRandomValues.
  function newIdempotencyKey() {
    if (window.crypto.randomUUID) return window.crypto.randomUUID();
    const bytes = window.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // the RFC 4122 variant
    const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  const RETRY_DELAYS_MS = [1000, 3000];

  // POST one user action (a submission, a run on examples, a hint). A lost connection or a gateway's 502/503/504
  // is retried with the same key: whether or not the first try reached the server, the action happens once.
  async function postAction(url, payload) {
    const key = newIdempotencyKey();
    const options = { method: "POST", headers: { "Idempotency-Key": key } };
    if (payload !== undefined) options.body = JSON.stringify(payload);
    for (let attempt = 0; ; attempt += 1) {
      const last = attempt >= RETRY_DELAYS_MS.length;
      try {
        const result = await api(url, options);
        if (last || ![502, 503, 504].includes(result.response.status)) return result;
      } catch (error) {
        if (last) throw error;
      }
      await sleep(RETRY_DELAYS_MS[attempt]);
    }
  }

  function el(tag, attrs = {}, text) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // A <pre> may scroll sideways: keyboard users reach it with Tab, and screen readers hear what it holds.
  function codeBlock(text, label, attrs = {}) {
    const pre = el("pre", { ...attrs, tabindex: "0", role: "region", "aria-label": label });
    pre.append(el("code", {}, text));
    return pre;
  }

  function badge(status, label) {
    return el("span", { class: `badge ${BADGES[status] || ""}` }, label || STATUS_LABELS[status] || status);
  }

  function percent(score) {
    return `${Math.round(score * 100)}%`;
  }

  // Shown the moment the submission is accepted, until the server's own rendering arrives (see follow).
  function renderAccepted(sub) {
    const box = el("div", { class: "verdict", "data-submission": String(sub.id), "data-status": sub.status, "data-final": "false" });
    const head = el("p", { class: "cluster" });
    head.append(el("strong", {}, `Attempt ${sub.attempt}`), badge(sub.status));
    box.append(head, el("p", { class: "muted" }, "Queued for grading…"));
    verdictBox.replaceChildren(box);
  }

  function verdictUrl(id) {
    return root.dataset.verdictUrl.replace(/\/0\/verdict\/$/, `/${encodeURIComponent(id)}/verdict/`);
  }

  // The server's rendering of challenges/_verdict.html for one submission, or null when it did not come.
  async function fetchVerdict(id) {
    const response = await fetch(verdictUrl(id), { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (!response.ok || response.redirected) return null;
    const holder = document.createElement("template");
    // Server-rendered and auto-escaped by our own template: learner text in it is already escaped.
    holder.innerHTML = await response.text();
    return holder.content.querySelector(".verdict");
  }

  // A new phase (or the verdict) replaces the box, which the live region announces; within a phase only
  // the figures change (position, wait, time so far), in a part of it that is not announced.
  function showVerdict(next) {
    const current = verdictBox.querySelector(".verdict");
    const figures = next.querySelector("[data-progress]");
    const currentFigures = current && current.querySelector("[data-progress]");
    const samePhase = current && current.dataset.submission === next.dataset.submission && current.dataset.phase === next.dataset.phase;
    if (samePhase && next.dataset.final !== "true" && figures && currentFigures) {
      currentFigures.replaceWith(figures);
    } else {
      verdictBox.replaceChildren(next);
    }
  }

  function renderHistory(items) {
    if (!items.length) {
      historyBox.replaceChildren(el("p", { class: "muted" }, "No attempts yet."));
      return;
    }
    const nodes = items.map((sub) => {
      const details = el("details");
      const summary = el("summary", {}, `Attempt ${sub.attempt} `);
      summary.append(badge(sub.status));
      if (sub.score !== null && sub.score !== undefined) summary.append(el("span", { class: "muted" }, percent(sub.score)));
      const created = new Date(sub.created_at);
      const time = el("time", { datetime: created.toISOString() }, dayAndTime(created));
      const when = el("span", { class: "muted" });
      when.append(time);
      summary.append(when);
      details.append(summary);
      if (sub.feedback) details.append(el("p", { class: "check-detail" }, sub.feedback));
      details.append(codeBlock(sub.code, `Code of attempt ${sub.attempt}`));
      return details;
    });
    historyBox.replaceChildren(...nodes);
  }

  async function refreshStanding() {
    const { response, body } = await api(root.dataset.api);
    if (!response.ok || !body) return;
    const standing = document.getElementById("standing");
    standing.className = `badge ${BADGES[body.status]}`;
    standing.textContent = STANDING_LABELS[body.status];
    // The attempts and best score beside it, as the server renders them, so a pass shows its score at once.
    const detail = document.getElementById("standing-detail");
    if (detail && body.attempts) {
      const best = body.best_score === null || body.best_score === undefined ? "" : `, best ${percent(body.best_score)}`;
      detail.textContent = `${body.attempts} attempt${body.attempts === 1 ? "" : "s"}${best}`;
      detail.hidden = false;
    }
    if (body.solution_code) {
      solutionBox.hidden = false;
      const ref = referenceCode._learnpathEditor;
      if (ref) ref.setValue(body.solution_code);
      else referenceCode.value = body.solution_code;
    }
    const history = await api(root.dataset.submissionsApi);
    if (history.response.ok && Array.isArray(history.body)) renderHistory(history.body);
  }

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  // Poll the submission's verdict fragment until it is final; returns its status.
  async function follow(id, delay = 0) {
    for (;;) {
      await sleep(delay);
      let next = null;
      try {
        next = await fetchVerdict(id);
      } catch (_) {
        next = null;
      }
      if (!next) {
        delay = Math.min(Math.max(delay, 500) * 2, 5000);
        continue;
      }
      showVerdict(next);
      if (next.dataset.final === "true") return next.dataset.status;
      statusLine.textContent = PHASE_LABELS[next.dataset.phase] || "";
      delay = Math.min(Math.max(delay, 500) * 1.3, 2000);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errorLine.textContent = "";
    const code = currentCode();
    if (tooLong(code)) {
      errorLine.textContent = `Your code is longer than ${maxBytes.toLocaleString()} bytes (64 KiB).`;
      return;
    }
    submitButton.disabled = true;
    statusLine.textContent = "Submitting…";
    try {
      const { response, body } = await postAction(root.dataset.submissionsApi, { code });
      if (response.status !== 202) {
        let message = (body && body.detail) || `The submission failed (${response.status}).`;
        if (response.status === 429) {
          const wait = (body && body.retry_after_seconds) || Number(response.headers.get("Retry-After")) || 60;
          message = `You are submitting too often; try again in ${wait} s.`;
        }
        errorLine.textContent = message;
        statusLine.textContent = "";
        return;
      }
      // The submission is now the saved copy (the page opens on the latest attempt): no draft is kept of it.
      baseline = code;
      saveDraftNow();
      draftNote.hidden = true;
      resetNote.hidden = true;
      renderAccepted(body);
      statusLine.textContent = PHASE_LABELS.queued;
      const final = await follow(body.id);
      statusLine.textContent = final === "passed" ? "Passed." : `${STATUS_LABELS[final] || final}.`;
      await refreshStanding();
    } catch (error) {
      errorLine.textContent = "Could not reach the server; check your connection and try again.";
      statusLine.textContent = "";
    } finally {
      submitButton.disabled = false;
    }
  });

  // ---- drafts: this browser keeps what the learner types, per learner and challenge -------------------

  const draftKey = root.dataset.draftKey;
  // What the server gave this page (the latest attempt, or the starter code): no draft is needed for it.
  let baseline = currentCode();
  let saveTimer = null;
  let restoring = false;

  function storage() {
    try {
      return window.localStorage;
    } catch (_) {
      return null; // storage disabled for this site
    }
  }

  function readDraft() {
    try {
      const draft = JSON.parse(storage().getItem(draftKey) || "null");
      return draft && typeof draft.code === "string" ? draft : null;
    } catch (_) {
      return null;
    }
  }

  function clearDraft() {
    try {
      storage().removeItem(draftKey);
    } catch (_) {
      /* nothing stored */
    }
  }

  // Times read as the server's pages write them (Django's "H:i" and "j M, H:i"): 24-hour, day before month,
  // whatever the browser's locale, so one page never mixes "4:05 PM" with "16:05".
  function clock(date) {
    return date.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  }

  function dayAndTime(date) {
    const day = date.toLocaleDateString("en-GB", { day: "numeric", month: "short" });
    return `${day}, ${clock(date)}`;
  }

  function saveDraftNow() {
    clearTimeout(saveTimer);
    saveTimer = null;
    const code = currentCode();
    if (code === baseline) {
      clearDraft();
      draftStatus.textContent = "";
      return;
    }
    try {
      const now = new Date();
      storage().setItem(draftKey, JSON.stringify({ code, saved_at: now.toISOString() }));
      draftStatus.textContent = `Draft saved in this browser at ${clock(now)}.`;
    } catch (_) {
      draftStatus.textContent = "This browser could not keep a draft: submit to save your code.";
    }
  }

  textarea.addEventListener("input", () => {
    if (restoring) return;
    clearTimeout(saveTimer);
    saveTimer = setTimeout(saveDraftNow, 400);
  });
  // Leaving the page (a link, closing the tab, a reload) saves at once what the timer had not yet saved.
  window.addEventListener("pagehide", () => {
    if (saveTimer) saveDraftNow();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden" && saveTimer) saveDraftNow();
  });

  const draft = readDraft();
  if (draft && draft.code !== baseline) {
    restoring = true;
    setCode(draft.code);
    restoring = false;
    const saved = new Date(draft.saved_at);
    if (!Number.isNaN(saved.getTime())) {
      draftTime.dateTime = saved.toISOString();
      draftTime.textContent = dayAndTime(saved);
    } else {
      draftTime.textContent = "an earlier visit";
    }
    draftNote.hidden = false;
  } else if (draft) {
    clearDraft();
  }

  discardDraftButton.addEventListener("click", () => {
    clearDraft();
    restoring = true;
    setCode(baseline);
    restoring = false;
    draftNote.hidden = true;
    draftStatus.textContent = "";
  });

  // ---- reset: asks first, and can be undone ------------------------------------------------------------

  let beforeReset = null;

  function resetToStarter() {
    beforeReset = currentCode();
    setCode(starter);
    draftNote.hidden = true;
    resetNote.hidden = false;
    undoResetButton.focus();
  }

  resetButton.hidden = false;
  resetButton.addEventListener("click", () => {
    if (currentCode() === starter) {
      statusLine.textContent = "The editor already holds the starter code.";
      return;
    }
    if (resetDialog && typeof resetDialog.showModal === "function") {
      resetDialog.returnValue = "";
      resetDialog.showModal();
    } else if (window.confirm("Reset to starter code? The code in the editor is replaced.")) {
      resetToStarter();
    }
  });
  if (resetDialog) {
    resetDialog.addEventListener("close", () => {
      if (resetDialog.returnValue === "reset") resetToStarter();
      else resetButton.focus();
    });
  }
  undoResetButton.addEventListener("click", () => {
    if (beforeReset !== null) setCode(beforeReset);
    beforeReset = null;
    resetNote.hidden = true;
    const ed = editor();
    if (ed) ed.focus();
  });

  // ---- run on examples: the visible examples, in the grading sandbox, not an attempt -------------------

  const EXAMPLE_RUN_GIVE_UP_MS = 5 * 60 * 1000;
  const GRADIENT_WORDS = {
    matches: "matches the reference",
    differs: "differs from the reference",
    missing: "none reached student_logits",
  };

  function describeInput(input) {
    if (Array.isArray(input.shape)) return `${input.name}: ${input.dtype} (${input.shape.join(", ")})`;
    return `${input.name} = ${input.value}`;
  }

  // A small tensor's values as aligned text: a row per line, a block per leading index for 3-D.
  function valuesText(values) {
    const leaves = [];
    const collect = (v) => (Array.isArray(v) ? v.forEach(collect) : leaves.push(String(v)));
    collect(values);
    const width = Math.max(1, ...leaves.map((s) => s.length));
    const cell = (v) => String(v).padStart(width);
    const row = (v) => (Array.isArray(v) ? v.map(cell).join("  ") : cell(v));
    if (!Array.isArray(values)) return String(values);
    if (!values.some(Array.isArray)) return row(values);
    if (!values.some((v) => v.some(Array.isArray))) return values.map(row).join("\n");
    if (!values.some((v) => v.some((r) => Array.isArray(r) && r.some(Array.isArray)))) {
      return values.map((block, i) => `[${i}]\n${block.map(row).join("\n")}`).join("\n\n");
    }
    return JSON.stringify(values);
  }

  // An example's inputs: each tensor's values (or, when large, the server's summary); the numbers on one line.
  function exampleInputs(inputs) {
    const box = el("div", { class: "example-tensors" });
    const numbers = inputs.filter((input) => !Array.isArray(input.shape));
    for (const input of inputs.filter((input) => Array.isArray(input.shape))) {
      const part = el("div", { class: "example-input", "data-testid": "example-input" });
      part.append(el("p", { class: "example-input-name" }, describeInput(input)));
      if (input.values !== undefined) {
        const pre = el("pre", { tabindex: "0", role: "region", "aria-label": `Values of ${input.name}` });
        pre.append(el("code", {}, valuesText(input.values)));
        part.append(pre);
      } else if (input.summary) {
        part.append(el("p", { class: "muted example-input-summary" }, input.summary));
      }
      box.append(part);
    }
    if (numbers.length) box.append(el("p", { class: "example-numbers" }, numbers.map(describeInput).join(" · ")));
    return box;
  }

  // What grading would say of the examples' values (the run's diagnosis), in the verdict's words.
  function diagnosisNodes(diagnosis) {
    const nodes = [];
    if (!diagnosis) return nodes;
    if (diagnosis.headline) {
      nodes.push(el("p", { class: "examples-diagnosis", "data-testid": "examples-diagnosis" }, diagnosis.headline));
    }
    for (const mistake of (diagnosis.mistakes || []).filter((m) => m.advisory)) {
      nodes.push(el("p", { class: "muted examples-tip" }, `Tip: ${mistake.title}. ${mistake.explanation}`));
    }
    return nodes;
  }

  function outputBlock(title, text, open = false) {
    const details = el("details", { class: "example-output" });
    if (open) details.open = true;
    details.append(el("summary", {}, title));
    details.append(codeBlock(text, title));
    return details;
  }

  function fraction(x) {
    return x === null || x === undefined ? "no student" : `${(x * 100).toFixed(1)}%`;
  }

  function lossValue(x) {
    return x === null || x === undefined ? "none" : Number(x).toPrecision(4);
  }

  // train-student: one training run, its student scored on a visible validation split beside what grading
  // needs and the labels-only baseline (a table: each row a measure, each column whose figure it is).
  function trainingExampleItem(ex) {
    const ok = ex.meets_accuracy && ex.meets_agreement && !ex.error;
    const item = el("li", { class: `example ${ok ? "pass" : "fail"}`, "data-testid": "example" });
    item.append(el("p", { class: "example-title" }, trainingTitle(ex)));
    item.append(el("p", { class: "example-description" }, ex.description));
    item.append(el("p", { class: "muted example-inputs" }, ex.inputs.map(describeInput).join(" · ")));
    const table = el("table", { class: "table table-stack example-scores" });
    table.append(el("caption", {}, `Your student on ${ex.validation_images} validation images`));
    const head = el("tr");
    for (const title of ["Measure", "Your student", "Needed to pass", "Labels-only baseline (reference)"]) {
      head.append(el("th", { scope: "col" }, title));
    }
    table.appendChild(el("thead")).append(head);
    const body = el("tbody");
    const rows = [
      ["Accuracy", ex.accuracy, ex.meets_accuracy, ex.min_accuracy, ex.baseline_accuracy],
      ["Agreement with the teacher", ex.agreement, ex.meets_agreement, ex.min_agreement, ex.baseline_agreement],
    ];
    for (const [name, yours, meets, needed, baseline] of rows) {
      const row = el("tr", { "data-testid": "example-score" });
      row.append(el("th", { scope: "row" }, name));
      const verdict = yours === null ? "" : meets ? " (meets it)" : " (below it)";
      row.append(el("td", { class: "num", "data-label": "Your student" }, fraction(yours) + verdict));
      row.append(el("td", { class: "num", "data-label": "Needed to pass" }, fraction(needed)));
      // The baseline is the grader's own student, a reference for what the teacher adds: no pass or fail mark.
      row.append(el("td", { class: "num reference", "data-label": "Labels-only baseline" }, fraction(baseline)));
      body.append(row);
    }
    table.append(body);
    const wrap = el("div", { class: "table-wrap" });
    wrap.append(table);
    item.append(wrap);
    const values = el("dl", { class: "example-values" });
    values.append(el("dt", {}, "Teacher's accuracy"), el("dd", {}, fraction(ex.teacher_accuracy)));
    const curve = ex.steps ? `${ex.steps.toLocaleString()} steps, loss ${lossValue(ex.first_loss)} → ${lossValue(ex.final_loss)}` : "no curve returned";
    values.append(el("dt", {}, "Training curve"), el("dd", {}, curve));
    values.append(el("dt", {}, "Training time"), el("dd", {}, `${Number(ex.training_seconds).toFixed(1)} s`));
    item.append(values);
    if (ex.advice) item.append(el("p", { class: "example-advice" }, ex.advice));
    if (ex.error) {
      item.append(codeBlock(ex.error, "Error", { class: "example-error" }));
    }
    return item;
  }

  function trainingTitle(ex) {
    if (ex.accuracy === null) return "No trained student to score";
    if (ex.meets_accuracy && ex.meets_agreement) return ex.error ? "Meets both thresholds; one problem below" : "Meets both thresholds";
    if (!ex.meets_accuracy && !ex.meets_agreement) return "Below both thresholds";
    return ex.meets_accuracy ? "Below the agreement threshold" : "Below the accuracy threshold";
  }

  function trainingSummary(ex) {
    if (ex.accuracy === null) return "Your function did not leave a student that could be scored.";
    if (ex.error) return "Your student was scored, but a submission would fail a check: see the problem below.";
    if (ex.meets_accuracy && ex.meets_agreement) {
      return "Your student meets both thresholds on the validation split. Submit to have it graded on a fresh draw and the hidden test set.";
    }
    return "Your student is below a threshold on the validation split; a submission would likely fail.";
  }

  function renderExampleRun(run) {
    const nodes = [];
    if (run.status === "ran" && run.kind === "train-student") {
      nodes.push(el("p", { "data-testid": "examples-summary" }, trainingSummary(run.examples[0])));
      const list = el("ol", { class: "example-list", role: "list" });
      for (const ex of run.examples) list.append(trainingExampleItem(ex));
      nodes.push(list);
    } else if (run.status !== "ran") {
      nodes.push(el("p", { class: "alert" }, STATUS_LABELS[run.status] || "Did not run"));
      nodes.push(codeBlock(run.message || "Your code did not run on the examples.", "Error", { class: "example-error" }));
    } else {
      const right = run.examples.filter((ex) => ex.matches && ex.gradient === "matches").length;
      nodes.push(...diagnosisNodes(run.diagnosis));
      nodes.push(el("p", { "data-testid": "examples-summary" },
        `${right} of ${run.examples.length} examples match the reference (value and gradient).`));
      const list = el("ol", { class: "example-list", role: "list" });
      for (const ex of run.examples) {
        const ok = ex.matches && ex.gradient === "matches";
        const item = el("li", { class: `example ${ok ? "pass" : "fail"}`, "data-testid": "example" });
        item.append(el("p", { class: "example-title" }, ex.description));
        item.append(exampleInputs(ex.inputs));
        const values = el("dl", { class: "example-values" });
        values.append(el("dt", {}, "Expected"), el("dd", {}, ex.expected));
        values.append(el("dt", {}, "Yours"), el("dd", {}, ex.got === null ? "no value" : ex.got));
        if (ex.gradient) values.append(el("dt", {}, "Gradient"), el("dd", {}, GRADIENT_WORDS[ex.gradient] || ex.gradient));
        item.append(values);
        if (ex.error) {
          item.append(codeBlock(ex.error, "Error", { class: "example-error" }));
        }
        list.append(item);
      }
      nodes.push(list);
    }
    // What the learner printed is theirs to read at once; stderr (warnings, mostly) stays folded.
    if (run.stdout) nodes.push(outputBlock("What your code printed (stdout)", run.stdout, true));
    if (run.stderr) nodes.push(outputBlock("Standard error (stderr)", run.stderr));
    examplesResult.replaceChildren(...nodes);
  }

  // The same words as the verdict box's (challenges/_verdict.html, templatetags about_seconds).
  function aboutSeconds(seconds) {
    const n = Math.max(1, Math.round(seconds));
    if (n < 10) return `about ${n} s`;
    if (n < 58) return `about ${5 * Math.round(n / 5)} s`;
    return `about ${Math.max(1, Math.round(n / 60))} min`;
  }

  function waitingWords(run) {
    const ahead = run.queue_position - 1;
    const place = ahead === 0 ? "yours is next." : `${ahead} grading${ahead === 1 ? "" : "s"} ahead of yours.`;
    const wait = run.estimated_wait_seconds ? ` Results in ${aboutSeconds(run.estimated_wait_seconds)}.` : "";
    return `Waiting for a free grader: ${place}${wait}`;
  }

  async function followExampleRun(run) {
    const started = Date.now();
    let delay = 400;
    while (!run.is_final) {
      if (Date.now() - started > EXAMPLE_RUN_GIVE_UP_MS) {
        return { ...run, status: "error", message: "No grading worker has run it yet; try again in a few minutes." };
      }
      await sleep(delay);
      try {
        const { response, body } = await api(run.url);
        if (response.ok && body) run = body;
        if (run.grading_delayed && !run.is_final) {
          examplesResult.replaceChildren(el("p", { class: "muted" },
            "The grading queue cannot be reached right now. Your run is saved and starts as soon as it is back; no need to press Run again."));
        } else if (run.status === "queued" && run.queue_position) {
          examplesResult.replaceChildren(el("p", { class: "muted", "data-testid": "examples-waiting" }, waitingWords(run)));
        } else if (run.status === "running") {
          examplesResult.replaceChildren(el("p", { class: "muted" }, "Running your code on the examples…"));
        }
      } catch (_) {
        /* offline for a moment: keep polling */
      }
      delay = Math.min(delay * 1.3, 2000);
    }
    return run;
  }

  if (tryButton && root.dataset.tryApi) {
    STATUS_LABELS.ran = "Ran";
    tryButton.hidden = false;
    tryButton.addEventListener("click", async () => {
      const code = currentCode();
      examplesBox.hidden = false;
      if (tooLong(code)) {
        examplesResult.replaceChildren(el("p", { class: "alert" }, `Your code is longer than ${maxBytes.toLocaleString()} bytes.`));
        return;
      }
      tryButton.disabled = true;
      examplesResult.replaceChildren(el("p", { class: "muted" }, "Running your code on the examples…"));
      try {
        const { response, body } = await postAction(root.dataset.tryApi, { code });
        if (response.status !== 202) {
          let message = (body && body.detail) || (body && body.errors && JSON.stringify(body.errors)) || `The run failed (${response.status}).`;
          if (response.status === 429) {
            const wait = (body && body.retry_after_seconds) || Number(response.headers.get("Retry-After")) || 60;
            message = `You are running examples too often; try again in ${wait} s.`;
          }
          examplesResult.replaceChildren(el("p", { class: "alert" }, message));
          return;
        }
        renderExampleRun(await followExampleRun(body));
      } catch (_) {
        examplesResult.replaceChildren(el("p", { class: "alert" }, "Could not reach the server; check your connection and try again."));
      } finally {
        tryButton.disabled = false;
      }
    });
  }

  let hintPending = false;
  hintForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    // One hint per press: a second click (or Enter) while the first is on its way does nothing.
    if (hintPending) return;
    hintPending = true;
    hintButton.disabled = true;
    try {
      const { response, body } = await postAction(root.dataset.hintsApi);
      if (response.status === 201 && body) {
        const item = el("li");
        // The server's rendering of the challenge's own Markdown, sanitized (challenges.content.hint_html).
        item.innerHTML = body.hint_html;
        hintsList.append(item);
        if (body.hints_left > 0) {
          hintButton.textContent = `Show a hint (${body.hints_left} left)`;
          hintButton.disabled = false;
        } else {
          hintButton.textContent = "No hints left";
        }
      } else {
        hintButton.textContent = (body && body.detail) || "No hints left";
      }
    } catch (_) {
      hintButton.disabled = false; // offline: the learner can press again (a new action, a new key)
    } finally {
      hintPending = false;
    }
  });

  // A verdict still pending when the page loaded keeps updating.
  const pending = verdictBox.querySelector('.verdict[data-final="false"]');
  if (pending && pending.dataset.submission) {
    follow(pending.dataset.submission, 1000).then(refreshStanding);
  }
})();
