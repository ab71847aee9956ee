"""Train the learned ranker from the served-feed log and engagements.

    python manage.py train_ranker [--days N]

Saves a versioned artifact under RANKING_MODEL_DIR with its offline metrics and a
RankingModelVersion row; the model serves only if it passed its checks (else the formula does).
Exits non-zero with one readable line when there is too little data.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Train the learned ranking model from logged impressions and clicks."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=14, help="how many days of logs to train on")

    def handle(self, *args, **options) -> None:
        from trends.ranking.services import model_train

        outcome = model_train(days=options["days"])
        if outcome.version is None:
            raise CommandError(f"no model trained: {outcome.fit.reason}")
        v = outcome.version
        state = "active" if v.is_active else "saved, not active (formula keeps serving)"
        self.stdout.write(f"model {v.version}: {outcome.fit.reason}; {state}")
        self.stdout.write(json.dumps(v.metrics, sort_keys=True))
