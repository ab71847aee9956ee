import dj_database_url

from explore_site.settings.base import DATA_DIR
from explore_site.settings.env import env_int, env_str

# No DATABASE_URL: the embedded default, a SQLite file, so a laptop needs nothing installed.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'explore.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the web process read while the in-process pipeline writes.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        # Writers take the lock when their transaction starts, so two writers queue instead of failing.
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
