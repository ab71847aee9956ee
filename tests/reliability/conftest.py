"""Fault-injection helpers: real workers that can be SIGKILLed, a throwaway Redis, a PostgreSQL proxy.

Every fault test gets its own `redis-server` on a free port (nothing on disk, like production Redis
here), so killing or restarting it never touches the shared Redis, and no other test's messages mix
with ours. The worker reaches PostgreSQL either directly or through `PgProxy`, which can drop every
connection and refuse new ones for a while.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests.integration.conftest import integration_enabled

ROOT = Path(__file__).resolve().parents[2]
QUEUES = "default,embedding,scoring,maintenance,clustering-0"

requires_fault_services = pytest.mark.skipif(
    not integration_enabled() or shutil.which("redis-server") is None,
    reason="needs DATABASE_URL=postgres://..., CELERY_BROKER_URL=redis://... and redis-server on PATH",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A private redis-server that keeps nothing on disk: a kill loses every queued message."""

    def __init__(self, *, log_dir: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_dir = log_dir
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.log_dir), "--logfile", str(self.log_dir / f"redis-{self.port}.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while not _ping(self.port):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"redis-server on port {self.port} did not start")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def queued(self) -> int:
        """Messages waiting in the pipeline queues (0 when the server is down)."""
        import redis

        try:
            client = redis.Redis(port=self.port, socket_timeout=1)
            return sum(client.llen(q) for q in QUEUES.split(","))
        except redis.RedisError:
            return 0


class PgProxy:
    """TCP proxy to PostgreSQL that can drop every connection and refuse new ones, then recover."""

    def __init__(self, *, upstream_host: str, upstream_port: int):
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._stopped = False
        self.refusing = False
        self.accepted = 0
        self.listen()

    def listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        self.refusing = False
        threading.Thread(target=self._accept_loop, args=(listener,), daemon=True).start()

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # listener closed: the outage (or the end of the test)
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, server))
                self.accepted += 1
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                self._close(sock)

    def _close(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def refuse(self) -> None:
        """PostgreSQL "goes away": open connections drop, new ones get connection refused."""
        self.refusing = True
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            self._close(sock)

    def stop(self) -> None:
        self.refuse()


class Worker:
    """A real `celery worker` in its own process group, so kill -9 takes the pool children with it."""

    def __init__(self, *, name: str, log_dir: Path, broker_url: str, database_url: str, extra_env=None):
        self.log_path = log_dir / f"{name}.log"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            # Short retry waits and a short stale window keep recovery inside the test's time budget.
            "PIPELINE_STALE_SECONDS": "3",
            # Small embedding batches (no top-up beyond 8): a fault lands mid-stream, not after one batch.
            "EMBEDDING_BATCH_SIZE": "8",
            "EMBEDDING_TASK_SIZE": "8",
            **(extra_env or {}),
        }
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "explore_site", "worker", "-l", "INFO",
             "-n", f"{name}@%h", "-Q", QUEUES, "-c", "1", "-P", "prefork", "--without-gossip", "--without-mingle",
             "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b" ready." in self.log_path.read_bytes():
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited with {self.proc.returncode}\n{self.log()}")
            time.sleep(0.2)
        raise AssertionError(f"worker not ready within {timeout:.0f}s\n{self.log()}")

    def kill9(self) -> None:
        """kill -9 the whole worker: main process and pool child, no chance to ack, requeue or clean up."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # pool children left behind, if any
        self.proc.wait(timeout=10)
        if not self._log.closed:
            self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]


def database_url(*, port: int | None = None) -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST']}:{port or db['PORT']}/{db['NAME']}"


def point_celery_at(url: str) -> None:
    """Make this process's Celery app publish to `url` (the sweeper and the services enqueue from here)."""
    from explore_site.celery import app

    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    if "amqp" in app.__dict__:
        app.amqp._producer_pool = None
    # broker_write_url/broker_read_url were derived from broker_url when the app was configured.
    app.conf.broker_url = app.conf.broker_write_url = app.conf.broker_read_url = url


@pytest.fixture
def private_redis(tmp_path):
    from explore_site.celery import app

    previous = app.conf.broker_url
    previous_write, previous_read = app.conf.broker_write_url, app.conf.broker_read_url
    server = RedisServer(log_dir=tmp_path)
    point_celery_at(server.url)
    yield server
    point_celery_at(previous)
    app.conf.broker_write_url, app.conf.broker_read_url = previous_write, previous_read
    server.kill()


@pytest.fixture
def workers(transactional_db, tmp_path):
    """Started workers are stopped before the test database is flushed (this fixture needs it first)."""
    started: list[Worker] = []

    def start(**kwargs) -> Worker:
        worker = Worker(log_dir=tmp_path, **kwargs)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def pg_proxy():
    db = settings.DATABASES["default"]
    proxy = PgProxy(upstream_host=db["HOST"] or "127.0.0.1", upstream_port=int(db["PORT"] or 5432))
    yield proxy
    proxy.stop()
