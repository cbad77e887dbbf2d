"""The plan workshop's cost calculator: pure arithmetic, mirrored line for line in static/plans/calculator.js.

Both implementations use IEEE doubles and the same order of operations, so the browser's live figures and the
ones the server saves and exports are the same numbers (tests/plans/test_calculator.py runs both).

A month is 30 days wherever days are shown. Missing, non-finite or negative inputs count as 0, so the function
never raises: a half-filled worksheet still gets an answer, and "never breaks even" is a result, not an error.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

DAYS_PER_MONTH = 30

Status = Literal["breaks_even", "never", "no_volume"]


@dataclass(frozen=True)
class CalculatorInputs:
    monthly_requests: float | None = None
    teacher_cost_per_request: float | None = None
    teacher_latency_ms: float | None = None
    student_cost_per_request: float | None = None
    student_latency_ms: float | None = None
    teacher_outputs_n: float | None = None
    teacher_cost_per_output: float | None = None
    training_cost: float | None = None


@dataclass(frozen=True)
class CalculatorResult:
    teacher_monthly_cost: float
    student_monthly_cost: float
    generation_cost: float
    one_off_cost: float
    saving_per_request: float
    monthly_saving: float
    # "breaks_even": the saving per request is positive and there is a monthly volume;
    # "no_volume": it would break even, but with no monthly volume there is no date;
    # "never": the student costs as much as the teacher per request, or more.
    status: Status
    break_even_requests: float | None
    break_even_months: float | None
    break_even_days: float | None
    latency_saved_ms: float

    def as_dict(self) -> dict:
        return asdict(self)


def _amount(value) -> float:
    if value is None:
        return 0.0
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    if not math.isfinite(number) or number < 0:
        return 0.0
    return number


def calculate(inputs: CalculatorInputs) -> CalculatorResult:
    volume = _amount(inputs.monthly_requests)
    teacher_cost = _amount(inputs.teacher_cost_per_request)
    student_cost = _amount(inputs.student_cost_per_request)

    teacher_monthly = volume * teacher_cost
    student_monthly = volume * student_cost
    generation = _amount(inputs.teacher_outputs_n) * _amount(inputs.teacher_cost_per_output)
    one_off = generation + _amount(inputs.training_cost)
    saving_per_request = teacher_cost - student_cost
    monthly_saving = teacher_monthly - student_monthly

    requests = months = days = None
    # A saving so small that the quotient overflows is, for any real traffic, no saving at all.
    if saving_per_request <= 0 or not math.isfinite(one_off / saving_per_request):
        status: Status = "never"
    else:
        requests = one_off / saving_per_request
        if volume > 0:
            status = "breaks_even"
            months = requests / volume
            days = months * DAYS_PER_MONTH
        else:
            status = "no_volume"

    return CalculatorResult(
        teacher_monthly_cost=teacher_monthly,
        student_monthly_cost=student_monthly,
        generation_cost=generation,
        one_off_cost=one_off,
        saving_per_request=saving_per_request,
        monthly_saving=monthly_saving,
        status=status,
        break_even_requests=requests,
        break_even_months=months,
        break_even_days=days,
        latency_saved_ms=_amount(inputs.teacher_latency_ms) - _amount(inputs.student_latency_ms),
    )


def cost_per_request_from_tokens(
    *, input_tokens, output_tokens, input_price_per_million, output_price_per_million
) -> float:
    """A hosted model's cost per call from typical token counts and its prices per million tokens."""
    return (
        _amount(input_tokens) * _amount(input_price_per_million) / 1e6
        + _amount(output_tokens) * _amount(output_price_per_million) / 1e6
    )


def describe(result: CalculatorResult) -> str:
    """One sentence for the worksheet and the Markdown export (calculator.js words it the same way)."""
    if result.status == "never":
        return (
            "Never breaks even: the student costs as much as the teacher per request or more, "
            "so no volume pays back the one-off cost."
        )
    if result.status == "no_volume":
        return (
            f"Breaks even after {format_count(result.break_even_requests)} requests; "
            "enter a monthly volume to see when."
        )
    return (
        f"Breaks even after {format_count(result.break_even_requests)} requests, "
        f"{format_duration(result.break_even_months)} at this volume."
    )


def format_count(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{math.ceil(value - 1e-9):,}"


def format_duration(months: float | None) -> str:
    if months is None or not math.isfinite(months):
        return "—"
    if months < 1:
        days = months * DAYS_PER_MONTH
        return f"about {days:.1f} days"
    return f"about {months:.1f} months"


def format_money(value: float) -> str:
    if not math.isfinite(value):
        return "—"
    sign = "−" if value < 0 else ""
    amount = abs(value)
    if amount >= 1e15:  # beyond any real budget; keep it short and identical to JavaScript's toExponential(2)
        return f"{sign}${amount:.2e}"
    if amount >= 1 or amount == 0:
        return f"{sign}${amount:,.2f}"
    # Per-request prices are fractions of a cent: keep up to six decimals, never fewer than two.
    whole, fraction = f"{amount:.6f}".rstrip("0").split(".")
    return f"{sign}${whole}.{fraction.ljust(2, '0')}"


def calculator_display(result: CalculatorResult) -> dict[str, str]:
    """The worksheet's figures as text, keyed like the result (calculator.js's display() returns the same)."""
    return {
        "teacher_monthly_cost": format_money(result.teacher_monthly_cost),
        "student_monthly_cost": format_money(result.student_monthly_cost),
        "generation_cost": format_money(result.generation_cost),
        "one_off_cost": format_money(result.one_off_cost),
        "saving_per_request": format_money(result.saving_per_request),
        "monthly_saving": format_money(result.monthly_saving),
        "break_even_requests": format_count(result.break_even_requests),
        "break_even_months": format_duration(result.break_even_months),
        # floor(x + 0.5) is JavaScript's Math.round; Python's round() goes to the even neighbour.
        "latency_saved_ms": f"{math.floor(result.latency_saved_ms + 0.5):,} ms",
    }
