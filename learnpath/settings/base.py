"""Settings shared by every environment; everything that varies comes from the environment."""

from __future__ import annotations

from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parents[2]

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
CONTENT_DIR = Path(env.str("CONTENT_DIR", default=str(BASE_DIR / "content")))

DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# The certificate PDF's fonts (certificates/pdf.py): Debian's fonts-dejavu-core, and for scripts DejaVu lacks
# (Chinese, Japanese, Korean) fonts-droid-fallback where installed. A missing main font answers 503.
CERTIFICATE_FONT = env.str("CERTIFICATE_FONT", default="/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
CERTIFICATE_FONT_BOLD = env.str("CERTIFICATE_FONT_BOLD", default="/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
CERTIFICATE_FALLBACK_FONTS = env.list(
    "CERTIFICATE_FALLBACK_FONTS", default=["/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"]
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc served from the installation, not a CDN
    "learnpath",
    "drops",
    "challenges",
    "plans",
    "certificates",
    "workers",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "learnpath.middleware.RequestCacheMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "learnpath.middleware.LearnerTimezoneMiddleware",
]

ROOT_URLCONF = "learnpath.urls"
WSGI_APPLICATION = "learnpath.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat are separate processes sharing one file: wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if "postgresql" in DATABASES["default"]["ENGINE"]:
    # A server that does not answer (a host gone, a failover) fails the request in seconds (a 503), not minutes.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT_SECONDS", default=3)
    )
# Keep each process's database connection between requests (seconds; 0 reconnects every request, None never
# closes): opening one costs more than a learner endpoint's queries. Health checks replace a connection the
# server closed before it is used.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    # Django's Redis backend, reusing its redis-py client (learnpath/redis_cache.py says why).
    CACHES = {"default": {"BACKEND": "learnpath.redis_cache.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The profile comes with the user in the one query that loads a signed-in request's user.
AUTHENTICATION_BACKENDS = [
    "learnpath.auth.ProfileModelBackend",
    "django.contrib.auth.backends.ModelBackend",  # sessions signed in before it (same users, same checks)
]
# Sessions are read from the cache and written through to the database: no query to find a signed-in learner.
SESSION_ENGINE = "learnpath.sessions"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
# Failed logins allowed per username and per client address before a cool-down.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_FAILURE_WINDOW_SECONDS = env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=15 * 60)
# Password-reset emails sent to one address in that window; later requests show the same page and send nothing.
PASSWORD_RESET_REQUEST_LIMIT = env.int("PASSWORD_RESET_REQUEST_LIMIT", default=3)
# How long a write sent with an Idempotency-Key is answered from its first response (learnpath.idempotency).
IDEMPOTENCY_TTL_SECONDS = env.int("IDEMPOTENCY_TTL_SECONDS", default=24 * 60 * 60)

# FSRS scheduling (docs/operations.md, "FSRS parameters"). The desired retention is the probability of recall
# aimed at when a card comes due: the default for learners who have not chosen their own (0.70–0.97).
FSRS_DESIRED_RETENTION = env.float("FSRS_DESIRED_RETENTION", default=0.9)
FSRS_FUZZING = env.bool("FSRS_FUZZING", default=True)
# Fitting parameters to the platform's review logs: py-fsrs's optimizer needs at least 512 reviews.
FSRS_FIT_MIN_LOGS = env.int("FSRS_FIT_MIN_LOGS", default=512)
FSRS_FIT_MAX_LOGS = env.int("FSRS_FIT_MAX_LOGS", default=20_000)  # a sample of whole card histories beyond this
FSRS_FIT_EPOCHS = env.int("FSRS_FIT_EPOCHS", default=5)
FSRS_FIT_HELD_OUT = env.float("FSRS_FIT_HELD_OUT", default=0.2)  # share of card histories kept out of training
# A fit is used only if its held-out log loss is lower than the defaults' by at least this much.
FSRS_FIT_MIN_IMPROVEMENT = env.float("FSRS_FIT_MIN_IMPROVEMENT", default=0.0)
# How often each process looks for newly accepted parameters (seconds; None: only its own fits).
FSRS_PARAMETERS_RECHECK_SECONDS = env.int("FSRS_PARAMETERS_RECHECK_SECONDS", default=60)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="learnpath <noreply@learnpath.invalid>")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so that a request without credentials gets 401 with a WWW-Authenticate header.
        "learnpath.auth.TokenAuthentication",
        "learnpath.auth.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "learnpath.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "learnpath.api.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "auth": env.str("THROTTLE_AUTH", default="20/min"),
        "submissions": env.str("THROTTLE_SUBMISSIONS", default="6/min"),
        "example_runs": env.str("THROTTLE_EXAMPLE_RUNS", default="12/min"),
        # Accounts created per client network (IPv4 /24, IPv6 /64); empty turns it off (learnpath.throttles).
        "accounts_per_network": env.str("THROTTLE_ACCOUNTS_PER_NETWORK", default="30/day") or None,
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "learnpath API",
    "DESCRIPTION": (
        "Spaced-repetition learning paths: enrol, read a drop a day, review recall cards, "
        "and submit code challenges that are graded by running them."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/",
    # /api/docs/ and /api/redoc/ load their scripts from our static files: an offline install works.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Swagger UI's default validator badge is an image from validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "ENUM_NAME_OVERRIDES": {
        "SubmissionStatusEnum": "challenges.models.Submission.Status",
        "ChallengeKindEnum": "challenges.kinds.KIND_CHOICES",
        "ChallengeStandingEnum": ["not_tried", "attempted", "passed"],
        "DropStateEnum": ["locked", "available", "completed"],
        "OpenDropStateEnum": ["available", "completed"],
        "CardStateEnum": ["learning", "review", "relearning"],
        "RecallCardKindEnum": "drops.models.RecallCard.Kind",
    },
}

# Celery: the broker is Redis when REDIS_URL is set, otherwise kombu's filesystem transport under var/,
# so that the web process and the worker are still separate processes talking through a queue.
if REDIS_URL:
    from challenges.limits import broker_visibility_timeout_seconds  # torch-free: limits and kinds' registry

    CELERY_BROKER_URL = REDIS_URL
    # Above the longest any grading message stays unacknowledged (acks_late): docs/operations.md.
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {
        "visibility_timeout": broker_visibility_timeout_seconds(),
        # A broker that accepts connections and never answers must fail a send in seconds, not hold a request:
        # the submission is stored and sent when the broker is back (challenges.dispatch).
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
    }
else:
    CELERY_BROKER_URL = "filesystem://"
    _queue_dir = VAR_DIR / "broker"
    # kombu's filesystem transport expects its folders to exist before web or worker starts.
    for _folder in ("queue", "processed", "control"):
        (_queue_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "queue"),
        "data_folder_out": str(_queue_dir / "queue"),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
        "polling_interval": 0.05,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_GRADING_QUEUE = env.str("GRADING_QUEUE", default="gpu")
CELERY_TASK_ROUTES = {"challenges.grade_submission": {"queue": CELERY_GRADING_QUEUE}}
CELERY_IMPORTS = ["challenges.tasks", "workers.reminders", "drops.tasks", "learnpath.tasks"]
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Gradings are long: a worker process reserves no message beyond the one it runs, so a queued submission
# waits for the first free grader, not behind a busy one.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# After a broker blip a grading carries on and stores its verdict (the database is another connection); its
# message, which can no longer be acknowledged, comes back after the visibility timeout and finds the
# submission final. Cancelling it (Celery 6's default) would throw the grading away for the reaper to redo.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Submissions one learner may have waiting for a verdict at once.
GRADING_MAX_IN_FLIGHT = env.int("GRADING_MAX_IN_FLIGHT", default=3)
# Submissions and example runs queued or running from one client network, across all its accounts; empty or 0 is off.
GRADING_IN_FLIGHT_PER_NETWORK = int(env.str("GRADING_IN_FLIGHT_PER_NETWORK", default="12") or 0)
# How often the beat mends grading: lost workers' gradings requeued, lost or unsent task messages sent again.
GRADING_MEND_SECONDS = env.float("GRADING_MEND_SECONDS", default=30.0)
# A worker whose heartbeat is older than this, and that does not answer a ping, has lost its gradings.
WORKER_LOST_AFTER_SECONDS = env.int("WORKER_LOST_AFTER_SECONDS", default=60)
CELERY_BEAT_SCHEDULE = {
    "send-reminders": {"task": "workers.send_reminders", "schedule": crontab(minute=0)},
    # Requeues gradings whose worker is lost and sends again the work whose message was lost (challenges.dispatch).
    "reap-stuck-submissions": {"task": "challenges.reap_submissions", "schedule": GRADING_MEND_SECONDS},
    # Cache version bumps that a cache outage left owed: at most this long stale for a process that never
    # noticed the outage (one that did pays them before its next read).
    "apply-owed-cache-invalidations": {"task": "learnpath.apply_owed_cache_invalidations", "schedule": 15.0},
    "fit-fsrs-parameters": {"task": "drops.fit_fsrs_parameters", "schedule": crontab(hour=3, minute=17)},
    # Responses kept for retried writes (learnpath.idempotency) past IDEMPOTENCY_TTL_SECONDS no longer count.
    "prune-idempotency-records": {"task": "learnpath.prune_idempotency_records", "schedule": crontab(minute=23)},
}
# Every worker writes its heartbeat row this often (seconds; workers.heartbeat): set it the same on every host,
# a few beats within WORKER_LOST_AFTER_SECONDS, so that one late beat never looks like a lost worker.
WORKER_HEARTBEAT_SECONDS = env.float("WORKER_HEARTBEAT_SECONDS", default=15.0)
# /api/ready/ needs a worker consuming CELERY_GRADING_QUEUE that reported within this many seconds.
READY_WORKER_WITHIN_SECONDS = env.int("READY_WORKER_WITHIN_SECONDS", default=60)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
CONTENT_LOADERS: list[str] = ["challenges.content"]
