"""Development: `make run`. A secret key is generated into var/ on first use and never committed."""

import secrets

from learnpath.settings.base import *
from learnpath.settings.base import REST_FRAMEWORK, VAR_DIR, env

# Off by default, so that `make run` shows learners the site's own 404 and 500 pages, never Django's debug pages
# (which list every URL). DEBUG=true in .env or the environment brings the tracebacks back for a developer.
DEBUG = env.bool("DEBUG", default=False)
# Whitenoise serves the apps' static files straight from their folders, as runserver would with DEBUG on: no
# collectstatic step, and an edited stylesheet shows on the next reload.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# The caps per client network are off unless the environment sets them: a developer, a demo or a load test makes
# many accounts and gradings from one address.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        **REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        "accounts_per_network": env.str("THROTTLE_ACCOUNTS_PER_NETWORK", default="") or None,
    },
}
GRADING_IN_FLIGHT_PER_NETWORK = int(env.str("GRADING_IN_FLIGHT_PER_NETWORK", default="") or 0)

# Emails (password resets, reminders) are written one file each under var/mail/ unless EMAIL_URL says otherwise.
if not env.str("EMAIL_URL", default=""):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")

(VAR_DIR / "static").mkdir(parents=True, exist_ok=True)  # whitenoise serves from here after collectstatic
_key_file = VAR_DIR / "secret_key"
if not _key_file.exists():
    _key_file.write_text(secrets.token_urlsafe(50))
    _key_file.chmod(0o600)
SECRET_KEY = env.str("SECRET_KEY", default=_key_file.read_text().strip())
