"""`manage.py seed_learners N`: a large, realistic data set of learners, for benchmarks only.

Every seeded learner is enrolled in one path some days ago (0 to four weeks: some on their first day,
some long past the last drop) and has the history a learner of that diligence would have left: drops
read on the days they came back, the next drop unlocking at their local midnight, recall cards in their
deck with real FSRS states from the ratings they gave, every review log, daily activity, a streak
(freezes and rest days counted by the real streak rules) and, past a challenge's drop, some submissions
with verdicts.

Simulating FSRS for every learner would take hours at 100,000 learners, so histories are drawn from a
few thousand *archetypes* (timezone, days enrolled, diligence, daily hour, variant), each simulated once
with its own random stream and shared by the learners that draw it. Rows go in with PostgreSQL's COPY
(plain INSERTs elsewhere), with ids assigned here, in one transaction: 100,000 learners take a few minutes
on a 2-core machine.

Seeded learners are ``seed-000001`` … with ``@seed.invalid`` addresses and no usable password unless
``--password`` is given. The command refuses a database with any other account unless ``--force``, so
nobody fills a real install with fake learners. Histories end at ``--until`` (default: now): the same
``--seed`` and the same moment give the same data.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

SEED_PREFIX = "seed-"
SEED_EMAIL_DOMAIN = "seed.invalid"
# Timezones the learners live in, with weights: day boundaries, unlocks and streaks follow each one.
ZONES = [
    ("UTC", 2),
    ("Europe/Berlin", 4),
    ("America/New_York", 4),
    ("America/Sao_Paulo", 2),
    ("Asia/Kolkata", 3),
    ("Asia/Tokyo", 2),
    ("Australia/Sydney", 1),
]
# How likely a learner is to come back on a given day, with weights.
DILIGENCE = [(0.97, 2), (0.85, 4), (0.65, 3), (0.35, 2)]
MAX_DAYS_ENROLLED = 28
HOURS = (8, 13, 20)  # local hour a learner usually comes back at
VARIANTS = 2
SUBMISSION_COLUMNS = (
    "challenge_id", "attempt", "code", "status", "score", "checks", "feedback", "mistakes", "details", "grader_version",
    "previous_verdicts", "regraded_at", "timings", "worker_host", "device", "task_id", "grading_runs", "created_at",
    "started_at", "deadline_at", "finished_at",
)  # fmt: skip
# From this many learners on, PostgreSQL's secondary indexes and foreign keys are rebuilt after the load.
STRIP_INDEXES_FROM = 5000
# A session stops after this many ratings even if cards are left (a learner rarely does more).
MAX_REVIEWS_PER_SESSION = 120


@dataclass(frozen=True)
class CardInfo:
    id: int
    kind: str
    answer: str
    choices: tuple[str, ...]
    numeric_answer: float | None


@dataclass(frozen=True)
class DropInfo:
    id: int
    position: int
    estimated_minutes: int
    cards: tuple[CardInfo, ...]


@dataclass(frozen=True)
class ChallengeInfo:
    id: int
    drop_id: int
    kind: str
    starter_code: str
    solution_code: str
    grader_version: str


@dataclass
class Archetype:
    """One simulated history; times are absolute, ids are indexes that each learner maps to its own rows."""

    zone: str
    enrolled_at: datetime
    last_seen: datetime
    progress: list[tuple] = field(default_factory=list)  # (drop_id, unlocked_at, completed_at, seconds)
    cards: list[tuple] = field(default_factory=list)  # (card_id, state, step, stability, difficulty, due, last, added)
    logs: list[tuple] = field(default_factory=list)  # (card index, rating, at, local_date, ms, answer, ok, before, due)
    activity: list[tuple] = field(default_factory=list)  # (date, read s, review s, drops, reviews, capped, counts)
    streak: tuple = ()  # (current, longest, freezes, freezes_used, last_day)
    submissions: list[tuple] = field(default_factory=list)  # see _submissions


def _moment(text: str) -> datetime:
    """``--until``'s value: an aware ISO 8601 moment, such as ``2026-11-30T18:00:00+00:00``."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset: add one, such as +00:00")
    return moment


class Command(BaseCommand):
    help = "Seed N realistic learners (histories, cards, reviews, streaks, submissions) for benchmarks only."

    def add_arguments(self, parser):
        parser.add_argument("count", type=int, help="how many learners to add")
        parser.add_argument("--seed", type=int, default=1, help="random seed: the same seed gives the same data")
        parser.add_argument("--path", default=None, help="slug of the path to enrol them in (default: the first)")
        parser.add_argument(
            "--password", default=None, help="one password for every seeded learner (default: none usable)"
        )
        parser.add_argument(
            "--force", action="store_true", help="seed even though the database has accounts that were not seeded"
        )
        parser.add_argument("--batch", type=int, default=2000, help="learners written per batch")
        parser.add_argument(
            "--until",
            type=_moment,
            default=None,
            help="when the histories end, ISO 8601 with an offset (default: now); the same seed and the same "
            "moment give the same data",
        )

    def handle(self, *args, count: int, seed: int, path: str | None, password: str | None, force: bool, **options):
        from learnpath.models import Path

        if count < 1:
            raise CommandError("count must be at least 1")
        if options["until"] and options["until"] > timezone.now():
            raise CommandError("--until is in the future: histories can only end at a moment that has passed")
        self.verbosity = options["verbosity"]
        others = User.objects.exclude(username__startswith=SEED_PREFIX, email__endswith=f"@{SEED_EMAIL_DOMAIN}")
        if others.exists() and not force:
            raise CommandError(
                f"this database has {others.count()} account(s) that seed_learners did not create; it is for "
                "benchmark databases only (pass --force to seed anyway)"
            )
        paths = Path.objects.order_by("pk")
        chosen = paths.filter(slug=path).first() if path else paths.first()
        if chosen is None:
            raise CommandError(f"no path {path!r}: run loadcontent first" if path else "no path: run loadcontent first")
        started = time.perf_counter()
        seeder = Seeder(
            path=chosen,
            seed=seed,
            now=(options["until"] or timezone.now()).replace(microsecond=0),
            password=make_password(password) if password else None,
        )
        if not seeder.drops:
            raise CommandError(f"path {chosen.slug!r} has no drops: run loadcontent first")
        counts = seeder.run(count, batch=max(1, options["batch"]), progress=self._progress)
        elapsed = time.perf_counter() - started
        summary = ", ".join(f"{number:,} {name}" for name, number in counts.items())
        if self.verbosity >= 1:
            self.stdout.write(
                self.style.SUCCESS(f"seeded {count:,} learners in {elapsed:.1f} s ({summary}; {seeder.backend})")
            )

    def _progress(self, done: int, total: int, elapsed: float, doing: str = "") -> None:
        if self.verbosity >= 2 or (self.verbosity >= 1 and total >= 10_000):
            self.stdout.write(f"  {done:,}/{total:,} learners, {elapsed:.0f} s{'; ' + doing if doing else ''}")


class Seeder:
    """Draws learners from archetypes and writes their rows, table by table, in batches."""

    def __init__(self, *, path, seed: int, now: datetime, password: str | None):
        from drops.models import Drop

        self.path = path
        self.seed = seed
        self.now = now
        self.password = password
        self.drops = [
            DropInfo(
                id=drop.pk,
                position=drop.position,
                estimated_minutes=drop.estimated_minutes,
                cards=tuple(
                    CardInfo(c.pk, c.kind, c.answer, tuple(c.choices or ()), c.numeric_answer)
                    for c in drop.cards.all()
                    if c.is_active
                ),
            )
            for drop in Drop.objects.filter(path=path).prefetch_related("cards").order_by("position")
        ]
        self.challenges = self._challenges()
        # Submissions record when they joined the grading queue where the model has that field.
        self.submission_queued_at = any(f.name == "queued_at" for f in _submission_model()._meta.concrete_fields)
        self.archetypes: dict[tuple, Archetype] = {}
        self.backend = "COPY" if connection.vendor == "postgresql" else "INSERT"

    def _challenges(self) -> list[ChallengeInfo]:
        from challenges.models import Challenge

        drop_ids = {d.id for d in self.drops}
        return [
            ChallengeInfo(c.pk, c.drop_id, c.kind, c.starter_code, c.solution_code, c.grading_target().grader_version)
            for c in Challenge.objects.filter(is_active=True, drop_id__in=drop_ids).order_by("pk")
        ]

    # ---------- writing ----------

    def run(self, count: int, *, batch: int, progress) -> dict[str, int]:
        from challenges.models import Submission
        from drops.models import DailyActivity, DropProgress, ReviewCard, ReviewLog, Streak
        from learnpath.models import Enrollment, LearnerProfile

        self.tables = [User, LearnerProfile, Enrollment, Streak, DropProgress, ReviewCard, ReviewLog, DailyActivity]
        self.tables.append(Submission)
        self.columns = {
            User: ("id", "password", "last_login", "is_superuser", "username", "first_name", "last_name", "email",
                   "is_staff", "is_active", "date_joined"),
            LearnerProfile: ("id", "user_id", "timezone", "reminder_hour", "email_reminders", "daily_goal_minutes",
                             "daily_review_cap"),
            Enrollment: ("id", "user_id", "path_id", "enrolled_at"),
            Streak: ("id", "user_id", "current", "longest", "freezes", "freezes_used", "last_day", "zone_name"),
            DropProgress: ("id", "user_id", "drop_id", "unlocked_at", "completed_at", "seconds_spent"),
            ReviewCard: ("id", "user_id", "card_id", "state", "step", "stability", "difficulty", "due", "last_review",
                         "added_at"),
            ReviewLog: ("id", "user_id", "review_card_id", "rating", "reviewed_at", "local_date", "duration_ms",
                        "answer", "correct", "state_before", "due_after"),
            DailyActivity: ("id", "user_id", "date", "seconds_reading", "seconds_reviewing", "drops_completed",
                            "reviews_done", "capped_reviews_done", "counts_for_streak"),
            Submission: ("id", "user_id", *SUBMISSION_COLUMNS, *(("queued_at",) if self.submission_queued_at else ())),
        }  # fmt: skip
        totals = {model._meta.verbose_name_plural: 0 for model in self.tables}
        started = time.perf_counter()
        postgres = connection.vendor == "postgresql"
        with transaction.atomic():
            restore: list[str] = []
            if postgres:
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit = off")
                    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
                    # Foreign keys are checked row by row as COPY goes, not queued by the million for the commit.
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    # Ids are assigned here: keep other writers out until the sequences are moved past them.
                    tables = ", ".join(_quote(m._meta.db_table) for m in self.tables)
                    cursor.execute(f"LOCK TABLE {tables} IN EXCLUSIVE MODE")
                    if count >= STRIP_INDEXES_FROM:
                        # A big load goes in faster without secondary indexes and foreign keys kept up row by row;
                        # they are rebuilt (and the keys checked) once at the end, in this same transaction.
                        restore = _strip_indexes(cursor, [m._meta.db_table for m in self.tables if m is not User])
            self.next_id = {model: (model.objects.aggregate(n=models.Max("pk"))["n"] or 0) + 1 for model in self.tables}
            first = User.objects.filter(username__startswith=SEED_PREFIX).count() + 1
            for start in range(first, first + count, batch):
                rows = self._batch(range(start, min(start + batch, first + count)))
                for model in self.tables:
                    totals[model._meta.verbose_name_plural] += self._write(model, *rows[model])
                progress(min(start + batch - first, count), count, time.perf_counter() - started)
            with connection.cursor() as cursor:
                if restore:
                    progress(count, count, time.perf_counter() - started, "rebuilding indexes and foreign keys")
                for statement in restore:
                    cursor.execute(statement)
                for statement in connection.ops.sequence_reset_sql(no_style(), self.tables):
                    cursor.execute(statement)
        if postgres:
            with connection.cursor() as cursor:
                for model in self.tables:
                    cursor.execute(f"ANALYZE {_quote(model._meta.db_table)}")
        return totals

    def _write(self, model, columns: tuple[str, ...], rows: list[tuple]) -> int:
        """Insert ``rows`` (tuples of ``columns``, field attnames) into ``model``'s table."""
        if not rows:
            return 0
        concrete = {f.attname: f for f in model._meta.concrete_fields}
        # Columns this command does not know (added to a model later) get their field's default.
        extra = [f for name, f in concrete.items() if name not in columns]
        for f in extra:
            if not f.has_default() and not f.null:
                raise CommandError(f"{model.__name__}.{f.name} has no default: teach seed_learners about it")
        names = [concrete[name].column for name in columns] + [f.column for f in extra]
        table = model._meta.db_table
        if connection.vendor != "postgresql":
            # A plain INSERT, not bulk_create: that would stamp auto_now_add columns (created_at) with now.
            fields = [concrete[name] for name in columns] + extra
            defaults = tuple(f.get_default() for f in extra)
            statement = (
                f"INSERT INTO {_quote(table)} ({', '.join(map(_quote, names))}) "  # noqa: S608 -- quoted names
                f"VALUES ({', '.join(['%s'] * len(names))})"
            )
            with connection.cursor() as cursor:
                cursor.executemany(
                    statement,
                    [
                        [
                            f.get_db_prep_save(value, connection)
                            for f, value in zip(fields, (*row, *defaults), strict=True)
                        ]
                        for row in rows
                    ],
                )
            return len(rows)
        defaults = tuple(_copy_value(f, f.get_default()) for f in extra)
        json_fields = [i for i, name in enumerate(columns) if isinstance(concrete[name], models.JSONField)]
        with connection.cursor() as cursor:
            types = _column_types(cursor, table)
            statement = f"COPY {_quote(table)} ({', '.join(map(_quote, names))}) FROM STDIN (FORMAT BINARY)"
            with cursor.cursor.copy(statement) as copy:
                # Binary COPY with the columns' types named: psycopg encodes in C, several times faster.
                copy.set_types([types[name] for name in names])
                write = copy.write_row
                if json_fields or defaults:
                    for row in rows:
                        values = list(row)
                        for i in json_fields:
                            values[i] = Jsonb(values[i])
                        write((*values, *defaults))
                else:
                    for row in rows:
                        write(row)
        return len(rows)

    def _take_ids(self, model, how_many: int) -> int:
        first = self.next_id[model]
        self.next_id[model] = first + how_many
        return first

    # ---------- learners ----------

    def _batch(self, numbers: Iterable[int]) -> dict:
        """The rows of these learners, per model: (columns, tuples); the big tables are archetype rows re-keyed."""
        from challenges.models import Submission
        from drops.models import DailyActivity, DropProgress, ReviewCard, ReviewLog, Streak
        from learnpath.models import Enrollment, LearnerProfile

        rows: dict = {model: [] for model in self.tables}
        for number in numbers:
            rng = random.Random(f"{self.seed}:learner:{number}")
            zone = _weighted(rng, ZONES)
            key = (zone, rng.randint(0, MAX_DAYS_ENROLLED), _weighted(rng, DILIGENCE), rng.choice(HOURS),
                   rng.randrange(VARIANTS))  # fmt: skip
            story = self.archetypes.get(key)
            if story is None:
                story = self.archetypes[key] = self._simulate(*key)
            uid = self._take_ids(User, 1)
            name = f"{SEED_PREFIX}{number:06d}"
            rows[User].append(
                (uid, self.password or make_password(None), story.last_seen, False, name, "", "",
                 f"{name}@{SEED_EMAIL_DOMAIN}", False, True, story.enrolled_at - timedelta(minutes=2))
            )  # fmt: skip
            rows[LearnerProfile].append(
                (self._take_ids(LearnerProfile, 1), uid, zone, rng.choice((7, 8, 12, 18, 18, 19, 20)),
                 rng.random() < 0.7, rng.choice((5, 5, 5, 10, 15)), 50)
            )  # fmt: skip
            rows[Enrollment].append((self._take_ids(Enrollment, 1), uid, self.path.pk, story.enrolled_at))
            rows[Streak].append((self._take_ids(Streak, 1), uid, *story.streak, zone))
            first = self._take_ids(DropProgress, len(story.progress))
            rows[DropProgress] += [(first + i, uid, *row) for i, row in enumerate(story.progress)]
            cards = self._take_ids(ReviewCard, len(story.cards))
            rows[ReviewCard] += [(cards + i, uid, *row) for i, row in enumerate(story.cards)]
            first = self._take_ids(ReviewLog, len(story.logs))
            rows[ReviewLog] += [(first + i, uid, cards + row[0], *row[1:]) for i, row in enumerate(story.logs)]
            first = self._take_ids(DailyActivity, len(story.activity))
            rows[DailyActivity] += [(first + i, uid, *row) for i, row in enumerate(story.activity)]
            first = self._take_ids(Submission, len(story.submissions))
            rows[Submission] += [(first + i, uid, *row) for i, row in enumerate(story.submissions)]
        return {model: (self.columns[model], model_rows) for model, model_rows in rows.items()}

    # ---------- one archetype ----------

    def _simulate(self, zone_name: str, days: int, diligence: float, hour: int, variant: int) -> Archetype:
        """Live ``days`` days of the daily loop, by the services' rules, in memory."""
        from drops.days import day_start, local_date, next_day_start
        from drops.models import ReviewCard, Streak
        from drops.scheduling import LEARN_AHEAD
        from drops.streaks import READING_CAP_FACTOR, streak_count_day

        # The scheduler draws its fuzz from the global random stream: seed it for this archetype.
        random.seed(f"{self.seed}:fuzz:{zone_name}:{days}:{diligence}:{hour}:{variant}")
        rng = random.Random(f"{self.seed}:story:{zone_name}:{days}:{diligence}:{hour}:{variant}")
        fsrs_scheduler = _scheduler()
        zone = ZoneInfo(zone_name)
        today = local_date(self.now, zone)
        first_day = today - timedelta(days=days)
        enrolled_at = min(day_start(first_day, zone) + timedelta(hours=hour, minutes=rng.randrange(60)), self.now)
        story = Archetype(zone=zone_name, enrolled_at=enrolled_at, last_seen=enrolled_at)
        # drop index -> [unlocked_at, completed_at, seconds]
        unlocks: dict[int, list] = {0: [enrolled_at, None, 0]}
        deck: list = []  # [fsrs card, CardInfo, added_at]
        activity: dict[date, list] = {}
        streak = Streak(current=0, longest=0, freezes=0, freezes_used=0, last_day=None, zone_name=zone_name)
        waiting: dict[date, bool] = {}

        def day_activity(day: date) -> list:
            return activity.setdefault(day, [day, 0, 0, 0, 0, 0, False])

        def count_day(day: date) -> None:
            row = day_activity(day)
            row[6] = True
            rest = frozenset(d for d, busy in waiting.items() if not busy and d < day)
            streak_count_day(streak, day, rest)

        for offset in range(days + 1):
            day = first_day + timedelta(days=offset)
            start, end = day_start(day, zone), day_start(day + timedelta(days=1), zone)
            waiting[day] = any(u < end and (c is None or c >= start) for u, c, _ in unlocks.values()) or any(
                card.due < end for card, _, _ in deck
            )
            came = offset == 0 or rng.random() < diligence
            moment = (enrolled_at if offset == 0 else start + timedelta(hours=hour + rng.uniform(-1.5, 2.5))).replace(
                microsecond=0
            )
            if not came or moment >= self.now:
                continue
            story.last_seen = moment
            open_index = next((i for i, (u, c, _) in unlocks.items() if c is None and u <= moment), None)
            if open_index is not None:
                drop = self.drops[open_index]
                minutes = drop.estimated_minutes * rng.uniform(0.6, 1.6)
                moment = min(moment + timedelta(minutes=minutes), self.now - timedelta(seconds=1))
                seconds = min(int(minutes * 60), drop.estimated_minutes * 60 * READING_CAP_FACTOR)
                unlocks[open_index][1:] = [moment, seconds]
                for info in drop.cards:
                    deck.append([_new_card(len(deck), moment), info, moment])
                if open_index + 1 < len(self.drops):
                    unlocks[open_index + 1] = [next_day_start(moment, zone), None, 0]
                row = day_activity(day)
                row[1] += seconds
                row[3] += 1
                count_day(day)
                self._submissions(story, drop, moment, diligence, rng)
            # The review session: soonest due first, learning steps within the learn-ahead window come back.
            quits = rng.random() < 0.12
            done = 0
            horizon_day = next_day_start(moment, zone)
            while done < MAX_REVIEWS_PER_SESSION and moment < self.now - timedelta(seconds=40):
                row = day_activity(day)
                cap_left = 50 - row[5]
                session = [
                    entry
                    for entry in deck
                    if (entry[0].state != 2 and entry[0].due <= moment + LEARN_AHEAD)
                    or (entry[0].state == 2 and entry[0].due < horizon_day and cap_left > 0)
                ]
                if not session:
                    if done:
                        count_day(day)
                    break
                if quits and done >= 3:
                    break
                entry = min(session, key=lambda e: (e[0].due, e[0].card_id))
                card, info, _ = entry
                state_before = int(card.state)
                rating = _rating(rng, state_before)
                ms = int(rng.uniform(4, 40) * 1000)
                moment = (moment + timedelta(milliseconds=ms)).replace(microsecond=0)
                answer, correct = _answer(rng, info, rating)
                updated, _ = fsrs_scheduler.review_card(card, _fsrs_rating(rating), review_datetime=moment,
                                                        review_duration=ms)  # fmt: skip
                entry[0] = updated
                story.logs.append(
                    (card.card_id, rating, moment, local_date(moment, zone), ms, answer, correct, state_before,
                     updated.due)
                )  # fmt: skip
                row[2] += min(ms // 1000, 120)
                row[4] += 1
                row[5] += 1 if state_before == ReviewCard.State.REVIEW else 0
                done += 1

        # Ratings on a card of the deck: its row is the last state; ids are the deck's indexes.
        for card, info, added in deck:
            story.cards.append(
                (
                    info.id,
                    int(card.state),
                    card.step,
                    card.stability,
                    card.difficulty,
                    card.due,
                    card.last_review,
                    added,
                )
            )
        story.progress = [(self.drops[i].id, u, c, s) for i, (u, c, s) in sorted(unlocks.items())]
        story.activity = [tuple(row) for _, row in sorted(activity.items())]
        # Stored as the last counted day left it: reads settle the days missed since then themselves.
        story.streak = (streak.current, streak.longest, streak.freezes, streak.freezes_used, streak.last_day)
        return story

    def _submissions(self, story: Archetype, drop: DropInfo, moment: datetime, diligence: float, rng) -> None:
        """Some learners try the challenge that a drop introduces, right after reading it."""
        for challenge in (c for c in self.challenges if c.drop_id == drop.id):
            if rng.random() > 0.25 + 0.5 * diligence:
                continue
            attempts = rng.choice((1, 1, 2, 2, 3, 4))
            passes = rng.random() < 0.4 + 0.5 * diligence
            at = moment
            for attempt in range(1, attempts + 1):
                at = at + timedelta(minutes=rng.uniform(2, 15))
                if at >= self.now:
                    return
                last = attempt == attempts
                status = "passed" if last and passes else rng.choice(("failed", "failed", "failed", "error", "timeout"))
                values = _submission(challenge, attempt, status, at, rng)
                row = tuple(values[name] for name in SUBMISSION_COLUMNS)
                story.submissions.append((*row, at) if self.submission_queued_at else row)


def _submission(challenge: ChallengeInfo, attempt: int, status: str, at: datetime, rng) -> dict:
    names = ["runs", "shape", "finite", "matches_reference", "gradient", "temperature", "alpha"]
    if status == "passed":
        passed = len(names)
    elif status == "failed":
        passed = rng.randrange(1, len(names))
    else:
        passed = 0
    checks = [
        {"name": name, "passed": i < passed, "message": "Correct on every hidden input." if i < passed else
         "On a hidden input your function returned a different value.", "advisory": False}
        for i, name in enumerate(names)
    ]  # fmt: skip
    if status in ("error", "timeout"):
        message = "Your code ran out of time." if status == "timeout" else "Your function raised an error."
        checks = [{"name": "runs", "passed": False, "message": message, "advisory": False}]
    run = round(rng.uniform(0.02, 1.5), 3)
    started = at + timedelta(seconds=rng.uniform(0.05, 2))
    return {
        "challenge_id": challenge.id,
        "attempt": attempt,
        "code": challenge.solution_code if status == "passed" else challenge.starter_code,
        "status": status,
        "score": round(passed / len(names), 4),
        "checks": checks,
        "feedback": "All checks passed." if status == "passed" else checks[min(passed, len(checks) - 1)]["message"],
        "mistakes": [] if status == "passed" or rng.random() < 0.5 else ["The T² factor is missing"],
        "details": {"kind": challenge.kind},
        "grader_version": challenge.grader_version,
        "previous_verdicts": [],
        "regraded_at": None,
        "timings": {
            "sandbox_startup_seconds": 0.0,
            "sandbox_run_seconds": run,
            "checks_seconds": 0.01,
            "total_seconds": run + 0.05,
            "prewarmed": 1.0,
        },  # fmt: skip
        "worker_host": "seed",
        "device": "cpu",
        "task_id": "",
        "grading_runs": 1,
        "created_at": at,
        "started_at": started,
        "deadline_at": None,
        "finished_at": started + timedelta(seconds=run + 0.05),
    }


def _submission_model():
    from challenges.models import Submission

    return Submission


def _scheduler():
    from drops.scheduling import scheduler

    return scheduler()


def _new_card(index: int, moment: datetime):
    import fsrs

    from drops.days import to_utc

    return fsrs.Card(card_id=index, state=fsrs.State.Learning, step=0, due=to_utc(moment))


def _fsrs_rating(rating: int):
    import fsrs

    return fsrs.Rating(rating)


def _rating(rng, state: int) -> int:
    """Mostly Good; Again more often while learning, Easy now and then."""
    roll = rng.random()
    if state == 2:
        return 1 if roll < 0.1 else 2 if roll < 0.2 else 3 if roll < 0.9 else 4
    return 1 if roll < 0.15 else 2 if roll < 0.22 else 3 if roll < 0.95 else 4


def _answer(rng, card: CardInfo, rating: int) -> tuple[str, bool | None]:
    """What a learner typed for a checked card: right unless the rating was Again (the platform's rule)."""
    if card.kind == "recall":
        return "", None
    correct = rating != 1
    if card.kind == "choice":
        wrong = [c for c in card.choices if c != card.answer] or ["?"]
        return (card.answer if correct else rng.choice(wrong)), correct
    value = card.numeric_answer if card.numeric_answer is not None else 0.0
    return (f"{value:g}" if correct else f"{value * rng.choice((0.5, 2, 10)) + 1:g}"), correct


def _weighted(rng, choices: list[tuple]) -> object:
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights=weights)[0]


def _copy_value(field, value):
    return Jsonb(value) if isinstance(field, models.JSONField) else value


def _strip_indexes(cursor, tables: list[str]) -> list[str]:
    """Drop the secondary indexes, unique constraints and foreign keys of ``tables`` (primary keys stay).

    Returns the statements that put every one back as it was, indexes first, foreign keys last.
    """
    indexes, uniques, foreign = [], [], []
    for table in tables:
        cursor.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('u', 'f') ORDER BY conname",
            [table],
        )
        for name, kind, definition in cursor.fetchall():
            cursor.execute(f"ALTER TABLE {_quote(table)} DROP CONSTRAINT {_quote(name)}")
            (uniques if kind == "u" else foreign).append(
                f"ALTER TABLE {_quote(table)} ADD CONSTRAINT {_quote(name)} {definition}"
            )
        cursor.execute(
            "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary ORDER BY i.relname",
            [table],
        )
        for name, definition in cursor.fetchall():
            cursor.execute(f"DROP INDEX {_quote(name)}")
            indexes.append(definition)
    return indexes + uniques + foreign


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _column_types(cursor, table: str) -> dict[str, str]:
    cursor.execute(
        "SELECT attname, format_type(atttypid, NULL) FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0",
        [table],
    )
    return dict(cursor.fetchall())


def seeded_users() -> Iterator[User]:
    """The learners this command made (for benchmarks and tests)."""
    return User.objects.filter(username__startswith=SEED_PREFIX, email__endswith=f"@{SEED_EMAIL_DOMAIN}").iterator()
