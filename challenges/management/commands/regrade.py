"""``manage.py regrade <challenge-slug> [--since DATE] [--dry-run] [--all]``: re-run stored submissions.

Every final submission of the challenge (created on or after ``--since``) whose verdict came from another
grader version is graded again, synchronously, through the current grader (its kind's code and the
challenge file as loaded now). Nothing is lost: the old verdict moves to the submission's
``previous_verdicts``, and a changed outcome is shown to the learner on the challenge page. ``--dry-run``
grades and reports without writing; ``--all`` includes submissions already graded by this version.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from time import monotonic

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from challenges import services
from challenges.kinds.grader import GradingInfrastructureError, grade, grading_device
from challenges.models import Challenge, Submission
from workers.sandbox import SandboxPool


def _since(value: str) -> datetime:
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"--since {value!r} is not a date (YYYY-MM-DD) or an ISO date-time")
        moment = datetime.combine(day, time.min)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, UTC)


class Command(BaseCommand):
    help = "Re-run a challenge's stored submissions through its current grader, keeping the old verdicts."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="challenge slug, e.g. train-student")
        parser.add_argument("--since", help="only submissions created on or after this date (YYYY-MM-DD)")
        parser.add_argument("--dry-run", action="store_true", help="grade and report, change nothing")
        parser.add_argument(
            "--all",
            action="store_true",
            dest="include_current",
            help="also submissions graded by the current version",
        )
        parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])

    def handle(self, *args, slug: str, since: str | None, dry_run: bool, include_current: bool, device: str, **options):
        challenge = Challenge.objects.filter(slug=slug).first()
        if challenge is None:
            raise CommandError(f"no challenge {slug!r} loaded (run loadcontent)", returncode=2)
        target = challenge.grading_target()
        submissions = Submission.objects.filter(challenge=challenge, status__in=Submission.FINAL_STATUSES)
        if since:
            submissions = submissions.filter(created_at__gte=_since(since))
        if not include_current:
            submissions = submissions.exclude(grader_version=target.grader_version)
        device = grading_device() if device == "auto" else device
        ids = list(submissions.order_by("created_at", "pk").values_list("pk", flat=True))
        self.stdout.write(
            f"{'Dry run: ' if dry_run else ''}regrading {len(ids)} submission(s) of {slug} with grader "
            f"{target.grader_version} on {device}"
        )
        changed = 0
        started = monotonic()
        # Forked from a warm zygote, as the workers grade (GRADING_POOL_SIZE=0: every run cold).
        pool = SandboxPool()
        try:
            changed = self._regrade_all(ids, target, device, dry_run, pool)
        finally:
            pool.close()
        elapsed = monotonic() - started
        verb = "would change" if dry_run else "changed"
        rate = f" ({elapsed:.1f} s, {len(ids) / elapsed:.1f} submissions/s)" if ids and elapsed > 0 else ""
        self.stdout.write(f"{len(ids)} regraded, {changed} {verb} outcome{rate}.")

    def _regrade_all(self, ids: list[int], target, device: str, dry_run: bool, pool: SandboxPool) -> int:
        changed = 0
        for submission_id in ids:
            submission = Submission.objects.select_related("user").get(pk=submission_id)
            try:
                verdict = grade(target, submission.code, device=device, pool=pool)
            except GradingInfrastructureError as error:
                raise CommandError(f"the grader could not run: {error}", returncode=2) from None
            outcome_changed = verdict.status != submission.status
            if not dry_run:
                services.submission_regrade(submission_id=submission_id, verdict=verdict)
            changed += outcome_changed
            mark = "CHANGED" if outcome_changed else "same"
            self.stdout.write(
                f"  #{submission.pk} {submission.user} attempt {submission.attempt}: {submission.status} -> "
                f"{verdict.status} ({mark}; grader {submission.grader_version or 'unrecorded'} -> "
                f"{target.grader_version})"
            )
        return changed
