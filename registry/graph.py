"""Lineage traversal: the nodes and edges within N hops of a node, upstream and downstream.

Breadth-first over ``LineageEdge``: one query per hop and direction, then one query per node type for
the nodes found. Nodes the user may not see are left out with their edges, and the walk does not pass
through them, so the graph never reveals another team's datasets or models.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q

from accounts import access
from registry.models import DatasetVersion, LineageEdge, ModelVersion, RegisteredModel

MAX_DEPTH = 10
# node type -> (edge column suffix, model class)
NODE_TYPES = {
    "dataset_version": ("dataset", DatasetVersion),
    "model_version": ("version", ModelVersion),
    "model": ("model", RegisteredModel),
}
Node = tuple[str, int]


def lineage_graph(
    *, user, root: ModelVersion | DatasetVersion | RegisteredModel, depth: int
) -> dict[str, Any]:
    """``{"root", "depth", "nodes": [...], "edges": [...]}`` within ``depth`` hops both ways of ``root``."""
    start = (_type_of(root), root.pk)
    edges: dict[int, LineageEdge] = {}
    nodes = {start}
    for direction in ("upstream", "downstream"):
        frontier = {start}
        for _ in range(depth):
            found = _step(user, frontier, direction)
            frontier = set()
            for edge in found:
                edges[edge.pk] = edge
                neighbour = _end(edge, "src" if direction == "upstream" else "dst")
                if neighbour not in nodes:
                    frontier.add(neighbour)
            nodes |= frontier
            if not frontier:
                break
    described = _describe(nodes)
    return {
        "root": _node_id(start, described),
        "depth": depth,
        "nodes": [described[node] for node in sorted(nodes, key=lambda n: (n[0], n[1])) if node in described],
        "edges": [
            {
                "source": _node_id(_end(edge, "src"), described),
                "target": _node_id(_end(edge, "dst"), described),
                "kind": edge.kind,
                "origin": edge.origin,
            }
            for edge in sorted(edges.values(), key=lambda e: e.pk)
            if _end(edge, "src") in described and _end(edge, "dst") in described
        ],
    }


def _type_of(obj) -> str:
    for name, (_, model) in NODE_TYPES.items():
        if isinstance(obj, model):
            return name
    raise TypeError(f"{type(obj).__name__} is not a lineage node")


def _step(user, frontier: set[Node], direction: str) -> list[LineageEdge]:
    """Edges arriving at (upstream) or leaving (downstream) the frontier whose far end the user may see."""
    near, far = ("dst", "src") if direction == "upstream" else ("src", "dst")
    condition = Q()
    for node_type, ids in _group(frontier).items():
        condition |= Q(**{f"{near}_{NODE_TYPES[node_type][0]}__in": ids})
    visible = Q()
    for _node_type, (suffix, model) in NODE_TYPES.items():
        visible |= Q(**{f"{far}_{suffix}__in": access.scope(user, model.objects.all()).values("pk")})
    return list(LineageEdge.objects.filter(condition).filter(visible))


def _group(nodes: Iterable[Node]) -> dict[str, list[int]]:
    grouped: dict[str, list[int]] = {}
    for node_type, pk in nodes:
        grouped.setdefault(node_type, []).append(pk)
    return grouped


def _end(edge: LineageEdge, side: str) -> Node:
    for node_type, (suffix, _) in NODE_TYPES.items():
        pk = getattr(edge, f"{side}_{suffix}_id")
        if pk is not None:
            return (node_type, pk)
    raise ValueError(f"edge {edge.pk} has no {side}")


def _describe(nodes: set[Node]) -> dict[Node, dict[str, Any]]:
    grouped = _group(nodes)
    described: dict[Node, dict[str, Any]] = {}
    for version in DatasetVersion.objects.filter(pk__in=grouped.get("dataset_version", [])).select_related(
        "dataset"
    ):
        described[("dataset_version", version.pk)] = {
            "id": f"dataset_version:{version.dataset.name}:{version.version}",
            "type": "dataset_version",
            "dataset": version.dataset.name,
            "version": version.version,
            "role": version.role,
            "sha256": version.file_sha256,
        }
    for version in ModelVersion.objects.filter(pk__in=grouped.get("model_version", [])).select_related(
        "model"
    ):
        described[("model_version", version.pk)] = {
            "id": f"model_version:{version.model.name}:{version.version}",
            "type": "model_version",
            "model": version.model.name,
            "version": version.version,
            "sha256": version.artifact_sha256,
        }
    for model in RegisteredModel.objects.filter(pk__in=grouped.get("model", [])):
        described[("model", model.pk)] = {"id": f"model:{model.name}", "type": "model", "model": model.name}
    return described


def _node_id(node: Node, described: dict[Node, dict[str, Any]]) -> str:
    return described[node]["id"]
