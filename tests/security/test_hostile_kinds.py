"""The hostile suite against every challenge kind, each with its own signature and result mode.

Every body below runs as the learner's entry point for each kind through the real sandbox and the kind's
trusted checks; none may pass, crash the grader, outlive its run or leave anything behind.
"""

from __future__ import annotations

import json

import pytest
import torch

from challenges.kinds import KINDS
from tests.grading.conftest import grade_code, solution
from tests.security.conftest import HOSTILE_LIMITS, one_case_manifest, result_stream
from workers.sandbox import Limits
from workers.sandbox.runner import _decode_result, _Malformed

pytestmark = pytest.mark.sandbox

ALL_KINDS = sorted(KINDS)
# Training takes real CPU time; these limits still stop a loop long before the kind's own budget would.
LIMITS = Limits(**{**HOSTILE_LIMITS.__dict__, "cpu_seconds": 8, "wall_seconds": 10, "memory_mb": 2048})


def grade_body(slug: str, body: str, prelude: str = "", seed: int = 1):
    indented = "\n".join("    " + line for line in body.strip("\n").splitlines())
    signature = f"def {_entrypoint(slug)}({', '.join(KINDS[slug].parameters)}):\n"
    code = f"import os, sys, json, time, torch\nimport torch.nn.functional as F\n{prelude}\n{signature}{indented}\n"
    return grade_code(slug, code, limits=LIMITS, seed=seed)


def _entrypoint(slug: str) -> str:
    return {"train-student": "train_student"}.get(slug, slug.replace("-", "_"))


@pytest.mark.parametrize("slug", ALL_KINDS)
def test_a_loop_times_out(slug):
    verdict = grade_body(slug, "while True:\n    pass")
    assert verdict.status == "timeout" and verdict.score == 0
    assert "time" in verdict.feedback


@pytest.mark.parametrize("slug", ALL_KINDS)
def test_a_fork_bomb_is_contained(slug):
    verdict = grade_body(slug, "while True:\n    try:\n        os.fork()\n    except OSError:\n        pass")
    assert verdict.status in ("timeout", "failed") and verdict.score == 0


@pytest.mark.parametrize("slug", ALL_KINDS)
def test_allocating_without_bound_is_a_memory_failure(slug):
    verdict = grade_body(slug, "a = []\nwhile True:\n    a.append(bytearray(1 << 26))")
    assert verdict.status == "failed" and "memory" in verdict.feedback


@pytest.mark.parametrize("slug", ALL_KINDS)
def test_writing_outside_tmp_is_refused(slug, tmp_path):
    planted = tmp_path / "planted"
    body = f"""
seen = []
for path in ({str(planted)!r}, '/opt/site-packages/planted', '/opt/site-packages/sklearn/datasets/data/x', '/planted'):
    try:
        open(path, 'w').write('x')
        seen.append('WROTE ' + path)
    except OSError as exc:
        seen.append('denied ' + type(exc).__name__)
raise RuntimeError(' | '.join(seen))
"""
    verdict = grade_body(slug, body)
    runs = next(c for c in verdict.checks if c.name == "runs")
    assert verdict.status == "failed" and not planted.exists()
    assert "WROTE" not in runs.message and runs.message.count("denied") == 4, runs.message


def test_the_digits_data_files_are_hidden():
    body = """
import sklearn, glob
found = glob.glob('/opt/site-packages/sklearn/datasets/**/*digits*', recursive=True)
raise RuntimeError(f'found={found!r} listing={os.listdir("/opt/site-packages/sklearn/datasets/data")!r}')
"""
    verdict = grade_body("train-student", body)
    runs = next(c for c in verdict.checks if c.name == "runs")
    assert "found=[] listing=[]" in runs.message, runs.message


@pytest.mark.parametrize(
    "prelude",
    [
        # A forged state_dict: right names, but taken from anywhere the learner likes, with wrong shapes.
        "torch.nn.Module.state_dict = lambda self, *a, **k: {'hidden.weight': torch.zeros(256, 64), "
        "'hidden.bias': torch.zeros(32), 'out.weight': torch.zeros(10, 32), 'out.bias': torch.zeros(10)}",
        # Not tensors at all, and a key that is not a string.
        "torch.nn.Module.state_dict = lambda self, *a, **k: {'hidden.weight': 'x', 3: torch.zeros(1)}",
        # Reading the state raises.
        "def _boom(self, *a, **k):\n    raise SystemExit('no state for you')\ntorch.nn.Module.state_dict = _boom",
        # Many thousands of parameters.
        "torch.nn.Module.state_dict = lambda self, *a, **k: {f'p{i}': torch.zeros(1) for i in range(20000)}",
    ],
)
def test_a_crafted_state_dict_never_passes(prelude):
    body = "return [1.0, 0.5]"
    verdict = grade_body("train-student", body, prelude=prelude)
    assert verdict.status == "failed"
    check = next(c for c in verdict.checks if c.name == "student_parameters")
    assert not check.passed


def _public_test_set_cheat() -> str:
    """The reference training plus the public test split, labels and all, embedded in the code (17 KB)."""
    import base64
    import zlib

    import numpy as np

    from challenges import digits

    _, _, x_test, y_test = digits.load_split()
    pixels = (x_test.numpy() * 16).round().astype(np.uint8).tobytes() + y_test.numpy().astype(np.uint8).tobytes()
    blob = base64.b85encode(zlib.compress(pixels, 9)).decode()
    cheat = f"""
import base64, zlib
_RAW = zlib.decompress(base64.b85decode({blob!r}))
_N = {len(y_test)}


def _public(device):
    x = torch.frombuffer(bytearray(_RAW[: _N * 64]), dtype=torch.uint8).reshape(_N, 64).float() / 16
    y = torch.frombuffer(bytearray(_RAW[_N * 64 :]), dtype=torch.uint8).long()
    return x.to(device), y.to(device)


_honest = train_student


def train_student(student, teacher, transfer_x, labeled_x, labeled_y, device):
    x_pub, y_pub = _public(transfer_x.device)
    # Train on the public test images and their labels first, then distill as the reference does.
    optimizer = torch.optim.Adam(student.parameters(), lr=1e-2)
    for _ in range(200):
        loss = F.cross_entropy(student(x_pub), y_pub)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return _honest(student, teacher, transfer_x, labeled_x, labeled_y, device)
"""
    return solution("reference", "train-student") + cheat


@pytest.mark.parametrize("seed", [3, 14])
def test_embedding_the_public_test_set_does_not_beat_distillation(seed):
    code = _public_test_set_cheat()
    assert len(code.encode()) < 64 * 1024
    honest = grade_code("train-student", solution("reference", "train-student"), seed=seed)
    cheat = grade_code("train-student", code, seed=seed)
    assert cheat.status in ("passed", "failed")
    # The secret transform makes the public images useless: no better than honest distillation.
    assert cheat.details["accuracy"] <= honest.details["accuracy"] + 0.005, (cheat.details, honest.details)


def test_patching_evaluation_helpers_inside_changes_nothing():
    prelude = """
torch.Tensor.argmax = lambda self, *a, **k: torch.zeros(self.shape[0], dtype=torch.long)
torch.Tensor.__eq__ = lambda self, other: torch.ones(1, dtype=torch.bool)
"""
    verdict = grade_body("train-student", "return [0.0]", prelude=prelude)
    assert verdict.status == "failed"
    assert verdict.details["accuracy"] < 0.5


def test_altering_the_mask_in_place_is_caught():
    # Filling the mask before using it changes the value: the verified value check fails, and the advice says why.
    code = solution("reference", "sequence-distillation-loss").replace(
        "    T = temperature\n", "    T = temperature\n    attention_mask.fill_(1)\n", 1
    )
    verdict = grade_code("sequence-distillation-loss", code, limits=LIMITS, seed=2)
    assert verdict.status == "failed"
    check = next(c for c in verdict.checks if c.name == "inputs_unchanged")
    assert not check.passed and check.advisory


@pytest.mark.parametrize(
    "prelude",
    [
        # Not detached, and the harness's reading of the teacher's gradient patched to say "none".
        "_real_grad = torch.Tensor.grad\ntorch.Tensor.grad = property(lambda self: None)",
        # Not detached, and a hook that swallows the teacher's gradient.
        "_hook = True",
    ],
)
def test_faking_the_teacher_check_earns_nothing(prelude):
    """What the sandbox reports about the teacher decides nothing: a wrong loss that fakes it still fails."""
    body = """
if globals().get('_hook'):
    teacher_logits.register_hook(lambda g: g * 0)
soft = F.kl_div(F.log_softmax(student_logits / temperature, -1), F.softmax(teacher_logits / temperature, -1),
                reduction='batchmean')  # no T**2: wrong on purpose
return alpha * soft + (1 - alpha) * F.cross_entropy(student_logits, labels)
"""
    verdict = grade_body("distillation-loss", body, prelude=prelude)
    assert verdict.status == "failed" and verdict.score < 1
    assert not next(c for c in verdict.checks if c.name == "soft_term").passed


def _state_result(state: dict, tensors: dict) -> bytes:
    manifest = one_case_manifest(result={"kind": "series", "key": "c0.series"}, state=state)
    return result_stream(manifest, {"c0.series": torch.zeros(2, dtype=torch.float64), **tensors})


EXPECTED = [{"tensors": ["x"], "grad": [], "state": {"w": (2,)}}]


@pytest.mark.parametrize(
    ("state", "tensors"),
    [
        ({"w": "c1.state.0"}, {"c1.state.0": torch.zeros(2)}),  # another case's key
        ({"w": "c0.state.0", "v": "c0.state.0"}, {"c0.state.0": torch.zeros(2)}),  # one tensor twice
        ({"w": "c0.state.0"}, {"c0.state.0": torch.zeros(2), "c0.state.9": torch.zeros(1)}),  # an extra tensor
        ({f"p{i}": f"c0.state.{i}" for i in range(300)}, {f"c0.state.{i}": torch.zeros(1) for i in range(300)}),
        ([], {}),
    ],
)
def test_malformed_state_records_are_rejected(state, tensors):
    with pytest.raises(_Malformed):
        _decode_result(_state_result(state, tensors), EXPECTED)


def test_a_well_formed_but_wrong_state_is_the_learners_problem():
    status, [case], _ = _decode_result(
        _state_result({"w": "c0.state.0"}, {"c0.state.0": torch.zeros(3, dtype=torch.float64)}), EXPECTED
    )
    assert status == "ok" and "has shape (3,), expected (2,)" in case.state_problem
