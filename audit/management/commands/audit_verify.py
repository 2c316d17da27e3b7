"""`manage.py audit_verify`: verify the audit chain and its signed checkpoints; exit 0 if intact, 1 if not."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit import checkpoints, keys, verifier


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # start fast: no URL or template checks
    help = (
        "Walk the audit chain in seq order (constant memory), recompute every hash, report gaps, check every "
        "checkpoint signature and that the chain passes through each signed head. Read-only: safe on a replica."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from-seq", type=int, default=None, help="Start at this seq (default 1).")
        parser.add_argument(
            "--checkpoints",
            type=Path,
            default=None,
            help="Exported checkpoints (a JSON-lines file or a folder of them, e.g. a copy of the S3 bucket); "
            "default: ATTEST_AUDIT_EXPORT_DIR when it holds any.",
        )
        parser.add_argument(
            "--public-key",
            type=Path,
            action="append",
            default=[],
            help="A trusted public key (PEM); repeat for rotated keys. Default: every *.pub beside the signing key.",
        )
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args, **options):
        if options["from_seq"] is not None and options["from_seq"] < 1:
            raise CommandError("--from-seq must be 1 or more.")
        try:
            public_keys = keys.public_keys(options["public_key"])
            report = verifier.verify(
                public_keys=public_keys,
                from_seq=options["from_seq"],
                export=options["checkpoints"] or checkpoints.default_export(),
            )
        except (keys.SigningKeyError, checkpoints.CheckpointError) as exc:
            raise CommandError(str(exc)) from None
        self._print(report, options["json"])
        if not report.intact:
            raise CommandError(self._failure(report), returncode=1)

    def _print(self, report: verifier.Report, as_json: bool) -> None:
        if as_json:
            self.stdout.write(verifier.to_json(report))
            return
        for line in verifier.describe(report):
            self.stdout.write(line)
        if report.intact:
            self.stdout.write(self.style.SUCCESS("OK: the audit chain is intact."))

    def _failure(self, report: verifier.Report) -> str:
        problem = report.first_problem
        if problem is None:
            return "the audit chain is NOT intact"
        where = f"seq {problem.seq}" if problem.seq is not None else f"checkpoint {problem.checkpoint}"
        return f"the audit chain is NOT intact: first bad {where} [{problem.code}]: {problem.message}"
