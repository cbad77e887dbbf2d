"""Template helpers for verdicts: status badges, percentages, the train-student table and its loss curve.

The verdict is rendered in one place, ``challenges/_verdict.html``; the page includes it on load and the
challenge page's script fetches it (``challenge-verdict``) when a polled submission becomes final.
"""

from __future__ import annotations

import math
from numbers import Real

from django import template

register = template.Library()

# The CSS class of each status's badge (site.css draws a symbol before its text, so it reads without colour).
BADGES = {
    "passed": "badge-passed",
    "failed": "badge-failed",
    "error": "badge-failed",
    "timeout": "badge-failed",
    "queued": "badge-running",
    "running": "badge-running",
    "attempted": "badge-failed",
    "not_tried": "badge-available",
}
# Statuses as words inside a sentence ("this attempt was failed before, now passed").
STATUS_WORDS = {
    "queued": "queued",
    "running": "running",
    "passed": "passed",
    "failed": "failed",
    "error": "an error",
    "timeout": "timed out",
}

# The loss curve's drawing area, in viewBox units; the SVG scales to its container's width.
CURVE_WIDTH, CURVE_HEIGHT = 320, 170
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 46, 312, 10, 136


@register.filter
def status_badge(status: str) -> str:
    return BADGES.get(status, "")


@register.filter
def status_words(status: str) -> str:
    return STATUS_WORDS.get(status, str(status))


@register.filter
def about_seconds(seconds) -> str:
    """An estimate in words: 7 → "about 7 s", 43 → "about 45 s", 100 → "about 2 min"; "" for no number."""
    number = _number(seconds)
    if number is None:
        return ""
    number = max(1, round(number))
    if number < 10:
        return f"about {number} s"
    if number < 58:  # 58 s and more round to "about 1 min", not "about 60 s"
        return f"about {5 * round(number / 5)} s"
    return f"about {max(1, round(number / 60))} min"


@register.filter
def elapsed_words(seconds) -> str:
    """A measured time: 4 → "4 s", 125 → "2 min 5 s"; "" for no number."""
    number = _number(seconds)
    if number is None:
        return ""
    number = int(number)
    return f"{number} s" if number < 60 else f"{number // 60} min {number % 60} s"


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, Real):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _pct(value: float) -> str:
    return f"{value:.1%}"


@register.filter
def percent(value) -> str:
    """0.9666 → "96.7%" (as the grader's own messages write it); "–" for anything not a finite number."""
    number = _number(value)
    return "–" if number is None else _pct(number)


def _cell(value, needed: float | None, words: tuple[str, str]) -> dict:
    """One measured value against the bar: the value, whether it reaches it, and that in words (not colour)."""
    number = _number(value)
    if number is None:
        return {"value": "–", "passed": None, "symbol": "", "words": "not measured"}
    if needed is None:
        return {"value": _pct(number), "passed": None, "symbol": "", "words": ""}
    passed = number >= needed
    return {"value": _pct(number), "passed": passed, "symbol": "✓" if passed else "✗", "words": words[not passed]}


@register.simple_tag
def train_student_rows(details: dict) -> list[dict]:
    """The rows of the train-student table: each metric for the learner's student, the bar, the baseline."""
    rows = []
    for label, key, needed_key, baseline_key in (
        ("Test accuracy", "accuracy", "min_accuracy", "baseline_accuracy"),
        ("Agreement with the teacher", "agreement", "min_agreement", "baseline_agreement"),
    ):
        needed = _number(details.get(needed_key))
        rows.append(
            {
                "label": label,
                "student": _cell(details.get(key), needed, ("pass", "fail")),
                "needed": "–" if needed is None else f"≥\N{NO-BREAK SPACE}{_pct(needed)}",
                "baseline": _cell(details.get(baseline_key), needed, ("above the bar", "below the bar")),
            }
        )
    return rows


def _fmt(value: float) -> str:
    return f"{value:.3g}"


@register.inclusion_tag("challenges/_loss_curve.html")
def loss_curve(details: dict, chart_id: object = "chart") -> dict:
    """An inline SVG of ``details["curve"]`` (the training loss, evenly downsampled from ``details["steps"]``).

    Drawn in currentColor, so it follows the text colour (dark mode, forced colours); a None value (a
    non-finite loss) is a gap in the line. Comes with a one-sentence summary for reading without the chart.
    """
    raw = details.get("curve") if isinstance(details, dict) else None
    values = [_number(v) for v in raw] if isinstance(raw, list) else []
    finite = [(i, v) for i, v in enumerate(values) if v is not None]
    context = {"chart_id": f"loss-curve-{chart_id}", "drawn": False}
    if not finite:
        context["empty_reason"] = (
            "No training curve: your function returned no loss values."
            if not values
            else f"No chart: the loss was not a finite number at any of the {len(values):,} steps recorded."
        )
        return context

    steps = details.get("steps")
    steps = steps if isinstance(steps, int) and not isinstance(steps, bool) and steps >= len(values) else len(values)
    count = len(values)

    def step_of(index: int) -> int:
        # The grader keeps values[round(i * (steps - 1) / (count - 1))] for i in range(count): the same steps.
        return 1 if count == 1 else round(index * (steps - 1) / (count - 1)) + 1

    low, high = min(v for _, v in finite), max(v for _, v in finite)
    # A flat curve sits in the middle of a band around its value.
    span = high - low if high > low else (abs(high) or 1.0)
    bottom = low if high > low else low - span / 2

    def x(index: int) -> float:
        if steps == 1:
            return (PLOT_LEFT + PLOT_RIGHT) / 2
        return PLOT_LEFT + (step_of(index) - 1) / (steps - 1) * (PLOT_RIGHT - PLOT_LEFT)

    def y(value: float) -> float:
        return PLOT_BOTTOM - (value - bottom) / span * (PLOT_BOTTOM - PLOT_TOP)

    # One path; a gap (None) starts a new subpath. A value with gaps on both sides is drawn as a dot.
    commands, dots, run = [], [], []
    for index, value in enumerate([*values, None]):
        if value is None:
            if len(run) == 1:
                dots.append((f"{run[0][0]:.1f}", f"{run[0][1]:.1f}"))
            elif run:
                commands.append("M" + " L".join(f"{px:.1f},{py:.1f}" for px, py in run))
            run = []
        else:
            run.append((x(index), y(value)))

    (first_index, first), (last_index, last) = finite[0], finite[-1]
    first_step, last_step = step_of(first_index), step_of(last_index)
    if len(finite) == 1:
        summary = f"The loss was {_fmt(first)} at step {first_step:,}, the only finite value recorded."
    elif last < first:
        summary = f"The loss fell from {_fmt(first)} at step {first_step:,} to {_fmt(last)} at step {last_step:,}."
    elif last > first:
        summary = f"The loss rose from {_fmt(first)} at step {first_step:,} to {_fmt(last)} at step {last_step:,}."
    else:
        summary = f"The loss stayed at {_fmt(first)} from step {first_step:,} to step {last_step:,}."
    gaps = count - len(finite)
    gap_note = (
        f"{gaps:,} of the {count:,} points shown were not finite numbers (NaN or infinite): they are gaps in the line."
        if gaps
        else ""
    )
    sampled = f"{count:,} of {steps:,} steps shown, evenly spaced." if count < steps else ""
    context.update(
        {
            "drawn": True,
            "width": CURVE_WIDTH,
            "height": CURVE_HEIGHT,
            "left": PLOT_LEFT,
            "right": PLOT_RIGHT,
            "top": PLOT_TOP,
            "bottom": PLOT_BOTTOM,
            "mid_x": (PLOT_LEFT + PLOT_RIGHT) / 2,
            "path": " ".join(commands),
            "dots": dots,
            "y_max": _fmt(bottom + span),
            "y_min": _fmt(bottom),
            "steps": f"{steps:,}",
            "summary": summary,
            "gap_note": gap_note,
            "sampled": sampled,
            "description": " ".join(
                part
                for part in (
                    f"Loss from {_fmt(low)} to {_fmt(high)} over steps 1 to {steps:,}.",
                    summary,
                    gap_note,
                )
                if part
            ),
        }
    )
    return context
