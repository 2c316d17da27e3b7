"""A streaming reader of the parts of an ONNX file that decide whether Attest accepts it.

``onnx.load`` parses the whole protobuf into memory, a gigabyte for a gigabyte model. This walks the
protobuf wire format instead, seeking over tensor payloads, so memory stays flat whatever the size: it
finds the header fields (IR version, opsets, producer), counts nodes, and lists every tensor whose data
lives outside the file (``data_location = EXTERNAL`` or ``external_data`` entries), in the main graph,
in sparse initializers, in node attributes, in nested subgraphs (If/Loop/Scan) and in functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

MAX_DEPTH = 64
VARINT, I64, LEN, I32 = 0, 1, 2, 5
EXTERNAL = 1
# field numbers from onnx.proto3
MODEL_IR_VERSION, MODEL_PRODUCER, MODEL_PRODUCER_VERSION, MODEL_GRAPH, MODEL_OPSET, MODEL_FUNCTIONS = (
    1,
    2,
    3,
    7,
    8,
    25,
)
GRAPH_NODE, GRAPH_INITIALIZER, GRAPH_SPARSE_INITIALIZER = 1, 5, 15
NODE_ATTRIBUTE = 5
FUNCTION_NODE = 7
ATTRIBUTE_TENSOR, ATTRIBUTE_GRAPH, ATTRIBUTE_TENSORS, ATTRIBUTE_GRAPHS = 5, 6, 10, 11
ATTRIBUTE_SPARSE_TENSOR, ATTRIBUTE_SPARSE_TENSORS = 22, 23
SPARSE_VALUES, SPARSE_INDICES = 1, 2
TENSOR_NAME, TENSOR_EXTERNAL_DATA, TENSOR_DATA_LOCATION = 8, 13, 14
OPSET_DOMAIN, OPSET_VERSION = 1, 2


class NotOnnx(ValueError):
    """The bytes are not a well-formed ONNX ModelProto."""


@dataclass
class OnnxSummary:
    ir_version: int = 0
    producer: str = ""
    opsets: dict[str, int] = field(default_factory=dict)
    nodes: int = 0
    external_tensors: list[str] = field(default_factory=list)
    has_graph: bool = False


class _Reader:
    """Reads protobuf primitives from a seekable file within [position, end)."""

    def __init__(self, fileobj: BinaryIO):
        self.file = fileobj

    def varint(self) -> int:
        result, shift = 0, 0
        while True:
            byte = self.file.read(1)
            if not byte:
                raise NotOnnx("truncated varint")
            result |= (byte[0] & 0x7F) << shift
            if byte[0] < 0x80:
                return result
            shift += 7
            if shift > 63:
                raise NotOnnx("varint too long")

    def fields(self, end: int):
        """Yield (field number, wire type, payload start, payload end or value) until ``end``."""
        while self.file.tell() < end:
            key = self.varint()
            number, wire = key >> 3, key & 7
            if number == 0:
                raise NotOnnx("field number 0")
            if wire == VARINT:
                yield number, wire, self.varint()
            elif wire == LEN:
                length = self.varint()
                start = self.file.tell()
                if start + length > end:
                    raise NotOnnx("length past the end of its message")
                yield number, wire, (start, start + length)
                self.file.seek(start + length)
            elif wire in (I64, I32):
                self.file.seek(8 if wire == I64 else 4, 1)
            else:
                raise NotOnnx(f"unsupported wire type {wire}")

    def text(self, span: tuple[int, int]) -> str:
        self.file.seek(span[0])
        return self.file.read(min(span[1] - span[0], 4096)).decode("utf-8", "replace")


def scan(fileobj: BinaryIO, size: int) -> OnnxSummary:
    """Summarise the ModelProto in ``fileobj`` (``size`` bytes), raising NotOnnx when it is not one."""
    reader, summary = _Reader(fileobj), OnnxSummary()
    fileobj.seek(0)
    producer_version = ""
    for number, wire, value in reader.fields(size):
        if number == MODEL_IR_VERSION and wire == VARINT:
            summary.ir_version = value
        elif number == MODEL_PRODUCER and wire == LEN:
            summary.producer = reader.text(value)
        elif number == MODEL_PRODUCER_VERSION and wire == LEN:
            producer_version = reader.text(value)
        elif number == MODEL_OPSET and wire == LEN:
            _opset(reader, value, summary)
        elif number == MODEL_GRAPH and wire == LEN:
            summary.has_graph = True
            _graph(reader, value, summary, 0)
        elif number == MODEL_FUNCTIONS and wire == LEN:
            _message(reader, value, summary, 0, {FUNCTION_NODE: _node})
    summary.producer = f"{summary.producer} {producer_version}".strip()
    return summary


def _message(reader: _Reader, span, summary: OnnxSummary, depth: int, handlers) -> None:
    if depth > MAX_DEPTH:
        raise NotOnnx("nesting too deep")
    reader.file.seek(span[0])
    for number, wire, value in reader.fields(span[1]):
        handler = handlers.get(number)
        if handler is not None and wire == LEN:
            position = reader.file.tell()
            handler(reader, value, summary, depth + 1)
            reader.file.seek(position)


def _graph(reader, span, summary, depth) -> None:
    handlers = {GRAPH_NODE: _node, GRAPH_INITIALIZER: _tensor, GRAPH_SPARSE_INITIALIZER: _sparse}
    _message(reader, span, summary, depth, handlers)


def _node(reader, span, summary, depth) -> None:
    summary.nodes += 1
    _message(reader, span, summary, depth, {NODE_ATTRIBUTE: _attribute})


def _attribute(reader, span, summary, depth) -> None:
    handlers = {
        ATTRIBUTE_TENSOR: _tensor,
        ATTRIBUTE_TENSORS: _tensor,
        ATTRIBUTE_GRAPH: _graph,
        ATTRIBUTE_GRAPHS: _graph,
        ATTRIBUTE_SPARSE_TENSOR: _sparse,
        ATTRIBUTE_SPARSE_TENSORS: _sparse,
    }
    _message(reader, span, summary, depth, handlers)


def _sparse(reader, span, summary, depth) -> None:
    _message(reader, span, summary, depth, {SPARSE_VALUES: _tensor, SPARSE_INDICES: _tensor})


def _tensor(reader, span, summary, depth) -> None:
    reader.file.seek(span[0])
    name, external = "", False
    for number, wire, value in reader.fields(span[1]):
        if number == TENSOR_NAME and wire == LEN:
            position = reader.file.tell()
            name = reader.text(value)
            reader.file.seek(position)
        elif (number == TENSOR_EXTERNAL_DATA and wire == LEN) or (
            number == TENSOR_DATA_LOCATION and wire == VARINT and value == EXTERNAL
        ):
            external = True
    if external:
        summary.external_tensors.append(name)


def _opset(reader, span, summary) -> None:
    reader.file.seek(span[0])
    domain, version = "", 0
    for number, wire, value in reader.fields(span[1]):
        if number == OPSET_DOMAIN and wire == LEN:
            position = reader.file.tell()
            domain = reader.text(value)
            reader.file.seek(position)
        elif number == OPSET_VERSION and wire == VARINT:
            version = value
    summary.opsets[domain or "ai.onnx"] = version
