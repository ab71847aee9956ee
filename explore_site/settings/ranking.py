from explore_site.settings.base import DATA_DIR
from explore_site.settings.env import env_float, env_str

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
