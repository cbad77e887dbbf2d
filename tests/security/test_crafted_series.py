"""Every limit the harness applies inside is applied again outside, while decoding what came back.

Learner code can skip the harness and write its own result frame (the fd number is in sys.argv): a training
curve of millions of points, a curve that is not numbers, a manifest of tens of megabytes or strings far longer
than the harness ever writes. Each must end in a clean verdict without the worker decoding the excess.
"""

from __future__ import annotations

import json
import struct
import time
import tracemalloc

import pytest
import torch

from tests.grading.conftest import grade_code
from tests.security.conftest import HOSTILE_LIMITS, one_case_manifest, result_stream
from workers.sandbox.runner import MAX_MANIFEST_BYTES, _decode_result, _Malformed

pytestmark = pytest.mark.sandbox

TRAIN = "train-student"
STATE_EXPECTED = [{"tensors": ["x"], "grad": [], "state": {"w": (2,)}, "series_max": 5000}]


def _train_student_sending(series_expr: str, *, name_expr: str = "name") -> str:
    """A train_student that writes its own frame: the student's real parameters plus the given series."""
    return f"""
import json, os, struct, sys
import torch
from safetensors.torch import save


def train_student(student, teacher, transfer_x, labeled_x, labeled_y, device):
    params = student.state_dict()
    tensors = {{f"c0.state.{{i}}": v.detach().cpu().contiguous() for i, v in enumerate(params.values())}}
    names = {{{name_expr}: f"c0.state.{{i}}" for i, name in enumerate(params)}}
    tensors["c0.series"] = {series_expr}
    case = {{"index": 0, "ok": True, "grads": {{}}, "inputs_after": {{}}, "backward": "not_requested",
             "result": {{"kind": "series", "key": "c0.series"}}, "state": names}}
    m = json.dumps({{"version": 1, "status": "ok", "cases": [case]}}).encode()
    blob = save(tensors)
    frame = memoryview(b"LPRES1\\n" + struct.pack(">Q", len(m)) + m + struct.pack(">Q", len(blob)) + blob)
    fd = int(sys.argv[1])
    while frame:
        frame = frame[os.write(fd, frame):]
    os._exit(0)
"""


def _grade_train(code: str):
    started = time.monotonic()
    verdict = grade_code(TRAIN, code, seed=5)
    text = json.dumps(verdict.to_dict(), ensure_ascii=False)
    text.encode("utf-8")
    return verdict, text, time.monotonic() - started


def test_a_curve_of_millions_of_points_is_refused_before_it_is_decoded():
    # 7.9 million float64 points fit under the 64 MB result cap; the harness never sends more than 5,000.
    verdict, text, seconds = _grade_train(_train_student_sending("torch.arange(7_900_000, dtype=torch.float64)"))
    assert verdict.status != "passed" and verdict.score == 0
    assert "more than 5,000 points" in text
    assert len(text) < 200_000, "the curve reached the verdict"
    assert seconds < 60


def test_a_curve_that_is_not_numbers_is_refused():
    verdict, text, _ = _grade_train(_train_student_sending("torch.tensor([1, 2, 3], dtype=torch.int64)"))
    assert verdict.status != "passed" and verdict.score == 0
    assert "not a list of numbers" in text


def test_a_curve_just_within_the_limit_is_still_graded():
    verdict, text, _ = _grade_train(_train_student_sending("torch.linspace(2.0, 0.1, 5000, dtype=torch.float64)"))
    assert "points" not in verdict.to_dict().get("message", "")
    check = next(c for c in verdict.checks if c.name == "returns_curve")
    assert check.passed and "5,000 steps" in check.message


def test_an_overlong_parameter_name_is_refused():
    verdict, text, _ = _grade_train(
        _train_student_sending("torch.zeros(3, dtype=torch.float64)", name_expr='name + "x" * 50_000')
    )
    assert verdict.status != "passed" and verdict.score == 0
    assert "longer than 200 characters" in text and len(text) < 200_000


SIGNATURE = "def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):\n"


def _distillation_sending(manifest_expr: str) -> str:
    return f"""
import json, os, struct, sys
{SIGNATURE}    m = {manifest_expr}
    frame = memoryview(b"LPRES1\\n" + struct.pack(">Q", len(m)) + m + struct.pack(">Q", 0))
    while frame:
        frame = frame[os.write(int(sys.argv[1]), frame):]
    os._exit(0)
"""


def test_an_oversized_results_manifest_is_refused():
    code = _distillation_sending(
        'b\'{"version": 1, "status": "error", "error": {"message": "\' + b\'x\' * 50_000_000 + b\'"}}\''
    )
    verdict = grade_code("distillation-loss", code, limits=HOSTILE_LIMITS)
    text = json.dumps(verdict.to_dict(), ensure_ascii=False)
    assert verdict.status != "passed" and verdict.score == 0
    assert f"larger than {MAX_MANIFEST_BYTES:,} bytes" in text and len(text) < 100_000


def test_an_oversized_string_is_cut_to_the_harness_limit():
    code = _distillation_sending(
        "json.dumps({'version': 1, 'status': 'error', 'error': {'type': 'T' * 300_000, "
        "'message': 'm' * 300_000, 'traceback': 't' * 300_000}}).encode()"
    )
    verdict = grade_code("distillation-loss", code, limits=HOSTILE_LIMITS)
    text = json.dumps(verdict.to_dict(), ensure_ascii=False)
    assert verdict.status != "passed" and verdict.score == 0
    assert len(text) < 100_000


# ----------------------------------------------------------------------------- the decoder itself


def _frame(manifest: bytes, blob: bytes = b"") -> bytes:
    return b"LPRES1\n" + struct.pack(">Q", len(manifest)) + manifest + struct.pack(">Q", len(blob)) + blob


def test_an_oversized_manifest_is_neither_copied_nor_parsed(monkeypatch):
    raw = _frame(b'{"version": 1, "status": "error", "error": {"message": "' + b"x" * 50_000_000 + b'"}}')
    parsed = []
    monkeypatch.setattr("workers.sandbox.runner.json.loads", lambda *a, **k: parsed.append(a) or {})
    tracemalloc.start()
    try:
        with pytest.raises(_Malformed, match="larger than"):
            _decode_result(raw, [{"tensors": ["x"], "grad": ["x"], "state": {}}])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert parsed == []
    assert peak < 1 << 20, f"decoding allocated {peak / 2**20:.0f} MB"


def _series_frame(series: torch.Tensor) -> bytes:
    manifest = one_case_manifest(result={"kind": "series", "key": "c0.series"}, state={"w": "c0.state.0"})
    return result_stream(manifest, {"c0.series": series, "c0.state.0": torch.zeros(2)})


def test_a_long_series_is_refused_from_the_header(monkeypatch):
    raw = _series_frame(torch.zeros(5001, dtype=torch.float64))
    loaded = []
    monkeypatch.setattr("workers.sandbox.runner.st_load", lambda blob: loaded.append(1) or {})
    with pytest.raises(_Malformed, match="more than 5,000 points"):
        _decode_result(raw, STATE_EXPECTED)
    assert loaded == []
    # The limit is the run's own: a challenge asking for at most 10 points gets at most 10.
    with pytest.raises(_Malformed, match="more than 10 points"):
        _decode_result(_series_frame(torch.zeros(11, dtype=torch.float64)), [STATE_EXPECTED[0] | {"series_max": 10}])


@pytest.mark.parametrize("series", [torch.zeros(3, dtype=torch.int64), torch.zeros(3), torch.zeros(2, 2).double()])
def test_a_series_of_other_than_float64_points_is_refused(series):
    with pytest.raises(_Malformed, match="not a list of numbers"):
        _decode_result(_series_frame(series), STATE_EXPECTED)


def test_a_series_at_the_limit_decodes():
    status, [case], _ = _decode_result(_series_frame(torch.ones(5000, dtype=torch.float64)), STATE_EXPECTED)
    assert status == "ok" and case.result.numel() == 5000


def test_a_parameter_name_longer_than_the_harness_writes_is_refused():
    manifest = one_case_manifest(result={"kind": "series", "key": "c0.series"}, state={"w" * 201: "c0.state.0"})
    raw = result_stream(manifest, {"c0.series": torch.zeros(1, dtype=torch.float64), "c0.state.0": torch.zeros(2)})
    with pytest.raises(_Malformed, match="longer than 200"):
        _decode_result(raw, STATE_EXPECTED)
