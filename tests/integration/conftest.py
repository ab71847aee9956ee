import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def integration_enabled() -> bool:
    return (
        settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
        and bool(os.environ.get("CELERY_BROKER_URL"))
    )


requires_services = pytest.mark.skipif(
    not integration_enabled(), reason="needs DATABASE_URL=postgres://... and CELERY_BROKER_URL=redis://..."
)


class WorkerProcess:
    """A real `celery worker` subprocess against the test database and the Redis broker."""

    def __init__(self, *, queues: str, name: str, log_dir: Path, extra_env: dict[str, str] | None = None):
        db = settings.DATABASES["default"]
        url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        self.log_path = log_dir / f"{name}.log"
        env = {**os.environ, "DATABASE_URL": url, "HF_HUB_OFFLINE": "1", **(extra_env or {})}
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "explore_site", "worker", "-l", "INFO",
             "-n", f"{name}@%h", "-Q", queues, "-c", "1", "-P", "prefork", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )

    def stop(self, sig=None) -> None:
        if self.proc.poll() is None:
            if sig is None:
                self.proc.terminate()
            else:
                self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


@pytest.fixture
def celery_purged():
    from explore_site.celery import app

    app.control.purge()
    yield app
    app.control.purge()


@pytest.fixture
def start_worker(tmp_path):
    workers: list[WorkerProcess] = []

    def start(**kwargs) -> WorkerProcess:
        worker = WorkerProcess(log_dir=tmp_path, **kwargs)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def wait_until(predicate, *, timeout: float, interval: float = 0.5, describe=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout:.0f}s {describe()}")
