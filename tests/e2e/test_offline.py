"""Offline and installable (docs/offline.md), in Chromium with the context set offline and back online: the
manifest and the root-scoped service worker, the learner's own pages served from the device offline, the
offline page for the rest, the banner, and the stored pages gone at logout."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from drops.models import Drop, DropProgress, ReviewLog
from tests.e2e.axe import assert_accessible
from tests.fixtures.browser import learner_with_cards, sign_up  # and the `page` fixture

pytestmark = pytest.mark.e2e

# The page store is learnpath-pages-<VERSION>, the version the served worker carries (a digest of what it precaches).
STORED_PAGES = """() => caches.keys()
  .then((names) => caches.open(names.find((name) => name.startsWith("learnpath-pages-"))))
  .then((c) => c.keys()).then((k) => k.map((r) => new URL(r.url).pathname))"""


def warm(page, urls) -> None:
    """Installs the service worker, then opens ``urls`` online with it in control, so that it stores them."""
    page.goto("/today/")
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    for url in urls:
        page.goto(url)


def test_the_manifest_and_the_service_worker_make_it_installable(page):
    manifest = page.request.get("/static/learnpath/manifest.webmanifest")
    assert manifest.ok and manifest.headers["content-type"].startswith("application/manifest+json")
    body = json.loads(manifest.body())
    assert body["start_url"] == "/today/" and body["display"] == "standalone"
    assert {icon["sizes"] for icon in body["icons"]} >= {"192x192", "512x512"}
    for icon in body["icons"]:
        assert page.request.get(f"/static/learnpath/{icon['src']}").ok
    sign_up(page, "installer")
    page.goto("/today/")
    scope = page.evaluate("() => navigator.serviceWorker.ready.then((r) => r.scope)")
    assert scope == page.url.split("/today/")[0] + "/"


def test_own_pages_open_offline_the_rest_gets_the_offline_page_and_logout_forgets_them(page):
    _, first = learner_with_cards(page, "offliner", path_slug="offline-offliner", drops=3)
    warm(page, ["/review/", f"/drops/{first.pk}/", "/progress/", "/today/"])
    assert set(page.evaluate(STORED_PAGES)) >= {"/today/", "/review/", f"/drops/{first.pk}/", "/progress/"}
    banner = page.get_by_test_id("offline-banner")
    expect(banner).to_be_hidden()

    page.context.set_offline(True)
    expect(banner).to_have_text("You are offline. Pages you have opened before still work.")
    for url, heading in (("/review/", "Review"), (f"/drops/{first.pk}/", "Drop 1"), ("/progress/", None)):
        page.goto(url)
        if heading:
            expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        expect(banner).to_be_visible()  # navigator.onLine is false: the page says so
    page.goto("/cards/")  # not one of the learner's stored pages
    expect(page.get_by_test_id("offline-fallback")).to_be_visible()
    assert_accessible(page, "offline page")

    page.context.set_offline(False)
    page.goto("/today/")
    expect(banner).to_be_hidden()
    with page.expect_navigation():
        page.get_by_role("button", name="Log out").click()
    assert page.evaluate(STORED_PAGES) == []


def rate_offline_card(page) -> tuple[str, int]:
    """Answers and rates the card the offline session shows; returns its kind and the rating given."""
    card = page.locator("[data-offline-review]")
    kind = card.get_attribute("data-kind")
    if kind == "recall":  # with the review keys: Space shows the answer, 3 rates it Good
        page.keyboard.press(" ")
        expect(card).to_contain_text("An answer")
        assert_accessible(page, "offline review, recall card shown")
        page.keyboard.press("3")
        return kind, 3
    elif kind == "choice":
        card.get_by_label("B").check()
        card.get_by_role("button", name="Check").click()
        expect(card.get_by_test_id("review-verdict")).to_contain_text("Right.")
        rating, name = 3, "Good"
    else:
        card.get_by_label("Your answer (a number)").fill("15")
        card.get_by_role("button", name="Check").click()
        expect(card.get_by_test_id("review-verdict")).to_contain_text("Not quite.")
        expect(card.get_by_test_id("correct-answer")).to_have_text("16")
        rating, name = 1, "Again"
    assert_accessible(page, f"offline review, {kind} card answered")
    card.get_by_role("button", name=name).click()
    return kind, rating


def test_ratings_and_a_completion_made_offline_are_sent_once_when_back_online(page):
    user, first = learner_with_cards(page, "traveller", path_slug="offline-traveller", drops=3)
    second = Drop.objects.get(path=first.path, position=2)
    warm(page, ["/review/", f"/drops/{second.pk}/", "/today/"])
    deck = f"learnpath-offline-deck-{user.pk}"
    page.wait_for_function(f"() => (JSON.parse(localStorage.getItem('{deck}')) || {{cards: []}}).cards.length === 3")
    banner = page.get_by_test_id("offline-banner")

    page.context.set_offline(True)
    page.goto("/review/")  # from the service worker; the session runs from the cards kept on the device
    given = dict(rate_offline_card(page) for _ in range(3))
    expect(page.get_by_test_id("offline-done")).to_be_visible()
    expect(banner).to_have_text("You are offline. 3 ratings and 0 completions waiting to sync.")
    assert_accessible(page, "offline review, done, the banner counting what waits")
    page.goto(f"/drops/{second.pk}/")
    page.get_by_role("button", name="Done").click()
    expect(banner).to_have_text("You are offline. 3 ratings and 1 completion waiting to sync.")
    assert not ReviewLog.objects.filter(user=user).exists()
    queued = page.evaluate("() => localStorage.getItem('learnpath-offline-queue')")
    assert len({entry["idempotency_key"] for entry in json.loads(queued)}) == 4

    page.context.set_offline(False)
    expect(banner).to_have_text("Synced: what you did offline is saved.")
    logs = ReviewLog.objects.filter(user=user).select_related("review_card__card")
    assert sorted((log.review_card.card.kind, log.rating) for log in logs) == sorted(given.items())
    assert DropProgress.objects.get(user=user, drop=second).completed_at is not None

    # The same requests again (a sync that lost its answers): the Idempotency-Keys make them no-ops.
    page.evaluate("(queued) => localStorage.setItem('learnpath-offline-queue', queued)", queued)
    assert page.evaluate("() => window.learnpathOffline.sync()") == 4
    page.reload()
    assert ReviewLog.objects.filter(user=user).count() == 3
    assert page.evaluate("() => localStorage.getItem('learnpath-offline-queue')") == "[]"
    assert page.evaluate("() => localStorage.getItem('learnpath-offline-refused')") is None


def test_a_definite_refusal_leaves_the_queue_with_its_reason_and_a_lost_connection_keeps_the_rest(page):
    user, _ = learner_with_cards(page, "refused", path_slug="offline-refused", drops=3)
    page.goto("/today/")
    entries = [
        {
            "kind": "rating",
            "url": "/api/reviews/999999/",
            "body": {"rating": 3},
            "idempotency_key": "k-gone",
            "created": "2026-01-01T00:00:00Z",
            "learner": str(user.pk),
        },
        {
            "kind": "rating",
            "url": "/api/reviews/999998/",
            "body": {"rating": 3},
            "idempotency_key": "k-other",
            "created": "2026-01-01T00:00:00Z",
            "learner": str(user.pk + 1),
        },  # another learner's: never sent here
    ]
    page.evaluate("(q) => localStorage.setItem('learnpath-offline-queue', JSON.stringify(q))", entries)
    page.context.route("**/api/reviews/999999/", lambda route: route.abort())  # the network fails: kept
    assert page.evaluate("() => window.learnpathOffline.sync()") == 0
    expect(page.get_by_test_id("offline-banner")).to_have_text("1 rating and 0 completions waiting to sync.")
    page.context.unroute("**/api/reviews/999999/")
    assert page.evaluate("() => window.learnpathOffline.sync()") == 1
    expect(page.get_by_test_id("offline-banner")).to_have_text(
        "Synced. 1 was not recorded: the card was no longer due, or the drop still locked."
    )
    refused = json.loads(page.evaluate("() => localStorage.getItem('learnpath-offline-refused')"))
    assert [(r["idempotency_key"], r["refused"]["status"]) for r in refused] == [("k-gone", 404)]
    queue = json.loads(page.evaluate("() => localStorage.getItem('learnpath-offline-queue')"))
    assert [entry["idempotency_key"] for entry in queue] == ["k-other"]
