#!/usr/bin/env python
"""Growth curves: how per-item costs and per-worker memory grow with the size of the live state.

    python bench/growth.py --json OUT --svg docs/growth.svg [--quick]

(a) clustering cost per post as active events grow 1k → 100k (the setup of
    `python -m trends.detection.bench`, reused, not copied);
(b) ranking cost per user as candidates grow 500 → 20k (the `rank_pool` call that
    `manage.py evaluate_ranking` times, through its own `measure_latency`, with the scorer the
    simulation trains);
(c) resident memory of one worker process (VmRSS from /proc/self/status, each case in a fresh
    subprocess): Django alone, + static embedding model, + full model, + clusterer with 100k events.

Prints one JSON object; draws a hand-written SVG (no plotting library is installed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLUSTER_SIZES = (1_000, 3_000, 10_000, 30_000, 100_000)
RANK_SIZES = (500, 1_000, 2_000, 5_000, 10_000, 20_000)


# --------------------------------------------------------------------------- (a) clustering


def clustering_curve(*, sizes, posts: int, repeat: int, repeat_large: int, dim: int) -> list[dict]:
    from trends.detection.bench import run

    rows = []
    for n in sizes:
        # Preloading 100k clusters takes seconds; fewer repetitions there keep the run short.
        reps = repeat if n <= 10_000 else repeat_large
        runs = [run(n, posts, dim, seed=k) for k in range(reps)]
        best = min(runs, key=lambda r: r["us_per_post"])
        best["runs_us_per_post"] = [r["us_per_post"] for r in runs]
        best["load_average_1m"] = round(os.getloadavg()[0], 2)
        rows.append(best)
        print(f"clustering {n:>7} active events: {best['us_per_post']} us/post", file=sys.stderr, flush=True)
    base = rows[0]["us_per_post"]
    for r in rows:
        r["vs_smallest"] = round(r["us_per_post"] / base, 2)
    return rows


# --------------------------------------------------------------------------- (b) ranking


def ranking_curve(*, sizes, runs: int, runs_large: int, scorer_kind: str, seed: int) -> tuple[list[dict], str]:
    import numpy as np
    from threadpoolctl import threadpool_limits

    from trends.ranking import simulation

    captured: dict = {}
    if scorer_kind == "learned":
        # Train the learned scorer exactly as evaluate_ranking does: run the simulation and keep the
        # arguments it hands to measure_latency (the scorer it would time at 5,000 candidates).
        original = simulation.measure_latency

        def capture(**kwargs):
            captured.update(kwargs)
            return original(**kwargs)

        simulation.measure_latency = capture
        try:
            simulation.run_simulation(seed=seed)
        finally:
            simulation.measure_latency = original
    else:
        from trends.ranking.scoring import DEFAULT_WEIGHTS, FormulaScorer
        from trends.ranking.types import RankConfig

        cfg = simulation.SimConfig(seed=seed, days=1, events_per_day=50)
        rng = np.random.default_rng(seed)
        weights = dict(DEFAULT_WEIGHTS)
        captured = {
            "world": simulation.build_world(cfg, rng), "cfg": cfg, "scorer": FormulaScorer(weights=weights),
            "config": RankConfig(weights=weights), "rng": rng,
        }
    rows = []
    with threadpool_limits(limits=1):  # as evaluate_ranking and the web workers run it
        for n in sizes:
            cfg = replace(captured["cfg"], latency_candidates=n, latency_runs=runs if n <= 5_000 else runs_large)
            rng = np.random.default_rng(seed + n)
            r = simulation.measure_latency(
                world=captured["world"], cfg=cfg, scorer=captured["scorer"], config=captured["config"], rng=rng
            )
            r["runs"] = cfg.latency_runs
            r["us_per_candidate_cpu_p50"] = round(r["rank_cpu_p50_ms"] * 1000.0 / n, 3)
            rows.append(r)
            print(f"ranking {n:>6} candidates: p50 {r['rank_p50_ms']} ms, p99 {r['rank_p99_ms']} ms "
                  f"(cpu p50 {r['rank_cpu_p50_ms']})", file=sys.stderr, flush=True)
    return rows, captured["scorer"].name


# --------------------------------------------------------------------------- (c) memory

_MEM_PRELUDE = """
import os, sys, json
sys.path.insert(0, {root!r})
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "explore_site.settings")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("EMBEDDING_THREADS", "2")
import django
django.setup()
import numpy as np
def rss():
    out = {{}}
    for line in open("/proc/self/status"):
        if line.startswith(("VmRSS:", "VmHWM:")):
            out[line.split(":")[0]] = round(int(line.split()[1]) / 1024, 1)
    return out
"""

MEM_CASES = {
    "django_baseline": "pass",
    "static_model": (
        "from trends.embedding import get_embedder\n"
        "e = get_embedder('static'); e.encode(['warm up the static model with one post #test'] * 64)"
    ),
    "full_model": (
        "from trends.embedding import get_embedder\n"
        "e = get_embedder('full'); e.encode(['warm up the full model with one post #test'] * 64)"
    ),
    "clusterer_100k_events": (
        # run() builds the clusterer, preloads 100k events and streams posts through it; a subclass
        # keeps the instance alive so VmRSS is read with the clusterer still resident.
        "import gc\n"
        "import trends.detection.bench as b\n"
        "kept = []\n"
        "class Kept(b.OnlineClusterer):\n"
        "    def __init__(self, *a, **k):\n"
        "        super().__init__(*a, **k)\n"
        "        kept.append(self)\n"
        "b.OnlineClusterer = Kept\n"
        "b.run(100000, 500, 384)\n"
        "gc.collect()\n"
        "assert kept and len(kept[0].active_ids) >= 100000"
    ),
}


def memory(cases=MEM_CASES) -> list[dict]:
    rows = []
    for name, body in cases.items():
        code = _MEM_PRELUDE.format(root=str(ROOT)) + body + "\nprint(json.dumps(rss()))\n"
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")}
        try:
            proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                                  timeout=300, cwd=ROOT)
        except subprocess.TimeoutExpired:
            rows.append({"case": name, "error": "timeout"})
            continue
        if proc.returncode != 0:
            rows.append({"case": name, "error": proc.stderr.strip().splitlines()[-1:] or ["failed"]})
            continue
        vals = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append({"case": name, "rss_mb": vals.get("VmRSS"), "peak_rss_mb": vals.get("VmHWM")})
        print(f"memory {name}: {rows[-1]}", file=sys.stderr, flush=True)
    return rows


# --------------------------------------------------------------------------- SVG

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _fmt_count(v: float) -> str:
    return f"{int(v / 1000)}k" if v >= 1000 else str(int(v))


def _nice_max(v: float) -> float:
    import math

    if v <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if v <= m * exp:
            return m * exp
    return 10 * exp


def line_chart(*, x0: float, y0: float, w: float, h: float, title: str, xlabel: str, ylabel: str,
               series: list[tuple[str, list[float], list[float], str]], note: str = "") -> list[str]:
    """A log-x / linear-y line chart whose plot area's top-left corner is (x0, y0).

    Each series is (name, xs, ys, value labels: "above", "below" or "" for none).
    """
    import math

    xs_all = [x for _, xs, _, _ in series for x in xs]
    ys_all = [y for _, _, ys, _ in series for y in ys]
    lx_min, lx_max = math.log10(min(xs_all)), math.log10(max(xs_all))
    pad = (lx_max - lx_min) * 0.04
    lx_min, lx_max = lx_min - pad, lx_max + pad
    y_max = _nice_max(max(ys_all) * 1.1)

    def px(x: float) -> float:
        return x0 + (math.log10(x) - lx_min) / (lx_max - lx_min) * w

    def py(y: float) -> float:
        return y0 + h - y / y_max * h

    out = [f'<text x="{x0 + w / 2:.1f}" y="{y0 - 22:.1f}" class="title" text-anchor="middle">{_esc(title)}</text>']
    out.append(f'<rect x="{x0}" y="{y0}" width="{w}" height="{h}" class="frame"/>')
    lead = round(y_max / 10 ** math.floor(math.log10(y_max)), 1)
    divs = {1.5: 3, 3.0: 3, 6.0: 6, 2.0: 4, 4.0: 4, 8.0: 4}.get(lead, 5)  # round tick values
    for i in range(divs + 1):  # y grid
        v = y_max * i / divs
        yy = py(v)
        out.append(f'<line x1="{x0}" y1="{yy:.1f}" x2="{x0 + w}" y2="{yy:.1f}" class="grid"/>')
        label = f"{v:.0f}" if y_max >= 10 else f"{v:.1f}"
        out.append(f'<text x="{x0 - 8}" y="{yy + 4:.1f}" text-anchor="end" class="tick">{label}</text>')
    for x in sorted(set(xs_all)):  # x ticks at the measured sizes (log-spaced)
        xx = px(x)
        out.append(f'<line x1="{xx:.1f}" y1="{y0}" x2="{xx:.1f}" y2="{y0 + h}" class="grid"/>')
        out.append(f'<text x="{xx:.1f}" y="{y0 + h + 18}" text-anchor="middle" class="tick">{_fmt_count(x)}</text>')
    out.append(f'<text x="{x0 + w / 2:.1f}" y="{y0 + h + 42}" text-anchor="middle" class="axis">{_esc(xlabel)}</text>')
    out.append(f'<text transform="translate({x0 - 52:.1f},{y0 + h / 2:.1f}) rotate(-90)" text-anchor="middle" '
               f'class="axis">{_esc(ylabel)}</text>')
    for k, (name, xs, ys, labels) in enumerate(series):
        color = PALETTE[k % len(PALETTE)]
        pts = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys, strict=True))
        out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2.5"/>')
        for x, y in zip(xs, ys, strict=True):
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="4" fill="{color}"/>')
            if labels:
                dy = -9 if labels == "above" else 17
                out.append(f'<text x="{px(x):.1f}" y="{py(y) + dy:.1f}" text-anchor="middle" class="val" '
                           f'fill="{color}">{y:g}</text>')
        ly = y0 + 16 + k * 18  # legend, top-left inside the plot
        out.append(f'<line x1="{x0 + 12}" y1="{ly - 4}" x2="{x0 + 34}" y2="{ly - 4}" stroke="{color}" stroke-width="2.5"/>')
        out.append(f'<text x="{x0 + 40}" y="{ly}" class="legend">{_esc(name)}</text>')
    if note:
        out.append(f'<text x="{x0 + w / 2:.1f}" y="{y0 + h + 60}" text-anchor="middle" class="note">{_esc(note)}</text>')
    return out


def bar_chart(*, x0: float, y0: float, w: float, h: float, title: str, bars: list[tuple[str, float]]) -> list[str]:
    """Horizontal bars (MB), label on the left, value at the bar's end."""
    out = [f'<text x="{x0 + w / 2:.1f}" y="{y0 - 22:.1f}" class="title" text-anchor="middle">{_esc(title)}</text>']
    v_max = _nice_max(max(v for _, v in bars) * 1.15)
    band = h / max(1, len(bars))
    label_w = 210
    bw = w - label_w
    out.append(f'<line x1="{x0 + label_w}" y1="{y0}" x2="{x0 + label_w}" y2="{y0 + h}" class="axisline"/>')
    for i in range(5):
        v = v_max * i / 4
        xx = x0 + label_w + v / v_max * bw
        out.append(f'<line x1="{xx:.1f}" y1="{y0}" x2="{xx:.1f}" y2="{y0 + h}" class="grid"/>')
        out.append(f'<text x="{xx:.1f}" y="{y0 + h + 18}" text-anchor="middle" class="tick">{v:.0f}</text>')
    out.append(f'<text x="{x0 + label_w + bw / 2:.1f}" y="{y0 + h + 42}" text-anchor="middle" class="axis">'
               'resident memory of one process, MB (VmRSS)</text>')
    for i, (name, v) in enumerate(bars):
        yy = y0 + i * band + band * 0.2
        bh = band * 0.6
        out.append(f'<rect x="{x0 + label_w}" y="{yy:.1f}" width="{v / v_max * bw:.1f}" height="{bh:.1f}" '
                   f'fill="{PALETTE[i % len(PALETTE)]}" opacity="0.85"/>')
        out.append(f'<text x="{x0 + label_w - 10}" y="{yy + bh / 2 + 5:.1f}" text-anchor="end" class="legend">{_esc(name)}</text>')
        out.append(f'<text x="{x0 + label_w + v / v_max * bw + 6:.1f}" y="{yy + bh / 2 + 5:.1f}" class="val">{v:.0f} MB</text>')
    return out


MEM_LABELS = {
    "django_baseline": "Django + numpy only",
    "static_model": "Django + static embedding model",
    "full_model": "Django + full MiniLM model",
    "clusterer_100k_events": "Django + clusterer, 100k events",
}


def render_svg(result: dict) -> str:
    W, H = 1200, 860
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
        'font-family="Helvetica, Arial, sans-serif">',
        "<style>.title{font-size:17px;font-weight:bold;fill:#222}.axis{font-size:13px;fill:#333}"
        ".tick{font-size:12px;fill:#555}.legend{font-size:13px;fill:#222}.val{font-size:11px;fill:#333}"
        ".note{font-size:11px;fill:#777}.frame{fill:none;stroke:#999}.grid{stroke:#e3e3e3}"
        ".axisline{stroke:#999}</style>",
        f'<rect width="{W}" height="{H}" fill="white"/>',
        f'<text x="{W / 2}" y="30" text-anchor="middle" style="font-size:20px;font-weight:bold">'
        f'Explore growth curves ({_esc(result["date"])}, {_esc(result["machine"])})</text>',
        f'<text x="{W / 2}" y="52" text-anchor="middle" class="note">shared machine: 1-minute load average '
        f'{result["load_average_start"][0]} at start, {result["load_average_end"][0]} at end; '
        'each memory case is a fresh process</text>',
    ]
    cl = result["clustering"]
    parts += line_chart(
        x0=90, y0=100, w=460, h=330, title="Clustering cost per post vs active events",
        xlabel="active events (log scale)", ylabel="µs per post (best run)",
        series=[("OnlineClusterer.add, µs/post", [r["active_events"] for r in cl], [r["us_per_post"] for r in cl],
                 "above")],
        note=f"{cl[-1]['vs_smallest']}× from {_fmt_count(cl[0]['active_events'])} to "
             f"{_fmt_count(cl[-1]['active_events'])} events, at most {max(r['vs_smallest'] for r in cl)}× "
             "at any size (target ≤ 2×); best of 2-3 runs",
    )
    rk = result["ranking"]
    xs = [r["latency_candidates"] for r in rk]
    parts += line_chart(
        x0=690, y0=100, w=460, h=330, title=f"Ranking one user vs candidates ({result['ranking_scorer']} scorer)",
        xlabel="candidate events (log scale)", ylabel="ms per user",
        series=[("wall p50", xs, [r["rank_p50_ms"] for r in rk], "below"),
                ("wall p99", xs, [r["rank_p99_ms"] for r in rk], "above"),
                ("CPU p50 (under wall p50 when a core is free)", xs, [r["rank_cpu_p50_ms"] for r in rk], "")],
        note="rank_pool, top 20, 1 BLAS thread",
    )
    bars = [(MEM_LABELS.get(r["case"], r["case"]), r["rss_mb"]) for r in result["memory"] if r.get("rss_mb")]
    if bars:
        parts += bar_chart(x0=100, y0=610, w=960, h=170, title="Memory per worker process", bars=bars)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", dest="json_out", help="also write the JSON here")
    parser.add_argument("--svg", dest="svg_out", help="draw the curves to this SVG file")
    parser.add_argument("--posts", type=int, default=2000, help="posts timed per clustering run")
    parser.add_argument("--repeat", type=int, default=3, help="clustering runs per size up to 10k (best kept)")
    parser.add_argument("--repeat-large", type=int, default=2, help="clustering runs per size above 10k")
    parser.add_argument("--rank-runs", type=int, default=200, help="timed ranking calls per size up to 5k")
    parser.add_argument("--rank-runs-large", type=int, default=100, help="timed ranking calls above 5k")
    parser.add_argument("--scorer", choices=["learned", "formula"], default="learned",
                        help="learned = train it through the ranking simulation first, as evaluate_ranking does")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    parser.add_argument("--render", metavar="JSON", help="only redraw --svg from an earlier run's JSON")
    args = parser.parse_args()
    if args.render:
        Path(args.svg_out).write_text(render_svg(json.loads(Path(args.render).read_text())), encoding="utf-8")
        return

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "explore_site.settings")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import django

    django.setup()

    cluster_sizes, rank_sizes = CLUSTER_SIZES, RANK_SIZES
    if args.quick:
        cluster_sizes, rank_sizes = (500, 2000), (200, 1000)
        args.posts, args.repeat, args.repeat_large, args.rank_runs, args.rank_runs_large = 300, 1, 1, 30, 30
        args.scorer = "formula"
    started = time.perf_counter()
    load_start = os.getloadavg()
    result: dict = {
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "load_average_start": [round(v, 2) for v in load_start],
    }
    result["clustering"] = clustering_curve(sizes=cluster_sizes, posts=args.posts, repeat=args.repeat,
                                            repeat_large=args.repeat_large, dim=384)
    result["ranking"], result["ranking_scorer"] = ranking_curve(
        sizes=rank_sizes, runs=args.rank_runs, runs_large=args.rank_runs_large, scorer_kind=args.scorer, seed=args.seed)
    result["memory"] = [] if args.skip_memory else memory()
    cl = result["clustering"]
    result["clustering_growth_smallest_to_largest"] = cl[-1]["vs_smallest"]
    result["clustering_within_2x"] = cl[-1]["vs_smallest"] <= 2.0
    result["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    result["seconds"] = round(time.perf_counter() - started, 1)

    text = json.dumps(result, indent=2)
    if args.json_out:
        Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_out).write_text(text + "\n", encoding="utf-8")
    if args.svg_out:
        Path(args.svg_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.svg_out).write_text(render_svg(result), encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
