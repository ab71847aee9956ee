"""Plain data carried between the ranking stages: columnar numpy arrays, no ORM objects.

The DB selectors and the offline simulation both fill these, so every stage after them
(features, scoring, re-ranking, explanations) is one shared code path.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Mirrors trends.models.Category (a test keeps them equal); the pure stages must not import the ORM.
CATEGORIES: tuple[str, ...] = (
    "sports",
    "news",
    "entertainment",
    "technology",
    "politics",
    "science",
    "business",
    "other",
)
CATEGORY_INDEX = {name: i for i, name in enumerate(CATEGORIES)}
CATEGORY_LABELS = {name: name.capitalize() for name in CATEGORIES}


@dataclass
class RankedEvent:
    """One item of a ranked feed, as pages and the API consume it."""

    event: Any  # trends.models.Event
    score: float
    explanation: str
    features: dict
    variant: str = ""
    position: int = 0


@dataclass
class CandidatePool:
    """Rankable events as columns; row i of every array is the same event."""

    ids: np.ndarray  # int64
    emb: np.ndarray  # (n, d) float32, L2-normalised; zero rows where no centroid
    category: np.ndarray  # int16 index into CATEGORIES
    lang: np.ndarray  # int32 code into lang_vocab, -1 for unknown
    loc: np.ndarray  # int32 code into loc_vocab, -1 for none
    trend_score: np.ndarray  # float32
    velocity: np.ndarray
    author_count: np.ndarray
    first_seen_h: np.ndarray  # hours since the epoch
    last_seen_h: np.ndarray
    health: np.ndarray
    impressions: np.ndarray
    clicks: np.ndarray
    boost: np.ndarray
    pinned_slot: np.ndarray  # int16, 1-based slot of an active pin, -1 for none
    source: np.ndarray  # int32 code of the dominant source (domain or author), -1 for none
    titles: list[str] = field(default_factory=list)
    lang_vocab: dict[str, int] = field(default_factory=dict)
    loc_vocab: dict[str, int] = field(default_factory=dict)
    loc_names: list[str] = field(default_factory=list)
    _index: dict[int, int] | None = None
    _fingerprint: str | None = None

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def fingerprint(self) -> str:
        """Changes whenever what a feed shows or is ranked by changes: which events, their scores,
        sizes, recency, health, pins and titles. Stored pages built from an equal pool are current."""
        if self._fingerprint is None:
            digest = hashlib.blake2b(digest_size=12)
            for column in (self.ids, self.trend_score, self.author_count, self.last_seen_h, self.health, self.pinned_slot):
                digest.update(np.ascontiguousarray(column).tobytes())
            digest.update("\x1f".join(self.titles).encode())
            self._fingerprint = digest.hexdigest()
        return self._fingerprint

    @property
    def index(self) -> dict[int, int]:
        """Event id -> row."""
        if self._index is None:
            self._index = {int(e): i for i, e in enumerate(self.ids.tolist())}
        return self._index

    def rows_for(self, mapping: dict[int, float]) -> np.ndarray:
        """A dense per-row array from a sparse {event_id: value} mapping."""
        out = np.zeros(len(self), dtype=np.float32)
        index = self.index
        for event_id, value in mapping.items():
            row = index.get(int(event_id))
            if row is not None:
                out[row] = value
        return out


@dataclass
class UserContext:
    """What ranking knows about one user, aligned to a CandidatePool where per-event."""

    interest: np.ndarray  # (d,) float32, unit or zero (cold start)
    category_pref: np.ndarray  # (len(CATEGORIES),) sums to 1
    lang_codes: np.ndarray  # int32 codes of the user's languages in the pool vocabulary
    loc_code: int  # -1 when unknown
    social_count: np.ndarray  # (n,) followed accounts posting in the event
    seen: np.ndarray  # (n,) recent impressions of the event by this user
    dismissed: np.ndarray  # (n,) bool: dismissed or reported; never shown again
    has_languages: bool = True
    location_name: str = ""
    # For explanations: which followed handles post in an event; the events the user engaged with.
    social_handles: dict[int, list[str]] = field(default_factory=dict)
    engaged_emb: np.ndarray | None = None  # (k, d), most recent first
    engaged_titles: list[str] = field(default_factory=list)
    engaged: np.ndarray | None = None  # (n,) bool: the user already clicked/liked/shared the event


@dataclass
class RankConfig:
    """One ranking configuration; experiment variants override fields by name."""

    weights: dict[str, float] = field(default_factory=dict)
    scorer: str = "auto"  # auto (learned if one passed its checks, else formula) | formula | learned
    mmr_lambda: float = 0.45
    window: int = 10
    category_max: int = 3  # per window of `window` consecutive items
    source_cap: int = 2  # per window
    candidate_limit: int = 300
    mmr_pool: int = 120
    language_filter: bool = True

    def with_overrides(self, overrides: dict[str, Any] | None) -> RankConfig:
        if not overrides:
            return self
        values = {**self.__dict__}
        for key, value in overrides.items():
            if key == "weights" and isinstance(value, dict):
                values["weights"] = {**self.weights, **value}
            elif key in values:
                values[key] = type(values[key])(value) if values[key] is not None else value
        return RankConfig(**values)
