"""In real Chromium: a double-click on "Show a hint" reveals one hint, even when the network loses the answer and
the page's script sends the request again (with the same Idempotency-Key, so the server replays its answer)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from challenges.models import HintReveal
from tests.fixtures.browser import sign_up

pytestmark = [pytest.mark.e2e]


def test_a_double_click_on_show_a_hint_reveals_one_hint_though_the_answer_is_lost(page, challenge):
    sign_up(page)
    page.goto("/challenges/distillation-loss/")
    sent: list[dict] = []

    def lose_the_first_answer(route):
        answer = route.fetch()  # the request reaches the server and the hint is revealed...
        sent.append(
            {"key": route.request.headers.get("idempotency-key"), "replayed": answer.headers.get("idempotent-replayed")}
        )
        if len(sent) == 1:
            route.abort("connectionreset")  # ...but the answer never reaches the phone
        else:
            route.fulfill(response=answer)

    page.route("**/api/challenges/distillation-loss/hints/", lose_the_first_answer)
    page.get_by_role("button", name="Show a hint").dblclick()

    expect(page.locator("#hints-list li")).to_have_count(1)
    expect(page.get_by_role("button", name="Show a hint")).to_contain_text(f"{len(challenge.hints) - 1} left")
    assert len(sent) == 2 and sent[0]["key"] == sent[1]["key"] and sent[0]["key"]
    assert [s["replayed"] for s in sent] == [None, "true"]
    assert HintReveal.objects.count() == 1
    page.reload()
    expect(page.locator("#hints-list li")).to_have_count(1)


def test_without_javascript_a_double_click_on_show_a_hint_reveals_one_hint(browser, live_server, challenge):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_up(page)
        page.goto("/challenges/distillation-loss/")
        page.get_by_role("button", name="Show a hint").dblclick()
        expect(page.locator("#hints-list li")).to_have_count(1)
        assert HintReveal.objects.count() == 1
    finally:
        context.close()
