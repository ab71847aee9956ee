"""gunicorn settings for the Explore web processes (`gunicorn -c gunicorn.conf.py explore_site.wsgi`)."""

import os

# One BLAS/OpenMP thread per web thread: ranking's small matrix products get slower, not faster, when
# every request spawns a thread pool on a machine that is already busy.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = 30
accesslog = "-"


def post_worker_init(worker) -> None:
    # Meaning search embeds the query: load the model before the first request, not during it.
    if os.environ.get("EXPLORE_WARM_EMBEDDER", "1") == "1":
        try:
            from trends.embedding import get_embedder

            get_embedder()
        except Exception as exc:  # noqa: BLE001 - search falls back to words; the site must still start
            worker.log.warning("embedding model not loaded at start: %s", exc)
