#!/usr/bin/env python
"""Server-configuration sweep for the stored For You page: trivial view vs For You, per gunicorn shape.

    python bench/serve_sweep.py --configs 4x4,4x2,4x1 [--duration 10]

Reuses bench/serve.py's database (run that first), sessions, precompute and wrk driver: the pages
are precomputed once, then each `WORKERSxTHREADS` gunicorn configuration serves /ping and For You
in turn. Prints one line per configuration and, with --json, writes them all.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import serve  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--configs", default="4x4,4x2,4x1")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--logged-in-users", type=int, default=2000)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/explore_bench")
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()
    env = serve.django_env(args)
    sessions, _ = serve.credentials(args, env)
    for url in (args.cache_url, args.broker_url):
        subprocess.run(["redis-cli", "-u", url, "FLUSHDB"], capture_output=True)
    bin_dir = Path(serve.PY).parent
    worker = subprocess.Popen(
        [str(bin_dir / "celery"), "-A", "explore_site", "worker", "-Q", "pages", "-c", "1",
         "--without-mingle", "--without-gossip", "-l", "warning"], cwd=serve.ROOT, env=env,
    )
    base = f"http://127.0.0.1:{args.port}"
    rows = []
    try:
        built = serve.precompute(env)
        for config in args.configs.split(","):
            workers, threads = config.split("x")
            server = subprocess.Popen(
                [str(bin_dir / "gunicorn"), "-c", "/dev/null", "explore_site.wsgi:application", "-b", f"127.0.0.1:{args.port}",
                 "-w", workers, "--worker-class", "gthread", "--threads", threads, "--log-level", "warning"],
                cwd=serve.ROOT, env=env,
            )
            try:
                for _ in range(60):
                    try:
                        urllib.request.urlopen(base + "/ping", timeout=1)
                        break
                    except OSError:
                        time.sleep(0.5)
                trivial = serve.run_wrk(args, base, "trivial", ["/ping"])
                cookies = serve.first_visits(base, "/?tab=for-you", sessions)
                for_you = serve.run_wrk(args, base, "for_you", ["/?tab=for-you"], "Cookie", cookies)
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=30)
            row = {"config": config, "trivial": trivial, "for_you": for_you,
                   "ratio": round(for_you["rps"] / trivial["rps"], 3) if trivial["rps"] else None}
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"precompute": built, "runs": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
