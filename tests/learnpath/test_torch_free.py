"""The web and beat processes never import torch: only the grading workers need it (hundreds of MiB each)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Run in a fresh interpreter: this test process has imported torch for other tests long ago.
SCRIPT = r"""
import os, sys
import django
django.setup()

import learnpath.urls  # the URLconf, and every view it names
from django.core.management import call_command
from django.urls import resolve
from learnpath.celery_app import app
from learnpath.wsgi import application

assert application is not None
app.loader.import_default_modules()  # what beat and workers import at start-up
for entry in app.conf.beat_schedule.values():
    assert entry["task"] in app.tasks, entry["task"]

call_command("migrate", verbosity=0)
call_command("loadcontent", verbosity=0)

from django.test import Client
from django.test.utils import setup_test_environment
from learnpath import services

setup_test_environment()  # what the test runner does: the test client's host is allowed
from learnpath.models import Path

user = services.user_register(username="ada", password="correct-horse-battery-9")
services.enrollment_create(user=user, path=Path.objects.get(slug="model-distillation"))
client = Client()
client.force_login(user)
for url in ("/api/health/", "/api/today/", "/api/progress/", "/api/reviews/due/", "/api/me/",
            "/paths/model-distillation/", "/today/", "/progress/", "/review/", "/challenges/",
            "/challenges/distillation-loss/", "/api/challenges/"):
    resolve(url)
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
drop = client.get("/api/today/").json()["new_drop"]["id"]
assert client.post(f"/api/drops/{drop}/complete/", {"seconds_spent": 300},
                   content_type="application/json").status_code == 201

loaded = sorted(name for name in sys.modules if name == "torch" or name.startswith("torch."))
print("TORCH:", loaded[:5])
assert not loaded, loaded
"""


def test_web_and_beat_import_no_torch(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "learnpath.settings.test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",  # never the suite's own database
        "VAR_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT),
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "TORCH: []" in result.stdout
