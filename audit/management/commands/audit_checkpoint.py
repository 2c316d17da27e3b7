"""`manage.py audit_checkpoint`: sign the audit chain head now (beat does it hourly)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from audit import checkpoints, keys


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # start fast: no URL or template checks
    help = (
        "Sign the audit chain head with the Ed25519 key (ATTEST_AUDIT_SIGNING_KEY), store the checkpoint and "
        "append it to ATTEST_AUDIT_EXPORT_DIR. Does nothing when no event was recorded since the last one."
    )

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Sign even when nothing new was recorded.")

    def handle(self, *args, **options):
        had_key = keys.signing_key_path().exists()
        try:
            checkpoint = checkpoints.create(actor=None, force=options["force"])
        except keys.SigningKeyError as exc:
            raise CommandError(str(exc)) from None
        if not had_key and keys.signing_key_path().exists():
            self.stdout.write(
                f"No signing key existed, so a new one was created at {keys.signing_key_path()} "
                f"({settings.ATTEST_ENV} mode; production refuses to do this)."
            )
        exported = checkpoints.export_pending()  # also catches up on any earlier failed export
        if checkpoint is None:
            self.stdout.write("Nothing new to sign since the last checkpoint.")
            return
        self.stdout.write(
            f"Checkpoint {checkpoint.number}: seq {checkpoint.last_seq}, head {checkpoint.chain_head}, "
            f"key {checkpoint.key_id[:16]}…"
        )
        if exported:
            self.stdout.write(f"Exported to {checkpoints.export_dir() / checkpoints.EXPORT_FILE}.")
