"""``manage.py worker_alive``: a worker container's health check (docker-compose.yml).

Exit 0 when a Celery worker on this host (node name ``…@<hostname>``, as ``%h`` expands) wrote its heartbeat
lately, 1 otherwise. It reads the heartbeat from the database, so it also fails while the database is down:
the worker cannot grade then either.
"""

from __future__ import annotations

import socket

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from workers.selectors import worker_heartbeats


class Command(BaseCommand):
    help = "Exit 0 when this host's Celery worker wrote its heartbeat lately (a container health check), else 1."

    def add_arguments(self, parser):
        parser.add_argument("--name", default=None, help="the worker's node name (default: any worker on this host)")
        parser.add_argument(
            "--within",
            type=float,
            default=None,
            help="seconds a heartbeat stays fresh (default: WORKER_LOST_AFTER_SECONDS)",
        )

    def handle(self, *args, name: str | None, within: float | None, **options):
        within = settings.WORKER_LOST_AFTER_SECONDS if within is None else within
        host = None if name else socket.gethostname()
        rows = worker_heartbeats(name=name, host=host)
        if not rows:
            raise CommandError(f"no worker on this host ({name or f'…@{host}'}) has written a heartbeat", returncode=1)
        now = timezone.now()
        freshest = max(rows, key=lambda row: row.last_seen_at)
        age = (now - freshest.last_seen_at).total_seconds()
        if age > within:
            raise CommandError(
                f"{freshest.name} last seen {age:.0f} s ago, more than {within:g} s (is its database reachable?)",
                returncode=1,
            )
        queues = ", ".join(freshest.queues)
        self.stdout.write(f"{freshest.name} alive: last seen {age:.1f} s ago, consuming {queues}")
