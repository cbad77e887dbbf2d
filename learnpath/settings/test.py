"""Tests: fast hashing, an in-process cache, and the database named by DATABASE_URL (SQLite otherwise)."""

import os

from learnpath.settings.base import *
from learnpath.settings.base import REST_FRAMEWORK, VAR_DIR

SECRET_KEY = "test-only-not-secret"  # noqa: S105 - test settings only
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        "auth": "1000/min",
        "submissions": "1000/min",
        "example_runs": "1000/min",
        "accounts_per_network": None,
    },
}
GRADING_IN_FLIGHT_PER_NETWORK = 0  # the caps per client network are tested with the settings fixture

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that a real worker process can share the test database.
    # One file per test run, so that runs side by side do not share it; removed when the run ends.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}

(VAR_DIR / "static").mkdir(parents=True, exist_ok=True)
WHITENOISE_AUTOREFRESH = True
# Accepted FSRS parameters are looked up once per process and after each fit made in it, never on a timer:
# a lookup must not land in the middle of a test that counts queries.
FSRS_PARAMETERS_RECHECK_SECONDS = None
