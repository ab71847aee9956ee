#!/usr/bin/env python
"""gunicorn + wrk with no Django: the server's own cost per request, for a 2-byte and a 40 KB body.

    python bench/bare_wsgi.py [--duration 6]

Same gunicorn shape as bench/serve.py (4 gthread workers x 4 threads, wrk -t2 -c32 on loopback).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

BIG = b"x" * 40_000


def app(environ, start_response):
    body = BIG if environ["PATH_INFO"] == "/big" else b"ok"
    start_response("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(body)))])
    return [body]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=6)
    parser.add_argument("--port", type=int, default=8799)
    args = parser.parse_args()
    here = Path(__file__).resolve().parent
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "-c", "/dev/null", "bare_wsgi:app", "--chdir", str(here),
         "-b", f"127.0.0.1:{args.port}", "-w", "4", "--worker-class", "gthread", "--threads", "4", "--log-level", "warning"],
    )
    try:
        time.sleep(2)
        report = {}
        for path in ("/small", "/big"):
            out = subprocess.run(["wrk", "-t2", "-c32", f"-d{args.duration}s", f"http://127.0.0.1:{args.port}{path}"],
                                 capture_output=True, text=True, check=True).stdout
            rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
            report[f"{path[1:]}_rps"] = rps
            report[f"{path[1:]}_us_per_request_on_2_cores"] = round(2 / rps * 1e6)
        report["load_average"] = os.getloadavg()
        print(json.dumps(report))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
