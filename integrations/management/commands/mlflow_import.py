"""Import (or sync again) a connected MLflow registry in this process, printing progress and the result."""

from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Team, User
from integrations.models import MlflowRegistry
from integrations.services import mlflow_sync, registries


class Command(BaseCommand):
    help = (
        "Import an MLflow registry: --registry NAME (connected already), or --tracking-uri URI --team TEAM "
        "--as USER to connect it first. Re-running changes nothing that has not changed in MLflow."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--registry", help="the connected registry's name (default: derived from the URI)"
        )
        parser.add_argument("--tracking-uri", help="connect this MLflow tracking server if not connected")
        parser.add_argument("--team", help="the team that owns imported models (when connecting)")
        parser.add_argument("--as", dest="username", required=True, help="the Attest user acting")
        parser.add_argument("--model", default="", help="only this MLflow registered model")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args, **options):
        actor = User.objects.filter(username=options["username"], is_active=True).first()
        if actor is None:
            raise CommandError(f"no active user {options['username']!r}")
        try:
            registry = self._registry(actor, options)
            job, _ = mlflow_sync.sync_request(
                actor=actor, registry=registry, model_name=options["model"], queue=False
            )
            job = mlflow_sync.sync_run(sync_id=job.pk) or job
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError(str(exc)) from None
        job.refresh_from_db()
        if options["json"]:
            self.stdout.write(
                json.dumps({"id": job.pk, "status": job.status, "result": job.result, "error": job.error})
            )
        else:
            self.stdout.write(f"sync {job.pk} of {registry.name}: {job.status}")
            for key, value in job.result.get("counts", {}).items():
                self.stdout.write(f"  {key}: {value}")
            for problem in job.result.get("problems", []):
                self.stdout.write(f"  problem: {problem['where']}: {problem['message']}")
        if job.status != job.Status.SUCCEEDED:
            raise CommandError(job.error or "the sync failed")

    def _registry(self, actor: User, options) -> MlflowRegistry:
        uri = registries.normalised_uri(options.get("tracking_uri") or "")
        found = MlflowRegistry.objects.filter(name=options["registry"]) if options.get("registry") else None
        if found is None and uri:
            found = MlflowRegistry.objects.filter(tracking_uri=uri)
        registry = found.first() if found is not None else None
        if registry is not None:
            return registry
        if not uri or not options.get("team"):
            raise CommandError("unknown registry: give --tracking-uri and --team to connect it")
        team = Team.objects.filter(name=options["team"]).first()
        if team is None:
            raise CommandError(f"no team {options['team']!r}")
        name = options.get("registry") or mlflow_sync.attest_name(uri.split("://", 1)[-1])[:64]
        return registries.registry_create(actor=actor, name=name, tracking_uri=uri, team=team)
