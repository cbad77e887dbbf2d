"""``manage.py grade <challenge-slug> <file.py> [--json]``: grade a local file like a worker would.

Same sandbox, same hidden-input checks, synchronously. Exit status: 0 passed, 1 failed (or timed out),
2 error (the code could not be loaded, or the grader could not run).
"""

from __future__ import annotations

import json as jsonlib
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from challenges.grading import GradingInfrastructureError, grade
from challenges.limits import sandbox_limits
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
        parser.add_argument("--seed", type=int, default=None, help="draw the hidden inputs from this seed")

    def handle(self, *args, slug: str, file: str, json: bool, device: str, seed: int | None, **options):
        as_json = json
        try:
            code = Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"cannot read {file}: {error}", returncode=2) from None
        problem = code_problem(code)
        if problem:
            raise CommandError(problem, returncode=2)
        if device == "auto":
            from workers.grading import grading_device

            device = grading_device()
        try:
            result = grade(slug, code, device=device, limits=sandbox_limits(_challenge_limits(slug)), seed=seed)
        except KeyError:
            raise CommandError(f"no challenge {slug!r}", returncode=2) from None
        except GradingInfrastructureError as error:
            raise CommandError(f"the grader could not run: {error}", returncode=2) from None
        if as_json:
            data = result.to_dict()
            keep = ("status", "score", "checks", "timings", "device", "feedback", "mistakes")
            self.stdout.write(_dumps({key: data[key] for key in keep}))
        else:
            self._print(result)
        if EXIT_CODES[result.status]:
            raise SystemExit(EXIT_CODES[result.status])

    def _print(self, result) -> None:
        for check in result.checks:
            mark = self.style.SUCCESS("PASS") if check.passed else self.style.ERROR("FAIL")
            self.stdout.write(f"{mark} {check.name}: {check.message}")
        self.stdout.write("")
        self.stdout.write(result.feedback)
        timing = ", ".join(f"{key} {value:.2f}s" for key, value in result.timings.items())
        self.stdout.write(f"{result.status} · score {result.score:.0%} · device {result.device} · {timing}")


def _challenge_limits(slug: str) -> dict:
    """The limits from the loaded challenge, when the database has it; the defaults otherwise."""
    from challenges.models import Challenge

    try:
        challenge = Challenge.objects.filter(slug=slug).first()
    except DatabaseError:
        return {}
    return challenge.limits if challenge else {}


def _dumps(data) -> str:
    return jsonlib.dumps(data, indent=2)
