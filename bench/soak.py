#!/usr/bin/env python
"""Soak test: the production shape on loopback under a steady mix of writes and reads.

    python bench/soak.py [--duration 180] [--readers 3] [--write-rate 5] [--json OUT]

Starts gunicorn on 127.0.0.1, one celery worker for every queue (with beat, so scoring, lifecycle and
the sweeper run as in production), in a dedicated PostgreSQL database (recreated; default
`explore_soak`) and Redis db (default 13). Clients post with token auth (POST /api/v1/tweets) and read
/, /events/<id>/ and /api/v1/events: `--readers` threads read back to back, and writers post at a
steady `--write-rate` (posts per second), the rate the pipeline must sustain with a bounded lag. After the load stops it waits (bounded) for the pipeline to
drain, then checks that every post answered 201 is stored and processed.

Prints one JSON object: requests and status counts (5xx must be 0), latency p50/p95/p99 overall and
per kind, RSS of the gunicorn and worker process trees (after warm-up, at the end, growth), queue lag
(oldest unprocessed post age: max during load, at the end, time to drain) and the durability check.
API throttles are raised for the run: this measures capacity and stability, not the rate limits.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
TOPICS = [
    "Strong earthquake shakes Lisbon, people out in the streets #sismo",
    "Champions League final: Porto score in extra time #UCLfinal",
    "New phone launch today: battery and camera upgrades #launch",
    "Election night: polls closing, first results within the hour #vote2026",
    "Heatwave warning for Seville, 44 degrees forecast tomorrow #calor",
    "Markets rally as central bank holds rates #stocks",
    "Rocket launch scrubbed due to high winds at the cape #space",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=180.0, help="seconds of load (default 180)")
    parser.add_argument("--readers", type=int, default=3, help="reader threads (back to back requests)")
    parser.add_argument("--write-rate", type=float, default=5.0, help="posts per second (2 writer threads)")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="OMP/torch threads per worker process (see docs/operations.md)")
    parser.add_argument("--users", type=int, default=20, help="posting accounts (token auth)")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds before the memory baseline")
    parser.add_argument("--drain-timeout", type=float, default=180.0)
    parser.add_argument("--database-url", default=os.environ.get("SOAK_DATABASE_URL",
                                                                 "postgres://postgres@127.0.0.1:5432/explore_soak"))
    parser.add_argument("--broker-url", default=os.environ.get("SOAK_BROKER_URL", "redis://127.0.0.1:6379/13"))
    parser.add_argument("--json", help="also write the result here")
    parser.add_argument("--keep-db", action="store_true", help="do not recreate the database")
    return parser.parse_args()


def server_env(args, static_root: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "CELERY_BROKER_URL": args.broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DJANGO_SETTINGS_MODULE": "explore_site.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "soak-only-secret-key-never-used-anywhere-else-0123456789abcdef",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "DJANGO_STATIC_ROOT": static_root,
        "DJANGO_LOG_LEVEL": "WARNING",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "API_THROTTLE_USER": "100000/min",
        "API_THROTTLE_ANON": "100000/min",
        "API_THROTTLE_POSTING": "100000/min",
        "API_THROTTLE_POSTING_IP": "100000/min",
        # Production's default is 120 s; the soak checks recovery within its own, shorter run.
        "PIPELINE_STALE_SECONDS": "60",
        "OMP_NUM_THREADS": str(args.torch_threads),
        "MKL_NUM_THREADS": str(args.torch_threads),
    }


def prepare(args, env) -> list[str]:
    """Fresh database, migrations, static files, and `--users` accounts with API tokens."""
    import psycopg

    if not args.keep_db:
        name = args.database_url.rsplit("/", 1)[1]
        admin = args.database_url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([PY, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    code = (
        "import django, json, sys; django.setup()\n"
        "from rest_framework.authtoken.models import Token\n"
        "from users.models import User\n"
        "from explore_site.celery import app\n"
        "app.control.purge()\n"
        "tokens = []\n"
        f"for n in range({args.users}):\n"
        "    user, created = User.objects.get_or_create(username=f'soak{n}', defaults={'languages': ['en']})\n"
        "    if created:\n"
        "        user.set_unusable_password(); user.save()\n"
        "    tokens.append(Token.objects.get_or_create(user=user)[0].key)\n"
        "print(json.dumps(tokens))\n"
    )
    out = subprocess.run([PY, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def rss_tree_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (from /proc; no psutil needed)."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            children[int(fields[1])].append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    total_kb = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        stack.extend(children.get(current, []))
        try:
            with open(f"/proc/{current}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024


class Backlog:
    """Oldest unprocessed post age and backlog size, straight from PostgreSQL."""

    def __init__(self, url: str):
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True)

    def sample(self) -> tuple[int, float]:
        row = self.conn.execute(
            "SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(ingested_at)), 0) "
            "FROM trends_tweet WHERE pipeline_state IN (0, 1)"
        ).fetchone()
        return int(row[0]), float(row[1])

    def event_ids(self) -> list[int]:
        return [r[0] for r in self.conn.execute("SELECT id FROM trends_event ORDER BY id DESC LIMIT 200")]

    def unprocessed(self, ids: list[int]) -> tuple[int, int]:
        stored = self.conn.execute("SELECT count(*) FROM trends_tweet WHERE id = ANY(%s)", (ids,)).fetchone()[0]
        pending = self.conn.execute(
            "SELECT count(*) FROM trends_tweet WHERE id = ANY(%s) AND pipeline_state IN (0, 1)", (ids,)
        ).fetchone()[0]
        return int(stored), int(pending)


class Load:
    def __init__(self, args, tokens: list[str]):
        self.args = args
        self.tokens = tokens
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.statuses: Counter = Counter()
        self.errors: Counter = Counter()
        self.server_errors: list[str] = []
        self.created: list[int] = []
        self.event_ids: list[int] = []
        self.stop = threading.Event()
        self.counter = 0

    def request(self, conn: http.client.HTTPConnection, kind: str, method: str, path: str, body=None, headers=None):
        started = time.perf_counter()
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        payload = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            self.latencies[kind].append(elapsed)
            self.statuses[response.status] += 1
            if response.status >= 500 and len(self.server_errors) < 20:
                self.server_errors.append(f"{method} {path}: {response.status} {payload[:200]!r}")
        return response.status, payload

    def client(self, seed: int, writer: bool) -> None:
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", self.args.port, timeout=30)
        interval = 2.0 / self.args.write_rate if self.args.write_rate > 0 else None
        next_post = time.monotonic()
        while not self.stop.is_set():
            try:
                if writer:
                    if interval is None:
                        return
                    delay = next_post - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    next_post = max(next_post + interval, time.monotonic() - 1.0)
                    token = rng.choice(self.tokens)
                    with self.lock:
                        self.counter += 1
                        n = self.counter
                    text = f"{rng.choice(TOPICS)} (soak {n})"
                    status, payload = self.request(
                        conn, "post", "POST", "/api/v1/tweets", body=json.dumps({"text": text}),
                        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
                    )
                    if status == 201:
                        with self.lock:
                            self.created.append(int(json.loads(payload)["id"]))
                else:
                    choice = rng.random()
                    events = self.event_ids
                    if choice < 0.4:
                        self.request(conn, "home", "GET", "/")
                    elif choice < 0.7 and events:
                        self.request(conn, "event", "GET", f"/events/{rng.choice(events)}/")
                    else:
                        token = rng.choice(self.tokens)
                        self.request(conn, "api_events", "GET", "/api/v1/events",
                                     headers={"Authorization": f"Token {token}"})
            except (OSError, http.client.HTTPException) as exc:
                with self.lock:
                    self.errors[type(exc).__name__] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.args.port, timeout=30)
                time.sleep(0.1)
        conn.close()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(port: int, timeout: float, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with {proc.returncode} (port {port} taken?)")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"gunicorn did not answer on port {port}")


def wait_log(path: Path, needle: bytes, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and needle in path.read_bytes():
            return
        time.sleep(0.3)
    raise SystemExit(f"{path.name}: {needle!r} not seen in {timeout:.0f}s")


def main() -> int:
    args = parse_args()
    args.port = args.port or free_port()
    workdir = Path(tempfile.mkdtemp(prefix="explore-soak-"))
    env = server_env(args, str(workdir / "static"))
    tokens = prepare(args, env)
    logs = {name: open(workdir / f"{name}.log", "wb") for name in ("web", "worker", "beat")}  # noqa: SIM115
    procs = {
        "web": subprocess.Popen(
            [PY, "-m", "gunicorn", "explore_site.wsgi:application", "-b", f"127.0.0.1:{args.port}",
             "-w", str(args.web_workers), "--timeout", "60"],
            cwd=ROOT, env=env, stdout=logs["web"], stderr=subprocess.STDOUT, start_new_session=True),
        "worker": subprocess.Popen(
            [PY, "-m", "celery", "-A", "explore_site", "worker", "-l", "INFO", "-n", "soak@%h",
             "-Q", "default,embedding,scoring,maintenance,pages,clustering-0", "-c", "1", "--without-gossip",
             "--without-mingle"],
            cwd=ROOT, env=env, stdout=logs["worker"], stderr=subprocess.STDOUT, start_new_session=True),
        "beat": subprocess.Popen(
            [PY, "-m", "celery", "-A", "explore_site", "beat", "-l", "INFO",
             "--schedule", str(workdir / "beat-schedule")],
            cwd=ROOT, env=env, stdout=logs["beat"], stderr=subprocess.STDOUT, start_new_session=True),
    }
    result: dict = {}
    try:
        wait_http(args.port, 60, procs["web"])
        wait_log(workdir / "worker.log", b" ready.", 120)
        backlog = Backlog(args.database_url)
        load = Load(args, tokens)
        roles = [False] * args.readers + [True, True]
        threads = [
            threading.Thread(target=load.client, args=(seed, writer), daemon=True) for seed, writer in enumerate(roles)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        memory: dict[str, list[float]] = {"web": [], "worker": []}
        lag_samples: list[float] = []
        baseline_taken = False
        baseline: dict[str, float] = {}
        while time.monotonic() - started < args.duration:
            time.sleep(5)
            load.event_ids = backlog.event_ids()
            _count, lag = backlog.sample()
            lag_samples.append(lag)
            for name in memory:
                memory[name].append(rss_tree_mb(procs[name].pid))
            if not baseline_taken and time.monotonic() - started >= args.warmup:
                baseline = {name: values[-1] for name, values in memory.items()}
                baseline_taken = True
        load.stop.set()
        for thread in threads:
            thread.join(timeout=35)
        elapsed = time.monotonic() - started
        end_memory = {name: rss_tree_mb(procs[name].pid) for name in memory}
        lag_at_stop = backlog.sample()
        drain_started = time.monotonic()
        while backlog.sample()[0] > 0 and time.monotonic() - drain_started < args.drain_timeout:
            time.sleep(2)
        drain_seconds = time.monotonic() - drain_started
        stored, pending = backlog.unprocessed(load.created)
        all_latencies = [v for values in load.latencies.values() for v in values]
        total = sum(load.statuses.values())
        result = {
            "date": time.strftime("%Y-%m-%d", time.gmtime()),
            "machine": f"{os.cpu_count()}-core CPU, {platform.machine()}, Python {platform.python_version()}",
            "duration_s": round(elapsed, 1),
            "readers": args.readers,
            "write_rate_target": args.write_rate,
            "write_rate_achieved": round(len(load.created) / elapsed, 2),
            "torch_threads": args.torch_threads,
            "requests": total,
            "rps": round(total / elapsed, 1),
            "status_counts": {str(k): v for k, v in sorted(load.statuses.items())},
            "server_errors_5xx": sum(v for k, v in load.statuses.items() if k >= 500),
            "client_errors": dict(load.errors),
            "first_5xx": load.server_errors,
            "latency_ms": {
                "all": {"p50": percentile(all_latencies, 0.5), "p95": percentile(all_latencies, 0.95),
                        "p99": percentile(all_latencies, 0.99)},
                **{
                    kind: {"n": len(values), "p50": percentile(values, 0.5), "p99": percentile(values, 0.99)}
                    for kind, values in sorted(load.latencies.items())
                },
            },
            "rss_mb": {
                name: {
                    "after_warmup": round(baseline.get(name, memory[name][0] if memory[name] else 0), 1),
                    "end": round(end_memory[name], 1),
                    "max": round(max(memory[name] or [0]), 1),
                    "growth": round(end_memory[name] - baseline.get(name, end_memory[name]), 1),
                }
                for name in memory
            },
            "queue_lag_s": {
                "max_during_load": round(max(lag_samples or [0]), 1),
                "median_during_load": round(statistics.median(lag_samples) if lag_samples else 0, 1),
                "at_stop": round(lag_at_stop[1], 1),
                "backlog_at_stop": lag_at_stop[0],
                "drain_s": round(drain_seconds, 1),
                # One sample every 5 s during the load: flat means bounded, a ramp means falling behind.
                "series": [round(v) for v in lag_samples],
            },
            "posts": {"accepted_201": len(load.created), "stored": stored, "unprocessed_after_drain": pending},
        }
        result["ok"] = (
            result["server_errors_5xx"] == 0 and stored == len(load.created) and pending == 0
        )
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        for handle in logs.values():
            handle.close()
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    print(f"logs: {workdir}", file=sys.stderr)
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
