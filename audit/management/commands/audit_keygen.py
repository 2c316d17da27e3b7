"""`manage.py audit_keygen`: create the Ed25519 key that signs audit checkpoints."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit import keys


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # start fast: no URL or template checks
    help = (
        "Create the Ed25519 private key that signs audit checkpoints (ATTEST_AUDIT_SIGNING_KEY) and its "
        ".pub beside it. The private key never enters the database; keep a copy of the .pub with your auditors."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--path", type=Path, help="Where to write the key (default: ATTEST_AUDIT_SIGNING_KEY)."
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Rotate: keep the old public key as <name>.<id>.pub (so old checkpoints verify) and make a new key.",
        )

    def handle(self, *args, **options):
        path = options["path"] or keys.signing_key_path()
        try:
            key_id = keys.generate(path, replace=options["replace"])
        except keys.SigningKeyError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Wrote the audit signing key {path} (mode 0600) and {keys.public_path(path)}.")
        self.stdout.write(f"Key id: {key_id}")
