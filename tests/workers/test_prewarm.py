"""The grading worker keeps one pre-started sandbox; a stale or mismatched one is never used."""

from __future__ import annotations

import pytest
import torch

from workers.sandbox import Case, Limits, PrewarmedSandbox, PrewarmSlot, run_cases

pytestmark = pytest.mark.sandbox

LIMITS = Limits(cpu_seconds=10, wall_seconds=20)
CODE = "def double(x):\n    return x * 2\n"


@pytest.fixture
def slot():
    slot = PrewarmSlot()
    yield slot
    slot.clear()


def test_prewarmed_sandbox_is_taken_once_for_matching_limits(monkeypatch, slot):
    monkeypatch.delenv("GRADING_PREWARM", raising=False)
    slot.refill(LIMITS, "cpu")
    box = slot.take(LIMITS, "cpu")
    assert isinstance(box, PrewarmedSandbox)
    assert slot.take(LIMITS, "cpu") is None  # used once: the slot is empty now
    result = run_cases(CODE, entrypoint="double", cases=[Case({"x": 21})], limits=LIMITS, prewarmed=box)
    assert result.status == "ok"
    assert box.used


def test_mismatched_prewarmed_sandbox_is_closed_not_used(slot):
    slot.refill(LIMITS, "cpu")
    stale = slot._box
    assert slot.take(Limits(cpu_seconds=5, wall_seconds=20), "cpu") is None
    assert stale.proc.poll() is not None


def test_dead_prewarmed_sandbox_is_replaced_by_a_fresh_one():
    box = PrewarmedSandbox(LIMITS, "cpu")
    box.kill()
    result = run_cases(CODE, entrypoint="double", cases=[Case({"x": torch.tensor(4.0)})], limits=LIMITS, prewarmed=box)
    assert result.status == "ok", result.message
    assert result.cases[0].result.item() == 8.0


def test_prewarm_can_be_turned_off(monkeypatch, slot):
    monkeypatch.setenv("GRADING_PREWARM", "0")
    slot.refill(LIMITS, "cpu")
    assert slot.take(LIMITS, "cpu") is None
