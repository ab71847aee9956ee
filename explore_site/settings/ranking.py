from explore_site.settings.base import DATA_DIR
from explore_site.settings.env import env_bool, env_float, env_int, env_str

RANKING_MODEL_DIR = env_str("RANKING_MODEL_DIR", str(DATA_DIR / "ranking"))
# Weights of the transparent default formula; the learned model replaces it only once it passes its checks.
RANKING_WEIGHTS = {
    "interest": env_float("RANKING_W_INTEREST", 1.0),
    "social": env_float("RANKING_W_SOCIAL", 0.6),
    "trend": env_float("RANKING_W_TREND", 0.8),
    "freshness": env_float("RANKING_W_FRESHNESS", 0.4),
    "health": env_float("RANKING_W_HEALTH", 0.5),
    "locale": env_float("RANKING_W_LOCALE", 0.3),
    "ctr": env_float("RANKING_W_CTR", 0.3),
    "fatigue": env_float("RANKING_W_FATIGUE", -0.7),
}

# Share of For You pages shuffled for unbiased training data (0 disables exploration).
RANKING_EXPLORE_RATE = env_float("RANKING_EXPLORE_RATE", 0.05)
# Candidate pool: the top live events, cached per process for a few seconds.
RANKING_POOL_SIZE = env_int("RANKING_POOL_SIZE", 5000)
RANKING_POOL_TTL_S = env_float("RANKING_POOL_TTL_S", 20.0)
RANKING_MODEL_TTL_S = env_float("RANKING_MODEL_TTL_S", 60.0)
# How far back engagement shapes a user's interests, and followed accounts' posts count as social proof.
RANKING_HISTORY_DAYS = env_int("RANKING_HISTORY_DAYS", 30)
RANKING_SOCIAL_HOURS = env_int("RANKING_SOCIAL_HOURS", 48)
# Record each served feed (RankedItem rows): the training data of the learned model.
RANKING_LOG_SERVED = env_bool("RANKING_LOG_SERVED", True)
