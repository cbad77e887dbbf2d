"""FSRS fitted to our learners: the fit on stored review logs, its held-out check, and the scheduler using it.

The review logs are simulated: learners whose memory follows FSRS with parameters of their own (they forget
faster than py-fsrs's defaults assume) review their cards when the platform's scheduler brings them back, at
their usual hour, skipping some days. A fit that works recovers some of that difference, which the held-out
reviews show.
"""

from __future__ import annotations

import random
from datetime import timedelta
from io import StringIO

import fsrs
import pytest
from django.core.management import CommandError, call_command
from django.core.management.color import no_style
from django.db import connection

from drops import scheduling, services
from drops.fsrs_fit import review_histories
from drops.models import Drop, FsrsFit, RecallCard, ReviewCard, ReviewLog
from drops.tasks import fit_fsrs_parameters
from learnpath.services import profile_update
from tests.drops.conftest import build_path, enrol, utc

pytestmark = pytest.mark.usefixtures("fsrs_no_fuzz")

NOW = utc(2026, 9, 1, 6)
DEFAULTS = tuple(fsrs.scheduler.DEFAULT_PARAMETERS)
# How these learners really remember: lower initial stabilities, slower growth after a success and a steeper
# forgetting curve (w20, the decay, doubled).
TRUE_PARAMETERS = tuple(
    value * {0: 0.3, 1: 0.3, 2: 0.4, 3: 0.5, 8: 0.6, 20: 2.0}.get(i, 1.0) for i, value in enumerate(DEFAULTS)
)


@pytest.fixture(autouse=True)
def _parameters_looked_up_again(db):
    """A fit accepted in one test must not outlive its (rolled back) row in the next."""
    yield
    scheduling.scheduler_parameters_changed()


# The held-out reviews are chosen by a hash of the card's id, so the simulated cards get the same ids in every run
# (the database's own ids depend on what ran before): the same split, the same fit, the same figures.
FIRST_CARD_ID = 7_000_001


def simulate_reviews(path, users, *, days: int = 70, seed: int = 3) -> None:
    """Write each learner's cards and every rating they gave over ``days`` days, as the platform would have."""
    platform = fsrs.Scheduler(enable_fuzzing=False)
    memory = fsrs.Scheduler(parameters=TRUE_PARAMETERS, enable_fuzzing=False)
    cards = list(RecallCard.objects.filter(drop__path=path).order_by("drop__position", "position"))
    rng = random.Random(seed)
    start = NOW - timedelta(days=days)
    for number, user in enumerate(users):
        hour = 7 + 3 * number  # each learner has a usual time of day
        end_states, histories = [], []
        for index, recall_card in enumerate(cards):
            at = start + timedelta(days=index // 3, hours=hour, minutes=rng.randrange(60))  # a drop a day
            card = known = fsrs.Card(card_id=index, due=at)
            added, history = at, []
            while at < NOW:
                remembered = rng.random() < (memory.get_card_retrievability(known, at) if known.last_review else 0.8)
                rating = rng.choices((2, 3, 4), (1, 8, 1))[0] if remembered else 1
                before = int(card.state)
                card, _ = platform.review_card(card, fsrs.Rating(rating), review_datetime=at)
                known, _ = memory.review_card(known, fsrs.Rating(rating), review_datetime=at)
                history.append((rating, at, before, card.due, remembered))
                if card.due - at < timedelta(hours=1):  # a learning step: later in the same session
                    at = max(card.due, at + timedelta(seconds=30))
                    continue
                day = card.due.date() + timedelta(days=1 if card.due.hour >= hour else 0)
                while rng.random() < 0.15:  # a day without a session
                    day += timedelta(days=1)
                at = utc(day.year, day.month, day.day, hour, rng.randrange(60))
            end_states.append(
                ReviewCard(
                    id=FIRST_CARD_ID + number * len(cards) + index,
                    user=user,
                    card=recall_card,
                    state=int(card.state),
                    step=card.step,
                    stability=card.stability,
                    difficulty=card.difficulty,
                    due=card.due,
                    last_review=card.last_review,
                    added_at=added,
                )
            )
            histories.append(history)
        review_cards = ReviewCard.objects.bulk_create(end_states)
        ReviewLog.objects.bulk_create(
            [
                ReviewLog(
                    user=user,
                    review_card=review_card,
                    rating=rating,
                    reviewed_at=at,
                    local_date=at.date(),
                    duration_ms=rng.randrange(4000, 30000),
                    answer=review_card.card.answer if review_card.card.kind != "recall" and remembered else "",
                    correct=None if review_card.card.kind == "recall" else remembered,
                    state_before=before,
                    due_after=due,
                )
                for review_card, history in zip(review_cards, histories, strict=True)
                for rating, at, before, due, remembered in history
            ],
            batch_size=500,
        )
    with connection.cursor() as cursor:  # cards made later get ids after these
        for statement in connection.ops.sequence_reset_sql(no_style(), [ReviewCard]):
            cursor.execute(statement)


@pytest.fixture
def reviewed(make_user):
    """Five learners, 36 cards each, ten weeks of reviews: some 2,000 logs, 800 of them scored for training."""
    path = build_path("fitted", drops=12)
    simulate_reviews(path, [make_user(f"fit{n}") for n in range(5)])
    return path


RATED_AT = utc(2026, 9, 2, 7, 5)


def a_first_rating(make_user, tiny, **profile):
    """A new learner's first rating (Good) of a free-recall card, through the services: the state FSRS gave it."""
    user = make_user()
    if profile:
        profile_update(user=user, **profile)
    enrol(user, tiny, utc(2026, 9, 2, 6))
    drop = Drop.objects.get(path=tiny, position=1)
    services.drop_complete(user=user, drop=drop, seconds_spent=300, now=utc(2026, 9, 2, 7))
    card = ReviewCard.objects.get(user=user, card__kind="recall")
    services.review_card_rate(user=user, review_card_id=card.pk, rating=3, now=RATED_AT)
    card.refresh_from_db()
    return card


def test_a_fit_on_enough_reviews_is_checked_on_held_out_reviews_and_then_schedules(reviewed, make_user, tiny):
    logs = ReviewLog.objects.count()
    assert logs >= 512
    assert scheduling.scheduler().parameters == DEFAULTS

    out = StringIO()
    call_command("fit_fsrs", "--epochs", "1", stdout=out)

    fit = FsrsFit.objects.get()
    assert (fit.logs_total, fit.logs_used, fit.learners, fit.epochs) == (logs, logs, 5, 1)
    assert fit.train_logs + fit.held_out_logs == logs
    assert fit.train_reviews >= 512 and fit.held_out_reviews >= 50
    assert fit.held_out_logs < fit.train_logs
    # The learners forget faster than the defaults assume: the fit predicts reviews it never saw better.
    assert 0 < fit.held_out_log_loss < fit.default_held_out_log_loss < 1
    assert fit.accepted
    assert len(fit.parameters) == len(DEFAULTS) and tuple(fit.parameters) != DEFAULTS
    assert fit.parameters[0] < DEFAULTS[0]  # a first Again is forgotten sooner than the defaults say
    text = out.getvalue()
    assert f"fitted {fit.held_out_log_loss:.4f}, defaults {fit.default_held_out_log_loss:.4f}" in text
    assert "accepted: the scheduler uses it" in text

    # Scheduling uses the fitted parameters from now on, with each learner's own retention.
    assert scheduling.scheduler().parameters == tuple(fit.parameters)
    rated = a_first_rating(make_user, tiny, desired_retention=0.8)
    fitted = fsrs.Scheduler(parameters=fit.parameters, desired_retention=0.8, enable_fuzzing=False)
    expected, _ = fitted.review_card(
        fsrs.Card(card_id=rated.pk, due=utc(2026, 9, 2, 7)), fsrs.Rating.Good, review_datetime=RATED_AT
    )
    assert (rated.stability, rated.difficulty) == (
        pytest.approx(expected.stability),
        pytest.approx(expected.difficulty),
    )
    assert rated.stability != pytest.approx(DEFAULTS[2])  # not the defaults' first Good


def test_the_daily_task_keeps_parameters_that_are_not_better_and_refits_only_after_new_reviews(reviewed, settings):
    settings.FSRS_FIT_EPOCHS = 1
    settings.FSRS_FIT_MIN_IMPROVEMENT = 1.0  # no fit can beat the defaults by a whole nat
    assert settings.CELERY_BEAT_SCHEDULE["fit-fsrs-parameters"]["task"] == fit_fsrs_parameters.name

    outcome = fit_fsrs_parameters()

    fit = FsrsFit.objects.get()
    assert not fit.accepted
    assert fit.held_out_log_loss < fit.default_held_out_log_loss  # recorded all the same
    assert "not better" in outcome and f"{fit.held_out_log_loss:.4f}" in outcome
    assert scheduling.scheduler().parameters == DEFAULTS

    assert "No review since the last fit" in fit_fsrs_parameters()
    with pytest.raises(CommandError, match="no fit: No review since the last fit"):
        call_command("fit_fsrs", "--if-new")
    assert FsrsFit.objects.count() == 1


def test_too_few_reviews_make_no_fit_and_say_why(make_user, tiny, settings):
    rated = a_first_rating(make_user, tiny)
    assert ReviewLog.objects.count() == 1
    with pytest.raises(CommandError, match="no fit: 1 review logs are stored; fitting FSRS needs at least 512"):
        call_command("fit_fsrs")
    settings.FSRS_FIT_MIN_LOGS = 1  # an operator cannot go below what py-fsrs's optimizer needs
    assert "fitting FSRS needs at least 512" in fit_fsrs_parameters()
    assert not FsrsFit.objects.exists()
    assert scheduling.scheduler().parameters == DEFAULTS
    assert rated.stability == pytest.approx(DEFAULTS[2])


def test_many_logs_from_one_day_are_not_enough_either(make_user):
    """Learning steps minutes apart say nothing about forgetting: the optimizer would fit nothing."""
    cards = list(RecallCard.objects.filter(drop__path=build_path("one-day", drops=12)))
    first = NOW - timedelta(days=1)
    for user in [make_user(f"day{n}") for n in range(5)]:
        deck = ReviewCard.objects.bulk_create(
            [ReviewCard(user=user, card=card, due=NOW, last_review=first, added_at=first) for card in cards]
        )
        ReviewLog.objects.bulk_create(
            [
                ReviewLog(
                    user=user,
                    review_card=review_card,
                    rating=rating,
                    reviewed_at=first + timedelta(minutes=minutes),
                    local_date=first.date(),
                    state_before=ReviewCard.State.LEARNING,
                    due_after=first + timedelta(minutes=minutes + 10),
                )
                for review_card in deck
                for rating, minutes in ((1, 0), (3, 1), (3, 11))
            ]
        )
    assert ReviewLog.objects.count() >= 512
    with pytest.raises(CommandError, match="a day or more after the card's previous review") as raised:
        call_command("fit_fsrs", "--epochs", "1")
    assert "needs at least 512" in str(raised.value)
    assert not FsrsFit.objects.exists()


def test_above_the_log_cap_whole_histories_of_a_sample_of_cards_are_read(reviewed):
    total = ReviewLog.objects.count()
    newest = ReviewLog.objects.order_by("-pk").first().pk
    everything = review_histories(max_logs=total, total=total, up_to_log_id=newest)
    assert sum(len(h.reviews) for h in everything) == total
    sampled = review_histories(max_logs=total // 2, total=total, up_to_log_id=newest)
    assert 0 < len(sampled) < len(everything)
    assert total // 4 < sum(len(h.reviews) for h in sampled) < total * 3 // 4
    by_card = {h.card_id: h for h in everything}
    assert all(h == by_card[h.card_id] for h in sampled)  # each card's history whole, in order
    assert all(list(h.reviews) == sorted(h.reviews) for h in sampled)


def fit_row(**changes) -> FsrsFit:
    figures = {
        "fitted_at": NOW,
        "parameters": list(TRUE_PARAMETERS),
        "default_parameters": list(DEFAULTS),
        "fsrs_version": "6.3.2",
        "accepted": True,
        "logs_total": 2000,
        "logs_used": 2000,
        "newest_log_id": 2000,
        "learners": 9,
        "train_logs": 1600,
        "train_reviews": 900,
        "held_out_logs": 400,
        "held_out_reviews": 230,
        "held_out_log_loss": 0.4123,
        "default_held_out_log_loss": 0.4567,
        "train_log_loss": 0.4011,
        "epochs": 5,
        "seconds": 42.0,
    }
    return FsrsFit.objects.create(**{**figures, **changes})


def test_the_scheduler_uses_the_newest_accepted_fit_without_a_query_per_call(db, django_assert_num_queries):
    fit_row(fitted_at=NOW - timedelta(days=2), parameters=[p * 1.01 for p in TRUE_PARAMETERS])
    newest = fit_row(fitted_at=NOW - timedelta(days=1))
    fit_row(fitted_at=NOW, accepted=False, parameters=list(DEFAULTS))
    scheduling.scheduler_parameters_changed()
    assert scheduling.scheduler().parameters == TRUE_PARAMETERS
    assert scheduling.accepted_parameters().fit_id == newest.pk
    with django_assert_num_queries(0):
        for _ in range(100):
            mine = scheduling.scheduler(desired_retention=0.85)
    assert mine is scheduling.scheduler(desired_retention=0.85)
    assert (mine.desired_retention, mine.parameters) == (0.85, TRUE_PARAMETERS)
    assert scheduling.scheduler().desired_retention == 0.9


def test_a_fit_from_another_fsrs_version_is_not_used(db):
    fit_row(parameters=list(TRUE_PARAMETERS[:17]), fsrs_version="4.1.0")
    scheduling.scheduler_parameters_changed()
    assert scheduling.scheduler().parameters == DEFAULTS


def test_other_processes_see_a_new_fit_after_the_recheck_interval(db, settings):
    assert scheduling.scheduler().parameters == DEFAULTS  # looked up: no fit yet
    fit_row()  # accepted by a worker: this process was not told
    settings.FSRS_PARAMETERS_RECHECK_SECONDS = 3600
    assert scheduling.scheduler().parameters == DEFAULTS
    settings.FSRS_PARAMETERS_RECHECK_SECONDS = 0
    assert scheduling.scheduler().parameters == TRUE_PARAMETERS


def test_the_admin_shows_each_fit_s_figures_and_can_stop_using_one(admin_client):
    earlier = [p * 1.01 for p in TRUE_PARAMETERS]
    fit_row(fitted_at=NOW - timedelta(days=2), accepted=False, held_out_log_loss=0.47)
    older = fit_row(fitted_at=NOW - timedelta(days=1), parameters=earlier, held_out_log_loss=0.45)
    fit = fit_row()
    scheduling.scheduler_parameters_changed()
    listing = admin_client.get("/admin/drops/fsrsfit/").content.decode()
    for figure in ("0.4123", "0.4567", "+0.0444", "+0.0067", "-0.0133", "230", "900"):
        assert figure in listing
    page = admin_client.get(f"/admin/drops/fsrsfit/{fit.pk}/change/").content.decode()
    assert "Parameters (fitted / default)" in page and f"{TRUE_PARAMETERS[0]:.4f}" in page
    assert admin_client.get("/admin/drops/fsrsfit/add/").status_code == 403
    assert scheduling.scheduler().parameters == TRUE_PARAMETERS

    response = admin_client.post(f"/admin/drops/fsrsfit/{fit.pk}/change/", {"_save": "Save"})
    assert response.status_code == 302
    fit.refresh_from_db()
    assert not fit.accepted
    assert scheduling.scheduler().parameters == tuple(earlier)  # the newest fit still accepted
    admin_client.post(f"/admin/drops/fsrsfit/{older.pk}/change/", {"_save": "Save"})
    assert scheduling.scheduler().parameters == DEFAULTS  # none left: py-fsrs's defaults
