"""Accounts created per client network (THROTTLE_ACCOUNTS_PER_NETWORK): on the API and the sign-up page."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.test import Client
from django.test.client import RequestFactory

from learnpath.services import client_network

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-enough-passphrase-7"
REGISTER = "/api/auth/register/"


@pytest.fixture
def two_accounts_a_day(settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "accounts_per_network": "2/day"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


def _register(api, username: str, address: str, password: str = PASSWORD):
    return api.post(REGISTER, {"username": username, "password": password}, format="json", REMOTE_ADDR=address)


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("::ffff:198.51.100.9", "198.51.100.0/24"),
        ("fe80::1%eth0", "fe80::/64"),
        ("unknown", "unknown"),
    ],
)
def test_client_network_is_the_ipv4_24_or_ipv6_64(address, network):
    assert client_network(RequestFactory().get("/", REMOTE_ADDR=address)) == network


def test_registrations_beyond_the_cap_from_one_network_are_429(anon_api, two_accounts_a_day):
    assert _register(anon_api, "one", "203.0.113.1").status_code == 201
    # A refused attempt (a weak password) is not an account and is not counted.
    assert _register(anon_api, "weak", "203.0.113.2", password="1").status_code == 400
    assert _register(anon_api, "two", "203.0.113.2").status_code == 201
    refused = _register(anon_api, "three", "203.0.113.3")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 24 * 60 * 60
    assert "from your network" in refused.json()["detail"]
    assert not User.objects.filter(username="three").exists()
    # Another network has its own count.
    assert _register(anon_api, "three", "198.51.100.1").status_code == 201


def test_registrations_are_not_capped_when_the_rate_is_off(anon_api, settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "accounts_per_network": None}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    for n in range(5):
        assert _register(anon_api, f"user{n}", "203.0.113.1").status_code == 201


def test_the_signup_page_has_the_same_cap(two_accounts_a_day):
    for name in ("one", "two"):
        response = Client(REMOTE_ADDR="203.0.113.9").post(
            "/accounts/signup/", {"username": name, "password": PASSWORD, "timezone": "UTC"}
        )
        assert response.status_code == 302
    response = Client(REMOTE_ADDR="203.0.113.10").post(
        "/accounts/signup/", {"username": "three", "password": PASSWORD, "timezone": "UTC"}
    )
    assert response.status_code == 429
    assert "Too many accounts have been created from your network" in response.content.decode()
    assert not User.objects.filter(username="three").exists()
    response = Client(REMOTE_ADDR="2001:db8::1").post(
        "/accounts/signup/", {"username": "three", "password": PASSWORD, "timezone": "UTC"}
    )
    assert response.status_code == 302


def _settings_in_a_subprocess(module: str, **environ: str) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": module, **environ}
    for name in ("THROTTLE_ACCOUNTS_PER_NETWORK", "GRADING_IN_FLIGHT_PER_NETWORK"):
        if name not in environ:
            env.pop(name, None)
    script = (
        "import json; from django.conf import settings; "
        "print(json.dumps([settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'].get('accounts_per_network'), "
        "settings.GRADING_IN_FLIGHT_PER_NETWORK]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_caps_are_on_by_default_and_off_in_development():
    assert _settings_in_a_subprocess("learnpath.settings.base") == ["30/day", 12]
    assert _settings_in_a_subprocess(
        "learnpath.settings.base", THROTTLE_ACCOUNTS_PER_NETWORK="", GRADING_IN_FLIGHT_PER_NETWORK=""
    ) == [None, 0]
    assert _settings_in_a_subprocess("learnpath.settings.dev") == [None, 0]
    assert _settings_in_a_subprocess(
        "learnpath.settings.dev", THROTTLE_ACCOUNTS_PER_NETWORK="100/day", GRADING_IN_FLIGHT_PER_NETWORK="40"
    ) == ["100/day", 40]
