"""Render the For You pages of recently active users ahead of their next request.

    python manage.py precompute_pages [--active-within SECONDS] [--limit N]

The same pass the `pages.precompute` task runs after a curation change. Prints one JSON line:
pages rendered, seconds, ms per page.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Render and store the For You pages of recently active users (prints JSON)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--active-within", type=int, default=None, help="seconds (default FOR_YOU_ACTIVE_SECONDS)")
        parser.add_argument("--limit", type=int, default=None, help="most users (default FOR_YOU_PRECOMPUTE_LIMIT)")

    def handle(self, *args, **options) -> None:
        from trends.pages.services import pages_precompute

        for name in ("active_within", "limit"):
            if options[name] is not None and options[name] < 0:
                raise CommandError(f"--{name.replace('_', '-')} must be 0 or more, got {options[name]}")
        result = pages_precompute(active_within_s=options["active_within"], limit=options["limit"])
        self.stdout.write(
            json.dumps({"pages": result.pages, "seconds": round(result.seconds, 3), "ms_per_page": round(result.ms_per_page, 2)})
        )
