// Interactive "distillation pipeline" demo: teacher → soft labels → student, for one example.
//
// The teacher's logits become soft labels at a chosen temperature T, shown beside the hard
// (one-hot) label; the student, whose only parameters are its logits for this example, takes
// gradient steps on the platform's loss L = α · T²·KL(p_T ‖ q_T) + (1 − α) · CE(student, label),
// and the page shows its distribution and both loss terms before and after those steps.
//
// Usage in a template (an ES module, so it is deferred automatically):
//   <link rel="stylesheet" href="{% static 'drops/pipeline-demo.css' %}">
//   <script type="module" src="{% static 'drops/pipeline-demo.js' %}"></script>
//   <div class="pipeline-demo" data-demo="pipeline"></div>
// Optional data attributes on the mount: data-classes='["spam","promotions","social","primary"]',
// data-teacher="[5,2,1,-2]", data-student="[3,2.5,0.5,-1]", data-label="0", data-t="4",
// data-alpha="0.5", data-steps="10". A missing stylesheet link is added next to the script. The bars,
// logit inputs and the other shared parts come from demo-kit.js (imported) and demo-kit.css (imported by
// the stylesheet).
//
// Test hooks (data-testid): pipeline-t / pipeline-alpha / pipeline-steps (sliders) and their
// -value outputs, pipeline-lr, pipeline-label (selects), pipeline-teacher-logit-<i>,
// pipeline-student-logit-<i> (inputs), pipeline-soft-label-<i>, pipeline-hard-label-<i>,
// pipeline-student-before-<i>, pipeline-student-after-<i> (bars, data-value = the probability), pipeline-{soft,hard,total}-{before,after}
// (data-value = full precision, text = 4 decimals), pipeline-after-logits. The mount gets
// data-ready="true" once built and fires "pipeline-demo:update" (detail: the numbers) after each change.
import { softmax, argmax, entropyBits, distillSteps } from "./kd-math.js";
import {
  LESSON_EXAMPLE, LOGIT_LIMIT, barList, el, fillMount, formatPercent, initDemos, isClassNames, isNumbers,
  logitInputs, readJSON, readNumber, whenReady,
} from "./demo-kit.js";

const DEFAULTS = {
  ...LESSON_EXAMPLE,
  label: 0,
  T: 4,
  alpha: 0.5,
  steps: 10,
  lr: 0.5,
};
const T_MIN = 0.5;
const T_MAX = 10;
const STEPS_MAX = 200;
const RATES = [0.1, 0.5, 1, 2];

let instances = 0;

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
}

const fixed = (x, digits = 4) => (Number.isFinite(x) ? x.toFixed(digits) : String(x));

function slider({ id, label, min, max, step, value, testid, help }) {
  const input = el("input", {
    type: "range", id, min, max, step, value, "data-testid": testid, "aria-describedby": `${id}-help`,
  });
  const output = el("output", { class: "pd-value", for: id, "data-testid": `${testid}-value` });
  const root = el("div", { class: "pd-control" }, [
    el("div", { class: "pd-control-row" }, [el("label", { for: id, text: label }), input, output]),
    el("p", { class: "demo-help", id: `${id}-help`, text: help }),
  ]);
  return { root, input, output };
}

function select({ id, label, options, value, testid }) {
  const input = el("select", { id, "data-testid": testid },
    options.map(([v, text]) => el("option", { value: v, text, selected: String(v) === String(value) })));
  const root = el("div", { class: "pd-control pd-control-select" }, [el("label", { for: id, text: label }), input]);
  return { root, input };
}

/** Fills one mount; returns its update(). */
function buildDemo(mount) {
  const prefix = `pd${++instances}`;
  const classes = readJSON(mount, "classes", DEFAULTS.classes, isClassNames);
  const k = classes.length;
  const countdown = Array.from({ length: k }, (_, i) => k - 1 - i);
  const teacher = [...readJSON(mount, "teacher", k === 4 ? DEFAULTS.teacher : countdown, isNumbers(k, LOGIT_LIMIT))];
  const student = [...readJSON(mount, "student", k === 4 ? DEFAULTS.student : Array(k).fill(0), isNumbers(k, LOGIT_LIMIT))];
  const state = {
    T: readNumber(mount, "t", DEFAULTS.T, T_MIN, T_MAX),
    alpha: readNumber(mount, "alpha", DEFAULTS.alpha, 0, 1),
    steps: Math.round(readNumber(mount, "steps", DEFAULTS.steps, 0, STEPS_MAX)),
    lr: DEFAULTS.lr,
    label: Math.round(readNumber(mount, "label", DEFAULTS.label, 0, k - 1)),
  };

  // --- settings ---
  const tControl = slider({
    id: `${prefix}-t`, label: "Softening temperature T", min: T_MIN, max: T_MAX, step: 0.1, value: state.T,
    testid: "pipeline-t", help: "Higher T flattens the soft labels. Arrow keys move by 0.1.",
  });
  const alphaControl = slider({
    id: `${prefix}-alpha`, label: "α, weight of the soft term", min: 0, max: 1, step: 0.05, value: state.alpha,
    testid: "pipeline-alpha", help: "α = 1 learns from the teacher only, α = 0 from the hard label only.",
  });
  const stepsControl = slider({
    id: `${prefix}-steps`, label: "Gradient steps", min: 0, max: STEPS_MAX, step: 1, value: state.steps,
    testid: "pipeline-steps", help: "How many updates the student makes on this one example.",
  });
  const lrControl = select({
    id: `${prefix}-lr`, label: "Learning rate", testid: "pipeline-lr", value: state.lr,
    options: RATES.map((r) => [r, String(r)]),
  });
  const labelControl = select({
    id: `${prefix}-label`, label: "True class (the hard label)", testid: "pipeline-label", value: state.label,
    options: classes.map((name, i) => [i, name]),
  });
  const oneMore = el("button", { type: "button", class: "btn btn-small", text: "One more step" });
  const restart = el("button", { type: "button", class: "btn btn-small", text: "Back to step 0" });
  oneMore.addEventListener("click", () => setSteps(state.steps + 1));
  restart.addEventListener("click", () => setSteps(0));
  const settings = el("fieldset", { class: "pd-settings" }, [
    el("legend", { text: "Settings" }),
    tControl.root, alphaControl.root, stepsControl.root,
    el("div", { class: "pd-control-pair" }, [lrControl.root, labelControl.root]),
    el("div", { class: "pd-buttons", role: "group", "aria-label": "Steps" }, [oneMore, restart]),
  ]);

  // --- 1. teacher ---
  const teacherVerdict = el("p", { class: "demo-readout" });
  const step1 = el("li", { class: "demo-panel pd-step pd-step-teacher" }, [
    el("h4", { text: "The teacher's logits for one example" }),
    el("p", { class: "demo-help", text: "A frozen teacher scores each class. Edit its logits:" }),
    logitInputs({ prefix, who: "Teacher", classes, values: teacher, testid: "pipeline-teacher-logit", onChange: update }),
    teacherVerdict,
  ]);

  // --- 2. soft vs hard labels ---
  const hardBars = barList({ label: "Hard label, one-hot", classes, testid: "pipeline-hard-label", kind: "hard" });
  const softBars = barList({ label: "Soft labels: teacher probabilities at T", classes, testid: "pipeline-soft-label", kind: "soft" });
  const softTitle = el("h5", { class: "demo-col-title" });
  const softReadout = el("p", { class: "demo-readout" });
  const step2 = el("li", { class: "demo-panel pd-step pd-step-labels" }, [
    el("h4", { text: "Soft labels beside the hard label" }),
    el("div", { class: "pd-cols" }, [
      el("div", { class: "demo-col" }, [el("h5", { class: "demo-col-title", text: "Hard label (one-hot)" }), hardBars.root]),
      el("div", { class: "demo-col" }, [softTitle, softBars.root]),
    ]),
    softReadout,
  ]);

  // --- 3. student before / after ---
  const beforeBars = barList({ label: "Student before training, at T = 1", classes, testid: "pipeline-student-before", kind: "before" });
  const afterBars = barList({ label: "Student after the steps, at T = 1", classes, testid: "pipeline-student-after", kind: "after" });
  const afterTitle = el("h5", { class: "demo-col-title" });
  const afterLogits = el("p", { class: "demo-readout pd-mono", "data-testid": "pipeline-after-logits" });
  const step3 = el("li", { class: "demo-panel pd-step pd-step-student" }, [
    el("h4", { text: "The student, before and after distillation steps" }),
    el("details", { class: "pd-start" }, [
      el("summary", { text: "The student's starting logits" }),
      logitInputs({ prefix, who: "Student", classes, values: student, testid: "pipeline-student-logit", onChange: update }),
    ]),
    el("div", { class: "pd-cols" }, [
      el("div", { class: "demo-col" }, [el("h5", { class: "demo-col-title", text: "Before (step 0), at T = 1" }), beforeBars.root]),
      el("div", { class: "demo-col" }, [afterTitle, afterBars.root]),
    ]),
    afterLogits,
  ]);

  // --- 4. the loss ---
  const cells = {};
  const lossRow = (name, term, note) => {
    cells[`${name}-before`] = el("td", { "data-testid": `pipeline-${name}-before` });
    cells[`${name}-after`] = el("td", { "data-testid": `pipeline-${name}-after` });
    return el("tr", {}, [el("th", { scope: "row" }, [term, el("span", { class: "pd-note", text: note })]),
      cells[`${name}-before`], cells[`${name}-after`]]);
  };
  const afterHead = el("th", { scope: "col" });
  const weightsNote = el("p", { class: "demo-readout" });
  const curve = svg("svg", { viewBox: "0 0 200 60", preserveAspectRatio: "none", class: "pd-curve-svg" });
  const lines = Object.fromEntries(["soft", "hard", "total"].map((name) => {
    const line = svg("polyline", { class: `pd-line pd-line-${name}`, fill: "none", "vector-effect": "non-scaling-stroke" });
    curve.append(line);
    return [name, line];
  }));
  const curveCaption = el("p", { class: "demo-help", id: `${prefix}-curve-caption` });
  const step4 = el("li", { class: "demo-panel pd-step pd-step-loss" }, [
    el("h4", { text: "The loss, term by term" }),
    el("p", { class: "pd-formula", text: "L = α · T² · KL(p_T ‖ q_T) + (1 − α) · CE(q, y)" }),
    el("div", { class: "pd-table-wrap" }, [
      el("table", { class: "pd-table" }, [
        el("caption", { class: "visually-hidden", text: "Loss terms before and after the gradient steps" }),
        el("thead", {}, [el("tr", {}, [el("th", { scope: "col", text: "Term" }), el("th", { scope: "col", text: "Before" }), afterHead])]),
        el("tbody", {}, [
          lossRow("soft", "Soft term", "T² · KL(teacher ‖ student) at T"),
          lossRow("hard", "Hard term", "cross-entropy with the true class, T = 1"),
          lossRow("total", "Total L", "α · soft + (1 − α) · hard"),
        ]),
      ]),
    ]),
    weightsNote,
    el("figure", { class: "pd-curve" }, [
      el("div", { class: "pd-curve-box", "aria-hidden": "true" }, [curve]),
      el("figcaption", {}, [
        el("ul", { class: "pd-legend", "aria-hidden": "true" }, [
          el("li", { class: "pd-key-total", text: "total" }),
          el("li", { class: "pd-key-soft", text: "soft term" }),
          el("li", { class: "pd-key-hard", text: "hard term" }),
        ]),
        curveCaption,
      ]),
    ]),
  ]);

  const live = el("p", { class: "visually-hidden", role: "status", "aria-live": "polite" });
  const title = "The distillation pipeline, one example";
  fillMount(mount, {
    title,
    rootClass: "pd-root",
    children: [
      el("h3", { class: "demo-title", text: title }),
      el("p", { class: "demo-help", text: "Teacher → soft labels → student. Change T, α or the number of steps and watch each stage respond." }),
      settings,
      el("ol", { class: "pd-steps" }, [step1, step2, step3, step4]),
      live,
    ],
  });

  function setSteps(n) {
    state.steps = Math.min(STEPS_MAX, Math.max(0, n));
    stepsControl.input.value = String(state.steps);
    update();
  }
  tControl.input.addEventListener("input", () => {
    const v = Number.parseFloat(tControl.input.value);
    if (Number.isFinite(v)) state.T = Math.min(T_MAX, Math.max(T_MIN, v));
    update();
  });
  alphaControl.input.addEventListener("input", () => {
    const v = Number.parseFloat(alphaControl.input.value);
    if (Number.isFinite(v)) state.alpha = Math.min(1, Math.max(0, v));
    update();
  });
  stepsControl.input.addEventListener("input", () => setSteps(Number.parseInt(stepsControl.input.value, 10) || 0));
  lrControl.input.addEventListener("change", () => {
    state.lr = Number.parseFloat(lrControl.input.value);
    update();
  });
  labelControl.input.addEventListener("change", () => {
    state.label = Number.parseInt(labelControl.input.value, 10);
    update();
  });

  let announceTimer = 0;

  function drawCurve(history) {
    const top = Math.max(...history.map((h) => Math.max(h.soft, h.hard, h.total)), 1e-12);
    const n = history.length;
    for (const name of ["soft", "hard", "total"]) {
      const points = history.map((h, i) => {
        const x = n === 1 ? 0 : (200 * i) / (n - 1);
        const y = 58 - 56 * (h[name] / top);
        return `${x.toFixed(2)},${y.toFixed(2)}`;
      });
      if (n === 1) points.push(`200,${points[0].split(",")[1]}`);
      lines[name].setAttribute("points", points.join(" "));
    }
  }

  function update() {
    const { T, alpha, steps, lr, label } = state;
    const tText = T.toFixed(1);
    const aText = alpha.toFixed(2);
    const { logits, history } = distillSteps(teacher, student, label, { T, alpha, lr, steps });
    const before = history[0];
    const after = history[history.length - 1];
    const p1 = softmax(teacher, 1);
    const pT = softmax(teacher, T);
    const q0 = softmax(student, 1);
    const qN = softmax(logits, 1);

    tControl.output.textContent = tText;
    tControl.input.setAttribute("aria-valuetext", `T = ${tText}`);
    alphaControl.output.textContent = aText;
    alphaControl.input.setAttribute("aria-valuetext", `α = ${aText}`);
    stepsControl.output.textContent = String(steps);
    stepsControl.input.setAttribute("aria-valuetext", `${steps} step${steps === 1 ? "" : "s"}`);
    oneMore.disabled = steps >= STEPS_MAX;
    restart.disabled = steps === 0;

    const tTop = argmax(teacher);
    teacherVerdict.textContent = `At T = 1 the teacher says ${classes[tTop]} with ${formatPercent(p1[tTop])}`
      + (tTop === label ? ", the true class." : `; the true class is ${classes[label]}.`);
    softTitle.textContent = `Soft labels: softmax(teacher / ${tText})`;
    hardBars.update(classes.map((_, i) => (i === label ? 1 : 0)));
    softBars.update(pT);
    softReadout.textContent = `Entropy: 0 bits for the hard label, ${entropyBits(pT).toFixed(2)} bits for the soft `
      + `labels at T = ${tText}. The more bits, the more the wrong classes have to say.`;

    beforeBars.update(q0);
    afterBars.update(qN);
    afterTitle.textContent = `After ${steps} step${steps === 1 ? "" : "s"}, at T = 1`;
    afterLogits.textContent = `Student logits after ${steps} step${steps === 1 ? "" : "s"}: [${logits.map((x) => x.toFixed(2)).join(", ")}]`;

    afterHead.textContent = `After ${steps} step${steps === 1 ? "" : "s"}`;
    for (const [name, b, a] of [["soft", before.soft, after.soft], ["hard", before.hard, after.hard], ["total", before.total, after.total]]) {
      cells[`${name}-before`].dataset.value = String(b);
      cells[`${name}-before`].textContent = fixed(b);
      cells[`${name}-after`].dataset.value = String(a);
      cells[`${name}-after`].textContent = fixed(a);
    }
    weightsNote.textContent = `α = ${aText}: the soft term counts ${aText}, the hard term ${(1 - alpha).toFixed(2)}. `
      + `After the steps, L = ${aText} × ${fixed(after.soft)} + ${(1 - alpha).toFixed(2)} × ${fixed(after.hard)} = ${fixed(after.total)}.`;
    drawCurve(history);
    curveCaption.textContent = steps === 0
      ? "No steps yet: the curves start here. Add steps to see the loss fall."
      : `Over ${steps} step${steps === 1 ? "" : "s"} at learning rate ${lr}, the total loss goes from ${fixed(before.total)} to ${fixed(after.total)}; `
        + `the soft term from ${fixed(before.soft)} to ${fixed(after.soft)}, the hard term from ${fixed(before.hard)} to ${fixed(after.hard)}.`;

    clearTimeout(announceTimer);
    announceTimer = setTimeout(() => {
      const dist = classes.map((c, i) => `${c} ${formatPercent(qN[i])}`).join(", ");
      live.textContent = `T ${tText}, alpha ${aText}, ${steps} step${steps === 1 ? "" : "s"}. Student after: ${dist}. `
        + `Soft term ${fixed(after.soft)}, hard term ${fixed(after.hard)}, total ${fixed(after.total)}.`;
    }, 600);

    mount.dispatchEvent(new CustomEvent("pipeline-demo:update", {
      bubbles: true,
      detail: { T, alpha, steps, lr, label, teacher: [...teacher], student: [...student], logits, softLabels: pT, before, after },
    }));
  }

  return update;
}

/** Build every pipeline demo mount under `root` (the document by default). Safe to call again. */
export function initPipelineDemos(root = document) {
  initDemos(root, '.pipeline-demo, [data-demo="pipeline"]', buildDemo, "pipeline-demo", import.meta.url);
}

whenReady(initPipelineDemos);
