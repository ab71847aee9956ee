"""The beat schedule, in code. Each entry says why it runs as often as it does."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    # Scores move with every minute of traffic; a trend list older than a minute feels stale.
    "score-events": {"task": "pipeline.score_events", "schedule": 30.0},
    # Lifecycle moves on the scale of minutes (fading takes an hour), so once a minute is plenty.
    "update-lifecycle": {"task": "pipeline.update_lifecycle", "schedule": 60.0},
    # Titles and representative posts change slowly and cost c-TF-IDF over members: every 2 minutes.
    "describe-events": {"task": "pipeline.describe_events", "schedule": 120.0},
    # A lost message must not strand a post: re-enqueue work that has waited past PIPELINE_STALE_SECONDS.
    "sweep-stale": {"task": "pipeline.sweep_stale", "schedule": 60.0},
    # Clusterers are triggered by embedding; this catches shards whose trigger was lost.
    "tick-clusterers": {"task": "pipeline.tick_clusterers", "schedule": 15.0},
    # Curators must hear of a pending event while it is still news; each item is mailed once.
    "curation-notify-pending": {"task": "curation.notify_pending", "schedule": 60.0},
    # Denormalised counters drift only through bugs or crashes; a 5-minute repair bounds the damage.
    "curation-reconcile": {"task": "curation.reconcile", "schedule": 300.0},
    # Idempotency keys promise replays for 24 h; a daily purge keeps the table small after that.
    "purge-idempotency-keys": {"task": "api.purge_idempotency_keys", "schedule": crontab(hour=3, minute=17)},
    # The learned ranker follows yesterday's engagement; it only serves if it beats the formula.
    "ranking-train-model": {"task": "ranking.train_model", "schedule": crontab(hour=3, minute=30)},
    # Served-feed logs older than the training window are dead weight.
    "ranking-prune-served-log": {"task": "ranking.prune_served_log", "schedule": crontab(hour=4, minute=0)},
    # Trust (PageRank over follows) drifts slowly with the graph; hourly is enough.
    "compute-trust": {"task": "users.compute_trust", "schedule": crontab(minute=7)},
}
