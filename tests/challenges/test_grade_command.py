"""manage.py grade: the same sandbox and checks as the workers, with exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.sandbox

SOLUTIONS = settings.BASE_DIR / "tests" / "grading" / "solutions"
REFERENCE = settings.CONTENT_DIR / "challenges" / "distillation-loss" / "solution.py"


def manage(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "grade", *args],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "learnpath.settings.test", "GRADING_DEVICE": "cpu"},
    )


def test_reference_passes_with_json():
    done = manage("distillation-loss", str(REFERENCE), "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["status"] == "passed" and data["score"] == 1.0 and data["device"] == "cpu"
    assert {"name", "passed", "message"} <= set(data["checks"][0])
    assert data["timings"]["total_seconds"] > 0


@pytest.mark.parametrize(
    ("slug", "passing", "failing", "named"),
    [
        ("sequence-distillation-loss", "solution.py", "mean_over_padding.py", "averaged over padding tokens too"),
        ("train-student", "solution.py", "hard_labels_only.py", "the teacher's soft targets were not used"),
    ],
)
def test_every_kind_grades_through_the_command(slug, passing, failing, named):
    done = manage(slug, str(settings.CONTENT_DIR / "challenges" / slug / passing), "--json", "--seed", "3")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    data = json.loads(done.stdout)
    assert data["status"] == "passed" and data["details"]["kind"] == slug and len(data["grader_version"]) == 16
    done = manage(slug, str(SOLUTIONS / slug / failing), "--seed", "3")
    assert done.returncode == 1, done.stderr
    assert named in done.stdout


@pytest.mark.parametrize(
    ("slug", "name", "shown"),
    [
        ("train-student", "untrained", "student not trained"),
        ("train-student", "teacher_weights", "FAIL student_parameters"),
        ("train-student", "bigger_model", "has shape (256, 64), expected (32, 64)"),
        ("train-student", "extra_parameters", "unexpected 'answers', 'extra'"),
        ("train-student", "nan_weights", "holds NaN or infinite values"),
        ("train-student", "embedded_public_digits", "FAIL runs"),
        ("sequence-distillation-loss", "batch_size_only", "divided by the batch size only"),
        ("sequence-distillation-loss", "masked_logits", "logits masked instead of the per-token loss"),
        ("sequence-distillation-loss", "no_t_squared", "T² factor missing"),
        ("sequence-distillation-loss", "swapped_kl", "KL direction swapped"),
        ("sequence-distillation-loss", "unstable_log_softmax", "numerically unstable softmax"),
    ],
)
def test_cheats_and_mistakes_fail_through_the_command(slug, name, shown):
    done = manage(slug, str(SOLUTIONS / slug / f"{name}.py"), "--seed", "8")
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    assert shown in done.stdout, done.stdout[-3000:]


@pytest.mark.parametrize(
    ("name", "shown", "tip"),
    [
        # Leaving the detaching to the training loop is how most correct code is written: no advice at all.
        ("not_detached", "PASS teacher_gradient", False),
        ("in_place", "ADVICE inputs_unchanged", True),
    ],
)
def test_advice_is_shown_but_does_not_fail(name, shown, tip):
    done = manage(
        "sequence-distillation-loss", str(SOLUTIONS / "sequence-distillation-loss" / f"{name}.py"), "--seed", "8"
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert shown in done.stdout and ("Tip: " in done.stdout) == tip


def test_known_mistake_fails_with_its_name():
    done = manage("distillation-loss", str(SOLUTIONS / "distillation-loss" / "swapped_kl.py"))
    assert done.returncode == 1, done.stderr
    assert "FAIL soft_term" in done.stdout and "PASS runs" in done.stdout
    assert "KL direction swapped" in done.stdout


def test_unloadable_code_is_not_a_pass(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("def distillation_loss(:\n")
    done = manage("distillation-loss", str(broken), "--json")
    data = json.loads(done.stdout)
    assert data["status"] in ("failed", "error")
    assert done.returncode == {"failed": 1, "error": 2}[data["status"]]
    assert "SyntaxError" in data["checks"][0]["message"]


@pytest.mark.parametrize(
    ("slug", "file", "message"),
    [("nope", str(REFERENCE), "no challenge 'nope'"), ("distillation-loss", "/no/such/file.py", "cannot read")],
)
@pytest.mark.django_db
def test_usage_errors_are_exit_2(slug, file, message):
    with pytest.raises(CommandError, match=message) as raised:
        call_command("grade", slug, file)
    assert raised.value.returncode == 2
