// Interactive "temperature and KL" demo for the distillation lessons.
//
// Usage in a template (an ES module, so it is deferred automatically):
//   <link rel="stylesheet" href="{% static 'drops/temperature-demo.css' %}">
//   <script type="module" src="{% static 'drops/temperature-demo.js' %}"></script>
//   <div class="temperature-demo" data-demo="temperature"></div>
// Optional data attributes on the mount: data-classes='["spam","promotions","social","primary"]',
// data-teacher="[5,2,1,-2]", data-student="[3,2.5,0.5,-1]", data-t="1".
// If the stylesheet link is missing, the script adds it next to itself. The bars, logit inputs and
// the other shared parts come from demo-kit.js (imported) and demo-kit.css (imported by the stylesheet).
//
// Test hooks (data-testid): temperature-slider, temperature-value, teacher-logit-<i>,
// student-logit-<i>, teacher-prob-<i> / student-prob-<i> / hard-label-<i> (data-value = the
// probability), teacher-max-prob and teacher-entropy (data-value), kl, t2kl (data-value =
// full precision, text = 4 decimals). The mount gets data-ready="true" once built and fires a
// "temperature-demo:update" event (detail: {T, teacher, student, kl, t2kl}) after each change.
import { softmax, klDivergenceFromLogits, entropyBits, argmax } from "./kd-math.js";
import {
  LESSON_EXAMPLE, barList, el, fillMount, formatPercent, initDemos, isClassNames, isNumbers, logitInputs, readJSON,
  whenReady,
} from "./demo-kit.js";

const DEFAULTS = {
  ...LESSON_EXAMPLE,
  T: 1,
};
const T_MIN = 0.5;
const T_MAX = 10;

let instances = 0;

/** Fills one mount; returns its update(). */
function buildDemo(mount) {
  const n = ++instances;
  const prefix = `td${n}`;
  const classes = readJSON(mount, "classes", DEFAULTS.classes, isClassNames);
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
      class: "demo-help", id: `${prefix}-t-help`,
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
  const softTitle = el("h4", { class: "demo-col-title" });
  const maxProb = el("span", { "data-testid": "teacher-max-prob" });
  const entropy = el("span", { "data-testid": "teacher-entropy" });
  const teacherPanel = el("section", { class: "demo-panel td-teacher", "aria-labelledby": `${prefix}-teacher-h` }, [
    el("h3", { id: `${prefix}-teacher-h`, text: "Teacher" }),
    el("p", { class: "demo-help", text: "Teacher logits (edit them):" }),
    teacherLogits,
    el("div", { class: "td-labels" }, [
      el("div", { class: "demo-col" }, [
        el("h4", { class: "demo-col-title", text: "Hard label (one-hot)" }), hard.root,
      ]),
      el("div", { class: "demo-col" }, [softTitle, soft.root]),
    ]),
    el("p", { class: "demo-readout" }, [
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
  const studentTitle = el("h4", { class: "demo-col-title" });
  const studentPanel = el("section", { class: "demo-panel td-student", "aria-labelledby": `${prefix}-student-h` }, [
    el("h3", { id: `${prefix}-student-h`, text: "Student" }),
    el("p", { class: "demo-help", text: "Student logits (edit them to move the student towards the teacher):" }),
    studentLogits,
    studentTitle,
    studentBars.root,
  ]);

  // --- loss ---
  const klOut = el("output", { class: "td-number", "data-testid": "kl" });
  const t2klOut = el("output", { class: "td-number", "data-testid": "t2kl" });
  const lossPanel = el("section", { class: "demo-panel td-loss", "aria-labelledby": `${prefix}-loss-h` }, [
    el("h3", { id: `${prefix}-loss-h`, text: "Distillation loss" }),
    el("dl", { class: "td-loss-list" }, [
      el("div", {}, [el("dt", { text: "KL(teacher ‖ student)" }), el("dd", {}, [klOut, " nats"])]),
      el("div", {}, [el("dt", { text: "T² · KL (soft loss)" }), el("dd", {}, [t2klOut])]),
    ]),
    el("p", {
      class: "demo-help",
      text: "Both sides use softmax(logits / T). Multiplying by T² keeps the soft loss's gradients roughly on the same scale as T changes, not exactly.",
    }),
  ]);

  // Polite live region with a short summary, updated after changes settle,
  // so dragging the slider does not flood a screen reader.
  const live = el("p", { class: "visually-hidden", "aria-live": "polite", "aria-atomic": "true" });

  const title = mount.dataset.title || "Try it: temperature and KL divergence";
  fillMount(mount, {
    title,
    rootClass: "td-root",
    children: [
      el("h3", { class: "demo-title", text: title }),
      tControl,
      el("div", { class: "td-grid" }, [teacherPanel, studentPanel]),
      lossPanel,
      live,
    ],
  });

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

  return update;
}

/** Build every demo mount under `root` (the document by default). Safe to call again. */
export function initTemperatureDemos(root = document) {
  initDemos(root, '.temperature-demo, [data-demo="temperature"]', buildDemo, "temperature-demo", import.meta.url);
}

whenReady(initTemperatureDemos);
