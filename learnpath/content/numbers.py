"""Recompute the numbers that lessons quote.

A drop's front matter lists ``numbers``: each entry pairs a string quoted in the
body (``quote``) with an expression (``expr``) evaluated here with plain ``math``.
The content tests evaluate every expression, round it to the precision of the
quote and compare, so a lesson cannot quote a figure its inputs do not produce.

Expressions see only the functions in ``NAMESPACE``; no builtins beyond those.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

Vector = Sequence[float]


def softmax(logits: Vector, T: float = 1.0) -> list[float]:
    scaled = [z / T for z in logits]
    top = max(scaled)
    exps = [math.exp(z - top) for z in scaled]
    total = sum(exps)
    return [e / total for e in exps]


def log_softmax(logits: Vector, T: float = 1.0) -> list[float]:
    scaled = [z / T for z in logits]
    top = max(scaled)
    log_total = top + math.log(sum(math.exp(z - top) for z in scaled))
    return [z - log_total for z in scaled]


def kl(p: Vector, q: Vector) -> float:
    """KL(p || q) for two probability vectors, in nats."""
    return sum(pi * (math.log(pi) - math.log(qi)) for pi, qi in zip(p, q, strict=True) if pi > 0)


def kl_logits(teacher: Vector, student: Vector, T: float = 1.0) -> float:
    """KL(softmax(teacher/T) || softmax(student/T))."""
    return kl(softmax(teacher, T), softmax(student, T))


def kd_soft(teacher: Vector, student: Vector, T: float = 1.0) -> float:
    """The soft term of the platform's loss: T^2 * KL(teacher || student)."""
    return T * T * kl_logits(teacher, student, T)


def entropy(p: Vector) -> float:
    return -sum(pi * math.log(pi) for pi in p if pi > 0)


def cross_entropy(logits: Vector, label: int) -> float:
    """Hard-label cross-entropy of one example's logits at T = 1."""
    return -log_softmax(logits)[label]


def soft_cross_entropy(teacher: Vector, student: Vector, T: float = 1.0) -> float:
    """-sum p_teacher * log q_student at temperature T."""
    return -sum(p * lq for p, lq in zip(softmax(teacher, T), log_softmax(student, T), strict=True))


def kd_loss(student: Vector, teacher: Vector, label: int, T: float, alpha: float) -> float:
    """alpha * T^2 * KL(teacher || student) + (1 - alpha) * CE(student, label), batch of one."""
    return alpha * kd_soft(teacher, student, T) + (1 - alpha) * cross_entropy(student, label)


def kl_grad(teacher: Vector, student: Vector, T: float = 1.0) -> list[float]:
    """d KL(softmax(t/T) || softmax(s/T)) / d s = (q - p) / T."""
    p = softmax(teacher, T)
    q = softmax(student, T)
    return [(qi - pi) / T for pi, qi in zip(p, q, strict=True)]


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def dpo_loss(margin: float, beta: float) -> float:
    """-log sigmoid(beta * margin) for a log-ratio margin between chosen and rejected."""
    return -math.log(sigmoid(beta * margin))


def percent(part: float, whole: float) -> float:
    return 100.0 * part / whole


def digits_metrics() -> dict:
    """The measured teacher/student figures on scikit-learn's digits (see challenges.digits)."""
    path = Path(__file__).resolve().parents[2] / "content" / "data" / "digits-metrics.json"
    return json.loads(path.read_text())


NAMESPACE = {
    "softmax": softmax,
    "log_softmax": log_softmax,
    "kl": kl,
    "kl_logits": kl_logits,
    "kd_soft": kd_soft,
    "entropy": entropy,
    "cross_entropy": cross_entropy,
    "soft_cross_entropy": soft_cross_entropy,
    "kd_loss": kd_loss,
    "kl_grad": kl_grad,
    "sigmoid": sigmoid,
    "dpo_loss": dpo_loss,
    "percent": percent,
    "digits_metrics": digits_metrics,
    "exp": math.exp,
    "log": math.log,
    "sqrt": math.sqrt,
    "abs": abs,
    "max": max,
    "min": min,
    "sum": sum,
    "round": round,
    "len": len,
}

_QUOTE = re.compile(r"^[~≈]?\s*(?P<sign>[−-])?(?P<num>\d[\d,]*(?:\.\d+)?)\s*(?P<unit>%|×|x|k|M|B)?$")


def evaluate(expr: str) -> float:
    value = eval(expr, {"__builtins__": {}}, dict(NAMESPACE))  # noqa: S307 - authored content, fixed namespace
    return float(value)


def parse_quote(quote: str) -> tuple[Decimal, int]:
    """'0.7128' -> (0.7128, 4); '40%' -> (40, 0); '−24.14' -> (-24.14, 2); '1,797' -> (1797, 0)."""
    match = _QUOTE.match(quote.strip())
    if not match:
        raise ValueError(f"cannot read a number in quote {quote!r}")
    digits = match["num"].replace(",", "")
    value = Decimal(digits)
    if match["sign"]:
        value = -value
    places = len(digits.split(".")[1]) if "." in digits else 0
    return value, places


def quote_matches(quote: str, value: float) -> bool:
    """True when ``value`` rounded to the quote's precision equals the quote."""
    quoted, places = parse_quote(quote)
    rounded = Decimal(str(round(value, places)))
    return rounded == quoted or abs(float(rounded) - float(quoted)) < 10 ** -(places + 6)
