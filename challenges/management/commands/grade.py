"""``manage.py grade <challenge-slug> <file.py> [--json]``: grade a local file like a worker would.

The challenge is read from its content files (``content/challenges/<slug>/``), so this works for every
kind without a database. Same sandbox, same hidden-case checks, synchronously. Exit status: 0 passed,
1 failed (or timed out), 2 error (no such challenge, unreadable file, or the grader could not run).
"""

from __future__ import annotations

import json as jsonlib
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from challenges.content import read_target
from challenges.kinds.grader import GradingInfrastructureError, grade, grading_device
from challenges.services import code_problem

EXIT_CODES = {"passed": 0, "failed": 1, "timeout": 1, "error": 2}


class Command(BaseCommand):
    help = "Grade a local Python file for a challenge through the sandbox and the trusted checks."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="challenge slug, e.g. distillation-loss")
        parser.add_argument("file", help="the Python file to grade")
        parser.add_argument("--json", action="store_true", help="print the verdict as JSON")
        parser.add_argument(
            "--device", default="auto", choices=["auto", "cpu", "cuda"], help="where to run (auto: CUDA if present)"
        )
        parser.add_argument("--seed", type=int, default=None, help="draw the hidden cases from this seed")

    def handle(self, *args, slug: str, file: str, json: bool, device: str, seed: int | None, **options):
        try:
            code = Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"cannot read {file}: {error}", returncode=2) from None
        problem = code_problem(code)
        if problem:
            raise CommandError(problem, returncode=2)
        try:
            target = read_target(settings.CONTENT_DIR, slug)
        except ValueError as error:
            raise CommandError(f"challenge {slug!r} has problems: {error}", returncode=2) from None
        if target is None:
            raise CommandError(f"no challenge {slug!r} in {settings.CONTENT_DIR / 'challenges'}", returncode=2)
        device = grading_device() if device == "auto" else device
        try:
            verdict = grade(target, code, device=device, seed=seed)
        except GradingInfrastructureError as error:
            raise CommandError(f"the grader could not run: {error}", returncode=2) from None
        if json:
            self.stdout.write(jsonlib.dumps(verdict.to_dict(), indent=2))
        else:
            self.print_verdict(verdict)
        if EXIT_CODES[verdict.status]:
            raise SystemExit(EXIT_CODES[verdict.status])

    def print_verdict(self, verdict) -> None:
        for check in verdict.checks:
            mark = self.style.SUCCESS("PASS") if check.passed else self.style.ERROR("FAIL")
            if check.advisory and not check.passed:
                mark = self.style.WARNING("ADVICE")
            self.stdout.write(f"{mark} {check.name}: {check.message}")
        self.stdout.write("")
        self.stdout.write(verdict.feedback)
        timing = ", ".join(
            f"{key.removesuffix('_seconds')} {value:.2f}s"
            for key, value in verdict.timings.items()
            if key.endswith("_seconds")
        )
        if verdict.timings.get("pooled"):
            timing += " (forked from a warm zygote)"
        self.stdout.write(
            f"{verdict.status} · score {verdict.score:.0%} · device {verdict.device} · grader "
            f"{verdict.grader_version} · {timing}"
        )
