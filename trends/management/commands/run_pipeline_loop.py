import signal
import time

from celery.schedules import crontab
from django.conf import settings
from django.core.management.base import BaseCommand

from explore_site.celery import app


class Command(BaseCommand):
    help = (
        "Embedded mode's worker: runs the beat schedule's tasks in this process (no broker needed). "
        "With a broker, run `celery worker` and `celery beat` instead."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run every scheduled task once and exit.")

    def handle(self, *args, once, **options):
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        app.loader.import_default_modules()  # registers every task module, as a worker does at start
        schedule = settings.CELERY_BEAT_SCHEDULE
        last_run: dict[str, float] = {}
        self.stdout.write(f"pipeline loop: {len(schedule)} periodic tasks in-process")
        while not stopping:
            now = time.monotonic()
            for name, entry in schedule.items():
                every = entry["schedule"]
                interval = 3600.0 if isinstance(every, crontab) else float(every)
                if once or now - last_run.get(name, -1e9) >= interval:
                    last_run[name] = now
                    try:
                        app.tasks[entry["task"]].apply(throw=True)
                    except Exception as exc:  # noqa: BLE001 - one failing task must not stop the loop
                        self.stderr.write(f"{name}: {type(exc).__name__}: {exc}")
            if once:
                return
            time.sleep(1.0)
