"""The Celery application shared by the web process and every worker."""

import os

from celery import Celery

from workers.heartbeat import HeartbeatStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learnpath.settings.dev")

app = Celery("learnpath")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Every worker reports itself in the database (workers.heartbeat): readiness and the reaper read it.
app.steps["worker"].add(HeartbeatStep)
