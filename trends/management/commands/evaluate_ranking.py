"""Offline evaluation of the ranking policies on a simulated population.

    python manage.py evaluate_ranking [--seed N] [--json OUT]

Prints one JSON object (read by scripts): per policy (chronological, popularity, formula, learned)
ndcg_at_10, recall_at_10, intra_list_diversity, category_coverage, personalization; plus
rank_p50_ms / rank_p99_ms for ranking one user over 5,000 candidates in-process. The simulation
feeds the same features, scorers, re-ranker and training code the site uses
(docs/evaluation.md (part 2) documents the generative model).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Simulate users and days of feeds; compare ranking policies on held-out days (prints JSON)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
        parser.add_argument("--json", dest="json_out", default=None, help="also write the JSON here")

    def handle(self, *args, **options) -> None:
        from trends.ranking.simulation import run_simulation

        def progress(message: str) -> None:
            print(message, file=sys.stderr, flush=True)

        result = run_simulation(seed=options["seed"], progress=progress)
        text = json.dumps(result, indent=2, sort_keys=False)
        if options["json_out"]:
            out = Path(options["json_out"])
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text + "\n", encoding="utf-8")
        self.stdout.write(text)
