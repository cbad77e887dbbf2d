"""What the sandbox sends back is hostile too: crafted frames end in a clean verdict, in bounded time and memory.

Each attack writes its own frame straight to the harness's result pipe (the fd number is in sys.argv) and
exits, so the trusted side reads exactly what the learner made. The decoder is also fuzzed with random and
mutated frames: it may only accept a frame or refuse it as malformed, never raise anything else.
"""

from __future__ import annotations

import json
import random
import resource
import struct
import time

import pytest
import torch
from safetensors.torch import save

from tests.grading.conftest import grade_code, solution
from tests.security.conftest import HOSTILE_LIMITS, one_case_manifest, result_stream
from workers.sandbox.runner import _decode_result, _Malformed

pytestmark = pytest.mark.sandbox

SLUG = "distillation-loss"
SIGNATURE = "def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):\n"
EXPECTED = [{"tensors": ["x"], "grad": ["x"], "state": {}}]


def _send(frame_expr: str) -> str:
    """Learner code that writes the frame built by ``frame_expr`` (bytes) to the result pipe, then exits."""
    return f"""
import json, os, struct, sys
{SIGNATURE}    frame = {frame_expr}
    os.write(int(sys.argv[1]), frame)
    os._exit(0)
"""


HEADER = 'b"LPRES1\\n" + struct.pack(">Q", len(m)) + m'
CRAFTED = {
    "huge integer": f'(lambda m: {HEADER} + struct.pack(">Q", 0))(b\'{{"version": 1, "status": "ok", "cases": [{{"index": \' + b"9" * 100000 + b"}}]}}")',
    "overflowing shape": (
        f'(lambda m, h: {HEADER} + struct.pack(">Q", 8 + len(h)) + struct.pack("<Q", len(h)) + h)'
        '(b\'{"version": 1, "status": "ok", "cases": []}\', '
        'json.dumps({"c0.result": {"dtype": "F32", "shape": [2**62, 2**62], "data_offsets": [0, 0]}}).encode())'
    ),
    "300,000 tensors": (
        f'(lambda m, h: {HEADER} + struct.pack(">Q", 8 + len(h)) + struct.pack("<Q", len(h)) + h)'
        '(b\'{"version": 1, "status": "ok", "cases": []}\', '
        'json.dumps({f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(300_000)}).encode())'
    ),
    "surrogates in an error": (
        f'(lambda m: {HEADER} + struct.pack(">Q", 0))(json.dumps({{"version": 1, "status": "error", '
        '"error": {"type": "\\ud800", "message": "\\udfff" * 10, "traceback": "bad \\ud83d text"}}).encode())'
    ),
}


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_a_crafted_frame_ends_in_a_clean_verdict(name):
    started = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    verdict = grade_code(SLUG, _send(CRAFTED[name]), limits=HOSTILE_LIMITS)
    grew_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert verdict.status in ("failed", "error", "timeout") and verdict.score == 0
    # Valid UTF-8 all the way to the CLI and the database.
    json.dumps(verdict.to_dict(), ensure_ascii=False).encode("utf-8")
    assert time.monotonic() - started < HOSTILE_LIMITS.wall_seconds + 10
    assert grew_mb < 300, f"the grader grew by {grew_mb:.0f} MB"


def test_surrogates_in_the_learners_exception_are_sanitised():
    code = f"{SIGNATURE}    raise ValueError('\\ud800 lone \\udfff surrogates')\n"
    verdict = grade_code(SLUG, code, limits=HOSTILE_LIMITS)
    assert verdict.status == "failed"
    text = json.dumps(verdict.to_dict(), ensure_ascii=False)
    text.encode("utf-8")
    assert "lone" in text and "\ud800" not in text


def test_a_million_tensors_are_refused_from_the_header_alone():
    header = json.dumps({f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(200_000)})
    blob = struct.pack("<Q", len(header)) + header.encode()
    body = json.dumps({"version": 1, "status": "ok", "cases": []}).encode()
    raw = b"LPRES1\n" + len(body).to_bytes(8, "big") + body + len(blob).to_bytes(8, "big") + blob
    started = time.monotonic()
    with pytest.raises(_Malformed):
        _decode_result(raw, EXPECTED)
    assert time.monotonic() - started < 2


def _valid_frame() -> bytes:
    manifest = one_case_manifest(
        result={"kind": "tensor", "key": "c0.result"},
        grads={"x": "c0.grad.x"},
        inputs_after={"x": "c0.after.x"},
        backward="done",
    )
    return result_stream(
        manifest, {"c0.result": torch.tensor(1.0), "c0.grad.x": torch.ones(2), "c0.after.x": torch.ones(2)}
    )


def test_the_valid_frame_decodes():
    status, [case], _ = _decode_result(_valid_frame(), EXPECTED)
    assert status == "ok" and case.result.item() == 1.0


def test_fuzzed_frames_are_accepted_or_refused_never_raised():
    rng = random.Random(20261201)
    valid = _valid_frame()
    outcomes = {"accepted": 0, "refused": 0}
    for _ in range(3000):
        frame = bytearray(valid)
        for _ in range(rng.randint(1, 8)):
            action = rng.random()
            position = rng.randrange(len(frame))
            if action < 0.5:
                frame[position] = rng.randrange(256)
            elif action < 0.7:
                del frame[position : position + rng.randint(1, 16)]
            elif action < 0.9:
                frame[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
            else:
                frame[position : position + 8] = struct.pack(">Q", rng.choice([0, 1, 2**31, 2**63, len(frame)]))
        try:
            _decode_result(bytes(frame), EXPECTED)
            outcomes["accepted"] += 1
        except _Malformed:
            outcomes["refused"] += 1
    for _ in range(500):
        try:
            _decode_result(b"LPRES1\n" + bytes(rng.randrange(256) for _ in range(rng.randint(0, 300))), EXPECTED)
            outcomes["accepted"] += 1
        except _Malformed:
            outcomes["refused"] += 1
    assert outcomes["refused"] > 0 and sum(outcomes.values()) == 3500


def test_the_grader_still_passes_the_reference_afterwards():
    assert grade_code(SLUG, solution("reference"), limits=HOSTILE_LIMITS).status == "passed"
