"""plans/calculator.py: the maths, the edge cases, and its JavaScript mirror giving the same numbers."""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from plans.calculator import (
    CalculatorInputs,
    calculate,
    calculator_display,
    cost_per_request_from_tokens,
    describe,
    format_money,
)
from tests.conftest import require

CALCULATOR_JS = Path(__file__).resolve().parents[2] / "plans" / "static" / "plans" / "calculator.js"

# Drop 14's worked example: 20,000 requests a day (600,000 a month), $0.0105 teacher, $0.0024 student,
# 50,000 teacher outputs at $0.0105 plus $48 of training.
WORKED = CalculatorInputs(
    monthly_requests=600_000,
    teacher_cost_per_request=0.0105,
    teacher_latency_ms=4000,
    student_cost_per_request=0.0024,
    student_latency_ms=900,
    teacher_outputs_n=50_000,
    teacher_cost_per_output=0.0105,
    training_cost=48,
)


def test_worked_example_matches_the_lesson():
    result = calculate(WORKED)
    assert result.teacher_monthly_cost == pytest.approx(6300)
    assert result.student_monthly_cost == pytest.approx(1440)
    assert result.generation_cost == pytest.approx(525)
    assert result.one_off_cost == pytest.approx(573)
    assert result.saving_per_request == pytest.approx(0.0081)
    assert result.monthly_saving == pytest.approx(4860)
    assert result.status == "breaks_even"
    assert result.break_even_requests == pytest.approx(573 / 0.0081)
    assert round(result.break_even_requests) == 70741
    assert result.break_even_months == pytest.approx(70740.74 / 600_000, rel=1e-6)
    assert result.break_even_days == pytest.approx(3.537, abs=1e-3)
    assert result.latency_saved_ms == 3100
    assert describe(result) == "Breaks even after 70,741 requests, about 3.5 days at this volume."


def test_student_dearer_than_teacher_never_breaks_even():
    # The lesson's low-volume case: the same GPU at 2,000 requests a day costs $0.024 a request.
    result = calculate(CalculatorInputs(60_000, 0.0105, 4000, 0.024, 900, 50_000, 0.0105, 48))
    assert result.status == "never"
    assert result.break_even_requests is None and result.break_even_months is None
    assert result.monthly_saving == pytest.approx(60_000 * (0.0105 - 0.024))
    assert result.monthly_saving < 0
    assert describe(result).startswith("Never breaks even")


def test_equal_costs_never_break_even_without_dividing_by_zero():
    result = calculate(CalculatorInputs(1000, 0.01, None, 0.01, None, 10, 0.01, 5))
    assert result.status == "never"
    assert result.saving_per_request == 0
    assert result.break_even_requests is None


def test_no_volume_still_gives_break_even_requests_but_no_date():
    result = calculate(CalculatorInputs(0, 0.01, None, 0.002, None, 1000, 0.01, 2))
    assert result.status == "no_volume"
    assert result.break_even_requests == pytest.approx(12 / 0.008)
    assert result.break_even_months is None and result.break_even_days is None
    assert "enter a monthly volume" in describe(result)


def test_no_one_off_cost_breaks_even_immediately():
    result = calculate(CalculatorInputs(1000, 0.01, None, 0.002))
    assert result.status == "breaks_even"
    assert result.break_even_requests == 0
    assert result.break_even_months == 0


def test_empty_worksheet_is_an_answer_not_an_error():
    result = calculate(CalculatorInputs())
    assert result.status == "never"
    assert result.one_off_cost == 0 and result.monthly_saving == 0 and result.latency_saved_ms == 0


@pytest.mark.parametrize("bad", [-5, float("nan"), float("inf"), "abc", "", None])
def test_negative_and_nonsense_inputs_count_as_zero(bad):
    result = calculate(CalculatorInputs(bad, 0.01, bad, 0.002, bad, bad, 0.01, bad))
    assert result.status == "no_volume"
    assert result.one_off_cost == 0
    assert result.latency_saved_ms == 0


def test_a_saving_too_small_to_represent_never_breaks_even():
    result = calculate(CalculatorInputs(1000, 5e-324, None, 0, None, 1, 1e300, 0))
    assert result.status == "never"
    assert result.break_even_requests is None


def test_slower_student_shows_negative_latency_saved():
    result = calculate(CalculatorInputs(teacher_latency_ms=300, student_latency_ms=450))
    assert result.latency_saved_ms == -150
    assert calculator_display(result)["latency_saved_ms"] == "-150 ms"


def test_cost_per_request_from_tokens_matches_the_lesson():
    cost = cost_per_request_from_tokens(
        input_tokens=2000, output_tokens=300, input_price_per_million=3, output_price_per_million=15
    )
    assert cost == pytest.approx(0.0105)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0105, "$0.0105"),
        (0.5, "$0.50"),
        (573, "$573.00"),
        (4860.0000001, "$4,860.00"),
        (-0.0081, "−$0.0081"),
        (0, "$0.00"),
        (1e-9, "$0.00"),
        (1234567.891, "$1,234,567.89"),
    ],
)
def test_money_format(value, text):
    assert format_money(value) == text


# ---------- the JavaScript mirror ----------

RUNNER = r"""
import { calculate, describe, display, costPerRequestFromTokens } from "./calculator.mjs";
let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) input += chunk;
const { cases, tokens } = JSON.parse(input);
const enc = (x) => (x === null || Number.isFinite(x) ? x : String(x));
const results = cases.map((inputs) => {
  const r = calculate(inputs);
  const out = {};
  for (const [k, v] of Object.entries(r)) out[k] = typeof v === "number" ? enc(v) : v;
  return { result: out, summary: describe(r), display: display(r) };
});
const estimates = tokens.map((t) => costPerRequestFromTokens(t));
process.stdout.write(JSON.stringify({ results, estimates }));
"""

FIELDS = list(CalculatorInputs.__dataclass_fields__)


def _random_cases(count: int) -> list[dict]:
    rng = random.Random(20261114)
    cases = []
    for _ in range(count):
        teacher = rng.choice([0, rng.uniform(0, 0.05), round(rng.uniform(0, 0.05), 4)])
        student = rng.choice([teacher, rng.uniform(0, 0.05), round(rng.uniform(0, 0.05), 4)])
        cases.append(
            {
                "monthly_requests": rng.choice([0, rng.randrange(1, 10**8), None]),
                "teacher_cost_per_request": teacher,
                "teacher_latency_ms": rng.choice([None, rng.randrange(0, 20_000)]),
                "student_cost_per_request": student,
                "student_latency_ms": rng.choice([None, rng.randrange(0, 20_000)]),
                "teacher_outputs_n": rng.choice([None, 0, rng.randrange(1, 10**6)]),
                "teacher_cost_per_output": rng.choice([None, rng.uniform(0, 0.1)]),
                "training_cost": rng.choice([None, 0, round(rng.uniform(0, 50_000), 2)]),
            }
        )
    return cases


EDGE_CASES = [
    {name: getattr(WORKED, name) for name in FIELDS},
    {"monthly_requests": 60_000, "teacher_cost_per_request": 0.0105, "student_cost_per_request": 0.024},
    {"teacher_cost_per_request": 0.01, "student_cost_per_request": 0.01, "training_cost": 5},
    {"teacher_cost_per_request": 0.01, "student_cost_per_request": 0.002, "teacher_outputs_n": 1000},
    {"monthly_requests": -5, "teacher_cost_per_request": -1, "training_cost": -100, "teacher_latency_ms": -3},
    {
        "monthly_requests": "1200",
        "teacher_cost_per_request": "0.01",
        "student_cost_per_request": "",
        "training_cost": "abc",
    },
    {
        "monthly_requests": 1000,
        "teacher_cost_per_request": 5e-324,
        "teacher_outputs_n": 1,
        "teacher_cost_per_output": 1e300,
    },
    {"teacher_latency_ms": 300, "student_latency_ms": 450},
    {"teacher_latency_ms": 1e25, "student_latency_ms": 2.5},
    {},
]


def _node() -> str:
    node = shutil.which("node")
    require(node is not None, "`node` is not on PATH")
    return node


def test_javascript_calculator_agrees_with_python(tmp_path):
    node = _node()
    (tmp_path / "calculator.mjs").write_text(CALCULATOR_JS.read_text())
    (tmp_path / "runner.mjs").write_text(RUNNER)
    cases = EDGE_CASES + _random_cases(300)
    tokens = [
        {"inputTokens": 2000, "outputTokens": 300, "inputPricePerMillion": 3, "outputPricePerMillion": 15},
        {"inputTokens": 123, "outputTokens": 4567, "inputPricePerMillion": 0.15, "outputPricePerMillion": 0.6},
    ]
    completed = subprocess.run(
        [node, "runner.mjs"],
        cwd=tmp_path,
        input=json.dumps({"cases": cases, "tokens": tokens}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    out = json.loads(completed.stdout)

    for case, js in zip(cases, out["results"], strict=True):
        py = calculate(CalculatorInputs(**case))
        for key, value in py.as_dict().items():
            other = js["result"][key]
            if isinstance(value, float) and value is not None:
                # Same operations in the same order on IEEE doubles: the same number, bit for bit.
                assert other == value or math.isclose(other, value, rel_tol=1e-15), (key, case)
            else:
                assert other == value, (key, case)
        assert js["summary"] == describe(py), case
        assert js["display"] == calculator_display(py), case

    for token_case, estimate in zip(tokens, out["estimates"], strict=True):
        expected = cost_per_request_from_tokens(
            input_tokens=token_case["inputTokens"],
            output_tokens=token_case["outputTokens"],
            input_price_per_million=token_case["inputPricePerMillion"],
            output_price_per_million=token_case["outputPricePerMillion"],
        )
        assert estimate == pytest.approx(expected, rel=1e-15)
