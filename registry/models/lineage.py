"""The lineage graph over dataset versions, model versions and models, and the OpenLineage intake log.

Every relation of the graph is one ``LineageEdge`` row pointing from the upstream node to the
downstream node, so a traversal is one query per level in either direction. A node is a dataset
version, a model version or a model (the model stands for its pipeline or OpenLineage job).
Edges are only ever added: the facts they record (what a version was trained on) do not change.
"""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models

from registry.models.datasets import DatasetVersion
from registry.models.inventory import RegisteredModel
from registry.models.versions import ModelVersion


class EdgeKind(models.TextChoices):
    TRAINED_ON = "trained_on", "dataset version → model version it trained"
    VALIDATED_ON = "validated_on", "dataset version → model version it validated"
    PARENT = "parent", "parent version → version derived from it"
    UPSTREAM_MODEL = "upstream_model", "upstream model → model that consumes its output"
    VERSION_OF = "version_of", "model → one of its versions"
    CONSUMED = "consumed", "dataset version → model or version whose run read it (OpenLineage)"
    PRODUCED = "produced", "model or version → dataset version its run wrote (OpenLineage)"


class EdgeOrigin(models.TextChoices):
    DECLARED = "declared", "Declared through the API"
    OPENLINEAGE = "openlineage", "Reported by an OpenLineage run event"


def _one_of(prefix: str) -> models.Q:
    """Exactly one of the three ``<prefix>_*`` node columns is set."""
    names = [f"{prefix}_dataset", f"{prefix}_version", f"{prefix}_model"]
    options = []
    for chosen in names:
        options.append(
            models.Q(**{f"{chosen}__isnull": False}, **{f"{n}__isnull": True for n in names if n != chosen})
        )
    return options[0] | options[1] | options[2]


class LineageEdge(models.Model):
    """``src`` → ``dst``: data or knowledge flows from the source to the destination.

    Guarantees: each end is exactly one node; an edge of a given kind between two nodes exists once.
    """

    kind = models.CharField(max_length=20, choices=EdgeKind.choices)
    origin = models.CharField(max_length=20, choices=EdgeOrigin.choices, default=EdgeOrigin.DECLARED)
    src_dataset = models.ForeignKey(
        DatasetVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="edges_out"
    )
    src_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="edges_out"
    )
    src_model = models.ForeignKey(
        RegisteredModel, null=True, blank=True, on_delete=models.PROTECT, related_name="edges_out"
    )
    dst_dataset = models.ForeignKey(
        DatasetVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="edges_in"
    )
    dst_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="edges_in"
    )
    dst_model = models.ForeignKey(
        RegisteredModel, null=True, blank=True, on_delete=models.PROTECT, related_name="edges_in"
    )
    run = models.ForeignKey("registry.LineageRun", null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=_one_of("src"), name="registry_edge_one_source"),
            models.CheckConstraint(condition=_one_of("dst"), name="registry_edge_one_destination"),
            models.UniqueConstraint(
                fields=[
                    "kind",
                    "src_dataset",
                    "src_version",
                    "src_model",
                    "dst_dataset",
                    "dst_version",
                    "dst_model",
                ],
                nulls_distinct=False,
                name="registry_edge_unique",
            ),
        ]
        # Append-only, except that a model's upstream dependencies can be replaced (the change is audited
        # on the model); what a version was built from is a fact and is never removed.
        triggers = [
            pgtrigger.Protect(name="registry_edge_no_update", operation=pgtrigger.Update),
            pgtrigger.Protect(
                name="registry_edge_no_delete",
                operation=pgtrigger.Delete,
                condition=~pgtrigger.Q(old__kind="upstream_model"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} edge #{self.pk}"


class LineageRun(models.Model):
    """One OpenLineage run (``run.runId``): its job, the model the job maps to, and its latest state."""

    run_id = models.CharField(max_length=100, unique=True)
    job_namespace = models.CharField(max_length=200)
    job_name = models.CharField(max_length=500)
    model = models.ForeignKey(
        RegisteredModel, null=True, blank=True, on_delete=models.PROTECT, related_name="runs"
    )
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="runs"
    )
    state = models.CharField(max_length=10)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    access_team_path = "model__team"

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"run {self.run_id} of {self.job_namespace}/{self.job_name}"


class LineageEvent(models.Model):
    """A RunEvent exactly as received (the raw JSON), with who sent it and what it resolved to."""

    run = models.ForeignKey(LineageRun, on_delete=models.PROTECT, related_name="events")
    event_type = models.CharField(max_length=10)
    event_time = models.DateTimeField()
    producer = models.CharField(max_length=500, blank=True)
    schema_url = models.CharField(max_length=500, blank=True)
    payload = models.JSONField()
    resolution = models.JSONField(default=dict, help_text="What the inputs, outputs and job mapped to.")
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField(auto_now_add=True)

    access_team_path = "run__model__team"

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.event_type} of {self.run_id}"
