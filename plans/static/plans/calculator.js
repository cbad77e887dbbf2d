// The plan workshop's cost calculator, mirrored line for line from plans/calculator.py.
//
// Pure functions, no DOM: an ES module that plan-form.js imports in the browser and
// tests/plans/test_calculator.py runs under Node to check that both give the same numbers.
// A month is 30 days wherever days are shown. Missing, non-finite or negative inputs count
// as 0, so nothing here throws: "never breaks even" is a result, not a division error.

export const DAYS_PER_MONTH = 30;

function amount(value) {
  if (value === null || value === undefined || value === "") return 0;
  const number = typeof value === "number" ? value : Number(value);
  if (!Number.isFinite(number) || number < 0) return 0;
  return number;
}

/**
 * @param {{monthly_requests?, teacher_cost_per_request?, teacher_latency_ms?, student_cost_per_request?,
 *          student_latency_ms?, teacher_outputs_n?, teacher_cost_per_output?, training_cost?}} inputs
 */
export function calculate(inputs) {
  const volume = amount(inputs.monthly_requests);
  const teacherCost = amount(inputs.teacher_cost_per_request);
  const studentCost = amount(inputs.student_cost_per_request);

  const teacherMonthly = volume * teacherCost;
  const studentMonthly = volume * studentCost;
  const generation = amount(inputs.teacher_outputs_n) * amount(inputs.teacher_cost_per_output);
  const oneOff = generation + amount(inputs.training_cost);
  const savingPerRequest = teacherCost - studentCost;
  const monthlySaving = teacherMonthly - studentMonthly;

  let status;
  let requests = null;
  let months = null;
  let days = null;
  // A saving so small that the quotient overflows is, for any real traffic, no saving at all.
  if (savingPerRequest <= 0 || !Number.isFinite(oneOff / savingPerRequest)) {
    status = "never";
  } else {
    requests = oneOff / savingPerRequest;
    if (volume > 0) {
      status = "breaks_even";
      months = requests / volume;
      days = months * DAYS_PER_MONTH;
    } else {
      status = "no_volume";
    }
  }

  return {
    teacher_monthly_cost: teacherMonthly,
    student_monthly_cost: studentMonthly,
    generation_cost: generation,
    one_off_cost: oneOff,
    saving_per_request: savingPerRequest,
    monthly_saving: monthlySaving,
    status,
    break_even_requests: requests,
    break_even_months: months,
    break_even_days: days,
    latency_saved_ms: amount(inputs.teacher_latency_ms) - amount(inputs.student_latency_ms),
  };
}

export function costPerRequestFromTokens({ inputTokens, outputTokens, inputPricePerMillion, outputPricePerMillion }) {
  return (
    (amount(inputTokens) * amount(inputPricePerMillion)) / 1e6 +
    (amount(outputTokens) * amount(outputPricePerMillion)) / 1e6
  );
}

function groupThousands(digits) {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

export function formatCount(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  return groupThousands(BigInt(Math.ceil(value - 1e-9)).toString());
}

export function formatDuration(months) {
  if (months === null || months === undefined || !Number.isFinite(months)) return "—";
  if (months < 1) return `about ${(months * DAYS_PER_MONTH).toFixed(1)} days`;
  return `about ${months.toFixed(1)} months`;
}

export function formatMoney(value) {
  if (!Number.isFinite(value)) return "—";
  const sign = value < 0 ? "−" : "";
  const abs = Math.abs(value);
  if (abs >= 1e15) return `${sign}$${abs.toExponential(2)}`; // beyond any real budget; same as Python's .2e
  if (abs >= 1 || abs === 0) {
    const [whole, fraction] = abs.toFixed(2).split(".");
    return `${sign}$${groupThousands(whole)}.${fraction}`;
  }
  // Per-request prices are fractions of a cent: keep up to six decimals, never fewer than two.
  const [whole, fraction] = abs.toFixed(6).replace(/0+$/, "").split(".");
  return `${sign}$${whole}.${fraction.padEnd(2, "0")}`;
}

export function describe(result) {
  if (result.status === "never") {
    return (
      "Never breaks even: the student costs as much as the teacher per request or more, " +
      "so no volume pays back the one-off cost."
    );
  }
  if (result.status === "no_volume") {
    return (
      `Breaks even after ${formatCount(result.break_even_requests)} requests; ` +
      "enter a monthly volume to see when."
    );
  }
  return (
    `Breaks even after ${formatCount(result.break_even_requests)} requests, ` +
    `${formatDuration(result.break_even_months)} at this volume.`
  );
}

/** The worksheet's figures as text, keyed like the result (plans.calculator.calculator_display). */
export function display(result) {
  return {
    teacher_monthly_cost: formatMoney(result.teacher_monthly_cost),
    student_monthly_cost: formatMoney(result.student_monthly_cost),
    generation_cost: formatMoney(result.generation_cost),
    one_off_cost: formatMoney(result.one_off_cost),
    saving_per_request: formatMoney(result.saving_per_request),
    monthly_saving: formatMoney(result.monthly_saving),
    break_even_requests: formatCount(result.break_even_requests),
    break_even_months: formatDuration(result.break_even_months),
    latency_saved_ms: `${groupThousands(BigInt(Math.round(result.latency_saved_ms)).toString())} ms`,
  };
}
