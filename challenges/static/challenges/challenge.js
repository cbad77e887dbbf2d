// Challenge page: submit through the API, follow the submission (phase, queue position, wait) until its
// verdict, reveal hints, and show the history and (after a pass) the reference solution, all without a
// reload. Learner-controlled text (code, tracebacks in messages) is only ever set with textContent, except
// in the verdict box, which is HTML rendered (and escaped) by the server's own template.
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

  async function api(url, options = {}) {
    const response = await fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      ...options,
    });
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    return { response, body };
  }

  function el(tag, attrs = {}, text) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
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
      summary.append(el("span", { class: "muted" }, new Date(sub.created_at).toLocaleString()));
      details.append(summary);
      if (sub.feedback) details.append(el("p", { class: "check-detail" }, sub.feedback));
      const pre = el("pre");
      pre.append(el("code", {}, sub.code));
      details.append(pre);
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
    if (new TextEncoder().encode(code).length > maxBytes) {
      errorLine.textContent = `Your code is longer than ${maxBytes.toLocaleString()} bytes (64 KiB).`;
      return;
    }
    submitButton.disabled = true;
    statusLine.textContent = "Submitting…";
    try {
      const { response, body } = await api(root.dataset.submissionsApi, { method: "POST", body: JSON.stringify({ code }) });
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

  resetButton.hidden = false;
  resetButton.addEventListener("click", () => {
    const ed = editor();
    if (ed) ed.setValue(starter);
    else textarea.value = starter;
  });

  hintForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    hintButton.disabled = true;
    const { response, body } = await api(root.dataset.hintsApi, { method: "POST" });
    if (response.status === 201 && body) {
      hintsList.append(el("li", {}, body.hint));
      if (body.hints_left > 0) {
        hintButton.textContent = `Show a hint (${body.hints_left} left)`;
        hintButton.disabled = false;
      } else {
        hintButton.textContent = "No hints left";
      }
    } else {
      hintButton.textContent = (body && body.detail) || "No hints left";
    }
  });

  // A verdict still pending when the page loaded keeps updating.
  const pending = verdictBox.querySelector('.verdict[data-final="false"]');
  if (pending && pending.dataset.submission) {
    follow(pending.dataset.submission, 1000).then(refreshStanding);
  }
})();
