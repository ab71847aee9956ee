from explore_site.settings.base import DATA_DIR
from explore_site.settings.env import env_bool, env_float, env_int, env_str

# "full": the all-MiniLM-L6-v2 transformer; "static": a model2vec model distilled from it offline.
EMBEDDING_TIER = env_str("EMBEDDING_TIER", "full")
EMBEDDING_BATCH_SIZE = env_int("EMBEDDING_BATCH_SIZE", 64)
# Posts per embedding task: big enough that per-task overhead (queries, COPY, messages) is noise.
# The full tier encodes ~300 posts/s per process, so 1,024 posts would hold a task (and the
# clustering of its posts) back for ~3 s; 256 keep that under a second at the same overhead share.
EMBEDDING_TASK_SIZE = env_int("EMBEDDING_TASK_SIZE", 256 if EMBEDDING_TIER == "full" else 1024)
# Distinct texts whose vectors an embedding worker process keeps for reuse (retweets and copies of a
# spreading post clean to the same text); ~0.9 KB each, so 20,000 hold ~18 MB. 0 turns reuse off.
EMBEDDING_MEMO_SIZE = env_int("EMBEDDING_MEMO_SIZE", 20_000)
STATIC_MODEL_DIR = env_str("STATIC_MODEL_DIR", str(DATA_DIR / "models" / "minilm-static"))
# Embed where posts are ingested instead of in an embedding worker: each post is then written once,
# already embedded, and goes straight to its shard's clusterer. On by default for the static tier
# (tens of microseconds a post, less than the embedding worker's own row rewrite and messages);
# the transformer costs milliseconds a post, which belongs on embedding workers, not in requests.
EMBED_ON_INGEST = env_bool("EMBED_ON_INGEST", EMBEDDING_TIER == "static")

# Clustering shards: each shard has one writer (its own Celery queue), so workers never race.
CLUSTER_SHARDS = env_int("CLUSTER_SHARDS", 1)
CLUSTER_BATCH_SIZE = env_int("CLUSTER_BATCH_SIZE", 500)
CLUSTER_SIMILARITY_THRESHOLD = env_float("CLUSTER_SIMILARITY_THRESHOLD", 0.55)
CLUSTER_ACTIVE_WINDOW_HOURS = env_float("CLUSTER_ACTIVE_WINDOW_HOURS", 24.0)

TREND_MIN_UNIQUE_AUTHORS = env_int("TREND_MIN_UNIQUE_AUTHORS", 5)
# When off, an event that crosses the review threshold waits for a curator before it is shown.
TRENDABLE_BY_DEFAULT = env_str("TRENDABLE_BY_DEFAULT", "1") not in {"0", "false", "False", "no"}

# Work older than this that is still unprocessed is re-enqueued by the sweeper.
PIPELINE_STALE_SECONDS = env_int("PIPELINE_STALE_SECONDS", 120)
# Events whose health (spam/coordination/report signals, 0..1) falls below this are kept off Explore.
EVENT_MIN_PUBLIC_HEALTH = env_float("EVENT_MIN_PUBLIC_HEALTH", 0.3)
# After this many sweeper recoveries a post is parked as failed (a poison message must not loop forever).
PIPELINE_MAX_ATTEMPTS = env_int("PIPELINE_MAX_ATTEMPTS", 5)
