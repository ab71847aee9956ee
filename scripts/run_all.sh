#!/usr/bin/env bash
# Web + worker(s) + beat in one command, for DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis).
# Each clustering shard gets exactly one single-process consumer: its single writer.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
: "${CELERY_BROKER_URL:?set CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0)}"
SHARDS=${CLUSTER_SHARDS:-1}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

"$VENV/bin/celery" -A explore_site worker -l INFO -n embed@%h -Q default,embedding,scoring,maintenance,pages -c "${EMBED_CONCURRENCY:-2}" &
pids+=($!)
for ((s = 0; s < SHARDS; s++)); do
  "$VENV/bin/celery" -A explore_site worker -l INFO -n "cluster$s@%h" -Q "clustering-$s" -c 1 &
  pids+=($!)
done
"$VENV/bin/celery" -A explore_site beat -l INFO --schedule var/celerybeat-schedule &
pids+=($!)
echo
echo "  Explore is at http://$HOST:$PORT/"
echo
"$VENV/bin/gunicorn" -c gunicorn.conf.py explore_site.wsgi:application &
pids+=($!)
wait -n
