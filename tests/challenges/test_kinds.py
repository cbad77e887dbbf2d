"""The kind registry: one list for web, content check and workers; grader versions; no torch in the web process."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys

import pytest
from django.conf import settings

from challenges import content, kinds
from challenges.kinds.grader import ChallengeKind


def test_unknown_kind_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown challenge kind 'nope'"):
        kinds.kind_info("nope")


@pytest.mark.parametrize("name", sorted(kinds.KINDS))
def test_each_kind_implements_the_protocol(name):
    kind = kinds.load_kind(name)
    assert isinstance(kind, ChallengeKind) and kind.info is kinds.KINDS[name]
    assert kind.result.mode == kinds.KINDS[name].returns
    # The reference solution's signature is the kind's.
    target = content.read_target(settings.CONTENT_DIR, name)
    namespace: dict = {}
    exec((settings.CONTENT_DIR / "challenges" / name / "solution.py").read_text(), namespace)
    assert tuple(inspect.signature(namespace[target.entrypoint]).parameters) == kind.info.parameters


def test_grader_version_follows_the_kinds_code_and_the_challenge_file():
    version = kinds.grader_version("distillation-loss", "a" * 64)
    assert version == kinds.grader_version("distillation-loss", "a" * 64) and len(version) == 16
    assert version != kinds.grader_version("distillation-loss", "b" * 64)
    assert version != kinds.grader_version("sequence-distillation-loss", "a" * 64)


def test_web_process_reads_limits_and_queues_without_torch():
    """Importing every URL's view, reading a challenge's limits and budget, and building its target: no torch."""
    script = """
import sys, django
django.setup()
import learnpath.urls, challenges.services, challenges.tasks
from challenges.limits import sandbox_limits, task_budget
from challenges.models import Challenge
for kind in ("distillation-loss", "sequence-distillation-loss", "train-student"):
    challenge = Challenge(slug=kind, kind=kind, entrypoint="f", limits={"wall_seconds": 30}, file_digest="0" * 64)
    target = challenge.grading_target()
    assert task_budget(kind, target.limits).soft_seconds > 30
assert "torch" not in sys.modules, "torch was imported"
print("ok")
"""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "learnpath.settings.test"}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]
