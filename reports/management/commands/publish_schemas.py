"""Write the JSON Schemas of the typed documents to docs/schemas/ (``--check``: only say if they are stale)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from reports import schemas


class Command(BaseCommand):
    help = "Write docs/schemas/*.json from the typed results, manifest and report inputs."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--check", action="store_true", help="Fail if a published schema is stale.")
        parser.add_argument("--directory", type=Path, default=None, help="Where to write (docs/schemas).")

    def handle(self, *args, check: bool, directory: Path | None, **options) -> None:
        directory = directory or schemas.schema_dir()
        if check:
            stale = schemas.stale(directory)
            if stale:
                raise CommandError(f"Stale schemas in {directory}: {', '.join(stale)}; run publish_schemas.")
            self.stdout.write("Schemas are current.")
            return
        directory.mkdir(parents=True, exist_ok=True)
        for name, schema in schemas.published().items():
            (directory / name).write_text(schemas.as_text(schema), encoding="utf-8")
        self.stdout.write(f"Wrote {len(schemas.published())} schemas to {directory}.")
