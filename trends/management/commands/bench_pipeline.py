"""Pipeline throughput on the production shape: bulk ingest → embed → cluster → score.

Needs DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis); starts its own worker processes
(embedding, one single-writer clusterer per shard, scoring), waits until every post is processed,
and measures the raw model's encode rate on the same texts in the same run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from trends.detection.features import clean_for_embedding
from trends.ops.procstat import cpu_seconds, tree_cpu_seconds

DONE_STATES = (2, 3, 4)  # assigned, unassigned, excluded
PENDING_STATES = (0, 1, 5)  # new, embedded, failed: everything not done


class Command(BaseCommand):
    help = "Benchmark the real pipeline with separate worker processes; prints JSON."

    def add_arguments(self, parser):
        parser.add_argument("--tweets", type=int, default=20_000)
        parser.add_argument("--tier", choices=["static", "full"], default="static")
        parser.add_argument("--json", dest="json_out")
        parser.add_argument("--embed-workers", type=int, default=1, help="embedding worker processes")
        parser.add_argument("--timeout", type=int, default=1800)
        parser.add_argument("--seed", type=int, default=3)
        parser.add_argument(
            "--texts", default="generated",
            help="'generated' (the demo world's posts, which repeat templates: many identical cleaned texts), "
                 "'distinct' (the same posts, each made unique: no text is encoded twice), or the path of a "
                 "CSV with a 'text' column (e.g. CrisisLexT26: its first N rows, in file order)",
        )

    def handle(self, *args, tweets, tier, json_out, embed_workers, timeout, seed, texts, **options):
        if connection.vendor != "postgresql" or settings.CELERY_TASK_ALWAYS_EAGER:
            raise CommandError("bench_pipeline needs DATABASE_URL=postgres://... and CELERY_BROKER_URL=redis://...")
        if tweets < 100:
            raise CommandError("--tweets must be at least 100")
        from explore_site.celery import app
        from trends import services
        from trends.demo.world import build_world
        from trends.models import Tweet
        from users.models import User

        texts_world = build_world(seed=seed, now=timezone.now(), users=2000, scale=max(0.05, tweets / 5000))
        posts = texts_world.posts[:tweets]
        if len(posts) < tweets:
            raise CommandError(f"generator produced only {len(posts)} posts")
        bodies = _bench_texts(texts, [p.text for p in posts])
        existing = set(User.objects.filter(username__in=[u.handle for u in texts_world.users]).values_list("username", flat=True))
        fresh = [User(username=u.handle, display_name=u.display_name, password="!") for u in texts_world.users if u.handle not in existing]
        User.objects.bulk_create(fresh, batch_size=2000)
        ids = dict(User.objects.filter(username__in=[u.handle for u in texts_world.users]).values_list("username", "pk"))
        # A unique suffix keeps texts distinct from earlier runs' (the embed cache must not flatter us).
        run_tag = int(time.time())
        items = [
            services.tweet_validate(
                data={"text": f"{body} ·{run_tag % 997}", "created_at": p.created_at,
                      "lang": p.lang if texts in ("generated", "distinct") else None,
                      "author_id": ids[texts_world.users[p.author].handle], "source": "bench"}
            )
            for p, body in zip(posts, bodies, strict=True)
        ]

        app.control.purge()
        if "EMBEDDING_TASK_SIZE" not in os.environ:
            # This process enqueues the embedding tasks: size them for the tier under test, as
            # explore_site/settings/pipeline.py does for a deployment running that tier.
            settings.EMBEDDING_TASK_SIZE = 256 if tier == "full" else 1024
        # This process is the ingest: it embeds there or not as a deployment of the tier under test
        # would (explore_site/settings/pipeline.py), unless EMBED_ON_INGEST says otherwise.
        settings.EMBEDDING_TIER = tier
        if "EMBED_ON_INGEST" not in os.environ:
            settings.EMBED_ON_INGEST = tier == "static"
        env = {**os.environ, "EMBEDDING_TIER": tier, "HF_HUB_OFFLINE": "1", "EMBEDDING_THREADS": "1" if embed_workers > 1 else "2"}
        root = Path(settings.BASE_DIR)
        log_dir = Path(settings.DATA_DIR) / "bench"
        log_dir.mkdir(parents=True, exist_ok=True)
        procs = []
        names: list[str] = []

        def worker(name: str, queues: str, concurrency: int) -> None:
            names.append(name)
            log = open(log_dir / f"{name}.log", "wb")  # noqa: SIM115 - lives as long as the worker
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "explore_site", "worker", "-l", "WARNING", "-n", f"{name}@%h",
                 "-Q", queues, "-c", str(concurrency), "--without-gossip", "--without-mingle", "--prefetch-multiplier", "1"],
                cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
            ))

        worker("bench-embed", "embedding", embed_workers)
        for shard in range(max(1, settings.CLUSTER_SHARDS)):
            worker(f"bench-cluster{shard}", f"clustering-{shard}", 1)
        worker("bench-score", "default,scoring,maintenance", 1)
        try:
            # Warm up: each worker (and, embedding at ingest, this process) loads the model before the
            # clock starts, as a running fleet has it.
            self._wait_workers(app, expected=len(procs), timeout=120)
            warm = services.tweets_ingest(items=[services.tweet_validate(data={"text": "warm up post", "source": "bench"})])
            self._wait_done(Tweet, warm.created_ids, timeout=300)

            # The model's own rate on the same texts, measured just before the run and again just
            # after it: on a shared machine the load drifts, and one measurement taken only
            # afterwards would compare the pipeline with a rate from other conditions.
            texts_sent = [item.text for item in items]
            sample = texts_sent[: min(len(texts_sent), 5000 if tier == "full" else len(texts_sent))]
            encode_before = _encode_rate(tier, sample)
            # The model alone doing exactly the encoding the pipeline has to do: each distinct
            # cleaned text once (still per post of the sample). Against it, `ratio_to_encode_work`
            # is the pipeline's own overhead, apart from what cleaning and reuse save.
            work = list(dict.fromkeys(clean_for_embedding(t) for t in sample))
            work_before = _encode_rate(tier, work, posts=len(sample))
            # Posts already waiting before the run (none in a fresh database): the cheap wait below
            # counts waiting rows and only then checks this run's ids.
            waiting = (Tweet.objects.filter(pipeline_state=0).count(),
                       Tweet.objects.filter(pipeline_state__in=PENDING_STATES).count())
            cpu_before = {name: tree_cpu_seconds(proc.pid) for name, proc in zip(names, procs, strict=True)}
            cpu_before["bench (ingest)"] = time.process_time()
            postgres_before = _postgres_cpu_seconds()
            busy_before = _machine_busy_seconds()
            started = time.monotonic()
            result = services.tweets_ingest(items=items, batch_size=2000)
            ingest_s = time.monotonic() - started
            created = result.created_ids
            embedded_at = self._wait_cheaply(Tweet, created, pending=(0,), baseline=waiting[0], timeout=timeout) - started
            done_at = self._wait_cheaply(Tweet, created, pending=PENDING_STATES, baseline=waiting[1], timeout=timeout) - started
            total_s = done_at
            # CPU each process spent while the posts went through (the waits above poll lightly).
            cpu = {name: tree_cpu_seconds(proc.pid) - cpu_before[name] for name, proc in zip(names, procs, strict=True)}
            cpu["bench (ingest)"] = time.process_time() - cpu_before["bench (ingest)"]
            cpu["postgres"] = _postgres_cpu_delta(postgres_before)
            cpu["machine busy"] = _machine_busy_seconds() - busy_before
            cpu["other jobs (busy minus the above)"] = cpu["machine busy"] - sum(
                v for k, v in cpu.items() if k != "machine busy"
            )
            score_started = time.monotonic()
            from trends import pipeline

            pipeline.events_score()
            score_s = time.monotonic() - score_started
            memory = {name: _tree_rss_mb(proc.pid) for name, proc in zip(names, procs, strict=True)}
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()

        encode_after = _encode_rate(tier, sample)
        work_after = _encode_rate(tier, work, posts=len(sample))
        encode_rate = (encode_before + encode_after) / 2
        work_rate = (work_before + work_after) / 2
        pipeline_rate = len(created) / total_s
        report = {
            "tier": tier,
            "tweets": len(created),
            "pipeline_tweets_per_second": round(pipeline_rate, 1),
            "encode_tweets_per_second": round(encode_rate, 1),
            "encode_tweets_per_second_before_after": [round(encode_before, 1), round(encode_after, 1)],
            "ratio": round(pipeline_rate / encode_rate, 3),
            "encode_work_tweets_per_second": round(work_rate, 1),
            "encode_work_tweets_per_second_before_after": [round(work_before, 1), round(work_after, 1)],
            "ratio_to_encode_work": round(pipeline_rate / work_rate, 3),
            "texts": texts,
            # Posts whose cleaned text no earlier post of the run had: the share the model must encode.
            "distinct_text_share": round(len({clean_for_embedding(t) for t in texts_sent}) / len(texts_sent), 3),
            "stage_seconds": {
                "ingest": round(ingest_s, 2),
                "embedded_all": round(embedded_at, 2),
                "assigned_all": round(done_at, 2),
                "score": round(score_s, 2),
            },
            "cpu_seconds": {k: round(v, 2) for k, v in cpu.items()},
            "cpus": os.cpu_count(),
            "worker_rss_mb": memory,
            "embed_workers": embed_workers,
            "embedding_task_size": settings.EMBEDDING_TASK_SIZE,
            "embed_on_ingest": bool(settings.EMBED_ON_INGEST),
            "cluster_shards": max(1, settings.CLUSTER_SHARDS),
        }
        text = json.dumps(report, indent=2)
        self.stdout.write(text)
        if json_out:
            Path(json_out).write_text(text + "\n")

    def _wait_workers(self, app, *, expected: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            replies = app.control.ping(timeout=1.0) or []
            if len(replies) >= expected:
                return
            time.sleep(0.5)
        raise CommandError("workers did not start; see var/bench/*.log")

    def _wait_cheaply(self, Tweet, ids, *, pending: tuple[int, ...], baseline: int, timeout: float) -> float:
        """When none of `ids` is in a `pending` state any more (time.monotonic()).

        Polls a count of the waiting rows (an index-only range scan of tweet_pipeline_idx) and looks
        at the run's own ids only once that count is down to what waited before the run: asking
        about 20,000 ids five times a second took a good share of a core from the pipeline it measures.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if Tweet.objects.filter(pipeline_state__in=pending).count() <= baseline:
                at = time.monotonic()
                if not Tweet.objects.filter(pk__in=ids, pipeline_state__in=pending).exists():
                    return at
                time.sleep(0.2)  # older waiting posts were processed instead of ours: check less often
            time.sleep(0.05)
        raise CommandError(f"timed out waiting for posts to leave states {pending}")

    def _wait_done(self, Tweet, ids, *, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if Tweet.objects.filter(pk__in=ids, pipeline_state__in=DONE_STATES).count() == len(ids):
                return time.monotonic()
            time.sleep(0.2)
        raise CommandError("timed out waiting for clustering")


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of a worker and its pool children (Linux /proc), in MiB."""
    total_kb = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return round(total_kb / 1024, 1)


def _bench_texts(source: str, generated: list[str]) -> list[str]:
    if source == "generated":
        return generated
    if source == "distinct":
        return [f"{text} n{i}" for i, text in enumerate(generated)]
    import csv

    path = Path(source)
    if not path.is_file():
        raise CommandError(f"--texts: no such file {source!r} (use 'generated', 'distinct' or a CSV path)")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if "text" not in (reader.fieldnames or []):
            raise CommandError(f"--texts: {source} has no 'text' column")
        rows = [row["text"] for row, _ in zip(reader, generated, strict=False) if row["text"]]
    if len(rows) < len(generated):
        raise CommandError(f"--texts: {source} has only {len(rows)} texts, {len(generated)} asked for")
    return rows


def _encode_rate(tier: str, sample: list[str], *, posts: int | None = None) -> float:
    """Posts/s of the raw model on `sample` in this process, with the embedding worker's threads
    (`posts` of them when the sample stands for more posts than it has texts)."""
    from trends.embedding import get_embedder

    os.environ["EMBEDDING_THREADS"] = "2"
    embedder = get_embedder(tier)
    embedder.encode(sample[:64])
    started = time.monotonic()
    embedder.encode(sample)
    return (posts or len(sample)) / (time.monotonic() - started)


def _postgres_cpu_seconds() -> dict[int, float]:
    """CPU so far of the local PostgreSQL server's processes that work for this benchmark: the
    backends connected to its database and the server-wide writers, by pid."""
    database = connection.settings_dict["NAME"]
    out: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if Path(entry, "comm").read_text().strip() not in {"postgres", "postmaster"}:
                continue
            title = Path(entry, "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if f" {database} " in title or any(w in title for w in ("writer", "checkpointer", "autovacuum")):
            out[int(entry.name)] = cpu_seconds(int(entry.name))
    return out


def _postgres_cpu_delta(before: dict[int, float]) -> float:
    # Only processes alive at both ends: a backend that exited took its CPU count with it.
    after = _postgres_cpu_seconds()
    return sum(after[pid] - before[pid] for pid in before.keys() & after.keys())


def _machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy (not idle or waiting on I/O) since boot, from /proc/stat."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")
