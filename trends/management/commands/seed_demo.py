import time

from django.core.management.base import BaseCommand, CommandError

from trends.demo.services import DEMO_HANDLE, demo_exists, demo_seed, demo_summary


class Command(BaseCommand):
    help = "Generate the seeded demo world (users, follows, bursty events, chatter, spam, engagement)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--users", type=int, default=1500)
        parser.add_argument("--scale", type=float, default=1.0, help="Multiplies the number of posts.")
        parser.add_argument("--force", action="store_true", help="Seed even if a demo is already loaded.")

    def handle(self, *args, seed, users, scale, force, **options):
        if users < 50 or scale <= 0:
            raise CommandError("--users must be at least 50 and --scale positive")
        if demo_exists() and not force:
            self.stdout.write(f"demo already loaded ({demo_summary()}); use --force to add another world")
            return
        started = time.monotonic()
        demo_seed(seed=seed, users=users, scale=scale, log=self.stdout.write)
        self.stdout.write(f"demo ready in {time.monotonic() - started:.0f}s: {demo_summary()}; log in as @{DEMO_HANDLE}")
