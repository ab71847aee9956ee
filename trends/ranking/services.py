"""Writes: served-feed logging (RankedItem), model training, artifacts and activation."""

from __future__ import annotations

import datetime as dt
import logging
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from trends.models import Engagement, RankedItem, RankingModelVersion
from trends.pgcopy import copy_into
from trends.ranking.features import features_from_dicts
from trends.ranking.learning import ALGORITHM, Checks, FitResult, TrainingData, fit_ranker
from trends.ranking.scoring import DEFAULT_WEIGHTS, LearnedScorer
from trends.ranking.types import RankedEvent

logger = logging.getLogger(__name__)

CLICK_KINDS = ("click", "like", "retweet", "reply")
ARTIFACT_FORMAT = 1


LOG_FIELDS = ("user_id", "event_id", "position", "score", "explanation", "features", "variant", "ranked_at")


def ranked_items_record(*, user, items: list[RankedEvent], now: dt.datetime | None = None) -> None:
    """Log a served page (exposure log and training rows) in one bulk insert."""
    if not items or not getattr(settings, "RANKING_LOG_SERVED", True):
        return
    now = now or timezone.now()
    rows = [
        (user.pk, item.event.pk, item.position, item.score, item.explanation[:200], item.features, item.variant[:64], now)
        for item in items
    ]
    if connection.vendor == "postgresql":
        # One COPY statement: a third of the cost of the INSERT (and its transaction) on every page built.
        fields = [RankedItem._meta.get_field(name) for name in LOG_FIELDS]
        copy_into(RankedItem._meta.db_table, fields, rows)
        return
    RankedItem.objects.bulk_create([RankedItem(**dict(zip(LOG_FIELDS, row, strict=True))) for row in rows])


# --- training --------------------------------------------------------------------------------------


def _engagement_times(*, kinds: tuple[str, ...], since: dt.datetime, until: dt.datetime) -> dict[tuple[int, int], list[dt.datetime]]:
    """(user, event) -> when that user engaged with that event in one of `kinds`."""
    times: dict[tuple[int, int], list[dt.datetime]] = {}
    for user_id, event_id, created_at in Engagement.objects.filter(
        kind__in=kinds, event__isnull=False, created_at__gte=since, created_at__lte=until
    ).values_list("user_id", "event_id", "created_at"):
        times.setdefault((user_id, event_id), []).append(created_at)
    return times


def training_data_from_log(*, since: dt.datetime, until: dt.datetime | None = None, max_rows: int = 300_000) -> TrainingData:
    """Served items (features as logged at serve time) labelled by an engagement within a day.

    Only items the reader was shown count: an impression or a click of that event by that user
    within the day after it was ranked. Pages are ranked ahead of time (trends.pages) and some are
    never looked at; counting those as "not clicked" would teach the model that nothing works.
    """
    until = until or timezone.now()
    served = list(
        RankedItem.objects.filter(ranked_at__gte=since, ranked_at__lte=until)
        .order_by("ranked_at")
        .values_list("user_id", "event_id", "position", "features", "ranked_at")[:max_rows]
    )
    window = dt.timedelta(hours=24)
    engaged = _engagement_times(kinds=CLICK_KINDS, since=since, until=until + window)
    shown = _engagement_times(kinds=("impression",), since=since, until=until + window)

    def seen(stamps, ranked_at: dt.datetime) -> bool:
        return any(ranked_at <= t <= ranked_at + window for t in stamps)

    served = [
        row for row in served
        if seen(shown.get((row[0], row[1]), ()), row[4]) or seen(engaged.get((row[0], row[1]), ()), row[4])
    ]
    groups: dict[tuple[int, dt.datetime], int] = {}
    y = np.zeros(len(served), dtype=np.int8)
    positions = np.zeros(len(served), dtype=np.int64)
    group_ids = np.zeros(len(served), dtype=np.int64)
    times = np.zeros(len(served), dtype=np.float64)
    explore = np.zeros(len(served), dtype=bool)
    for i, (user_id, event_id, position, features, ranked_at) in enumerate(served):
        y[i] = seen(engaged.get((user_id, event_id), ()), ranked_at)
        positions[i] = max(0, int(position) - 1)  # stored 1-based
        group_ids[i] = groups.setdefault((user_id, ranked_at), len(groups))
        times[i] = ranked_at.timestamp() / 3600.0
        explore[i] = bool((features or {}).get("explore"))
    return TrainingData(
        X=features_from_dicts([row[3] or {} for row in served]),
        y=y, positions=positions, groups=group_ids, times=times, explore=explore,
    )


@dataclass
class TrainOutcome:
    version: RankingModelVersion | None
    fit: FitResult


def new_version_name(now: dt.datetime) -> str:
    return now.strftime("r%Y%m%dT%H%M%S")


def model_train(
    *,
    days: int = 14,
    checks: Checks | None = None,
    now: dt.datetime | None = None,
    data: TrainingData | None = None,
) -> TrainOutcome:
    """Train from the log, save the artifact and its metrics, activate it only if it passed its checks.

    With too little data nothing is saved (the formula keeps serving) and the outcome says why.
    """
    now = now or timezone.now()
    weights = {**DEFAULT_WEIGHTS, **getattr(settings, "RANKING_WEIGHTS", {})}
    if data is None:
        data = training_data_from_log(since=now - dt.timedelta(days=days), until=now)
    version = new_version_name(now)
    fit = fit_ranker(data, weights=weights, version=version, checks=checks)
    if fit.scorer is None:
        return TrainOutcome(version=None, fit=fit)
    record = model_save(scorer=fit.scorer, fit=fit, rows=len(data), now=now)
    return TrainOutcome(version=record, fit=fit)


def model_dir() -> Path:
    return Path(settings.RANKING_MODEL_DIR)


def model_save(*, scorer: LearnedScorer, fit: FitResult, rows: int, now: dt.datetime) -> RankingModelVersion:
    directory = model_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"ranker-{scorer.version}.pkl"
    artifact = {
        "format": ARTIFACT_FORMAT,
        "version": scorer.version,
        "algorithm": ALGORITHM,
        "feature_names": list(scorer.feature_names),
        "formula_weights": scorer.formula_weights,
        "model": scorer.model,
        "metrics": fit.metrics,
        "trained_at": now.isoformat(),
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(artifact, protocol=pickle.HIGHEST_PROTOCOL))
    tmp.replace(path)  # atomic: a reader never sees half a file
    metrics = {**fit.metrics, "checks": fit.reason}
    with transaction.atomic():
        if fit.passed:
            RankingModelVersion.objects.filter(is_active=True).update(is_active=False)
        record = RankingModelVersion.objects.create(
            version=scorer.version,
            path=str(path),
            algorithm=ALGORITHM,
            metrics=metrics,
            passed_checks=fit.passed,
            is_active=fit.passed,
            trained_at=now,
            training_rows=rows,
        )
    if fit.passed:
        from trends.ranking.selectors import ranking_caches_invalidate

        transaction.on_commit(ranking_caches_invalidate)
    return record


def model_load(*, version: RankingModelVersion) -> LearnedScorer | None:
    """The artifact as a scorer; None (formula fallback) if it is missing or unreadable."""
    try:
        artifact: dict[str, Any] = pickle.loads(Path(version.path).read_bytes())  # noqa: S301 - our own artifact dir
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        logger.warning("ranking model %s unreadable at %s; using the formula", version.version, version.path)
        return None
    if artifact.get("format") != ARTIFACT_FORMAT:
        logger.warning("ranking model %s has an unknown format; using the formula", version.version)
        return None
    _single_threaded_openmp()
    return LearnedScorer(
        model=artifact["model"],
        feature_names=tuple(artifact["feature_names"]),
        version=artifact["version"],
        formula_weights=artifact.get("formula_weights"),
    )


_openmp_limited = False


def _single_threaded_openmp() -> None:
    """Web workers score a few hundred rows per request: OpenMP threads only add spin-wait contention
    (measured: p50 1.6 ms single-threaded vs 84 ms with idle-spinning threads on 2 busy cores)."""
    global _openmp_limited
    if _openmp_limited:
        return
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1, user_api="openmp")
    except Exception:  # noqa: BLE001 - a tuning step, never a reason to fail serving
        logger.debug("could not limit OpenMP threads", exc_info=True)
    _openmp_limited = True


def ranked_items_prune(*, keep_days: int = 30, batch: int = 10_000) -> int:
    """Delete served-feed rows older than keep_days, in batches (no long lock on a big table)."""
    cutoff = timezone.now() - dt.timedelta(days=keep_days)
    total = 0
    while True:
        ids = list(RankedItem.objects.filter(ranked_at__lt=cutoff).values_list("id", flat=True)[:batch])
        if not ids:
            return total
        total += RankedItem.objects.filter(id__in=ids).delete()[0]
