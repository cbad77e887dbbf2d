"""The web app manifest and the service worker (docs/offline.md): served where an installable app needs them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from django.test import Client
from PIL import Image

from learnpath.views import SERVICE_WORKER, service_worker_script

pytestmark = pytest.mark.django_db


def test_the_service_worker_is_served_from_the_root_uncached():
    response = Client().get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == "no-cache"
    assert response["Service-Worker-Allowed"] == "/"
    served, source = response.content.decode(), SERVICE_WORKER.read_text()
    version = re.search(r'^const VERSION = "([0-9a-f]{16})";$', served, re.M)
    assert version, "the served worker carries the digest of what it precaches"
    assert served.replace(version[1], "dev", 1) == source  # otherwise the file as it is


def test_a_deploy_that_changes_a_precached_file_changes_the_worker(tmp_path, settings):
    """Same file names, new contents: the worker's bytes change, so browsers install it and drop the old caches."""

    def version() -> str:
        service_worker_script.cache_clear()
        return re.search(r'const VERSION = "(\w+)";', Client().get("/sw.js").content.decode())[1]

    before = version()
    assert version() == before  # the same files give the same version
    changed = tmp_path / "learnpath" / "site.css"
    changed.parent.mkdir()
    changed.write_text(Path(finders.find("learnpath/site.css")).read_text() + "\n.new-rule { color: red; }\n")
    settings.STATICFILES_DIRS = [tmp_path]  # found before the app's own site.css
    try:
        assert finders.find("learnpath/site.css") == str(changed)
        assert version() != before
    finally:
        service_worker_script.cache_clear()


def test_the_service_worker_stores_only_the_learners_own_pages_and_precaches_files_that_exist():
    body = SERVICE_WORKER.read_text()
    assert "/^\\/today\\/$/" in body and "/^\\/drops\\/\\d+\\/$/" in body
    assert "/^\\/review\\/$/" in body and "/^\\/progress\\/$/" in body
    precached = body.split("const PRECACHE = [", 1)[1].split("];", 1)[0]
    files = [line.strip().strip('"') for line in precached.split(",") if line.strip().startswith('"/static/')]
    assert "/static/learnpath/site.css" in files and "/static/drops/daily.js" in files
    for url in [*files, "/static/learnpath/offline.html"]:
        assert finders.find(url.removeprefix("/static/")), url


def test_the_manifest_is_valid_and_its_icons_exist():
    # The test client does not serve static files (the browser test fetches the manifest from the live server).
    manifest = json.loads(Path(finders.find("learnpath/manifest.webmanifest")).read_text())
    assert manifest["start_url"] == "/today/" and manifest["scope"] == "/" and manifest["display"] == "standalone"
    assert manifest["name"] and manifest["short_name"] and manifest["theme_color"] and manifest["background_color"]
    sizes = set()
    for icon in manifest["icons"]:
        found = finders.find(f"learnpath/{icon['src']}")
        assert found, icon["src"]
        if icon["type"] == "image/png":
            with Image.open(found) as image:
                assert f"{image.width}x{image.height}" == icon["sizes"]
                sizes.add(image.width)
    assert {192, 512} <= sizes


def test_every_page_links_the_manifest_the_theme_colours_and_the_offline_banner():
    User.objects.create_user("ada", password="a-long-enough-passphrase-7")
    client = Client()
    client.login(username="ada", password="a-long-enough-passphrase-7")
    for url in ("/accounts/login/", "/today/"):
        html = (Client() if url.startswith("/accounts") else client).get(url, follow=True).content.decode()
        assert 'rel="manifest" href="/static/learnpath/manifest.webmanifest"' in html
        assert '<meta name="theme-color" content="#f7f6f3" media="(prefers-color-scheme: light)">' in html
        assert '<meta name="theme-color" content="#0f1317" media="(prefers-color-scheme: dark)">' in html
        assert 'aria-live="polite" data-offline-banner' in html
        assert "/static/learnpath/offline.js" in html


def test_the_due_cards_carry_what_checks_an_answer_only_when_asked_for_offline():
    from django.utils import timezone

    from drops.models import Drop
    from drops.services import drop_complete
    from learnpath import services
    from tests.drops.conftest import build_path

    user = User.objects.create_user("grace", password="a-long-enough-passphrase-7")
    path = build_path(slug="offline-api", drops=2)
    services.enrollment_create(user=user, path=path)
    drop_complete(user=user, drop=Drop.objects.get(path=path, position=1), seconds_spent=60, now=timezone.now())
    client = Client()
    client.force_login(user)
    plain = client.get("/api/reviews/due/").json()["cards"]
    assert plain and all("check" not in card for card in plain)
    assert all(card["answer"] is None for card in plain if card["kind"] != "recall")
    offline = client.get("/api/reviews/due/?offline=true&limit=50").json()["cards"]
    checks = {card["kind"]: card["check"] for card in offline}
    assert checks["choice"] == {"answer": "B", "numeric_answer": None, "tolerance": None, "explanation": "B is right."}
    assert checks["numeric"]["numeric_answer"] == 16.0 and checks["numeric"]["tolerance"] == 0.01
    assert client.get("/api/reviews/due/?offline=maybe").status_code == 400
