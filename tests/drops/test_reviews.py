"""FSRS reviews: stored card state, review logs, checked answers, the daily cap, retrievability, UTC handling."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import fsrs
import pytest

from drops.days import to_utc
from drops.models import Drop, ReviewCard, ReviewLog
from drops.scheduling import retrievability, to_fsrs
from drops.selectors import (
    CardMemory,
    average_retrievability,
    choice_order,
    due_counts,
    recall_is_meaningful,
    review_session_stats,
)
from drops.services import CardNotDue, ReviewInputError, drop_complete, review_card_rate
from tests.drops.conftest import enrol, utc

pytestmark = pytest.mark.usefixtures("fsrs_no_fuzz")


@pytest.fixture
def deck(make_user, tiny):
    user = make_user(timezone="Europe/Berlin")
    enrol(user, tiny, utc(2026, 6, 1, 6))
    drop_complete(user=user, drop=Drop.objects.get(path=tiny, position=1), seconds_spent=300, now=utc(2026, 6, 1, 7))
    return user


def card_of(user, kind):
    return ReviewCard.objects.get(user=user, card__kind=kind)


def test_completing_a_drop_adds_its_cards_due_now(deck):
    cards = ReviewCard.objects.filter(user=deck)
    assert cards.count() == 3
    assert {c.due for c in cards} == {utc(2026, 6, 1, 7)}
    assert all(c.state == ReviewCard.State.LEARNING for c in cards)


def test_rating_stores_fsrs_state_and_a_log(deck):
    card = card_of(deck, "recall")
    now = utc(2026, 6, 1, 7, 5)
    result = review_card_rate(user=deck, review_card_id=card.pk, rating=3, duration_ms=8000, now=now)
    card.refresh_from_db()
    expected, _ = fsrs.Scheduler(enable_fuzzing=False).review_card(
        fsrs.Card(card_id=card.pk, due=utc(2026, 6, 1, 7)), fsrs.Rating.Good, review_datetime=now
    )
    assert card.stability == pytest.approx(expected.stability)
    assert card.difficulty == pytest.approx(expected.difficulty)
    assert card.due == expected.due == now + timedelta(minutes=10)
    assert card.step == expected.step == 1
    log = ReviewLog.objects.get(review_card=card)
    assert (log.rating, log.duration_ms, log.state_before, log.correct) == (3, 8000, 1, None)
    assert log.due_after == card.due
    assert result.remaining == 3  # learning steps due within the learn-ahead window stay in the session


def test_graduated_card_is_scheduled_days_ahead_and_retrievability_decays(deck):
    card = card_of(deck, "recall")
    review_card_rate(user=deck, review_card_id=card.pk, rating=4, now=utc(2026, 6, 1, 7, 1))  # Easy graduates
    card.refresh_from_db()
    assert card.state == ReviewCard.State.REVIEW
    assert card.due >= utc(2026, 6, 2, 7)
    soon = retrievability(card, utc(2026, 6, 2, 8))
    later = retrievability(card, card.due)
    assert retrievability(card, utc(2026, 6, 1, 8)) == 1.0
    assert 1.0 > soon > later
    assert later == pytest.approx(0.9, abs=0.02)  # due when recall has decayed to the desired retention


def test_fsrs_gets_utc_datetimes_whatever_zone_they_come_in():
    berlin = utc(2026, 6, 1, 7).astimezone(ZoneInfo("Europe/Berlin"))
    converted = to_utc(berlin)
    assert converted.tzinfo is fsrs.scheduler.timezone.utc
    assert converted == berlin
    zoned_utc = utc(2026, 6, 1, 7).astimezone(ZoneInfo("UTC"))  # what some database drivers return
    with pytest.raises(ValueError, match="UTC"):
        fsrs.Scheduler().review_card(fsrs.Card(), fsrs.Rating.Good, review_datetime=zoned_utc)
    card = ReviewCard(pk=1, state=1, step=0, due=zoned_utc, last_review=berlin)
    converted_card = to_fsrs(card)
    assert converted_card.due.tzinfo is fsrs.scheduler.timezone.utc
    assert converted_card.last_review.tzinfo is fsrs.scheduler.timezone.utc
    with pytest.raises(ValueError, match="naive"):
        to_utc(utc(2026, 6, 1).replace(tzinfo=None))


def test_rating_with_a_berlin_datetime_is_converted(deck):
    card = card_of(deck, "recall")
    now = utc(2026, 6, 1, 7, 2).astimezone(ZoneInfo("Europe/Berlin"))
    review_card_rate(user=deck, review_card_id=card.pk, rating=1, now=now)
    assert ReviewLog.objects.get(review_card=card).local_date.isoformat() == "2026-06-01"


def test_wrong_choice_is_again_unless_the_learner_rates_it_otherwise(deck):
    card = card_of(deck, "choice")
    result = review_card_rate(user=deck, review_card_id=card.pk, answer="A", now=utc(2026, 6, 1, 7, 1))
    assert (result.rating, result.correct) == (1, False)
    numeric = card_of(deck, "numeric")
    # After the feedback the rating is the learner's: a slip they would not make again may be rated Hard.
    result = review_card_rate(user=deck, review_card_id=numeric.pk, answer="61", rating=2, now=utc(2026, 6, 1, 7))
    assert (result.rating, result.correct) == (2, False)
    log = ReviewLog.objects.get(review_card=numeric)
    assert (log.rating, log.correct, log.answer) == (2, False, "61")


def test_right_choice_suggests_good_and_the_learner_may_change_it(deck):
    card = card_of(deck, "choice")
    result = review_card_rate(user=deck, review_card_id=card.pk, answer=" b ", now=utc(2026, 6, 1, 7, 1))
    assert (result.rating, result.correct) == (3, True)
    numeric = card_of(deck, "numeric")
    result = review_card_rate(user=deck, review_card_id=numeric.pk, answer="16,005", rating=2, now=utc(2026, 6, 1, 7))
    assert (result.rating, result.correct) == (2, True)


@pytest.mark.parametrize("answer", ["15.9", "nan", "inf", "sixteen", "1e400"])
def test_numeric_answers_outside_tolerance_or_not_numbers_are_wrong(deck, answer):
    card = card_of(deck, "numeric")
    result = review_card_rate(user=deck, review_card_id=card.pk, answer=answer, now=utc(2026, 6, 1, 7, 1))
    assert (result.rating, result.correct) == (1, False)


def test_checked_cards_need_an_answer_and_recall_cards_a_rating(deck):
    with pytest.raises(ReviewInputError):
        review_card_rate(user=deck, review_card_id=card_of(deck, "choice").pk, rating=3, now=utc(2026, 6, 1, 8))
    with pytest.raises(ReviewInputError):
        review_card_rate(user=deck, review_card_id=card_of(deck, "recall").pk, answer="x", now=utc(2026, 6, 1, 8))
    assert not ReviewLog.objects.exists()


def test_a_card_not_due_cannot_be_rated_again(deck):
    card = card_of(deck, "recall")
    review_card_rate(user=deck, review_card_id=card.pk, rating=4, now=utc(2026, 6, 1, 7, 1))
    with pytest.raises(CardNotDue):
        review_card_rate(user=deck, review_card_id=card.pk, rating=4, now=utc(2026, 6, 1, 7, 2))


def test_another_learners_card_does_not_exist_for_you(deck, make_user):
    other = make_user()
    with pytest.raises(ReviewCard.DoesNotExist):
        review_card_rate(user=other, review_card_id=card_of(deck, "recall").pk, rating=3, now=utc(2026, 6, 1, 8))


def test_daily_cap_holds_back_review_cards_but_never_learning_steps(deck):
    profile = deck.profile
    profile.daily_review_cap = 2
    profile.save()
    # Five graduated cards all due today.
    for card in ReviewCard.objects.filter(user=deck):
        card.state, card.stability, card.difficulty, card.step = 2, 3.0, 5.0, None
        card.last_review, card.due = utc(2026, 5, 28, 7), utc(2026, 6, 2, 6)
        card.save()
    now = utc(2026, 6, 2, 7)
    counts = due_counts(user=deck, now=now, zone=profile.zone, cap=2)
    assert (counts.review, counts.in_session, counts.capped) == (3, 2, 1)
    first = ReviewCard.objects.filter(user=deck, card__kind="recall").get()
    result = review_card_rate(user=deck, review_card_id=first.pk, rating=1, now=now)  # lapses into relearning
    assert result.remaining == 2  # one more review card allowed today, plus the lapsed card's relearning step
    counts = due_counts(user=deck, now=now, zone=profile.zone, cap=2)
    assert (counts.learning, counts.review, counts.cap_left) == (1, 2, 1)


def test_choice_order_holds_within_a_review_and_changes_between_reviews(deck):
    card = card_of(deck, "choice")
    assert choice_order(card) == choice_order(ReviewCard.objects.get(pk=card.pk))
    assert sorted(choice_order(card)) == ["A", "B", "C"]
    orders = set()
    for day in range(1, 21):  # twenty reviews of the card, each on its own day
        card.last_review = utc(2026, 6, day, 7)
        orders.add(tuple(choice_order(card)))
    assert len(orders) >= 3  # 20 seeded shuffles of 3 choices: far from one fixed order
    assert card.card.choices == ["A", "B", "C"]  # the card itself keeps the authored order


def test_recall_figure_means_something_only_in_long_term_review_a_day_on(deck):
    card = card_of(deck, "recall")
    now = utc(2026, 6, 1, 7, 1)
    assert not recall_is_meaningful(card, now)  # never reviewed
    review_card_rate(user=deck, review_card_id=card.pk, rating=1, now=now)
    review_card_rate(user=deck, review_card_id=card.pk, rating=1, now=now + timedelta(minutes=2))
    card.refresh_from_db()
    # Failed twice: FSRS still says about 100%, which is why the figure is not shown.
    assert retrievability(card, now + timedelta(minutes=3)) > 0.95
    assert not recall_is_meaningful(card, now + timedelta(minutes=3))
    review_card_rate(user=deck, review_card_id=card.pk, rating=4, now=now + timedelta(minutes=4))
    card.refresh_from_db()
    assert card.state == ReviewCard.State.REVIEW
    assert not recall_is_meaningful(card, now + timedelta(hours=23))
    assert recall_is_meaningful(card, now + timedelta(days=1, minutes=4))
    assert recall_is_meaningful(CardMemory.of(card), now + timedelta(days=2))


def test_average_recall_is_over_cards_in_long_term_review_only(deck):
    now = utc(2026, 6, 1, 7, 1)
    for card in ReviewCard.objects.filter(user=deck).select_related("card"):
        review_card_rate(user=deck, review_card_id=card.pk, rating=1, answer="wrong", now=now)
    fresh = [CardMemory.of(card) for card in ReviewCard.objects.filter(user=deck)]
    assert average_retrievability(fresh, now + timedelta(minutes=1)) is None  # not "100%" after three misses
    graduated = ReviewCard(
        pk=10**6, state=ReviewCard.State.REVIEW, step=None, stability=3.0, difficulty=5.0,
        due=now + timedelta(days=3), last_review=now - timedelta(days=3),
    )  # fmt: skip
    mixed = average_retrievability([*fresh, CardMemory.of(graduated)], now)
    assert mixed == pytest.approx(retrievability(graduated, now))
    assert 0.5 < mixed < 0.95


def test_session_stats_cover_the_latest_run_of_ratings(deck):
    zone = deck.profile.zone
    cards = {c.card.kind: c for c in ReviewCard.objects.filter(user=deck).select_related("card")}
    start = utc(2026, 6, 1, 7, 1)
    review_card_rate(user=deck, review_card_id=cards["recall"].pk, rating=3, duration_ms=20_000, now=start)
    # Forty minutes later: a new session, with one wrong answer, one right and a card rated twice.
    later = start + timedelta(minutes=40)
    review_card_rate(user=deck, review_card_id=cards["choice"].pk, answer="A", duration_ms=9_000, now=later)
    review_card_rate(
        user=deck,
        review_card_id=cards["numeric"].pk,
        answer="16",
        duration_ms=500_000,
        now=later + timedelta(minutes=1),
    )
    review_card_rate(user=deck, review_card_id=cards["choice"].pk, answer="B", now=later + timedelta(minutes=3))
    stats = review_session_stats(user=deck, now=later + timedelta(minutes=4), zone=zone)
    assert (stats.reviews, stats.cards, stats.right, stats.accuracy) == (3, 2, 2, 67)
    # 9 s, the numeric card capped at 120 s, and 120 s (the cap) for the rating sent without a duration.
    assert stats.seconds == 9 + 120 + 120 and stats.minutes == 4
    assert (stats.started_at, stats.last_at) == (later, later + timedelta(minutes=3))
    assert stats.is_active(later + timedelta(minutes=30)) and not stats.is_active(later + timedelta(minutes=34))
    # The session belongs to the learner's local day: the next day starts with none.
    tomorrow = review_session_stats(user=deck, now=utc(2026, 6, 2, 7), zone=zone)
    assert (tomorrow.reviews, tomorrow.accuracy, tomorrow.last_at) == (0, None, None)
