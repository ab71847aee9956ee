"""Replay a labelled CSV through the production event detector and print its quality as JSON.

    python manage.py evaluate_events PATH.csv [--tier full|static] [--json OUT]

Columns: event, tweet_id, timestamp_utc, text and optionally informativeness. Rows are replayed in
time order, one pass, through trends.detection (the same OnlineClusterer, trend_stats and
lifecycle.next_state that trends/pipeline.py runs in the workers). Embeddings are cached under
DATA_DIR/cache/embeddings keyed by model name and text hash, so a second run costs no model time.

Authors: such a CSV has no author column; every row counts as its own author (see
trends/detection/replay.py). Off-topic rows (informativeness "Not related" / "Not applicable") are
left out of the B-cubed/NMI/ARI scoring and measured as noise instead.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from trends.detection.embed_cache import EmbeddingCache
from trends.detection.features import clean_for_embedding
from trends.detection.replay import OFF_TOPIC, StreamRow, evaluate, replay

REQUIRED = ("event", "tweet_id", "timestamp_utc", "text")
# When every text is cached, the model's own speed is measured on this many fresh encodes.
RATE_SAMPLE = 512


def parse_ts(value: str) -> float:
    value = value.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


def read_rows(path: Path) -> list[StreamRow]:
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise CommandError(f"{path}: missing column(s) {', '.join(missing)}; need {', '.join(REQUIRED)}")
        rows: list[StreamRow] = []
        for line, rec in enumerate(reader, start=2):
            try:
                rows.append(
                    StreamRow(
                        id=int(rec["tweet_id"]),
                        ts=parse_ts(rec["timestamp_utc"]),
                        text=rec["text"] or "",
                        gold=rec["event"] or None,
                        off_topic=(rec.get("informativeness") or "").strip().lower() in OFF_TOPIC,
                    )
                )
            except (TypeError, ValueError) as exc:
                raise CommandError(f"{path}:{line}: {exc}") from exc
    return rows


class Command(BaseCommand):
    help = "Replay a labelled tweet CSV through the event detector and print quality metrics as JSON."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--tier", choices=["full", "static"], default="full")
        parser.add_argument("--json", dest="json_out", type=Path, default=None)
        parser.add_argument(
            "--cache-dir",
            type=Path,
            default=Path(settings.DATA_DIR) / "cache" / "embeddings",
            help="Where embeddings are cached (keyed by model name and text hash).",
        )

    def handle(self, *args, path: Path, tier: str, json_out: Path | None, cache_dir: Path, **options):
        from trends.embedding import EmbeddingUnavailable, get_embedder

        if not path.exists():
            raise CommandError(f"{path}: no such file")
        rows = read_rows(path)
        if not rows:
            raise CommandError(f"{path}: no rows")
        try:
            embedder = get_embedder(tier)
        except EmbeddingUnavailable as exc:
            raise CommandError(str(exc)) from exc
        texts = [clean_for_embedding(r.text) for r in rows]
        cache = EmbeddingCache(cache_dir, embedder.name)
        started = time.perf_counter()
        vectors, computed = cache.encode(texts, embedder.encode)
        embed_seconds = time.perf_counter() - started
        if computed >= RATE_SAMPLE:
            embed_rate = computed / embed_seconds
        else:
            sample = list(dict.fromkeys(texts))[:RATE_SAMPLE]
            started = time.perf_counter()
            embedder.encode(sample)
            embed_rate = len(sample) / (time.perf_counter() - started)
        result = replay(rows, vectors)
        report = {
            "path": str(path),
            "tier": tier,
            "model": embedder.name,
            **evaluate(rows, result),
            "embed_tweets_per_second": round(embed_rate, 1),
            "cluster_tweets_per_second": round(len(rows) / max(result.cluster_seconds, 1e-9), 1),
            "embeddings_computed": computed,
            "authors": "each row counted as its own author (the CSV has no author column)",
        }
        text = json.dumps(report, sort_keys=False)
        self.stdout.write(text)
        if json_out is not None:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(text + "\n", encoding="utf-8")
