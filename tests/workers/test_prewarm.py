"""The grading worker keeps one pre-started sandbox; a stale or mismatched one is never used."""

from __future__ import annotations

import pytest
import torch

from workers import grading
from workers.sandbox import Limits, PrewarmedSandbox, run_cases

pytestmark = pytest.mark.sandbox

LIMITS = Limits(cpu_seconds=10, wall_seconds=20)
CODE = "def double(x):\n    return x * 2\n"


@pytest.fixture(autouse=True)
def _no_leftover():
    yield
    box, grading._next_sandbox = grading._next_sandbox, None
    if box is not None:
        box.close()


def test_prewarmed_sandbox_is_taken_once_for_matching_limits(monkeypatch):
    monkeypatch.delenv("GRADING_PREWARM", raising=False)
    grading._prewarm(LIMITS, "cpu")
    box = grading._take_prewarmed(LIMITS, "cpu")
    assert isinstance(box, PrewarmedSandbox)
    assert grading._take_prewarmed(LIMITS, "cpu") is None  # used once: the slot is empty now
    result = run_cases(CODE, entrypoint="double", cases=[{"x": 21}], limits=LIMITS, prewarmed=box)
    assert result.status == "ok"
    assert box.used


def test_mismatched_prewarmed_sandbox_is_closed_not_used():
    grading._prewarm(LIMITS, "cpu")
    stale = grading._next_sandbox
    assert grading._take_prewarmed(Limits(cpu_seconds=5, wall_seconds=20), "cpu") is None
    assert stale.proc.poll() is not None


def test_dead_prewarmed_sandbox_is_replaced_by_a_fresh_one():
    box = PrewarmedSandbox(LIMITS, "cpu")
    box.kill()
    result = run_cases(CODE, entrypoint="double", cases=[{"x": torch.tensor(4.0)}], limits=LIMITS, prewarmed=box)
    assert result.status == "ok", result.message
    assert result.cases[0].result.item() == 8.0


def test_prewarm_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("GRADING_PREWARM", "0")
    grading._prewarm(LIMITS, "cpu")
    assert grading._next_sandbox is None
