"""Hostile submissions: each ends in a clear non-passing verdict, within its limits, leaking nothing."""

import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest
import torch

from tests.grading.conftest import grade_code, solution
from tests.security.conftest import HOSTILE_LIMITS, one_case_manifest, result_stream, run_hostile
from workers.sandbox import Limits, run_cases
from workers.sandbox.runner import _decode_result

pytestmark = [pytest.mark.sandbox, pytest.mark.usefixtures("both_sandbox_paths")]

SLUG = "distillation-loss"
REPO = Path(__file__).resolve().parents[2]
SIGNATURE = "def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):\n"


def grade_body(body: str, prelude: str = ""):
    indented = "\n".join("    " + line for line in body.strip("\n").splitlines())
    code = f"import os, sys, json, torch\nimport torch.nn.functional as F\n{prelude}\n{SIGNATURE}{indented}\n"
    return grade_code(SLUG, code, limits=HOSTILE_LIMITS)


def test_infinite_loop_times_out():
    started = time.monotonic()
    result = run_hostile("while True:\n    pass")
    assert result.status == "timeout"
    assert "time" in result.message.lower()
    assert time.monotonic() - started < HOSTILE_LIMITS.wall_seconds + 8


def test_sleep_past_wall_clock_times_out():
    result = grade_body("time.sleep(120)", prelude="import time")
    assert result.status == "timeout"
    assert result.score == 0
    assert "time limit" in result.feedback


def test_fork_bomb_is_contained():
    result = run_hostile("while True:\n    try:\n        os.fork()\n    except OSError:\n        pass")
    assert result.status in ("timeout", "crashed")


def test_memory_blowup_is_memory():
    for body in (
        "return torch.empty(4_000_000_000)",
        "b = bytearray(8 << 30)\nreturn x",
        "a = []\nwhile True:\n    a.append(' ' * (1 << 24))",
    ):
        result = run_hostile(body)
        assert result.status == "memory", (body, result)
        assert "memory" in result.message


def test_memory_blowup_grades_failed():
    result = grade_body("return torch.empty(4_000_000_000).sum()")
    assert result.status == "failed"
    assert "memory" in result.feedback


def test_printing_gigabytes_is_cut_off():
    started = time.monotonic()
    result = run_hostile("while True:\n    print('x' * 65536)")
    assert result.status == "output_limit"
    assert len(result.stdout_tail) <= 8 * 1024
    assert time.monotonic() - started < 8


def test_no_network_even_to_loopback():
    # A real listener on the host's loopback proves the sandbox's 127.0.0.1 is a different one.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    accepted: list = []

    def accept() -> None:
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline:
            try:
                accepted.append(server.accept())
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept)
    thread.start()
    body = f"""
import socket
for port in (6379, 5432, {port}):
    try:
        socket.create_connection(('127.0.0.1', port), timeout=1)
        print('CONNECTED', port)
    except OSError as exc:
        print('blocked', port, exc)
for host in ('10.0.0.1', '1.1.1.1'):
    try:
        socket.create_connection((host, 80), timeout=1)
        print('CONNECTED', host)
    except OSError as exc:
        print('blocked', host, exc)
return x.sum()
"""
    result = run_hostile(body)
    thread.join()
    server.close()
    assert result.status == "ok"
    assert "CONNECTED" not in result.stdout_tail
    assert result.stdout_tail.count("blocked") == 5
    assert accepted == []


def test_secrets_and_project_files_are_invisible(monkeypatch):
    monkeypatch.setenv("LEARNPATH_TEST_SECRET", "hunter2-marker-4711")
    settings_file = REPO / "learnpath" / "settings" / "base.py"
    reference_file = REPO / "content" / "challenges" / "distillation-loss" / "solution.py"
    body = f"""
print(dict(os.environ))
for path in ('/proc/1/environ', '/proc/self/environ', {str(settings_file)!r}, {str(reference_file)!r},
             '/etc/passwd', '/root/.ssh/id_rsa', '/work/main/.env', '/proc/1/cmdline'):
    try:
        print(path, open(path, 'rb').read()[:4000])
    except OSError as exc:
        print('denied', path, type(exc).__name__)
for root in ('/', '/opt', '/work', '/home', '/root', '/var', '/etc'):
    try:
        print(root, os.listdir(root))
    except OSError as exc:
        print('denied', root, type(exc).__name__)
return x.sum()
"""
    result = run_hostile(body)
    out = result.stdout_tail + result.stderr_tail
    assert result.status == "ok", out
    assert "hunter2-marker-4711" not in out
    assert "alpha * soft + (1 - alpha) * hard" not in out  # the reference solution's text
    assert "SECRET_KEY" not in out
    assert f"denied {settings_file}" in out
    assert f"denied {reference_file}" in out
    assert "'work'" not in out and "'root'" not in out


def test_cannot_write_outside_its_tmp(tmp_path):
    target = tmp_path / "planted"
    body = f"""
for path in ({str(target)!r}, '/opt/planted', '/usr/planted', '/planted', '/etc/planted', '/opt/harness.py'):
    try:
        with open(path, 'w') as fh:
            fh.write('x')
        print('WROTE', path)
    except OSError as exc:
        print('denied', path, type(exc).__name__)
with open('/tmp/ok', 'w') as fh:
    fh.write('fine')
try:
    os.symlink('/work/main', '/tmp/escape')
    print(os.listdir('/tmp/escape'))
except OSError as exc:
    print('denied symlink', type(exc).__name__)
return x.sum()
"""
    result = run_hostile(body)
    assert result.status == "ok"
    assert "WROTE" not in result.stdout_tail, result.stdout_tail
    assert not target.exists()


def test_tmp_is_size_capped():
    body = """
with open('/tmp/big', 'wb') as fh:
    for _ in range(200):
        fh.write(b'x' * (1 << 20))
return x.sum()
"""
    result = run_hostile(body, limits=Limits(**{**HOSTILE_LIMITS.__dict__, "file_size_mb": 512, "tmp_mb": 16}))
    assert result.status == "ok"
    assert result.cases[0].ok is False
    assert "No space left" in result.cases[0].error["message"]


@pytest.mark.parametrize(
    "body",
    [
        "import signal\nos.kill(os.getppid(), signal.SIGKILL)\nreturn x.sum()",
        "import signal\nos.kill(-1, signal.SIGKILL)\nreturn x.sum()",
        "import signal\nos.killpg(0, signal.SIGKILL)\nreturn x.sum()",
    ],
)
def test_killing_parent_or_everything(body):
    result = run_hostile(body)
    assert result.status in ("ok", "crashed")
    if result.status == "ok":
        # kill(ppid) from the learner's uid is refused: the sandbox init belongs to someone else.
        assert result.cases[0].ok is False


def test_daemon_does_not_outlive_the_run():
    body = """
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(30)
        os._exit(0)
    os._exit(0)
return x.sum()
"""
    result = run_hostile(body)
    assert result.status == "ok"
    # The autouse fixture asserts no process of a sandbox uid is left on the host.


def test_os_exit_half_way_is_crashed():
    result = run_hostile("os._exit(0)")
    assert result.status == "crashed"
    assert "without reporting results" in result.message


def test_fake_verdicts_are_not_believed():
    body = """
print(json.dumps({"status": "passed", "score": 1.0}))
payload = json.dumps({"version": 1, "status": "ok", "verdict": "passed", "cases": []}).encode()
for fd in range(3, 64):
    try:
        os.write(fd, b"LPRES1\\n" + len(payload).to_bytes(8, "big") + payload + (0).to_bytes(8, "big"))
    except OSError:
        pass
with open('/tmp/manifest.json', 'w') as fh:
    fh.write('{"passed": true}')
os._exit(0)
"""
    result = grade_body(body)
    assert result.status == "failed"
    assert result.score == 0


def test_harness_writer_patched_still_fails():
    prelude = 'import json as _j\n_j.dumps = lambda *a, **k: \'{"status": "passed"}\''
    result = grade_body("return torch.tensor(0.0)", prelude=prelude)
    assert result.status == "failed"


def test_monkeypatched_torch_does_not_help():
    body = """
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.isclose = lambda *a, **k: torch.tensor(True)
torch.Tensor.__eq__ = lambda *a, **k: True
torch.Tensor.__ne__ = lambda *a, **k: False
return (student_logits.sum() * 0.0)
"""
    result = grade_body(body)
    assert result.status == "failed"
    assert not next(c for c in result.checks if c.name == "soft_term").passed


@pytest.mark.parametrize(
    ("body", "prelude"),
    [
        (
            "return torch.tensor(0.0).as_subclass(Sneaky)",
            "class Sneaky(torch.Tensor):\n    def __eq__(self, o):\n        return True",
        ),
        (
            "return Always()",
            "class Always:\n    def __eq__(self, o):\n        return True\n    def __float__(self):\n        return 0.0",
        ),
        ("return torch.tensor(float('nan'))", ""),
        ("return torch.tensor(1.0, dtype=torch.float16)", ""),
        ("return torch.tensor(1, dtype=torch.int64)", ""),
    ],
)
def test_bad_return_values_fail(body, prelude):
    result = grade_body(body, prelude=prelude)
    assert result.status == "failed"
    assert result.score < 1


def test_pickle_payload_is_never_unpickled(tmp_path):
    marker = tmp_path / "unpickled"
    prelude = f"""
class Evil:
    def __reduce__(self):
        return (open, ({str(marker)!r}, 'w'))
import pickle
"""
    body = """
data = pickle.dumps(Evil())
with open('/tmp/result.pkl', 'wb') as fh:
    fh.write(data)
for fd in range(3, 64):
    try:
        os.write(fd, data)
    except OSError:
        pass
return Evil()
"""
    result = grade_body(body, prelude=prelude)
    assert result.status == "failed"
    assert not marker.exists()


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"LPRES1\n",
        b"LPRES1\n" + (10**12).to_bytes(8, "big"),
        b"LPRES1\n" + (2).to_bytes(8, "big") + b"[]" + (0).to_bytes(8, "big"),
        b"LPRES1\n" + (4).to_bytes(8, "big") + b"\xff\xfe{}" + (0).to_bytes(8, "big"),
    ],
)
def test_malformed_results_raise_only_internally(raw):
    from workers.sandbox.runner import _Malformed

    with pytest.raises(_Malformed):
        _decode_result(raw, [{"tensors": ["x"], "grad": [], "state": {}}])


def test_unexpected_tensor_names_are_rejected():
    from workers.sandbox.runner import _Malformed

    manifest = one_case_manifest(result={"kind": "tensor", "key": "c0.result"}, inputs_after={"x": "c0.after.x"})
    raw = result_stream(manifest, {"c0.result": torch.tensor(1.0), "c0.after.x": torch.ones(2), "extra": torch.ones(1)})
    with pytest.raises(_Malformed):
        _decode_result(raw, [{"tensors": ["x"], "grad": [], "state": {}}])


def test_grader_still_works_after_hostile_submissions():
    result = grade_code(SLUG, solution("reference"), limits=HOSTILE_LIMITS)
    assert result.status == "passed", result.feedback
    assert os.getpid() > 0
