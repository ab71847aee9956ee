#!/usr/bin/env bash
# Every benchmark of issue 8, in order; results land in bench/out/ (git-ignored).
#
#   bench/run_all.sh            (what `make bench` runs)
#
# The pipeline benchmark needs PostgreSQL and Redis. By default it uses a dedicated database,
# explore_bench_pipeline (created and migrated here if missing), and Redis db 12, so it never
# touches the development database. Override with DATABASE_URL / CELERY_BROKER_URL.
# bench/serve.py manages its own database (BENCH_DATABASE_URL, default explore_bench).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PY:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY=python
OUT="$ROOT/bench/out"
mkdir -p "$OUT"

export HF_HUB_OFFLINE=1
# Only the pipeline steps get these (serve.py builds its own environment from a bare one).
PIPE_DB="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/explore_bench_pipeline}"
PIPE_BROKER="${CELERY_BROKER_URL:-redis://127.0.0.1:6379/12}"
pipe() { DATABASE_URL="$PIPE_DB" CELERY_BROKER_URL="$PIPE_BROKER" "$@"; }

step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%SZ)" >&2; }

step "1/4 growth curves"
"$PY" bench/growth.py --json "$OUT/growth.json" --svg "$OUT/growth.svg"

# A fresh, migrated database for each pipeline run: the results depend on what is already in it
# (docs/benchmarks.md measures on a fresh one). Only a database whose name starts with
# "explore_bench" is ever dropped; any other DATABASE_URL is only created if missing.
fresh_db() {
pipe "$PY" - <<'EOF'
import os
from urllib.parse import urlsplit

import psycopg

url = os.environ["DATABASE_URL"]
if not url.startswith(("postgres://", "postgresql://")):
    raise SystemExit(f"bench_pipeline needs PostgreSQL, DATABASE_URL is {url!r}")
name = urlsplit(url).path.lstrip("/")
admin = url[: url.rindex("/")] + "/postgres"
with psycopg.connect(admin, autocommit=True) as conn:
    if name.startswith("explore_bench"):
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
    if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
        conn.execute(f'CREATE DATABASE "{name}"')
        print(f"created database {name}")
EOF
pipe "$PY" manage.py migrate --noinput -v 0
}

step "2/4 pipeline, static tier (100,000 posts: the sustained rate)"
fresh_db
pipe "$PY" manage.py bench_pipeline --tweets 100000 --tier static --json "$OUT/pipeline_static.json"

step "3/4 pipeline, full tier"
fresh_db
pipe "$PY" manage.py bench_pipeline --tweets 3000 --tier full --json "$OUT/pipeline_full.json"

step "4/4 serving"
env -u DATABASE_URL -u CELERY_BROKER_URL "$PY" bench/serve.py --json "$OUT/serve.json"

step "done: results in bench/out/"
ls -l "$OUT" >&2
