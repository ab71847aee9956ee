import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from trends.embedding import distill_static_model


class Command(BaseCommand):
    help = "Distil the shipped all-MiniLM-L6-v2 into a fast static (model2vec) model, offline."

    def add_arguments(self, parser):
        parser.add_argument("--output", default=settings.STATIC_MODEL_DIR)
        parser.add_argument("--pca-dims", type=int, default=256)
        parser.add_argument("--force", action="store_true", help="Rebuild even if the model exists.")

    def handle(self, *args, output, pca_dims, force, **options):
        from pathlib import Path

        if (Path(output) / "config.json").exists() and not force:
            self.stdout.write(f"static model already at {output} (use --force to rebuild)")
            return
        started = time.monotonic()
        try:
            path = distill_static_model(output_dir=output, pca_dims=pca_dims)
        except Exception as exc:  # noqa: BLE001 - one readable line for the operator
            raise CommandError(f"distillation failed: {exc}") from exc
        self.stdout.write(f"static model written to {path} in {time.monotonic() - started:.1f}s")
