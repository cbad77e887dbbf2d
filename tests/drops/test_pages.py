"""Browser pages through Django's test client: Today, reader, review session (no JavaScript), progress."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine

from drops.models import Drop, ReviewCard, ReviewLog
from drops.services import drop_complete
from learnpath import services as learnpath_services
from tests.drops.conftest import DAY_ONE

NOW = DAY_ONE  # when learner_on_day_one has day 1 open


def text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_home_redirects_to_today(client, learner_on_day_one):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/today/"


def test_today_reader_complete_then_next_locked(client, learner_on_day_one):
    user, path = learner_on_day_one
    drop = Drop.objects.get(path=path, position=1)
    assert f"/drops/{drop.pk}/" in client.get("/today/").content.decode()
    assert "0 day streak" in text(client.get("/today/"))
    reader = client.get(f"/drops/{drop.pk}/").content.decode()
    assert "about 6 min" in reader and 'href="#s1"' in reader and ">Done<" in reader
    response = client.post(f"/drops/{drop.pk}/complete/", {"seconds_spent": "240"})
    assert response.status_code == 302 and response["Location"] == "/today/"
    page = text(client.get("/today/"))
    assert "1 day streak" in page and "unlocks Tuesday 2 June, 00:00" in page and "3 cards to review" in page
    second = Drop.objects.get(path=path, position=2)
    # Reading ahead (one drop a day by default): Today offers the next drop, whose page opens now.
    assert "Read the next drop now" in page and "1 of 1 left today" in page
    ahead = client.get(f"/drops/{second.pk}/")
    assert ahead.status_code == 200 and "You are reading ahead: this drop unlocks on Tuesday 2 June" in text(ahead)
    learnpath_services.profile_update(user=user, read_ahead_per_day=0)  # off: locked until its day
    assert "Read the next drop now" not in text(client.get("/today/"))
    locked = client.get(f"/drops/{second.pk}/")
    assert locked.status_code == 403 and "unlocks on Tuesday 2 June, 00:00 , your time" in text(locked)
    assert "daily limit" not in text(locked)


def choice_rows(html: str) -> list[str]:
    """The multiple-choice answers as the page lists them, in order."""
    return re.findall(r'<input type="radio" name="answer" value="([^"]*)"', html)


def rated(html: str) -> str | None:
    """The rating button the page suggests, if any."""
    match = re.search(r'class="btn btn-secondary is-suggested"[^>]*data-rating="(\d)"', html)
    return match.group(1) if match else None


def test_review_session_without_javascript(client, learner_on_day_one, settings):
    settings.FSRS_FUZZING = False
    user, path = learner_on_day_one
    drop_complete(user=user, drop=Drop.objects.get(path=path, position=1), seconds_spent=60, now=NOW)
    page = text(client.get("/review/"))
    assert "3 cards left today" in page and "0 done this session" in page
    cards = {c.card.kind: c for c in ReviewCard.objects.filter(user=user).select_related("card")}

    # A wrong choice: the same card shows the learner's choice, the right one and the explanation, and
    # suggests Again; nothing is recorded until the learner rates, and the rating they pick stands.
    check = client.post(f"/review/{cards['choice'].pk}/", {"answer": "A", "duration_ms": "3000"})
    assert check.status_code == 200
    html = check.content.decode()
    assert f'action="/review/{cards["choice"].pk}/"' in html and 'name="rating"' in html
    assert re.search(r'is-given"[^>]*>\s*<span class="choice-text">A</span>\s*<span class="badge badge-failed"', html)
    assert re.search(r'is-answer"[^>]*>\s*<span class="choice-text">B</span>\s*<span class="badge badge-passed"', html)
    assert "Not quite." in text(check) and "B is right." in text(check)
    assert rated(html) == "1" and "Suggested: Again" in text(check)
    assert 'name="duration_ms" value="3000"' in html  # the answering time travels with the rating
    assert not ReviewLog.objects.exists()
    client.post(f"/review/{cards['choice'].pk}/", {"answer": "A", "rating": "2", "duration_ms": "5000"})
    log = ReviewLog.objects.get()
    assert (log.rating, log.correct, log.answer, log.duration_ms) == (2, False, "A", 5000)
    assert "1 done this session" in text(client.get("/review/"))

    # A right number: the learner's answer beside the right one, Good suggested.
    check = client.post(f"/review/{cards['numeric'].pk}/", {"answer": "16,004"})
    html = check.content.decode()
    assert "Right." in text(check) and rated(html) == "3"
    assert re.search(r'data-testid="your-answer">16,004<', html)
    assert re.search(r'data-testid="correct-answer">16 \(± 0.01\)<', html)
    client.post(f"/review/{cards['numeric'].pk}/", {"answer": "16,004", "rating": "3"})
    client.post(f"/review/{cards['recall'].pk}/", {"rating": "4"})
    ratings = dict(ReviewLog.objects.values_list("review_card__card__kind", "rating"))
    assert ratings == {"choice": 2, "numeric": 3, "recall": 4}
    page = text(client.get("/review/"))
    assert "3 done this session" in page and "2 cards left today" in page  # Easy graduated the recall card


def test_a_check_shows_the_card_only_while_it_is_due(client, learner_on_day_one, settings):
    settings.FSRS_FUZZING = False
    user, path = learner_on_day_one
    drop_complete(user=user, drop=Drop.objects.get(path=path, position=1), seconds_spent=60, now=NOW)
    choice = ReviewCard.objects.get(user=user, card__kind="choice")
    client.post(f"/review/{choice.pk}/", {"answer": "B", "rating": "4"})  # graduates: due in days
    response = client.post(f"/review/{choice.pk}/", {"answer": "B"})
    assert response.status_code == 302 and response["Location"] == "/review/"
    assert "not due any more" in text(client.get("/review/"))
    assert client.post(f"/review/{choice.pk}/", {"answer": "x" * 501}).status_code == 302
    assert ReviewLog.objects.count() == 1


def test_an_answer_that_is_no_choice_is_shown_as_given(client, learner_on_day_one):
    user, path = learner_on_day_one
    drop_complete(user=user, drop=Drop.objects.get(path=path, position=1), seconds_spent=60, now=NOW)
    choice = ReviewCard.objects.get(user=user, card__kind="choice")
    check = client.post(f"/review/{choice.pk}/", {"answer": "<b>Z</b>"})
    html = check.content.decode()
    assert 'data-testid="your-answer">&lt;b&gt;Z&lt;/b&gt;</strong>, is not one of the choices.' in html
    assert rated(html) == "1" and not ReviewLog.objects.exists()


def test_choices_are_shuffled_per_review_and_stable_while_answering(client, learner_on_day_one, settings):
    settings.FSRS_FUZZING = False
    user, path = learner_on_day_one
    drop_complete(user=user, drop=Drop.objects.get(path=path, position=1), seconds_spent=60, now=NOW)
    ReviewCard.objects.filter(user=user).exclude(card__kind="choice").delete()
    choice = ReviewCard.objects.get(user=user)
    first = choice_rows(client.get("/review/").content.decode())
    assert sorted(first) == ["A", "B", "C"]
    assert choice_rows(client.get("/review/").content.decode()) == first  # a reload keeps the order
    html = client.get("/review/").content.decode()
    assert html.count('class="choice"') == 3 and '<ol class="choice-list"' in html
    assert [int(n) for n in re.findall(r'data-choice="(\d)"', html)] == [1, 2, 3]  # keys 1–3 pick them
    # The check lists the choices in the order the learner saw them.
    check = client.post(f"/review/{choice.pk}/", {"answer": first[0]}).content.decode()
    assert re.findall(r'<span class="choice-text">([^<]*)</span>', check) == first
    orders = {tuple(first)}
    moment = NOW
    for _ in range(8):  # each review brings a new order (seeded by the card and its last review)
        choice.refresh_from_db()
        moment = max(moment, choice.due) + timedelta(minutes=1)
        with time_machine.travel(moment, tick=False):
            client.post(f"/review/{choice.pk}/", {"answer": "A", "rating": "1"})
            choice.refresh_from_db()
        with time_machine.travel(max(moment, choice.due), tick=False):
            orders.add(tuple(choice_rows(client.get("/review/").content.decode())))
    assert len(orders) > 1


def test_session_summary_at_the_end(client, learner_on_day_one, settings):
    settings.FSRS_FUZZING = False
    user, path = learner_on_day_one
    drop_complete(user=user, drop=Drop.objects.get(path=path, position=1), seconds_spent=60, now=NOW)
    cards = {c.card.kind: c for c in ReviewCard.objects.filter(user=user).select_related("card")}
    client.post(f"/review/{cards['choice'].pk}/", {"answer": "C", "rating": "4", "duration_ms": "30000"})
    client.post(f"/review/{cards['numeric'].pk}/", {"answer": "16", "rating": "4", "duration_ms": "45000"})
    client.post(f"/review/{cards['recall'].pk}/", {"rating": "4", "duration_ms": "400000"})  # capped at 2 min
    page = client.get("/review/")
    body = text(page)
    assert "Session complete" in body
    assert re.search(r'data-testid="summary-cards">3<', page.content.decode())
    assert "right or recalled (2 of 3)" in body and "67%" in body
    assert re.search(r'data-testid="summary-minutes">3<', page.content.decode())  # 30 s + 45 s + 120 s
    assert "1 day streak" in body and "Today counts." in body
    assert "Next drop: Day 2: Drop 2 , unlocks Tuesday 2 June, 00:00" in body
    assert re.search(r"Next review \w+ \d+ \w+, \d\d:\d\d ; 0 cards due by the end of tomorrow", body)
    # Hours later the summary is of the last session, no longer "just completed", and the counter is back to 0.
    with time_machine.travel(NOW + timedelta(hours=3), tick=False):
        body = text(client.get("/review/"))
    assert "Session complete" not in body and "Your last session today ended at 11:00" in body
    assert "0 done this session" in body


def test_empty_deck_says_what_comes_next(client, learner_on_day_one):
    body = text(client.get("/review/"))
    assert "All done for now" in body and "Your deck is empty" in body
    assert "Today's drop is waiting: Day 1: Drop 1" in body


def test_recall_now_is_shown_only_where_it_means_something(client, learner_on_day_one, settings):
    settings.FSRS_FUZZING = False
    user, path = learner_on_day_one
    drop_complete(user=user, drop=Drop.objects.get(path=path, position=1), seconds_spent=60, now=NOW)
    ReviewCard.objects.filter(user=user).exclude(card__kind="recall").delete()
    card = ReviewCard.objects.get(user=user)
    assert "new card" in text(client.get("/review/"))
    for minutes in (1, 3):  # failed twice: a learning step, FSRS would say ~100%
        with time_machine.travel(NOW + timedelta(minutes=minutes), tick=False):
            client.post(f"/review/{card.pk}/", {"rating": "1"})
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        body = text(client.get("/review/"))
    assert "Learning" in body and "recall now" not in body and "new card" not in body
    # A card in long-term review, last seen days ago: now the figure says something.
    ReviewCard.objects.filter(pk=card.pk).update(
        state=ReviewCard.State.REVIEW, step=None, stability=3.0, difficulty=5.0,
        last_review=NOW - timedelta(days=4), due=NOW - timedelta(hours=1),
    )  # fmt: skip
    match = re.search(r"recall now about (\d+)%", text(client.get("/review/")))
    assert match and 50 < int(match.group(1)) < 95


def average_recall(response) -> str:
    stat = re.search(r'data-testid="average-recall">(.*?)</div>', response.content.decode(), re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", stat.group(1)).split())


def test_progress_average_recall_ignores_cards_just_reviewed(client, learner_on_day_one, settings):
    settings.FSRS_FUZZING = False
    user, path = learner_on_day_one
    drop_complete(user=user, drop=Drop.objects.get(path=path, position=1), seconds_spent=60, now=NOW)
    cards = {c.card.kind: c for c in ReviewCard.objects.filter(user=user).select_related("card")}
    client.post(f"/review/{cards['choice'].pk}/", {"answer": "A"})
    client.post(f"/review/{cards['choice'].pk}/", {"answer": "A", "rating": "1"})
    client.post(f"/review/{cards['numeric'].pk}/", {"answer": "3", "rating": "1"})
    client.post(f"/review/{cards['recall'].pk}/", {"rating": "1"})
    recall = average_recall(client.get("/progress/"))
    assert "%" not in recall and "average recall: shown a day after a card graduates" in recall
    assert "reviews done (3 of 3 cards seen)" in text(client.get("/progress/"))
    ReviewCard.objects.filter(pk=cards["recall"].pk).update(
        state=ReviewCard.State.REVIEW, step=None, stability=3.0, difficulty=5.0,
        last_review=NOW - timedelta(days=4), due=NOW + timedelta(days=1),
    )  # fmt: skip
    from django.core.cache import cache

    cache.clear()  # the card was changed behind the services' back
    recall = average_recall(client.get("/progress/"))
    match = re.search(r"(\d+)% average recall now, over the 1 card in long-term review", recall)
    assert match and 50 < int(match.group(1)) < 95


def test_streak_freezes_and_longest_streak_are_labelled_apart(client, learner_on_day_one):
    from drops.models import Streak

    user, path = learner_on_day_one
    drop_complete(user=user, drop=Drop.objects.get(path=path, position=1), seconds_spent=60, now=NOW)
    Streak.objects.filter(user=user).update(longest=9, freezes=1)
    from django.core.cache import cache

    cache.clear()
    today = text(client.get("/today/"))
    assert "Longest: 9 days." in today and "1 streak freeze held" in today and "(longest" not in today
    progress = text(client.get("/progress/"))
    assert "longest 9 days" in progress and "1 streak freeze held" in progress


def test_review_of_another_learners_card_is_404(client, learner_on_day_one, make_user):
    user, path = learner_on_day_one
    drop_complete(user=user, drop=Drop.objects.get(path=path, position=1), seconds_spent=60, now=NOW)
    card = ReviewCard.objects.filter(user=user).first()
    client.force_login(make_user("eve"))
    assert client.post(f"/review/{card.pk}/", {"rating": "1"}).status_code == 404
    assert not ReviewLog.objects.exists()


def test_progress_page_draws_charts_readable_without_colour(client, learner_on_day_one):
    user, path = learner_on_day_one
    drop_complete(user=user, drop=Drop.objects.get(path=path, position=1), seconds_spent=300, now=NOW)
    page = client.get("/progress/").content.decode()
    assert page.count('class="calendar-square"') == 14  # HTML cells: their text keeps the page's size
    assert 'role="progressbar" aria-valuenow="100"' in page
    assert "1 of 1 (100%)" in page  # phase 1 of the 3-drop path holds drop 1 only
    assert "✓" in page and "counts for the streak" in page


def test_pages_need_login(client, db):
    for url in ("/today/", "/review/", "/progress/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_progress_page_lists_only_my_plans(client, learner_on_day_one, make_user):
    from plans.services import plan_create

    user, _ = learner_on_day_one
    mine = plan_create(owner=user, title="Ticket router", task="Route support tickets.")
    plan_create(owner=make_user("mallory"), title="Someone else's secret plan", task="Hidden.")
    page = client.get("/progress/").content.decode()
    assert "Ticket router" in page
    assert f"/plans/{mine.pk}/export.md" in page
    assert "secret plan" not in page
