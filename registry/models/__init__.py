"""Registry models: the inventory, versions with their artifacts, datasets and the lineage graph."""

from registry.models.datasets import Dataset, DatasetVersion
from registry.models.inventory import (
    ModelStatus,
    RegisteredModel,
    RiskTier,
    TierChange,
    TierChangeStatus,
    TieringRule,
)
from registry.models.lineage import EdgeKind, LineageEdge, LineageEvent, LineageRun
from registry.models.saved_filters import SavedFilter
from registry.models.versions import ArtifactFormat, ModelAlias, ModelVersion

__all__ = [
    "ArtifactFormat",
    "Dataset",
    "DatasetVersion",
    "EdgeKind",
    "LineageEdge",
    "LineageEvent",
    "LineageRun",
    "ModelAlias",
    "ModelStatus",
    "ModelVersion",
    "RegisteredModel",
    "RiskTier",
    "SavedFilter",
    "TierChange",
    "TierChangeStatus",
    "TieringRule",
]
