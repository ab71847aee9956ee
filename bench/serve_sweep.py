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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import serve  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--configs", default="4x4,4x2,4x1")
    serve.add_store_args(parser)
    parser.set_defaults(duration=10)
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()
    env = serve.django_env(args)
    sessions, _ = serve.credentials(args, env)
    for url in (args.cache_url, args.broker_url):
        subprocess.run(["redis-cli", "-u", url, "FLUSHDB"], capture_output=True)
    worker = serve.start_pages_worker(env)
    base = f"http://127.0.0.1:{args.port}"
    rows = []
    try:
        built = serve.precompute(env)
        for config in args.configs.split(","):
            workers, threads = config.split("x")
            server = serve.start_web(env, port=args.port, workers=int(workers), threads=int(threads))
            try:
                serve.wait_ready(base)
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
