// Live calculator beside the plan worksheet: reads the form's numbers on every keystroke and
// rewrites the figures. Without JavaScript the server-rendered figures (same formulas, in
// plans/calculator.py) stay, and update on save.
import { calculate, costPerRequestFromTokens, describe, display, formatMoney } from "./calculator.js";

const EMPTY_HINT = "Enter the teacher's and the student's cost per request to see when the plan pays for itself.";

function setUp(form) {
  const section = form.closest(".plan-workshop");
  const aside = section && section.querySelector("[data-plan-calculator]");
  if (!aside) return;
  const inputs = form.querySelectorAll("[data-calc-input]");
  const summary = aside.querySelector("[data-calc-summary]");
  const mini = form.querySelector("[data-calc-mini]");
  let lastSummary = summary.textContent;

  function values() {
    const data = {};
    for (const input of inputs) data[input.dataset.calcInput] = input.value.trim();
    return data;
  }

  function update() {
    const data = values();
    const result = calculate(data);
    const text = display(result);
    for (const cell of aside.querySelectorAll("[data-calc]")) {
      const key = cell.dataset.calc;
      if (key in text && cell.textContent !== text[key]) cell.textContent = text[key];
    }
    const sentence = data.teacher_cost_per_request === "" ? EMPTY_HINT : describe(result);
    // Only touch the live region when its sentence changes, so screen readers are not flooded.
    if (sentence !== lastSummary) {
      summary.textContent = sentence;
      lastSummary = sentence;
    }
    summary.dataset.calcStatus = result.status;
    if (mini) {
      mini.hidden = false;
      mini.textContent = `${text.monthly_saving} a month · ${sentence}`;
      mini.dataset.calcStatus = result.status;
    }
  }

  form.addEventListener("input", (event) => {
    if (event.target.matches("[data-calc-input]")) update();
  });
  update();
  setUpEstimator(form, update);
}

function setUpEstimator(form, update) {
  const box = form.querySelector("[data-token-estimator]");
  if (!box) return;
  box.hidden = false;
  const field = (id) => box.querySelector(`#${id}`);
  const out = box.querySelector("[data-estimate]");
  const estimate = () =>
    costPerRequestFromTokens({
      inputTokens: field("est-input-tokens").value,
      outputTokens: field("est-output-tokens").value,
      inputPricePerMillion: field("est-input-price").value,
      outputPricePerMillion: field("est-output-price").value,
    });
  box.addEventListener("input", () => {
    out.textContent = formatMoney(estimate());
  });
  box.querySelector("[data-use-estimate]").addEventListener("click", () => {
    // Round away float noise (0.0105000000001) to the field's eight decimal places.
    const value = String(Number(estimate().toFixed(8)));
    for (const name of ["teacher_cost_per_request", "teacher_cost_per_output"]) {
      const input = form.querySelector(`[name="${name}"]`);
      if (input) input.value = value;
    }
    update();
    form.querySelector('[name="teacher_cost_per_request"]')?.focus();
  });
}

for (const form of document.querySelectorAll("[data-plan-form]")) setUp(form);
