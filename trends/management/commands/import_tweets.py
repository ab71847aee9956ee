from dataclasses import replace

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from trends import text as textlib
from trends.importers import parse_csv, parse_jsonl
from trends.services import tweet_validate, tweets_ingest
from users.models import HANDLE_VALIDATOR, User

BATCH = 1000


class Command(BaseCommand):
    help = "Import posts from JSONL (Twitter API v2-like) or CSV (CrisisLexT26 columns). Idempotent on tweet id."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--format", choices=["auto", "jsonl", "csv"], default="auto")
        parser.add_argument("--max-errors-shown", type=int, default=50)

    def handle(self, *args, path, format, max_errors_shown, **options):
        fmt = format
        if fmt == "auto":
            fmt = "csv" if path.lower().endswith(".csv") else "jsonl"
        try:
            stream = open(path, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise CommandError(f"cannot open {path}: {exc.strerror}") from exc
        parser = parse_csv if fmt == "csv" else parse_jsonl
        authors: dict[str, int] = {}
        rejected = 0
        created = existing = 0
        batch = []
        with stream:
            for line_number, row, error in parser(stream):
                if error is None:
                    try:
                        item = self._validate(row, authors)
                    except ValidationError as exc:
                        field, messages = next(iter(exc.message_dict.items()))
                        error = f"{field}: {messages[0]}"
                if error is not None:
                    rejected += 1
                    if rejected <= max_errors_shown:
                        self.stderr.write(f"line {line_number}: {error}")
                    continue
                batch.append(item)
                if len(batch) >= BATCH:
                    result = tweets_ingest(items=batch)
                    created += len(result.created_ids)
                    existing += len(result.existing_ids)
                    batch = []
        if batch:
            result = tweets_ingest(items=batch)
            created += len(result.created_ids)
            existing += len(result.existing_ids)
        if rejected > max_errors_shown:
            self.stderr.write(f"... {rejected - max_errors_shown} more rejected rows not shown")
        self.stdout.write(f"imported {created}, already present {existing}, rejected {rejected} ({path})")
        if rejected:
            raise CommandError(f"{rejected} row(s) rejected; the valid rows were imported")

    def _validate(self, row, authors: dict[str, int]):
        author = row.pop("author", None)
        row["source"] = "import"
        # Validate the post before touching its author: a rejected row must leave nothing behind.
        item = tweet_validate(data=row)
        if author:
            handle = str(author.get("username", "")).strip()
            try:
                HANDLE_VALIDATOR(handle)
            except ValidationError as exc:
                raise ValidationError({"author": f"invalid handle {handle[:40]!r}"}) from exc
            author_id = authors.get(handle.lower())
            if author_id is None:
                user = User.objects.filter(username__iexact=handle).first()
                if user is None:
                    user = User(username=handle, display_name=str(author.get("name") or handle)[:80],
                                location=str(author.get("location") or "")[:80])
                    user.set_unusable_password()
                    user.save()
                author_id = authors[handle.lower()] = user.pk
            item = replace(item, author_id=author_id)
        if not item.lang:
            item = replace(item, lang=textlib.guess_language(item.text))
        return item
