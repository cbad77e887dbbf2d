"""The site's own error pages, API docs served from the installation, and form pages whose aria references and
labels all point at elements that exist."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client, RequestFactory

from learnpath import services, views

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a-long-enough-passphrase-7"
APPS = ("learnpath", "drops", "challenges", "plans", "workers")


class References(HTMLParser):
    """Every id on the page, and every id that an attribute refers to."""

    def __init__(self):
        super().__init__()
        self.ids: list[str] = []
        self.references: list[tuple[str, str, str]] = []  # (tag, attribute, id)

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if values.get("id"):
            self.ids.append(values["id"])
        for name in ("aria-describedby", "aria-labelledby", "aria-controls"):
            for target in (values.get(name) or "").split():
                self.references.append((tag, name, target))
        if tag == "label" and values.get("for"):
            self.references.append((tag, "for", values["for"]))


def dangling_references(html: str) -> list[tuple[str, str, str]]:
    parser = References()
    parser.feed(html)
    ids = set(parser.ids)
    return [reference for reference in parser.references if reference[2] not in ids]


def duplicate_ids(html: str) -> set[str]:
    parser = References()
    parser.feed(html)
    return {name for name in parser.ids if parser.ids.count(name) > 1}


@pytest.fixture
def signed_in(make_user, content):
    user = make_user("mia", password=PASSWORD)
    services.enrollment_create(user=user, path=content)
    client = Client()
    client.force_login(user)
    return client


ANONYMOUS_PAGES = [
    "/accounts/signup/",
    "/accounts/login/",
    "/accounts/password/reset/",
    "/accounts/password/reset/sent/",
    "/accounts/password/reset/MQ/bad-token/",
    "/accounts/password/reset/done/",
    "/no-such-page/",
]
LEARNER_PAGES = ["/accounts/settings/", "/accounts/password/", "/today/", "/progress/", "/challenges/", "/review/"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ANONYMOUS_PAGES)
def test_every_aria_reference_and_label_points_at_an_element(client, path):
    html = client.get(path, follow=True).content.decode()
    assert dangling_references(html) == []
    assert duplicate_ids(html) == set()


@pytest.mark.django_db
@pytest.mark.parametrize("path", LEARNER_PAGES)
def test_every_aria_reference_and_label_points_at_an_element_signed_in(signed_in, path):
    response = signed_in.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert dangling_references(html) == []
    assert duplicate_ids(html) == set()


@pytest.mark.django_db
def test_forms_with_errors_keep_their_references(client):
    html = client.post("/accounts/signup/", {"username": "", "password": "1", "timezone": "UTC"}).content.decode()
    assert "aria-describedby" in html
    assert dangling_references(html) == []


def test_the_checker_finds_a_dangling_reference():
    assert dangling_references('<input aria-describedby="id_x_help"><p id="id_x_helptext"></p>') == [
        ("input", "aria-describedby", "id_x_help")
    ]


# Error pages


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/no-such-page/", "/challenges/no-such-challenge/", "/drops/99999/"])
def test_unknown_pages_get_the_sites_404(signed_in, path):
    response = signed_in.get(path)
    assert response.status_code == 404
    html = response.content.decode()
    assert "We could not find that page" in html and 'class="site-header"' in html
    assert "URLconf" not in html  # never Django's debug page


@pytest.mark.django_db
def test_unknown_api_urls_get_json(client):
    response = client.get("/api/no-such-thing/")
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}


@pytest.mark.django_db
def test_the_challenges_index_answers(signed_in):
    response = signed_in.get("/challenges/")
    assert response.status_code == 200
    assert "distillation-loss" in response.content.decode()


def test_server_error_page_is_the_sites_own_with_a_way_home():
    response = views.server_error(RequestFactory().get("/today/"))
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html and 'href="/"' in html and "site.css" in html
    api = views.server_error(RequestFactory().get("/api/me/"))
    assert api.status_code == 500 and "detail" in api.content.decode()


# Favicon and wordmark


@pytest.mark.django_db
def test_every_page_links_the_svg_favicon_and_shows_the_wordmark(client):
    html = client.get("/accounts/login/").content.decode()
    assert re.search(r'<link rel="icon" href="/static/learnpath/favicon\.svg" type="image/svg\+xml">', html)
    assert 'class="brand-mark"' in html and '<span class="brand-name">learnpath</span>' in html
    favicon = finders.find("learnpath/favicon.svg")
    assert favicon and Path(favicon).read_text().startswith("<svg")


# Docs served from the installation


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_api_docs_load_nothing_from_another_host(client, path):
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), html
    assert "img-src 'self' data:" in response["Content-Security-Policy"]  # stops Redoc's CDN logo in the browser


@pytest.mark.parametrize("asset", ["swagger-ui-dist/swagger-ui-bundle.js", "redoc/bundles/redoc.standalone.js"])
def test_sidecar_assets_are_installed(asset):
    assert finders.find(f"drf_spectacular_sidecar/{asset}")


def test_no_template_loads_a_script_style_or_image_from_another_host():
    external = re.compile(r"""<(script|link|img|iframe)\b[^>]*\b(src|href)=["']?(https?:)?//""", re.IGNORECASE)
    offenders = []
    for app in APPS:
        for template in (ROOT / app).rglob("templates/**/*.html"):
            if external.search(template.read_text()):
                offenders.append(str(template.relative_to(ROOT)))
    assert offenders == []


# `make run` (learnpath.settings.dev)


def test_make_run_settings_show_no_debug_pages_and_serve_static_files(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.DEBUG, s.WHITENOISE_USE_FINDERS, s.EMAIL_BACKEND, s.EMAIL_FILE_PATH)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "EMAIL_URL")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env | {"DJANGO_SETTINGS_MODULE": "learnpath.settings.dev", "VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    debug, finders_on, backend, mail_dir = result.stdout.split()
    assert (debug, finders_on) == ("False", "True")
    assert backend == "django.core.mail.backends.filebased.EmailBackend" and mail_dir == str(tmp_path / "mail")
