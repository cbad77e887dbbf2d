"""Learner endpoints under load with 100,000 seeded learners, beside a trivial endpoint in the same server.

Creates a scratch PostgreSQL database (``lp_bench``; ``BENCH_DATABASE_URL`` names another), migrates it,
loads the content and runs ``manage.py seed_learners`` (``BENCH_LEARNERS``, default 100,000), then starts
gunicorn with the production settings (2 sync workers, Redis as the cache when it answers), logs one
seeded learner in through the login form and loads ``/api/today/``, ``/api/progress/``,
``/api/reviews/due/`` and the path page with ``wrk``, each beside ``/api/health/`` (no session, no query:
the floor of this stack) in the same run. Prints requests/s, the ratio to the floor and each endpoint's
query count; the RSS of a web worker and of Celery beat (and whether either mapped libtorch); and
``EXPLAIN ANALYZE`` of the due-reviews queries for that learner.

The API endpoints are also loaded as a token client would load them: the same learner's token from
``POST /api/auth/token/`` (username and password) in ``Authorization: Token <key>``, each run next to the session
run of the same round, both after the same floor run (the token second in one round and first in the next,
so that drift and noise hit both). A second table puts them side by side: each one's requests/s and share of
the floor, the median of the paired token/session ratios, and the cache round trips and queries of one warm
request of each, counted in-process. The path page is HTML (sessions only) and the health check
authenticates nobody, so neither has a token run. A token the learner already held without its user-id hint
(``u<id>.``, made before ``learnpath.auth.new_token_key``) is deleted first, so that the token measured is
one made today.

``BENCH_REUSE=1`` keeps a database that already holds enough seeded learners (no re-seed);
``BENCH_SECONDS`` sets each wrk run's length (default 5), ``BENCH_ROUNDS`` how many times each endpoint is
measured, each time right after the floor (default 3); ``BENCH_DATABASE_URL`` and ``BENCH_REDIS_URL``
name the scratch database and the cache (default ``redis://127.0.0.1:6379/13``, the bench's own Redis
database, emptied at the end). Needs PostgreSQL and wrk (``make bench`` installs wrk); prints why and
returns when either is missing. Run alone: ``.venv/bin/python -m bench bench_endpoints`` (with the
defaults, about six minutes after the seeding).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/lp_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
PASSWORD = "bench-learner-passphrase-1"  # the seeded benchmark learners' password
WORKERS = 2
CONNECTIONS = 4
ENDPOINTS = ("/api/today/", "/api/progress/", "/api/reviews/due/", "/paths/{path}/", "/api/me/")
FLOOR = "/api/health/"
SIGNED_IN_FLOOR = "signed-in health"
TOKEN = "token"  # the in-process counts of a token request, beside the session's


def main() -> None:
    learners = int(os.environ.get("BENCH_LEARNERS", "100000"))
    seconds = int(os.environ.get("BENCH_SECONDS", "5"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    if shutil.which("wrk") is None:
        print("skipped: wrk is not installed (make bench installs it)")
        return
    problem = _postgres_problem(database_url)
    if problem:
        print(f"skipped: PostgreSQL at {database_url} is not reachable ({problem})")
        return
    scratch = Path(tempfile.mkdtemp(prefix="lp-bench-endpoints-"))
    env = _environment(database_url, scratch)
    print(f"{learners:,} learners, PostgreSQL {_server_version(database_url)}, cache: {env.get('REDIS_URL') or 'file'}")
    _prepare(database_url, learners, env)
    learner = _inner(env, "pick")
    print(f"measured as {learner['username']}: day {learner['day']} of the path, {learner['cards']} cards, "
          f"{learner['logs']} review logs, {learner['due']} due now")  # fmt: skip
    counted = _inner(env, "queries", learner["username"])
    queries = counted["queries"]
    port = _free_port()
    server = _start_gunicorn(env, port, scratch)
    try:
        base = f"http://127.0.0.1:{port}"
        cookie = ["-H", f"Cookie: {_login(base, learner['username'])}"]
        token = ["-H", f"Authorization: Token {_token(base, learner['username'])}"]
        paths = [p.format(path=learner["path"]) for p in ENDPOINTS]
        # (label, query count, path, the session's headers, the token's headers or None: no token run)
        targets = [
            (f"`{path}`", queries.get(path, "?"), path, cookie, token if path.startswith("/api/") else None)
            for path in paths
        ]
        # The same trivial view with the learner's cookie: what loading a signed-in request costs by itself.
        # (No token run: the view authenticates nobody, so a token on it would never be read.)
        targets.append((f"`{FLOOR}` signed in", queries.get(SIGNED_IN_FLOOR, "?"), FLOOR, cookie, None))
        # Each endpoint's run is paired with a run of the floor just before it, and the pairs are repeated:
        # the machine's load drifts, a ratio within a pair does much less. The token run follows the session
        # run of the same round, or precedes it in every other round, both after the same floor run.
        results: dict[str, list[tuple[dict, dict]]] = {label: [] for label, *_ in targets}
        tokens: dict[str, list[dict]] = {label: [] for label, *_, with_token in targets if with_token}
        for round_ in range(rounds):
            for label, _count, path, with_cookie, with_token in targets:
                floor = _wrk(base + FLOOR, [], seconds)
                if with_token and round_ % 2:
                    tokens[label].append(_wrk(base + path, with_token, seconds))
                results[label].append((floor, _wrk(base + path, with_cookie, seconds)))
                if with_token and not round_ % 2:
                    tokens[label].append(_wrk(base + path, with_token, seconds))
        floors = [pair[0] for pairs in results.values() for pair in pairs]
        print(
            f"\ngunicorn, production settings, {WORKERS} sync workers; wrk -t2 -c{CONNECTIONS} -d{seconds}s; each "
            f"endpoint measured {rounds} times, each time right after {FLOOR} without a session (the floor; for the "
            "API endpoints, every other round has the token run, below, in between); medians, and the median of "
            "the paired ratios"
        )
        print(f"| endpoint | queries | req/s | of {FLOOR} | mean latency | non-2xx |")
        print("| --- | --- | --- | --- | --- | --- |")
        print(
            f"| `{FLOOR}` (floor) | 0 | {statistics.median(r['rate'] for r in floors):,.0f} | 100% | "
            f"{statistics.median(r['latency_ms'] for r in floors):.2f} ms | {sum(r['errors'] for r in floors)} |"
        )
        for label, count, *_ in targets:
            pairs = results[label]
            share = statistics.median(measured["rate"] / floor["rate"] for floor, measured in pairs)
            rate = statistics.median(m["rate"] for _, m in pairs)
            latency = statistics.median(m["latency_ms"] for _, m in pairs)
            errors = sum(m["errors"] for _, m in pairs)
            print(f"| {label} | {count} | {rate:,.0f} | {share:.0%} | {latency:.2f} ms | {errors} |")
        print("(queries: per request for a signed-in learner, session and user included, measured in-process)")
        _print_tokens(targets, results, tokens, counted)
        _memory("web worker (gunicorn), after the load", _children(server.pid))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    _beat_memory(env, scratch)
    explain = _inner(env, "explain", learner["username"])
    print("\nThe due-reviews queries for that learner (EXPLAIN ANALYZE, warm, median of 5 executions):")
    for sql, plan, times in explain:
        print(f"\n{sql}\n  execution {statistics.median(times):.3f} ms (min {min(times):.3f}, max {max(times):.3f})")
        print("\n".join("    " + line for line in plan))


def _print_tokens(targets: list, results: dict, tokens: dict, counted: dict) -> None:
    """The API endpoints with a session cookie and with a token, from the same rounds, side by side."""
    queries, trips, commands = counted["queries"], counted["round_trips"], counted["commands"]
    print(
        "\nThe API endpoints as a token client loads them (`Authorization: Token`), beside the session runs "
        "above: each token run next to the session run of its round, after the same floor run; medians, and the "
        "medians of the paired ratios"
    )
    print(
        "| endpoint | cache round trips, session / token | queries, session / token | session req/s | of the floor "
        "| token req/s | of the floor | token / session | token non-2xx |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, _count, path, _cookie, with_token in targets:
        if not with_token:
            continue
        pairs, runs = results[label], tokens[label]
        session_rate = statistics.median(m["rate"] for _, m in pairs)
        session_share = statistics.median(m["rate"] / floor["rate"] for floor, m in pairs)
        token_rate = statistics.median(t["rate"] for t in runs)
        token_share = statistics.median(t["rate"] / floor["rate"] for (floor, _), t in zip(pairs, runs, strict=True))
        ratio = statistics.median(t["rate"] / m["rate"] for (_, m), t in zip(pairs, runs, strict=True))
        print(
            f"| {label} | {trips.get(path, '?')} / {trips.get(TOKEN + path, '?')} | {queries.get(path, '?')} / "
            f"{queries.get(TOKEN + path, '?')} | {session_rate:,.0f} | {session_share:.0%} | {token_rate:,.0f} | "
            f"{token_share:.0%} | {ratio:.2f} | {sum(t['errors'] for t in runs)} |"
        )
    print("(round trips: commands sent to Redis by one warm request, a pipeline counting once, measured in-process)")
    for label, _count, path, _cookie, with_token in targets:
        if with_token and commands.get(path) != commands.get(TOKEN + path):
            print(f"{label}: session sends {commands.get(path)}, token sends {commands.get(TOKEN + path)}")


# ---------- preparing the database ----------


def _environment(database_url: str, scratch: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "learnpath.settings.production",
        "SECRET_KEY": "bench-only-not-secret",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SECURE_COOKIES": "false",
        "VAR_DIR": str(scratch),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    if _redis_answers(redis_url):
        env["REDIS_URL"] = redis_url
    else:
        env.pop("REDIS_URL", None)
    return env


def _prepare(database_url: str, learners: int, env: dict[str, str]) -> None:
    reuse = os.environ.get("BENCH_REUSE") == "1"
    manage = [sys.executable, str(ROOT / "manage.py")]
    if reuse and _seeded_learners(database_url) >= learners:
        print(f"reusing {database_url} (BENCH_REUSE=1): it already holds {learners:,} seeded learners or more")
        # Seeded under an older checkout perhaps: bring its schema and content up to this one.
        subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        subprocess.run([*manage, "loadcontent"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        return
    _recreate_database(database_url)
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "loadcontent"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    started = time.perf_counter()
    seeded = subprocess.run(
        [*manage, "seed_learners", str(learners), "--seed", "1", "--password", PASSWORD],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    summary = seeded.stdout.strip().splitlines()[-1]  # "seeded N learners in S s (rows per table)"
    print(f"seed_learners {learners:,}: {time.perf_counter() - started:.0f} s wall, {summary}")


def _connect(database_url: str, database: str | None = None):
    import psycopg

    parts = urllib.parse.urlsplit(database_url)
    return psycopg.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=urllib.parse.unquote(parts.username or "postgres"),
        password=urllib.parse.unquote(parts.password) if parts.password else None,
        dbname=database or parts.path.lstrip("/"),
        autocommit=True,
        connect_timeout=5,
    )


def _postgres_problem(database_url: str) -> str | None:
    try:
        _connect(database_url, "postgres").close()
    except Exception as error:  # noqa: BLE001 - any failure to connect means: skip, and say why
        return str(error).strip().splitlines()[0]
    return None


def _server_version(database_url: str) -> str:
    with _connect(database_url, "postgres") as conn:
        return conn.execute("SHOW server_version").fetchone()[0].split()[0]


def _seeded_learners(database_url: str) -> int:
    try:
        with _connect(database_url) as conn:
            return conn.execute("SELECT count(*) FROM auth_user WHERE username LIKE 'seed-%%'").fetchone()[0]
    except Exception:  # noqa: BLE001 - no database or no table yet: nothing to reuse
        return 0


def _recreate_database(database_url: str) -> None:
    from psycopg import sql

    name = urllib.parse.urlsplit(database_url).path.lstrip("/")
    with _connect(database_url, "postgres") as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _redis_answers(url: str) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:  # noqa: BLE001 - no Redis: the file cache of the settings is used
        return False


# ---------- the server and the load ----------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_gunicorn(env: dict[str, str], port: int, scratch: Path) -> subprocess.Popen:
    log = open(scratch / "gunicorn.log", "w")  # closed with the process
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "learnpath.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(WORKERS), "--worker-class", "sync"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{FLOOR}", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    os.killpg(server.pid, signal.SIGTERM)
    raise RuntimeError(f"gunicorn did not answer in 60 s; see {scratch / 'gunicorn.log'}")


def _login(base: str, username: str) -> str:
    """Sign in through the login form, as a browser would; returns the Cookie header for wrk."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{base}/accounts/login/") as response:
        page = response.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token})
    request = urllib.request.Request(f"{base}/accounts/login/", data=form.encode(), headers={"Referer": base})
    opener.open(request).read()
    cookies = {c.name: c.value for c in jar}
    if "sessionid" not in cookies:
        raise RuntimeError(f"logging in as {username} failed")
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def _token(base: str, username: str) -> str:
    """The learner's API token, as a client gets it: ``POST /api/auth/token/`` with the username and password."""
    form = urllib.parse.urlencode({"username": username, "password": PASSWORD}).encode()
    with urllib.request.urlopen(f"{base}/api/auth/token/", data=form) as response:
        key = json.loads(response.read())["token"]
    # A token that does not sign the learner in would measure the 401 path: check one request first.
    probe = urllib.request.Request(f"{base}/api/me/", headers={"Authorization": f"Token {key}"})
    with urllib.request.urlopen(probe) as response:
        if json.loads(response.read()).get("username") != username:
            raise RuntimeError(f"the token from /api/auth/token/ does not sign {username} in")
    return key


def _wrk(url: str, headers: list[str], seconds: int) -> dict:
    """One wrk run (after a 1 s warm-up) with these ``-H`` arguments."""
    subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", "-d1s", *headers, url], capture_output=True, check=True)  # warm
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", *headers, url], capture_output=True, text=True, check=True
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = re.search(r"Latency\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[latency.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "rate": rate,
        "latency_ms": float(latency.group(1)) * scale,
        "errors": int(errors.group(1)) if errors else 0,
    }


# ---------- memory ----------


def _children(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    return children


def _rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


def _maps_torch(pid: int) -> bool:
    return "libtorch" in Path(f"/proc/{pid}/maps").read_text()


def _memory(label: str, pids: list[int]) -> None:
    for pid in pids:
        print(f"{label}: RSS {_rss_mib(pid):.0f} MiB, libtorch mapped: {'yes' if _maps_torch(pid) else 'no'}")


def _beat_memory(env: dict[str, str], scratch: Path) -> None:
    log_path = scratch / "beat.log"
    with open(log_path, "w") as log:
        beat = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "learnpath", "beat", "--loglevel", "INFO",
             "--schedule", str(scratch / "beat-schedule")],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while "Starting..." not in log_path.read_text() and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(2)
            _memory("celery beat, started", [beat.pid])
        finally:
            os.killpg(beat.pid, signal.SIGTERM)
            beat.wait(timeout=30)
    if env.get("REDIS_URL"):
        import redis

        # The bench's own Redis database: what beat queued there is of no use to anyone.
        redis.Redis.from_url(env["REDIS_URL"]).flushdb()


# ---------- inside Django (a subprocess with the bench's settings) ----------


def _inner(env: dict[str, str], what: str, *args: str):
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), what, *args],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return json.loads(out.strip().splitlines()[-1])


def _django() -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _pick() -> dict:
    """A learner in the middle of the path with reviews due: what most requests look like."""
    from datetime import timedelta

    from django.db.models import Count
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from drops.models import ReviewCard, ReviewLog
    from learnpath.models import Enrollment

    now = timezone.now()
    candidates = (
        Enrollment.objects.filter(user__username__startswith="seed-", enrolled_at__lte=now - timedelta(days=7))
        .filter(enrolled_at__gte=now - timedelta(days=9))
        .select_related("user", "path")
        .order_by("user_id")
    )
    for enrollment in candidates[:200]:
        user = enrollment.user
        due = ReviewCard.objects.filter(user=user, due__lte=now).count()
        if due >= 5:
            # The bench's own database: a reused one may have been seeded without --password, or hold a
            # token made before tokens carried their user's id.
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])
            Token.objects.filter(user=user).exclude(key__startswith=f"u{user.pk}.").delete()
            cards = ReviewCard.objects.filter(user=user).aggregate(n=Count("pk"))["n"]
            return {
                "username": user.username,
                "path": enrollment.path.slug,
                "day": (now - enrollment.enrolled_at).days + 1,
                "cards": cards,
                "logs": ReviewLog.objects.filter(user=user).count(),
                "due": due,
            }
    raise SystemExit("no seeded learner with reviews due: seed more learners")


@contextmanager
def _counting_round_trips():
    """The commands sent to Redis meanwhile, one entry per round trip (a pipeline counts once)."""
    import redis

    sent: list[str] = []
    single, pipelined = redis.Redis.execute_command, redis.client.Pipeline.execute

    def execute_command(self, *args, **options):
        sent.append(str(args[0]))
        return single(self, *args, **options)

    def execute(self, *args, **kwargs):
        sent.append("pipeline:" + "+".join(str(command[0][0]) for command in self.command_stack))
        return pipelined(self, *args, **kwargs)

    redis.Redis.execute_command, redis.client.Pipeline.execute = execute_command, execute
    try:
        yield sent
    finally:
        redis.Redis.execute_command, redis.client.Pipeline.execute = single, pipelined


def _queries(username: str) -> dict:
    """Queries and cache round trips of one warm request of each endpoint, with the session and with a token."""
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from learnpath.models import Enrollment

    user = User.objects.get(username=username)
    path = Enrollment.objects.filter(user=user).select_related("path").first().path.slug
    session = Client()
    session.force_login(user)
    response = Client().post("/api/auth/token/", {"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.content
    token = Client(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    counts: dict[str, dict] = {"queries": {}, "round_trips": {}, "commands": {}}
    redis_cache = bool(settings.REDIS_URL)
    for endpoint in (FLOOR, *ENDPOINTS):
        url = endpoint.format(path=path)
        clients = [("", session), (TOKEN, token)] if url.startswith("/api/") and url != FLOOR else [("", session)]
        for prefix, client in clients:
            client.get(url)  # the first request fills what is cached
            with CaptureQueriesContext(connection) as captured, _counting_round_trips() as sent:
                response = client.get(url)
            assert response.status_code == 200, (prefix, url, response.status_code)
            name = SIGNED_IN_FLOOR if endpoint == FLOOR else prefix + url
            counts["queries"][name] = len(captured)
            counts["round_trips"][name] = len(sent) if redis_cache else "?"
            counts["commands"][name] = sent
    return counts


def _explain(username: str) -> list:
    """Each query that selects a learner's due reviews, as the selectors send it, with its plan and timings."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from drops import selectors
    from learnpath.models import LearnerProfile

    user = User.objects.get(username=username)
    profile = LearnerProfile.objects.get(user=user)
    now = timezone.now()
    with CaptureQueriesContext(connection) as captured:
        counts = selectors.due_counts(user=user, now=now, zone=profile.zone, cap=profile.daily_review_cap)
        selectors.due_cards(user=user, now=now, zone=profile.zone, counts=counts, limit=10)
    results = []
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            times, plan = [], []
            for _ in range(6):
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
                plan = [row[0] for row in cursor.fetchall()]
                times.append(float(re.search(r"Execution Time: ([\d.]+) ms", plan[-1]).group(1)))
            results.append((sql, plan, times[1:]))
    return results


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in {"pick", "queries", "explain"}:
        _django()
        action = {"pick": _pick, "queries": _queries, "explain": _explain}[sys.argv[1]]
        print(json.dumps(action(*sys.argv[2:]), default=str))
    else:
        main()
