"""Zero-shot category of an event: cosine of its centroid to embedded category descriptions.

Each category is described by a few plain sentences; their embeddings (by the same model as the
posts) are averaged into a prototype. An event takes the closest prototype, or "other" when no
prototype is close enough or two are too close to call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

CATEGORY_DESCRIPTIONS: dict[str, list[str]] = {
    "sports": [
        "a sports match, game result, goal, score, team, league, championship or tournament",
        "football, soccer, basketball, baseball, tennis, cricket, olympics, players and coaches",
    ],
    "news": [
        "breaking news: a disaster, earthquake, flood, fire, storm, explosion, crash or shooting",
        "an accident or emergency with victims, rescue workers, evacuation and damage reports",
    ],
    "entertainment": [
        "movies, music, celebrities, concerts, albums, tv shows, films, actors and singers",
        "an awards show, a music video release, a celebrity wedding or a new series",
    ],
    "technology": [
        "technology: smartphones, software, apps, computers, the internet, gadgets and startups",
        "a product launch by a tech company, a new phone, an app update or an AI model",
    ],
    "politics": [
        "politics: elections, government, parliament, presidents, ministers, laws and votes",
        "a political campaign, a debate, a protest against the government, a new policy",
    ],
    "science": [
        "science: research, discoveries, space, astronomy, nasa, physics, biology and medicine",
        "a scientific study, a rocket launch, a new species, a climate report or a vaccine trial",
    ],
    "business": [
        "business: companies, stock markets, earnings, economy, prices, banks, deals and jobs",
        "a merger or acquisition, a company's quarterly results, inflation or a market crash",
    ],
}
CATEGORY_LABELS = {
    "sports": "Sports", "news": "News", "entertainment": "Entertainment", "technology": "Technology",
    "politics": "Politics", "science": "Science", "business": "Business", "other": "Other",
}


class ZeroShotCategorizer:
    def __init__(self, encode: Callable[[list[str]], np.ndarray], *, min_cos: float = 0.15,
                 min_margin: float = 0.01) -> None:
        self.names = list(CATEGORY_DESCRIPTIONS)
        protos = []
        for name in self.names:
            v = np.asarray(encode(CATEGORY_DESCRIPTIONS[name]), dtype=np.float32).mean(axis=0)
            protos.append(v / (np.linalg.norm(v) or 1.0))
        self.prototypes = np.stack(protos)
        self.min_cos = min_cos
        self.min_margin = min_margin

    def scores(self, centroid: np.ndarray) -> dict[str, float]:
        sims = self.prototypes @ (centroid / (np.linalg.norm(centroid) or 1.0))
        return dict(zip(self.names, (float(s) for s in sims), strict=True))

    def classify(self, centroid: np.ndarray) -> str:
        sims = self.prototypes @ (centroid / (np.linalg.norm(centroid) or 1.0))
        order = np.argsort(-sims)
        best, second = float(sims[order[0]]), float(sims[order[1]])
        if best < self.min_cos or best - second < self.min_margin:
            return "other"
        return self.names[int(order[0])]


_lock = threading.Lock()
_by_model: dict[str, ZeroShotCategorizer] = {}


def categorizer_for(model_name: str, encode: Callable[[list[str]], np.ndarray]) -> ZeroShotCategorizer:
    """One categorizer per embedding model per process (the prototypes are embedded once)."""
    with _lock:
        if model_name not in _by_model:
            _by_model[model_name] = ZeroShotCategorizer(encode)
        return _by_model[model_name]
