// Interactive "temperature and KL" demo for the distillation lessons.
//
// Usage in a template (an ES module, so it is deferred automatically):
//   <link rel="stylesheet" href="{% static 'drops/temperature-demo.css' %}">
//   <script type="module" src="{% static 'drops/temperature-demo.js' %}"></script>
//   <div class="temperature-demo" data-demo="temperature"></div>
// Optional data attributes on the mount: data-classes='["spam","promotions","social","primary"]',
// data-teacher="[5,2,1,-2]", data-student="[3,2.5,0.5,-1]", data-t="1".
// If the stylesheet link is missing, the script adds it next to itself.
//
// Test hooks (data-testid): temperature-slider, temperature-value, teacher-logit-<i>,
// student-logit-<i>, teacher-prob-<i> / student-prob-<i> / hard-label-<i> (data-value = the
// probability), teacher-max-prob and teacher-entropy (data-value), kl, t2kl (data-value =
// full precision, text = 4 decimals). The mount gets data-ready="true" once built and fires a
// "temperature-demo:update" event (detail: {T, teacher, student, kl, t2kl}) after each change.
import { softmax, klDivergenceFromLogits, entropyBits, argmax } from "./kd-math.js";

const DEFAULTS = {
  classes: ["spam", "promotions", "social", "primary"],
  teacher: [5, 2, 1, -2],
  student: [3, 2.5, 0.5, -1],
  T: 1,
};
const T_MIN = 0.5;
const T_MAX = 10;
const LOGIT_LIMIT = 50;

let instances = 0;

function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of [].concat(children)) if (child) node.append(child);
  return node;
}

function readJSON(mount, name, fallback, check) {
  const raw = mount.dataset[name];
  if (!raw) return fallback;
  try {
    const value = JSON.parse(raw);
    return check(value) ? value : fallback;
  } catch {
    return fallback;
  }
}

const isNumbers = (n) => (v) => Array.isArray(v) && v.length === n && v.every((x) => Number.isFinite(x));

function formatPercent(p) {
  if (p > 0 && p < 0.001) return "<0.1%";
  if (p < 1 && p > 0.9995) return ">99.9%";
  return `${(p * 100).toFixed(1)}%`;
}

function ensureStylesheet() {
  const href = new URL("./temperature-demo.css", import.meta.url).href;
  const present = Array.from(document.querySelectorAll('link[rel="stylesheet"]'))
    .some((link) => link.href === href || /temperature-demo(\.[0-9a-f]+)?\.css(\?|$)/.test(link.href));
  if (!present) document.head.append(el("link", { rel: "stylesheet", href }));
}

/** A list of labelled bars; returns {root, update(probs)}. */
function barList({ id, label, classes, testid, kind }) {
  const list = el("ul", { class: `td-bars td-bars-${kind}`, id, "aria-label": label });
  const rows = classes.map((name, i) => {
    const fill = el("span", { class: "td-bar-fill" });
    const value = el("span", { class: "td-bar-value" });
    const row = el("li", { class: "td-bar", "data-testid": `${testid}-${i}` }, [
      el("span", { class: "td-bar-label", text: name }),
      el("span", { class: "td-bar-track", "aria-hidden": "true" }, [fill]),
      value,
    ]);
    list.append(row);
    return { row, fill, value };
  });
  return {
    root: list,
    update(probs) {
      const top = argmax(probs);
      probs.forEach((p, i) => {
        const { row, fill, value } = rows[i];
        row.dataset.value = String(p);
        row.classList.toggle("is-top", i === top);
        fill.style.width = `${(p * 100).toFixed(3)}%`;
        value.textContent = formatPercent(p);
      });
    },
  };
}

function logitInputs({ prefix, who, classes, values, testid, onChange }) {
  const group = el("div", { class: "td-logits" });
  const inputs = classes.map((name, i) => {
    const id = `${prefix}-${who.toLowerCase()}-logit-${i}`;
    const input = el("input", {
      type: "number", id, step: "0.5", min: -LOGIT_LIMIT, max: LOGIT_LIMIT, value: values[i],
      inputmode: "decimal", "data-testid": `${testid}-${i}`,
    });
    input.addEventListener("input", () => {
      const v = input.valueAsNumber;
      const ok = Number.isFinite(v) && Math.abs(v) <= LOGIT_LIMIT;
      input.setAttribute("aria-invalid", ok ? "false" : "true");
      if (ok) {
        values[i] = v;
        onChange();
      }
    });
    group.append(el("div", { class: "td-logit" }, [
      el("label", { for: id }, [el("span", { class: "visually-hidden", text: `${who} logit for ` }), name]),
      input,
    ]));
    return input;
  });
  return { root: group, inputs };
}

function buildDemo(mount) {
  if (mount.dataset.ready === "true") return;
  const n = ++instances;
  const prefix = `td${n}`;
  const classes = readJSON(mount, "classes", DEFAULTS.classes,
    (v) => Array.isArray(v) && v.length >= 2 && v.length <= 12 && v.every((s) => typeof s === "string"));
  const k = classes.length;
  const fallbackLogits = (arr) => (arr.length === k ? arr : Array.from({ length: k }, (_, i) => k - 1 - i));
  const teacher = [...readJSON(mount, "teacher", fallbackLogits(DEFAULTS.teacher), isNumbers(k))];
  const student = [...readJSON(mount, "student", fallbackLogits(DEFAULTS.student), isNumbers(k))];
  let T = Number.parseFloat(mount.dataset.t);
  if (!Number.isFinite(T)) T = DEFAULTS.T;
  T = Math.min(T_MAX, Math.max(T_MIN, T));

  // --- temperature control ---
  const sliderId = `${prefix}-temperature`;
  const slider = el("input", {
    type: "range", id: sliderId, min: T_MIN, max: T_MAX, step: "0.1", value: T,
    "data-testid": "temperature-slider", "aria-describedby": `${prefix}-t-help`,
  });
  const tOut = el("output", { class: "td-t-value", for: sliderId, "data-testid": "temperature-value" });
  const presets = el("div", { class: "td-presets", role: "group", "aria-label": "Temperature presets" },
    [1, 2, 4, 10].map((value) => {
      const b = el("button", { type: "button", class: "btn btn-small", text: `T = ${value}` });
      b.addEventListener("click", () => { slider.value = String(value); onTemperature(); });
      return b;
    }));
  const tControl = el("div", { class: "td-temperature" }, [
    el("div", { class: "td-temperature-row" }, [
      el("label", { for: sliderId, text: "Temperature T" }), slider, tOut,
    ]),
    el("p", {
      class: "td-help", id: `${prefix}-t-help`,
      text: "Arrow keys change T by 0.1, Page Up/Down by 1. Higher T flattens the teacher's distribution.",
    }),
    presets,
  ]);

  // --- teacher: logits, hard label vs soft label ---
  const teacherLogits = logitInputs({
    prefix, who: "Teacher", classes, values: teacher, testid: "teacher-logit", onChange: update,
  });
  const hard = barList({
    id: `${prefix}-hard`, label: "Hard label (one-hot)", classes, testid: "hard-label", kind: "hard",
  });
  const soft = barList({
    id: `${prefix}-soft`, label: "Soft label: teacher probabilities at T", classes,
    testid: "teacher-prob", kind: "teacher",
  });
  const softTitle = el("h4", { class: "td-col-title" });
  const maxProb = el("span", { "data-testid": "teacher-max-prob" });
  const entropy = el("span", { "data-testid": "teacher-entropy" });
  const teacherPanel = el("section", { class: "td-panel td-teacher", "aria-labelledby": `${prefix}-teacher-h` }, [
    el("h3", { id: `${prefix}-teacher-h`, text: "Teacher" }),
    el("p", { class: "td-help", text: "Teacher logits (edit them):" }),
    teacherLogits.root,
    el("div", { class: "td-labels" }, [
      el("div", { class: "td-col" }, [
        el("h4", { class: "td-col-title", text: "Hard label (one-hot)" }), hard.root,
      ]),
      el("div", { class: "td-col" }, [softTitle, soft.root]),
    ]),
    el("p", { class: "td-readout" }, [
      "Top-class probability ", maxProb, " · entropy ", entropy, " bits",
    ]),
  ]);

  // --- student ---
  const studentLogits = logitInputs({
    prefix, who: "Student", classes, values: student, testid: "student-logit", onChange: update,
  });
  const studentBars = barList({
    id: `${prefix}-student`, label: "Student probabilities at T", classes,
    testid: "student-prob", kind: "student",
  });
  const studentTitle = el("h4", { class: "td-col-title" });
  const studentPanel = el("section", { class: "td-panel td-student", "aria-labelledby": `${prefix}-student-h` }, [
    el("h3", { id: `${prefix}-student-h`, text: "Student" }),
    el("p", { class: "td-help", text: "Student logits (edit them to move the student towards the teacher):" }),
    studentLogits.root,
    studentTitle,
    studentBars.root,
  ]);

  // --- loss ---
  const klOut = el("output", { class: "td-number", "data-testid": "kl" });
  const t2klOut = el("output", { class: "td-number", "data-testid": "t2kl" });
  const lossPanel = el("section", { class: "td-panel td-loss", "aria-labelledby": `${prefix}-loss-h` }, [
    el("h3", { id: `${prefix}-loss-h`, text: "Distillation loss" }),
    el("dl", { class: "td-loss-list" }, [
      el("div", {}, [el("dt", { text: "KL(teacher ‖ student)" }), el("dd", {}, [klOut, " nats"])]),
      el("div", {}, [el("dt", { text: "T² · KL (soft loss)" }), el("dd", {}, [t2klOut])]),
    ]),
    el("p", {
      class: "td-help",
      text: "Both sides use softmax(logits / T). Multiplying by T² keeps the soft loss's gradients on the same scale as T changes.",
    }),
  ]);

  // Polite live region with a short summary, updated after changes settle,
  // so dragging the slider does not flood a screen reader.
  const live = el("p", { class: "visually-hidden", "aria-live": "polite", "aria-atomic": "true" });

  const title = mount.dataset.title || "Try it: temperature and KL divergence";
  mount.replaceChildren(
    el("h3", { class: "td-title", text: title }),
    tControl,
    el("div", { class: "td-grid" }, [teacherPanel, studentPanel]),
    lossPanel,
    live,
  );
  mount.classList.add("td-root");
  mount.setAttribute("role", "group");
  mount.setAttribute("aria-label", title);

  let announceTimer = 0;

  function onTemperature() {
    const v = Number.parseFloat(slider.value);
    if (Number.isFinite(v)) T = Math.min(T_MAX, Math.max(T_MIN, v));
    update();
  }
  slider.addEventListener("input", onTemperature);

  function update() {
    const p = softmax(teacher, T);
    const q = softmax(student, T);
    const kl = klDivergenceFromLogits(teacher, student, T);
    const t2kl = T * T * kl;
    const top = argmax(teacher);
    const tText = T.toFixed(1);

    tOut.textContent = tText;
    slider.setAttribute("aria-valuetext", `T = ${tText}`);
    softTitle.textContent = `Soft label: softmax(teacher / ${tText})`;
    studentTitle.textContent = `Student: softmax(student / ${tText})`;
    hard.update(classes.map((_, i) => (i === top ? 1 : 0)));
    soft.update(p);
    studentBars.update(q);

    const pMax = Math.max(...p);
    const h = entropyBits(p);
    maxProb.dataset.value = String(pMax);
    maxProb.textContent = formatPercent(pMax);
    entropy.dataset.value = String(h);
    entropy.textContent = h.toFixed(3);
    klOut.dataset.value = String(kl);
    klOut.textContent = kl.toFixed(4);
    t2klOut.dataset.value = String(t2kl);
    t2klOut.textContent = t2kl.toFixed(4);

    clearTimeout(announceTimer);
    announceTimer = setTimeout(() => {
      const dist = classes.map((c, i) => `${c} ${formatPercent(p[i])}`).join(", ");
      live.textContent = `T ${tText}. Teacher: ${dist}. KL ${kl.toFixed(4)}, T squared KL ${t2kl.toFixed(4)}.`;
    }, 600);

    mount.dispatchEvent(new CustomEvent("temperature-demo:update", {
      bubbles: true, detail: { T, teacher: [...teacher], student: [...student], p, q, kl, t2kl },
    }));
  }

  update();
  live.textContent = "";
  mount.dataset.ready = "true";
}

/** Build every demo mount under `root` (the document by default). Safe to call again. */
export function initTemperatureDemos(root = document) {
  const mounts = root.querySelectorAll('.temperature-demo, [data-demo="temperature"]');
  if (mounts.length) ensureStylesheet();
  mounts.forEach(buildDemo);
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", () => initTemperatureDemos());
} else {
  initTemperatureDemos();
}
