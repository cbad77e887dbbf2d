"""Settings refuse unsafe production starts; compose names every service an operator needs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _import_settings(module: str, **env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"} | env
    return subprocess.run(
        [sys.executable, "-c", f"import {module}"], cwd=ROOT, env=environment, capture_output=True, text=True
    )


def test_production_refuses_to_start_without_secret_key():
    result = _import_settings("learnpath.settings.production")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_starts_with_secret_key():
    result = _import_settings("learnpath.settings.production", SECRET_KEY="x" * 50)
    assert result.returncode == 0, result.stderr


def test_dev_generates_a_secret_key_outside_the_repository(tmp_path):
    result = _import_settings("learnpath.settings.dev", VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    key = (tmp_path / "secret_key").read_text()
    assert len(key) >= 50
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"


def test_embedded_defaults_need_no_server(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    code = (
        "from django.conf import settings; import django; django.setup();"
        "print(settings.DATABASES['default']['ENGINE'], settings.CELERY_BROKER_URL)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env | {"DJANGO_SETTINGS_MODULE": "learnpath.settings.dev", "VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "filesystem://"]


def test_docker_compose_parses_and_names_every_service():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker", "gpu-worker", "beat"} <= set(services)
    assert "gunicorn" in " ".join(map(str, services["web"]["command"]))
    assert "loadcontent" in " ".join(map(str, services["web"]["command"]))
    gpu = services["gpu-worker"]
    assert "-Q" in gpu["command"] and "gpu" in gpu["command"]
    assert gpu["command"][gpu["command"].index("--concurrency") + 1] == "1"
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    worker = services["worker"]["command"]
    assert worker[worker.index("-Q") + 1] == "default"
    for name in ("web", "worker", "gpu-worker", "beat"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://") and env["REDIS_URL"].startswith("redis://")
    # One anchor for the shared app service.
    assert "x-app" in compose and "&app" in (ROOT / "docker-compose.yml").read_text()


def test_procfile_starts_web_worker_and_beat():
    entries = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert set(entries) == {"web", "worker", "beat"}
    assert "default,gpu" in entries["worker"]
