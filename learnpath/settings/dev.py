"""Development: `make run`. A secret key is generated into var/ on first use and never committed."""

import secrets

from learnpath.settings.base import *
from learnpath.settings.base import VAR_DIR, env

DEBUG = env.bool("DEBUG", default=True)

(VAR_DIR / "static").mkdir(parents=True, exist_ok=True)  # whitenoise serves from here after collectstatic
_key_file = VAR_DIR / "secret_key"
if not _key_file.exists():
    _key_file.write_text(secrets.token_urlsafe(50))
    _key_file.chmod(0o600)
SECRET_KEY = env.str("SECRET_KEY", default=_key_file.read_text().strip())
