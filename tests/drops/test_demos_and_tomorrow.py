"""The interactive demos: open to everyone on /demos/, embedded in the drops that name them; and the Today
page's reasons to come back tomorrow once today's drop is read."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings

from drops.demos import DEMOS, demos_in_html
from drops.models import Drop
from drops.services import drop_complete
from learnpath.content.render import KNOWN_DEMOS, render_markdown
from tests.drops.conftest import DAY_ONE, build_path, enrol

pytestmark = pytest.mark.django_db
NOW = DAY_ONE  # when learner_on_day_one has day 1 open


def text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def scripts(html: str) -> list[str]:
    return re.findall(r'<script type="module" src="([^"]+)"', html)


def test_every_demo_content_may_embed_is_registered_with_its_files():
    assert set(DEMOS) == KNOWN_DEMOS
    for demo in DEMOS.values():
        for asset in (demo.script, demo.stylesheet):
            app, _, rest = asset.partition("/")
            assert os.path.isfile(os.path.join(settings.BASE_DIR, app, "static", app, rest)), asset


def test_demos_in_html_finds_each_mount_once_in_order():
    html = render_markdown("[[demo:temperature]]\n\ntext\n\n[[demo:pipeline]]\n\n[[demo:temperature]]\n")
    assert [demo.name for demo in demos_in_html(html)] == ["temperature", "pipeline"]
    # A lesson cannot fake a mount: markup in Markdown is sanitized before demos are inserted.
    forged = render_markdown('<div class="pipeline-demo" data-demo="pipeline"></div>\n')
    assert demos_in_html(forged) == []


def test_the_demos_page_is_public_and_lists_where_each_demo_is_used(client, content):
    response = client.get("/demos/")
    assert response.status_code == 200
    html = response.content.decode()
    for demo in DEMOS.values():
        assert f'<div class="{demo.name}-demo" data-demo="{demo.name}"></div>' in html
        assert f"/static/{demo.script}" in scripts(html)
        assert f'href="/static/{demo.stylesheet}"' in html
        assert f'id="{demo.anchor}"' in html
    uses = {
        name: [d for d in Drop.objects.filter(path=content) if f'data-demo="{name}"' in d.body_html] for name in DEMOS
    }
    assert uses["pipeline"] and uses["pipeline"][0].position == 1  # interactive from day 1
    page = text(response)
    for drops in uses.values():
        for drop in drops:
            assert f"day {drop.position}: {drop.title}" in page
    assert "Sign up and start day 1" in page
    assert not re.search(r'(src|href)="(https?:)?//', html), "nothing is loaded from another site"


def test_the_demos_page_signed_in_has_no_sign_up_prompt(client, make_user, content):
    client.force_login(make_user("mia"))
    page = text(client.get("/demos/"))
    assert "Interactive demos" in page and "Sign up and start day 1" not in page


def test_every_page_footer_links_the_demos(client, content):
    assert 'href="/demos/"' in client.get("/").content.decode()


def test_a_drop_page_loads_the_scripts_of_the_demos_it_holds(client, learner_on_day_one):
    user, path = learner_on_day_one
    drop = Drop.objects.get(path=path, position=1)
    with time_machine.travel(NOW, tick=False):
        plain = client.get(f"/drops/{drop.pk}/").content.decode()
        assert not [s for s in scripts(plain) if "demo" in s]
        drop.body_html = render_markdown(
            "## Try it\n\n[[demo:pipeline]]\n\n[[demo:temperature]]\n\n[[demo:pipeline]]\n"
        )
        drop.save()
        html = client.get(f"/drops/{drop.pk}/").content.decode()
    assert scripts(html) == ["/static/drops/pipeline-demo.js", "/static/drops/temperature-demo.js"]
    assert html.count('href="/static/drops/pipeline-demo.css"') == 1
    assert html.count('data-demo="pipeline"') == 2


def test_the_content_embeds_the_pipeline_demo_in_the_soft_label_and_loss_drops(content):
    holding = {d.slug for d in Drop.objects.filter(path=content) if 'data-demo="pipeline"' in d.body_html}
    assert {"small-models-learn-from-teachers", "hard-labels-throw-knowledge-away", "one-loss-two-terms"} <= holding
    first = Drop.objects.get(path=content, position=1)
    assert "repository checked out" not in first.body_markdown
    assert 'href="/demos/"' in first.body_html


def test_today_shows_what_day_one_holds(client, learner_on_day_one):
    user, path = learner_on_day_one
    drop = Drop.objects.get(path=path, position=1)
    drop.body_html = render_markdown("## Try it\n\n[[demo:pipeline]]\n")
    drop.save()
    with time_machine.travel(NOW, tick=False):
        page = client.get("/today/").content.decode()
    assert re.search(rf'href="/drops/{drop.pk}/">Start day 1<', page)
    assert "Interactive demo:" in page and 'href="/demos/#demo-pipeline"' in page
    assert 'data-testid="tomorrow"' not in page  # today's drop still waits


def test_after_todays_drop_today_says_why_to_come_back_tomorrow(client, learner_on_day_one):
    user, path = learner_on_day_one
    first, second = Drop.objects.filter(path=path).order_by("position")[:2]
    second.body_html = render_markdown("## Try it\n\n[[demo:temperature]]\n")
    second.save()
    with time_machine.travel(NOW, tick=False):
        drop_complete(user=user, drop=first, seconds_spent=300)
        response = client.get("/today/")
    page = text(response)
    html = response.content.decode()
    tomorrow = re.search(r'data-testid="tomorrow">(.*?)</section>', html, re.S)[1]
    tomorrow_text = " ".join(re.sub(r"<[^>]+>", " ", tomorrow).split())
    assert f"Day 2: {second.title}" in tomorrow_text and "Tuesday 00:00" in tomorrow_text
    # Three new cards were learned today; each comes back within a day.
    assert re.search(r"\b3 cards to review by the end of tomorrow", tomorrow_text)
    assert "Come back tomorrow to make it a 2-day streak." in tomorrow_text
    assert "Interactive demo: Temperature and KL divergence" in page  # what day 2 holds


def test_a_finished_path_still_says_what_comes_up(client, make_user):
    path = build_path(slug="short", drops=1)
    user = make_user("ines", timezone="Europe/Berlin")
    enrol(user, path, NOW - timedelta(hours=1))
    client.force_login(user)
    with time_machine.travel(NOW, tick=False):
        drop_complete(user=user, drop=Drop.objects.get(path=path), seconds_spent=60)
        page = text(client.get("/today/"))
    assert "You have read every drop." in page
    assert "Coming up" in page and "3 cards to review by the end of tomorrow" in page
    assert "A new drop:" not in page
