"""The settings that durability rests on, so a well-meant edit cannot quietly remove one."""

from django.conf import settings

from explore_site.celery import app


def test_tasks_are_acknowledged_late_and_requeued_when_a_worker_dies():
    assert settings.CELERY_TASK_ACKS_LATE is True
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST is True
    # One message in hand per process: a killed worker strands at most one batch per process.
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1


def test_redelivery_never_overtakes_a_running_task():
    app.loader.import_default_modules()
    limits = [task.time_limit or settings.CELERY_TASK_TIME_LIMIT for name, task in app.tasks.items()
              if not name.startswith("celery.")]
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert limits and visibility > max(limits)


def test_the_sweeper_runs_from_beat_often_enough():
    entry = settings.CELERY_BEAT_SCHEDULE["sweep-stale"]
    assert entry["task"] == "pipeline.sweep_stale"
    assert float(entry["schedule"]) <= settings.PIPELINE_STALE_SECONDS


def test_pipeline_tasks_retry_only_transient_errors():
    from trends import tasks

    for task in (tasks.embed_tweets, tasks.cluster_shard):
        assert set(task.autoretry_for) == set(tasks.TRANSIENT_ERRORS)
        assert not any(issubclass(ValueError, error) for error in task.autoretry_for)  # a bug must surface
        assert task.max_retries and task.max_retries >= 3
