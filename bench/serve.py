#!/usr/bin/env python
"""Serving benchmark: a big world in PostgreSQL, the site under gunicorn, load from wrk on loopback.

    python bench/serve.py --json OUT [--users 100000 --posts 1000000 --events 5000] [--duration 20]

Prints one JSON object: for_you_p50_ms, for_you_p99_ms, for_you_rps, the same for trending,
event and api_feed, and trivial_rps (a trivial Django view measured in the same run: the ceiling).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
sys.path.insert(0, str(ROOT))

from trends.ops.procstat import tree_cpu_seconds  # noqa: E402


def sh(cmd: list[str], env: dict[str, str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, env=env, check=True, **kw)


def django_env(args) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "CACHE_URL": args.cache_url,
        "DJANGO_SETTINGS_MODULE": "explore_site.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-not-used-anywhere-else-0123456789",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "DJANGO_LOG_LEVEL": "WARNING",
        "HF_HUB_OFFLINE": "1",
        # Background work (page refreshes) goes to a real worker, as in production, on the same cores.
        "CELERY_BROKER_URL": args.broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }


def prepare(args, env) -> None:
    db = args.database_url.rsplit("/", 1)[1]
    admin = args.database_url.rsplit("/", 1)[0] + "/postgres"
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db}"')
    sh([PY, "manage.py", "migrate", "--noinput", "-v0"], env)
    sh([PY, "manage.py", "collectstatic", "--noinput", "-v0"], env)
    code = (
        "import django; django.setup();"
        "from bench.dataset import load_world;"
        f"print(load_world(users={args.users}, posts={args.posts}, events={args.events}))"
    )
    started = time.monotonic()
    sh([PY, "-c", code], env)
    print(f"loaded in {time.monotonic() - started:.0f}s", file=sys.stderr)


def credentials(args, env) -> tuple[list[str], list[str]]:
    code = f"""
import django, json; django.setup()
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.middleware.csrf import CSRF_ALLOWED_CHARS
from django.utils.crypto import get_random_string
from rest_framework.authtoken.models import Token
from users.models import User
sessions, tokens = [], []
from django.utils import timezone
users = list(User.objects.order_by("pk")[:{args.logged_in_users}])
# These people are browsing now: the ones whose For You pages the site keeps ready (trends.pages).
User.objects.filter(pk__in=[u.pk for u in users]).update(last_seen_at=timezone.now())
for user in users:
    s = SessionStore()
    s[SESSION_KEY] = str(user.pk)
    s[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    s[HASH_SESSION_KEY] = user.get_session_auth_hash()
    s.create()
    # A browser sends back the CSRF cookie it was given on its first page, so each session has one.
    sessions.append(f"{{s.session_key}}; csrftoken={{get_random_string(32, CSRF_ALLOWED_CHARS)}}")
    tokens.append(Token.objects.get_or_create(user=user)[0].key)
print(json.dumps([sessions, tokens]))
"""
    out = sh([PY, "-c", code], env, capture_output=True, text=True).stdout
    sessions, tokens = json.loads(out.strip().splitlines()[-1])
    return sessions, tokens


def lua_script(path_list: list[str], header: str | None, values: list[str]) -> str:
    paths = ",".join(json.dumps(p) for p in path_list)
    vals = ",".join(json.dumps(v) for v in values) if values else '""'
    header_line = f'headers["{header}"] = string.format(fmt, vals[math.random(#vals)])' if header else ""
    fmt = {"Cookie": "sessionid=%s", "Authorization": "Token %s"}.get(header or "", "%s")
    return f"""
math.randomseed(os.time())
local paths = {{{paths}}}
local vals = {{{vals}}}
local fmt = "{fmt}"
request = function()
  local headers = {{}}
  {header_line}
  return wrk.format("GET", paths[math.random(#paths)], headers)
end
"""


def parse_wrk(output: str) -> dict[str, float]:
    def ms(text: str) -> float:
        value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:.*", output)
    return {
        "p50_ms": round(ms(p50.group(1)), 2) if p50 else None,
        "p99_ms": round(ms(p99.group(1)), 2) if p99 else None,
        "rps": round(float(rps.group(1)), 1) if rps else 0.0,
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(0) if errors else "",
    }


MEASURED: dict[str, subprocess.Popen] = {}  # the processes whose CPU each run reports (web server, pages worker)


def run_wrk(args, base: str, name: str, paths: list[str], header=None, values=None) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(lua_script(paths, header, values or []))
    # Warm-up pass fills per-process caches the way a running site has them.
    subprocess.run(["wrk", "-t2", f"-c{args.concurrency}", "-d3s", "-s", handle.name, base], capture_output=True)
    before = {what: tree_cpu_seconds(process.pid) for what, process in MEASURED.items()}
    out = subprocess.run(
        ["wrk", "-t2", f"-c{args.concurrency}", f"-d{args.duration}s", "--latency", "-s", handle.name, base],
        capture_output=True, text=True, check=True,
    ).stdout
    os.unlink(handle.name)
    result = parse_wrk(out)
    # Where the cores went during the measured run: the web server's CPU per answered request,
    # and what the pages worker (refreshing stored pages) took from the same two cores.
    spent = {what: tree_cpu_seconds(process.pid) - before[what] for what, process in MEASURED.items()}
    if "web" in spent and result["rps"]:
        result["web_cpu_ms_per_request"] = round(1000 * spent["web"] / (result["rps"] * args.duration), 3)
    if "pages" in spent:
        result["pages_worker_cpu_s"] = round(spent["pages"], 2)
    print(f"{name}: {result}", file=sys.stderr)
    return result


def precompute(env) -> dict:
    """The pass a worker runs for active users (trends.pages): their pages rendered ahead of time."""
    out = sh([PY, "manage.py", "precompute_pages"], env, capture_output=True, text=True).stdout
    report = json.loads(out.strip().splitlines()[-1])
    print(f"precompute: {report}", file=sys.stderr)
    return report


def first_visits(base: str, path: str, sessions: list[str]) -> list[str]:
    """Each browser's first page, as a browser would: it keeps the cookies the site sets (the
    signed page hint of trends.pages) and sends them back from then on."""
    out = []
    for cookie in sessions:
        request = urllib.request.Request(base + path, headers={"Cookie": f"sessionid={cookie}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            kept = [h.split(";", 1)[0] for h in response.headers.get_all("Set-Cookie") or [] if h.startswith("explore_fy=")]
        out.append("; ".join([cookie, *kept]))
    return out


def for_you(args, base: str, env, sessions: list[str]) -> dict:
    built = precompute(env) if args.precompute else {}
    sessions = first_visits(base, args.for_you_path, sessions)
    # The pages worker shares the cores: pages built in one burst by the precompute pass all reach
    # the refresh age together, so their checks land inside this run (run_wrk reports its CPU).
    result = run_wrk(args, base, "for_you", [args.for_you_path], "Cookie", sessions)
    return {**result, "precompute": built}


def start_pages_worker(env) -> subprocess.Popen:
    """A Celery worker for the `pages` queue (page refreshes), as production runs it."""
    return subprocess.Popen(
        [str(Path(PY).with_name("celery")), "-A", "explore_site", "worker", "-Q", "pages", "-c", "1",
         "--without-mingle", "--without-gossip", "-l", "warning"],
        cwd=ROOT, env=env,
    )


def start_web(env, *, port: int, workers: int, threads: int) -> subprocess.Popen:
    # -c /dev/null: not the repo's gunicorn.conf.py (its access log and model warm-up are for
    # production, and would measure log writing, not the site).
    return subprocess.Popen(
        [str(Path(PY).with_name("gunicorn")), "-c", "/dev/null", "explore_site.wsgi:application",
         "-b", f"127.0.0.1:{port}", "-w", str(workers), "--worker-class", "gthread", "--threads", str(threads),
         "--log-level", "warning"],
        cwd=ROOT, env=env,
    )


def wait_ready(base: str) -> None:
    for _ in range(60):
        try:
            urllib.request.urlopen(base + "/ping", timeout=1)
            return
        except OSError:
            time.sleep(0.5)


def add_store_args(parser: argparse.ArgumentParser) -> None:
    """Where the benchmark's database, cache and broker live, and how hard wrk pushes."""
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--logged-in-users", type=int, default=2000)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/explore_bench"))
    parser.add_argument("--broker-url", default=os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/11"))
    parser.add_argument("--cache-url", default=os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/13"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", dest="json_out")
    add_store_args(parser)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=5_000)
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--keep-cache", action="store_true",
                        help="keep the cache of the previous run (pages stored by it); for quick server sweeps")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--pages", default="trivial,for_you,trending,event,api_feed", help="which pages to measure")
    parser.add_argument("--skip-load", action="store_true", help="reuse the database from a previous run")
    parser.add_argument("--for-you-path", default="/?tab=for-you")
    parser.add_argument("--trending-path", default="/?tab=trending")
    parser.add_argument("--api-feed-path", default="/api/v1/explore/for-you")
    parser.add_argument("--no-precompute", dest="precompute", action="store_false",
                        help="measure For You cold: no pages rendered ahead of the load")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    env = django_env(args)
    if not args.skip_load:
        prepare(args, env)
    else:
        sh([PY, "manage.py", "migrate", "--noinput", "-v0"], env)
        sh([PY, "manage.py", "collectstatic", "--noinput", "-v0"], env)
    sessions, tokens = credentials(args, env)
    for url in (args.broker_url,) if args.keep_cache else (args.cache_url, args.broker_url):
        subprocess.run(["redis-cli", "-u", url, "FLUSHDB"], capture_output=True)
    base = f"http://127.0.0.1:{args.port}"
    worker = start_pages_worker(env)
    server = start_web(env, port=args.port, workers=args.web_workers, threads=args.threads)
    MEASURED.update(web=server, pages=worker)
    try:
        wait_ready(base)
        events = [f"/events/{i}/" for i in range(1, min(args.events, 2000) + 1, 7)]
        runs = {
            "trivial": lambda: run_wrk(args, base, "trivial", ["/ping"]),
            "for_you": lambda: for_you(args, base, env, sessions),
            "trending": lambda: run_wrk(args, base, "trending", [args.trending_path]),
            "event": lambda: run_wrk(args, base, "event", events),
            "api_feed": lambda: run_wrk(args, base, "api_feed", [args.api_feed_path], "Authorization", tokens),
        }
        wanted = args.pages.split(",")
        results = {name: run() for name, run in runs.items() if name in wanted}
    finally:
        for process in (server, worker):
            process.send_signal(signal.SIGTERM)
        for process in (server, worker):
            process.wait(timeout=30)
    report = {"trivial_rps": results["trivial"]["rps"] if "trivial" in results else None}
    for name in ("for_you", "trending", "event", "api_feed"):
        if name not in results:
            continue
        report[f"{name}_p50_ms"] = results[name]["p50_ms"]
        report[f"{name}_p99_ms"] = results[name]["p99_ms"]
        report[f"{name}_rps"] = results[name]["rps"]
        report[f"{name}_non_2xx"] = results[name]["non_2xx"]
    for name, result in results.items():
        for measure in ("web_cpu_ms_per_request", "pages_worker_cpu_s"):
            if measure in result:
                report[f"{name}_{measure}"] = result[measure]
    if "for_you" in results:
        built = results["for_you"].get("precompute") or {}
        report["for_you_precomputed_pages"] = built.get("pages", 0)
        report["for_you_build_ms_per_page"] = built.get("ms_per_page")
        if report["trivial_rps"]:
            report["for_you_rps_vs_trivial"] = round(report["for_you_rps"] / report["trivial_rps"], 3)
    report.update({"users": args.users, "posts": args.posts, "events": args.events, "concurrency": args.concurrency,
                   "duration_s": args.duration, "web_workers": args.web_workers, "threads": args.threads,
                   "load_average": os.getloadavg()})
    text = json.dumps(report, indent=2)
    print(text)
    if args.json_out:
        Path(args.json_out).write_text(text + "\n")


if __name__ == "__main__":
    main()
