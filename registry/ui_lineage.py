"""Server-side layout of a lineage graph for the pages: columns by hop from the root, boxes and arrows.

Input is what ``registry.graph.lineage_graph`` returns (already scoped to what the user may see); output
is plain geometry that ``templates/registry/_lineage.html`` draws as an inline SVG, so every label goes
through the template's autoescaping. The root sits in column 0; a node one hop upstream in column -1,
one hop downstream in column +1, and so on (breadth-first over the edges in both directions).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse

NODE_WIDTH = 190
NODE_HEIGHT = 46
COLUMN_GAP = 70
ROW_GAP = 16
PADDING = 12
MAX_PER_COLUMN = 12
MAX_LISTED_EDGES = 100
LABEL_CHARS = 24

EDGE_VERBS = {
    "trained_on": "trained",
    "validated_on": "validated",
    "parent": "is the parent of",
    "upstream_model": "feeds",
    "version_of": "has version",
    "consumed": "was read by",
    "produced": "produced",
}
TYPE_NAMES = {"model": "model", "model_version": "model version", "dataset_version": "dataset version"}
TYPE_ORDER = {"model": 0, "model_version": 1, "dataset_version": 2}


@dataclass
class Box:
    id: str
    type_name: str
    label: str
    short_label: str
    href: str
    x: int = 0
    y: int = 0
    is_root: bool = False
    is_more: bool = False


@dataclass
class Arrow:
    path: str
    title: str


@dataclass
class ListedEdge:
    source: Box
    target: Box
    verb: str


@dataclass
class LineageLayout:
    """Everything the template draws: canvas size, boxes, arrows, and the edges as sentences."""

    width: int
    height: int
    boxes: list[Box] = field(default_factory=list)
    arrows: list[Arrow] = field(default_factory=list)
    edges: list[ListedEdge] = field(default_factory=list)
    more_edges: int = 0
    node_width: int = NODE_WIDTH
    node_height: int = NODE_HEIGHT


def merge(*graphs: dict[str, Any]) -> dict[str, Any]:
    """One graph from several (the first one's root), nodes and edges de-duplicated."""
    nodes: dict[str, dict[str, Any]] = {}
    edges: dict[tuple[str, str, str], dict[str, Any]] = {}
    for graph in graphs:
        nodes |= {node["id"]: node for node in graph["nodes"]}
        edges |= {(e["source"], e["target"], e["kind"]): e for e in graph["edges"]}
    return {"root": graphs[0]["root"], "nodes": list(nodes.values()), "edges": list(edges.values())}


def layout(graph: dict[str, Any]) -> LineageLayout:
    """Place the graph's nodes in columns by signed hop count from the root and route the arrows."""
    nodes = {node["id"]: node for node in graph["nodes"]}
    columns = _columns(graph["root"], graph["edges"], nodes)
    boxes: dict[str, Box] = {}
    placed: list[Box] = []
    lowest = min(columns.values(), default=0)
    tallest = 1
    for column, members in sorted(_by_column(columns, nodes).items()):
        shown = members[:MAX_PER_COLUMN]
        x = PADDING + (column - lowest) * (NODE_WIDTH + COLUMN_GAP)
        for row, node_id in enumerate(shown):
            box = _box(nodes[node_id], is_root=node_id == graph["root"])
            box.x, box.y = x, PADDING + row * (NODE_HEIGHT + ROW_GAP)
            boxes[node_id] = box
            placed.append(box)
        if len(members) > len(shown):
            more = Box(
                id=f"more:{column}",
                type_name="",
                label=f"{len(members) - len(shown)} more",
                short_label=f"+ {len(members) - len(shown)} more",
                href="",
                x=x,
                y=PADDING + len(shown) * (NODE_HEIGHT + ROW_GAP),
                is_more=True,
            )
            placed.append(more)
            shown = [*shown, more.id]
        tallest = max(tallest, len(shown))
    span = (max(columns.values(), default=0) - lowest) + 1
    result = LineageLayout(
        width=2 * PADDING + span * NODE_WIDTH + (span - 1) * COLUMN_GAP + COLUMN_GAP // 2,
        height=2 * PADDING + tallest * NODE_HEIGHT + (tallest - 1) * ROW_GAP,
        boxes=placed,
    )
    for edge in graph["edges"]:
        source, target = boxes.get(edge["source"]), boxes.get(edge["target"])
        if source is None or target is None:
            continue
        verb = EDGE_VERBS.get(edge["kind"], edge["kind"])
        result.arrows.append(
            Arrow(path=_route(source, target), title=f"{source.label} {verb} {target.label}")
        )
    listed = [e for e in graph["edges"] if e["source"] in nodes and e["target"] in nodes]
    for edge in listed[:MAX_LISTED_EDGES]:
        result.edges.append(
            ListedEdge(
                source=boxes.get(edge["source"]) or _box(nodes[edge["source"]]),
                target=boxes.get(edge["target"]) or _box(nodes[edge["target"]]),
                verb=EDGE_VERBS.get(edge["kind"], edge["kind"]),
            )
        )
    result.more_edges = max(0, len(listed) - MAX_LISTED_EDGES)
    return result


def _columns(root: str, edges: list[dict[str, Any]], nodes: dict[str, Any]) -> dict[str, int]:
    """Breadth-first from the root: following an edge forward is one column right, backward one left."""
    neighbours: dict[str, list[tuple[str, int]]] = {}
    for edge in edges:
        neighbours.setdefault(edge["source"], []).append((edge["target"], 1))
        neighbours.setdefault(edge["target"], []).append((edge["source"], -1))
    columns = {root: 0}
    queue = deque([root])
    while queue:
        current = queue.popleft()
        for other, step in neighbours.get(current, []):
            if other not in columns and other in nodes:
                columns[other] = columns[current] + step
                queue.append(other)
    return columns


def _by_column(columns: dict[str, int], nodes: dict[str, Any]) -> dict[int, list[str]]:
    grouped: dict[int, list[str]] = {}
    for node_id, column in columns.items():
        grouped.setdefault(column, []).append(node_id)
    for members in grouped.values():
        members.sort(key=lambda node_id: _sort_key(nodes[node_id]))
    return grouped


def _sort_key(node: dict[str, Any]) -> tuple:
    name = node.get("model") or node.get("dataset") or ""
    # newest versions first: they are the ones people look for
    return (TYPE_ORDER.get(node["type"], 9), name, -(node.get("version") or 0))


def _box(node: dict[str, Any], *, is_root: bool = False) -> Box:
    label = _label(node)
    short = label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"
    return Box(
        id=node["id"],
        type_name=_type_name(node),
        label=label,
        short_label=short,
        href=_href(node),
        is_root=is_root,
    )


def _label(node: dict[str, Any]) -> str:
    if node["type"] == "model":
        return node["model"]
    if node["type"] == "model_version":
        return f"{node['model']} v{node['version']}"
    return f"{node['dataset']} v{node['version']}"


def _type_name(node: dict[str, Any]) -> str:
    name = TYPE_NAMES.get(node["type"], node["type"])
    role = node.get("role")
    return f"{name} · {role.replace('_', ' ')}" if role else name


def _href(node: dict[str, Any]) -> str:
    if node["type"] == "model":
        return reverse("model-detail", args=[node["model"]])
    if node["type"] == "model_version":
        return reverse("model-version-detail", args=[node["model"], node["version"]])
    return reverse("api:dataset-version-detail", args=[node["dataset"], node["version"]])


def _route(source: Box, target: Box) -> str:
    """A curve from the source's right edge to the target's left edge (or around, within a column)."""
    sy = source.y + NODE_HEIGHT // 2
    ty = target.y + NODE_HEIGHT // 2
    start_x = source.x + NODE_WIDTH
    if target.x > source.x:
        end_x = target.x
        bend = (end_x - start_x) // 2
        return f"M{start_x},{sy} C{start_x + bend},{sy} {end_x - bend},{ty} {end_x},{ty}"
    # same column (or backwards): loop out to the right and come back into the target's right edge
    end_x = target.x + NODE_WIDTH
    reach = COLUMN_GAP // 2 + abs(ty - sy) // 8
    return f"M{start_x},{sy} C{start_x + reach},{sy} {end_x + reach},{ty} {end_x + 4},{ty}"
