"""A simulated Explore population for offline evaluation (docs/evaluation.md (part 2) documents it).

The simulation produces CandidatePool / UserContext objects and calls the same `rank_pool`,
`compute_features`, scorers, re-ranker and `fit_ranker` as the site; only the data source differs.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace

import numpy as np

from trends.ranking.engine import eligible_mask, rank_pool
from trends.ranking.learning import TrainingData, fit_ranker
from trends.ranking.metrics import (
    category_coverage,
    intra_list_diversity,
    ndcg_at_k,
    personalization,
    recall_at_k,
)
from trends.ranking.profile import build_interest, kind_weights
from trends.ranking.scoring import FormulaScorer, Scorer
from trends.ranking.types import CATEGORIES, CandidatePool, RankConfig, UserContext

POLICIES = ("chronological", "popularity", "formula", "learned")
N_CAT = len(CATEGORIES)
MAIN_CATEGORIES = 7  # "other" gets no community of its own
LANGS = ("en", "es", "pt")
CITIES = ("Lisbon", "London", "New York", "Madrid", "São Paulo", "Lagos")
EVENT_LIFETIME_H = 48.0


@dataclass
class SimConfig:
    seed: int = 0
    n_users: int = 800
    n_communities: int = 21
    days: int = 7
    train_days: int = 5
    events_per_day: int = 200
    dim: int = 384
    session_prob: float = 0.6
    follows: int = 15
    list_length: int = 20
    explore_sigma: float = 0.35  # score noise in the logging policy, so the logs cover more items
    explore_rate: float = 0.2  # share of served lists shown in random order (unbiased held-out checks)
    position_decay: float = 0.9  # examination probability at position k: 1 / (1 + k) ** decay
    latency_candidates: int = 5000
    latency_runs: int = 300


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


@dataclass
class World:
    cfg: SimConfig
    # users
    comm: np.ndarray  # (U,) primary community
    comm2: np.ndarray  # (U,) secondary community or -1
    theta: np.ndarray  # (U, N_CAT) latent category interest
    langs: list[np.ndarray]
    loc: np.ndarray  # (U,) city index or -1
    novelty: np.ndarray  # (U,) novelty seeking 0..1
    topics: list[list[str]]
    followees: list[np.ndarray]
    # events
    e_comm: np.ndarray
    e_cat: np.ndarray
    e_lang: np.ndarray
    e_loc: np.ndarray
    e_start: np.ndarray
    e_tau: np.ndarray
    e_viral: np.ndarray
    e_quality: np.ndarray
    e_spam: np.ndarray
    e_source: np.ndarray
    e_emb: np.ndarray  # (E, d)
    post_time: np.ndarray  # (U, E) when user u posted in event e, inf if never
    # mutable state
    impressions: np.ndarray = field(default_factory=lambda: np.zeros(0))
    clicks: np.ndarray = field(default_factory=lambda: np.zeros(0))


def build_world(cfg: SimConfig, rng: np.random.Generator, n_events: int | None = None) -> World:
    U, K, D = cfg.n_users, cfg.n_communities, cfg.dim
    E = n_events if n_events is not None else cfg.days * cfg.events_per_day
    cat_dirs = _unit(rng.normal(size=(N_CAT, D)))
    comm_dirs = _unit(rng.normal(size=(K, D)))
    comm_cat = np.arange(K) % MAIN_CATEGORIES
    comm_w = 1.0 / (1.0 + rng.permutation(K)) ** 0.6
    comm_w /= comm_w.sum()

    comm = rng.choice(K, size=U, p=comm_w)
    comm2 = np.where(rng.random(U) < 0.35, rng.integers(0, K, size=U), -1)
    theta = rng.dirichlet(np.full(N_CAT, 0.4), size=U)
    theta[np.arange(U), comm_cat[comm]] += 1.5
    has2 = comm2 >= 0
    theta[np.flatnonzero(has2), comm_cat[comm2[has2]]] += 0.8
    theta /= theta.sum(axis=1, keepdims=True)
    lang_draw = rng.random(U)
    langs = [
        np.array([0]) if r < 0.85 else (np.array([1]) if r < 0.95 else np.array([0, 2])) for r in lang_draw
    ]
    loc = np.where(rng.random(U) < 0.75, rng.integers(0, len(CITIES), size=U), -1)
    novelty = rng.beta(2, 4, size=U)
    topics = [
        [CATEGORIES[int(np.argmax(theta[u]))]] if rng.random() < 0.5 else [] for u in range(U)
    ]
    members = [np.flatnonzero((comm == k) | (comm2 == k)) for k in range(K)]
    celebrity = rng.pareto(1.5, size=U) + 1.0
    celebrity /= celebrity.sum()
    followees = []
    for u in range(U):
        own = members[comm[u]]
        near = rng.choice(own, size=min(len(own), 10), replace=False) if len(own) else np.zeros(0, int)
        far = rng.choice(U, size=cfg.follows - near.size, replace=False, p=celebrity)
        f = np.unique(np.concatenate([near, far]))
        followees.append(f[f != u])

    e_comm = rng.choice(K, size=E, p=comm_w)
    e_cat = np.where(rng.random(E) < 0.85, comm_cat[e_comm], rng.integers(0, N_CAT, size=E))
    lang_draw = rng.random(E)
    e_lang = np.where(lang_draw < 0.85, 0, np.where(lang_draw < 0.95, 1, 2))
    e_loc = np.where(rng.random(E) < 0.25, rng.integers(0, len(CITIES), size=E), -1)
    days = np.arange(E) // max(1, cfg.events_per_day)
    e_start = days * 24.0 + rng.uniform(0, 24, size=E)
    e_tau = rng.uniform(3, 10, size=E)
    e_viral = rng.lognormal(0.0, 0.9, size=E)
    e_spam = rng.random(E) < 0.04
    e_viral[e_spam] *= 3.0  # spam bursts look hot on raw volume
    e_quality = rng.normal(0.0, 0.5, size=E)
    e_source = rng.choice(40, size=E, p=_zipf(40))
    noise = _unit(rng.normal(size=(E, D)))
    e_emb = _unit(0.6 * cat_dirs[e_cat] + 0.65 * comm_dirs[e_comm] + 0.55 * noise).astype(np.float32)

    post_time = np.full((U, E), np.inf, dtype=np.float32)
    for e in range(E):
        n_auth = int(np.clip(round(8 * e_viral[e]), 3, 80))
        pool = members[e_comm[e]]
        local = rng.choice(pool, size=min(len(pool), int(n_auth * 0.7)), replace=False) if len(pool) else []
        glob = rng.choice(U, size=n_auth - len(local), replace=False)
        authors = np.unique(np.concatenate([np.asarray(local, dtype=int), glob]))
        post_time[authors, e] = e_start[e] + e_tau[e] * rng.gamma(2.0, 0.7, size=authors.size)
    return World(
        cfg=cfg, comm=comm, comm2=comm2, theta=theta, langs=langs, loc=loc, novelty=novelty,
        topics=topics, followees=followees, e_comm=e_comm, e_cat=e_cat, e_lang=e_lang, e_loc=e_loc,
        e_start=e_start, e_tau=e_tau, e_viral=e_viral, e_quality=e_quality, e_spam=e_spam,
        e_source=e_source, e_emb=e_emb, post_time=post_time,
        impressions=np.zeros(E, dtype=np.float32), clicks=np.zeros(E, dtype=np.float32),
    )


def _zipf(n: int) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1)
    return w / w.sum()


def volume(world: World, rows: np.ndarray, t: float) -> np.ndarray:
    """Posts per hour: a rise-peak-decay burst, x·e^(1-x) with x = age / time-to-peak."""
    x = np.maximum(t - world.e_start[rows], 0.0) / world.e_tau[rows]
    return 100.0 * world.e_viral[rows] * x * np.exp(1.0 - x)


def make_pool(world: World, rows: np.ndarray, t: float) -> CandidatePool:
    pt = world.post_time[:, rows]
    posted = pt <= t
    last = np.where(posted, pt, -np.inf).max(axis=0)
    last = np.where(np.isfinite(last), last, world.e_start[rows])
    vol = volume(world, rows, t)
    return CandidatePool(
        ids=rows.astype(np.int64),
        emb=world.e_emb[rows],
        category=world.e_cat[rows].astype(np.int16),
        lang=world.e_lang[rows].astype(np.int32),
        loc=world.e_loc[rows].astype(np.int32),
        trend_score=vol.astype(np.float32),
        velocity=(vol - volume(world, rows, t - 1.0)).astype(np.float32),
        author_count=posted.sum(axis=0).astype(np.float32),
        first_seen_h=world.e_start[rows].astype(np.float32),
        last_seen_h=last.astype(np.float32),
        health=np.where(world.e_spam[rows], 0.15, 1.0).astype(np.float32),
        impressions=world.impressions[rows].copy(),
        clicks=world.clicks[rows].copy(),
        boost=np.zeros(rows.size, dtype=np.float32),
        pinned_slot=np.full(rows.size, -1, dtype=np.int16),
        source=world.e_source[rows].astype(np.int32),
        titles=[f"Event {r}" for r in rows.tolist()],
        lang_vocab={code: i for i, code in enumerate(LANGS)},
        loc_vocab={c: i for i, c in enumerate(CITIES)},
        loc_names=list(CITIES),
    )


@dataclass
class UserState:
    history: list[tuple[int, str, float]] = field(default_factory=list)  # (event, kind, time)
    seen: dict[int, int] = field(default_factory=dict)
    clicked: set[int] = field(default_factory=set)
    dismissed: set[int] = field(default_factory=set)


def make_user(world: World, u: int, state: UserState, pool: CandidatePool, t: float) -> UserContext:
    hist = state.history[-200:]
    ev = np.asarray([h[0] for h in hist], dtype=np.int64)
    f = world.followees[u]
    fpt = world.post_time[f][:, pool.ids] if f.size else np.zeros((0, len(pool)))
    social = (fpt <= t).sum(axis=0).astype(np.float32) if f.size else np.zeros(len(pool), np.float32)
    recent_f = pool.ids[social > 0][:50]
    interest, pref = build_interest(
        emb=world.e_emb[ev] if ev.size else np.zeros((0, world.cfg.dim), np.float32),
        weights=kind_weights([h[1] for h in hist]),
        categories=world.e_cat[ev] if ev.size else np.zeros(0, int),
        ages_h=np.asarray([t - h[2] for h in hist], dtype=np.float32),
        topics=world.topics[u],
        followee_emb=world.e_emb[recent_f] if recent_f.size else None,
        dim=world.cfg.dim,
    )
    recent_clicks = [h[0] for h in reversed(state.history) if h[1] == "click"][:10]
    return UserContext(
        interest=interest,
        category_pref=pref,
        engaged=pool.rows_for(dict.fromkeys(state.clicked, 1.0)) > 0,
        engaged_emb=world.e_emb[recent_clicks] if recent_clicks else None,
        engaged_titles=[f"Event {e}" for e in recent_clicks],
        lang_codes=world.langs[u].astype(np.int32),
        loc_code=int(world.loc[u]),
        social_count=social,
        seen=pool.rows_for(state.seen),
        dismissed=pool.rows_for(dict.fromkeys(state.dismissed, 1.0)).astype(bool),
        location_name=CITIES[world.loc[u]] if world.loc[u] >= 0 else "",
    )


def relevance(world: World, u: int, state: UserState, pool: CandidatePool, user: UserContext, t: float) -> np.ndarray:
    """The user's true probability of clicking each pool event if they examine it."""
    rows = pool.ids
    theta = world.theta[u]
    in_comm = (world.e_comm[rows] == world.comm[u]) | (world.e_comm[rows] == world.comm2[u])
    readable = np.isin(world.e_lang[rows], world.langs[u])
    clicked_recent = [e for e, k, _ in state.history[-10:] if k == "click"]
    if clicked_recent:
        similar = (world.e_emb[rows] @ world.e_emb[clicked_recent].T).max(axis=1)
    else:
        similar = np.zeros(rows.size)
    seen = user.seen
    already = np.isin(rows, list(state.clicked)) if state.clicked else np.zeros(rows.size, bool)
    util = (
        2.0 * theta[world.e_cat[rows]] / theta.max()
        + 1.5 * in_comm
        + 0.5 * np.minimum(user.social_count, 3)
        + 0.3 * np.log(world.e_viral[rows])
        + world.e_quality[rows]
        + 0.4 * ((world.e_loc[rows] == world.loc[u]) & (world.loc[u] >= 0))
        - 4.0 * ~readable
        - 3.0 * world.e_spam[rows]
        + world.novelty[u] * 1.5 * (1.0 - similar)
        - 0.8 * seen
        - 2.5 * already
        - 0.04 * np.maximum(t - world.e_start[rows], 0.0)
    )
    return 1.0 / (1.0 + np.exp(-(util - 3.0)))


class NoisyScorer:
    """The logging policy: the formula plus exploration noise."""

    name = "formula+explore"

    def __init__(self, base: Scorer, sigma: float, rng: np.random.Generator) -> None:
        self.base, self.sigma, self.rng = base, sigma, rng

    def score(self, X: np.ndarray) -> np.ndarray:
        s = self.base.score(X)
        return s + self.rng.normal(0.0, self.sigma, size=s.shape).astype(np.float32)


def run_simulation(*, seed: int = 0, cfg: SimConfig | None = None, progress=None) -> dict:
    import sklearn.ensemble  # noqa: F401 - load its OpenMP runtime now, so the limit below covers it
    from threadpoolctl import threadpool_limits

    # One thread for BLAS and OpenMP: on a small shared machine, idle-spinning OpenMP workers
    # (left by the gradient-boosting model) slow every later BLAS call; serving does the same.
    with threadpool_limits(limits=1):
        return _run_simulation(seed=seed, cfg=cfg, progress=progress)


def _run_simulation(*, seed: int = 0, cfg: SimConfig | None = None, progress=None) -> dict:
    cfg = cfg or SimConfig(seed=seed)
    rng = np.random.default_rng(cfg.seed)
    started = time.perf_counter()
    world = build_world(cfg, rng)
    from trends.ranking.scoring import DEFAULT_WEIGHTS

    weights = dict(DEFAULT_WEIGHTS)
    config = RankConfig(weights=weights)
    formula = FormulaScorer(weights=weights)
    logger = NoisyScorer(formula, cfg.explore_sigma, rng)
    states = [UserState() for _ in range(cfg.n_users)]
    exam = 1.0 / (1.0 + np.arange(cfg.list_length)) ** cfg.position_decay

    log_X: list[np.ndarray] = []
    log_y: list[np.ndarray] = []
    log_pos: list[np.ndarray] = []
    log_group: list[np.ndarray] = []
    log_time: list[np.ndarray] = []
    log_explore: list[np.ndarray] = []
    learned: Scorer | None = None
    fit_info: dict = {}
    per_policy: dict[str, dict[str, list[float]]] = {
        p: {"ndcg": [], "recall": [], "ild": [], "cov": []} for p in POLICIES
    }
    top_lists: dict[str, dict[int, list[np.ndarray]]] = {p: {} for p in POLICIES}
    group = 0

    for day in range(cfg.days):
        if day == cfg.train_days:
            data = TrainingData(
                X=np.vstack(log_X), y=np.concatenate(log_y), positions=np.concatenate(log_pos),
                groups=np.concatenate(log_group), times=np.concatenate(log_time),
                explore=np.concatenate(log_explore),
            )
            if os.environ.get("RANKING_SIM_DUMP"):  # for offline model experiments
                np.savez(os.environ["RANKING_SIM_DUMP"], X=data.X, y=data.y, p=data.positions, g=data.groups, t=data.times, e=data.explore)
            fit = fit_ranker(data, weights=weights, version=f"sim-{cfg.seed}", seed=cfg.seed)
            learned = fit.scorer if fit.passed and fit.scorer else formula
            fit_info = {"passed_checks": fit.passed, "reason": fit.reason, **fit.metrics}
            if progress:
                progress(f"trained on {len(data)} impressions: {fit.reason}")
        evaluating = day >= cfg.train_days
        active = np.flatnonzero(rng.random(cfg.n_users) < cfg.session_prob)
        times = day * 24.0 + rng.uniform(8, 23, size=active.size)
        for u, t in sorted(zip(active.tolist(), times.tolist(), strict=True), key=lambda x: x[1]):
            alive = np.flatnonzero((world.e_start <= t) & (world.e_start > t - EVENT_LIFETIME_H))
            if alive.size < cfg.list_length:
                continue
            pool = make_pool(world, alive, t)
            state = states[u]
            user = make_user(world, u, state, pool, t)
            if evaluating:
                p_rel = relevance(world, u, state, pool, user, t)
                relevant = (rng.random(p_rel.size) < p_rel).astype(np.float64)
                mask = eligible_mask(pool=pool, user=user, category=None, language_filter=True)
                elig = np.flatnonzero(mask)
                n_rel = int(relevant[elig].sum())
                lists = {
                    "chronological": elig[np.argsort(-pool.first_seen_h[elig], kind="stable")[:10]],
                    "popularity": elig[np.argsort(-pool.trend_score[elig], kind="stable")[:10]],
                }
                for name, scorer in (("formula", formula), ("learned", learned)):
                    out = rank_pool(
                        pool=pool, user=user, scorer=scorer, config=config, now_h=t, limit=10,
                        explain_items=False,
                    )
                    lists[name] = out.rows
                for name, rows in lists.items():
                    metrics = per_policy[name]
                    ndcg = ndcg_at_k(relevant[rows], relevant[elig], 10)
                    if ndcg is not None:
                        metrics["ndcg"].append(ndcg)
                        metrics["recall"].append(recall_at_k(relevant[rows], n_rel, 10))
                    metrics["ild"].append(intra_list_diversity(pool.emb[rows]))
                    metrics["cov"].append(category_coverage(pool.category[rows], N_CAT))
                    top_lists[name].setdefault(day, []).append(pool.ids[rows])
            else:
                p_rel = relevance(world, u, state, pool, user, t)

            # What the user is actually shown: the logging policy, on every day.
            served = rank_pool(
                pool=pool, user=user, scorer=logger, config=config, now_h=t, limit=cfg.list_length,
                explain_items=False,
            )
            n = served.rows.size
            explore = rng.random() < cfg.explore_rate
            if explore:
                perm = rng.permutation(n)
                served.rows, served.features = served.rows[perm], served.features[perm]
            clicks = rng.random(n) < exam[:n] * p_rel[served.rows]
            events = pool.ids[served.rows]
            for k, e in enumerate(events.tolist()):
                state.seen[e] = state.seen.get(e, 0) + 1
                if clicks[k]:
                    state.history.append((e, "click", t))
                    state.clicked.add(e)
                    if rng.random() < 0.3:
                        state.history.append((e, "like", t))
                elif p_rel[served.rows[k]] < 0.05 and rng.random() < 0.04:
                    state.history.append((e, "dismiss", t))
                    state.dismissed.add(e)
            world.impressions[events] += 1
            world.clicks[events[clicks]] += 1
            if not evaluating:
                log_X.append(served.features)
                log_y.append(clicks.astype(np.int8))
                log_pos.append(np.arange(n))
                log_group.append(np.full(n, group))
                log_time.append(np.full(n, t))
                log_explore.append(np.full(n, explore))
                group += 1
        if progress:
            progress(f"day {day + 1}/{cfg.days} simulated")

    result: dict = {}
    for name in POLICIES:
        m = per_policy[name]
        pers = [personalization(lists, seed=cfg.seed) for lists in top_lists[name].values()]
        result[name] = {
            "ndcg_at_10": round(float(np.mean(m["ndcg"])), 4),
            "recall_at_10": round(float(np.mean(m["recall"])), 4),
            "intra_list_diversity": round(float(np.mean(m["ild"])), 4),
            "category_coverage": round(float(np.mean(m["cov"])), 4),
            "personalization": round(float(np.mean(pers)), 4),
        }
    latency = measure_latency(world=world, cfg=cfg, scorer=learned or formula, config=config, rng=rng)
    result.update(latency)
    result["learned_model"] = fit_info
    result["simulation"] = {
        "seed": cfg.seed, "users": cfg.n_users, "communities": cfg.n_communities, "days": cfg.days,
        "train_days": cfg.train_days, "events": int(world.e_start.size),
        "eval_lists": len(per_policy["formula"]["ild"]),
        "seconds": round(time.perf_counter() - started, 1),
    }
    return result


def measure_latency(
    *, world: World, cfg: SimConfig, scorer: Scorer, config: RankConfig, rng: np.random.Generator
) -> dict:
    """Wall time of rank_pool for one user over `latency_candidates` live events (in-process).

    CPU time per call and the machine's load average are reported too: on a shared machine the
    wall-clock tail is mostly time spent waiting for a core.
    """
    big_cfg = replace(cfg, seed=cfg.seed + 1, days=1, events_per_day=cfg.latency_candidates)
    big = build_world(big_cfg, np.random.default_rng(cfg.seed + 1), n_events=cfg.latency_candidates)
    big.e_start[:] = rng.uniform(0, 24, size=big.e_start.size)
    t = 30.0
    rows = np.arange(big.e_start.size)
    pool = make_pool(big, rows, t)
    busiest = int(np.argmax([len(s) for s in world.followees]))
    state = UserState(history=[(int(e), "click", t - 1.0) for e in rng.choice(rows, size=30, replace=False)])
    user = make_user(big, busiest, state, pool, t)
    wall, cpu = [], []
    for i in range(cfg.latency_runs + 20):
        start, start_cpu = time.perf_counter(), time.thread_time()
        rank_pool(pool=pool, user=user, scorer=scorer, config=config, now_h=t, limit=20)
        if i >= 20:  # warm-up runs excluded
            wall.append((time.perf_counter() - start) * 1000.0)
            cpu.append((time.thread_time() - start_cpu) * 1000.0)
    return {
        "rank_p50_ms": round(float(np.percentile(wall, 50)), 3),
        "rank_p99_ms": round(float(np.percentile(wall, 99)), 3),
        "rank_cpu_p50_ms": round(float(np.percentile(cpu, 50)), 3),
        "rank_cpu_p99_ms": round(float(np.percentile(cpu, 99)), 3),
        "latency_candidates": int(len(pool)),
        "latency_scorer": scorer.name,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
