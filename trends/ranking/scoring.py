"""Scorers: the transparent formula (weights from settings) and the learned model.

Both map a feature matrix to one score per row, higher is better.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from trends.ranking.features import CTR_PRIOR, FEATURE_NAMES, F

DEFAULT_WEIGHTS: dict[str, float] = {
    "interest": 1.0,
    "social": 0.6,
    "trend": 0.8,
    "freshness": 0.4,
    "health": 0.5,
    "locale": 0.3,
    "ctr": 0.3,
    "fatigue": -0.7,
}
# Cosine similarities between related MiniLM embeddings rarely pass ~0.65: scale them to 0..1.
INTEREST_SIM_SCALE = 1.5


class Scorer(Protocol):
    name: str

    def score(self, X: np.ndarray) -> np.ndarray: ...


def formula_terms(X: np.ndarray) -> dict[str, np.ndarray]:
    """Each weighted term of the formula in 0..1 (health and fatigue as penalties), by weight name."""
    interest = 0.5 * np.clip(X[:, F["interest_sim"]] * INTEREST_SIM_SCALE, 0.0, 1.0) + 0.5 * X[
        :, F["category_affinity"]
    ]
    ctr = X[:, F["ctr"]]
    return {
        "interest": interest,
        "social": 1.0 - np.exp(-np.expm1(X[:, F["social_count"]]) / 2.0),
        "trend": X[:, F["trend_rel"]],
        "freshness": X[:, F["freshness"]],
        # A penalty only: a healthy event gains nothing, a spammy one loses up to the weight.
        "health": X[:, F["health"]] - 1.0,
        "locale": 0.5 * X[:, F["lang_match"]] + 0.5 * X[:, F["loc_match"]],
        # 0.5 at the prior click-through, towards 1 for events people click far more than usual.
        "ctr": ctr / (ctr + CTR_PRIOR),
        "fatigue": 1.0 - np.exp(-np.expm1(X[:, F["seen"]]) / 3.0),
    }


@dataclass
class FormulaScorer:
    weights: dict[str, float]
    name: str = "formula"

    def score(self, X: np.ndarray) -> np.ndarray:
        terms = formula_terms(X)
        total = np.zeros(X.shape[0], dtype=np.float32)
        for key, term in terms.items():
            total += float(self.weights.get(key, DEFAULT_WEIGHTS[key])) * term
        # Curator boost is additive in score units so editors can reason about it.
        return total + X[:, F["boost"]]


@dataclass
class LearnedScorer:
    """A trained click model. Scores are log-odds of a click at the top position, plus curator boost."""

    model: Any  # fitted sklearn classifier with decision_function or predict_proba
    feature_names: tuple[str, ...]
    version: str
    # The formula (with the weights it was trained with) is one of the model's inputs: the model
    # learns corrections to the transparent score rather than starting from nothing.
    formula_weights: dict[str, float] | None = None
    name: str = "learned"

    def design(self, X: np.ndarray, positions: np.ndarray | None = None) -> np.ndarray:
        cols = [F[n] for n in self.feature_names if n in F]
        parts = [X[:, cols]]
        if self.formula_weights is not None:
            parts.append(FormulaScorer(weights=self.formula_weights).score(X).reshape(-1, 1))
        if positions is None:
            positions = np.zeros(X.shape[0], dtype=np.float32)
        return with_position(np.hstack(parts), positions)

    def score(self, X: np.ndarray) -> np.ndarray:
        raw = decision(self.model, self.design(X))
        return raw.astype(np.float32) + X[:, F["boost"]]


def with_position(X: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Position is a training-only feature (it explains position bias away); serving fixes it at 0."""
    return np.hstack([X, np.log1p(positions.astype(np.float32)).reshape(-1, 1)])


def decision(model: Any, design: np.ndarray) -> np.ndarray:
    if hasattr(model, "decision_function"):
        return np.asarray(model.decision_function(design), dtype=np.float32).ravel()
    proba = np.clip(model.predict_proba(design)[:, 1], 1e-6, 1 - 1e-6)
    return np.log(proba / (1 - proba)).astype(np.float32)


def learned_feature_names() -> tuple[str, ...]:
    # "dismissed" rows are never served, so the model could not learn anything from it.
    return tuple(n for n in FEATURE_NAMES if n != "dismissed")
