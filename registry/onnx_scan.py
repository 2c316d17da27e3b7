"""Reads the parts of an ONNX file that decide whether Attest accepts it, with protobuf's own parser.

It finds the header fields (IR version, opsets, producer), counts nodes, and lists every tensor whose data
lives outside the file (``data_location = EXTERNAL`` or ``external_data`` entries) wherever a TensorProto
can sit: graph initializers and sparse initializers, node attributes (``t``, ``tensors``, ``sparse_tensor``,
``sparse_tensors``), subgraphs (If/Loop/Scan bodies, ``g``/``graphs``), functions and their attribute
defaults, training info. The walk follows the message descriptors, so a place is never forgotten.

Why protobuf's parser and not a hand-written walk of the wire format: a hand parser must decode every
encoding that ONNX Runtime's C++ protobuf accepts, and one did not (a field tag with bit 32 set, which C++
truncates to 32 bits, hid ``external_data`` from it while the runtime read the external file). The
``onnx`` package's ModelProto is parsed by upb, a conformant parser that is stricter than C++ protobuf:
what it accepts it reads as the runtime does, and what it refuses (such over-long tags) is "not ONNX",
stored as an opaque, non-executable blob. Protobuf's pure-Python backend is not conformant (it looks
fields up by their tag's bytes, so a non-canonical tag becomes an unknown field) and is refused.

The model is parsed whole: about twice the file's size in memory at the peak (measured on a 100 MB model),
bounded by protobuf's 2 GiB message limit, past which ONNX Runtime cannot read a model without external
data either.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.internal import api_implementation
from google.protobuf.message import DecodeError, Message

logger = logging.getLogger(__name__)

# Protobuf (so ONNX Runtime) parses no message of 2 GiB or more: larger models must use external data.
PROTOBUF_MESSAGE_LIMIT = 2**31 - 1
TEXT_LIMIT = 4096
CONFORMANT_BACKENDS = frozenset({"upb", "cpp"})
EXTERNAL = 1  # TensorProto.DataLocation.EXTERNAL


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


def scan(fileobj: BinaryIO, size: int) -> OnnxSummary:
    """Summarise the ModelProto in ``fileobj`` (``size`` bytes), raising NotOnnx when it is not one."""
    if not 0 < size < PROTOBUF_MESSAGE_LIMIT:
        raise NotOnnx("empty, or past protobuf's 2 GiB message limit")
    fileobj.seek(0)
    return summarise(parse(fileobj.read(size)))


def scan_bytes(data: bytes | memoryview) -> OnnxSummary:
    """``scan`` for bytes already in memory."""
    if not 0 < len(data) < PROTOBUF_MESSAGE_LIMIT:
        raise NotOnnx("empty, or past protobuf's 2 GiB message limit")
    return summarise(parse(data))


def parse(data: bytes | memoryview):
    """The ModelProto in ``data`` (external data is never loaded), raising NotOnnx when it is not one."""
    backend = api_implementation.Type()
    if backend not in CONFORMANT_BACKENDS:
        logger.error("protobuf's %r backend cannot be trusted to read ONNX as the runtime does", backend)
        raise NotOnnx(f"protobuf's {backend!r} backend is not trusted to read ONNX files")
    import onnx

    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, RecursionError, ValueError) as exc:
        raise NotOnnx(f"not a well-formed ModelProto: {exc}") from None
    return model


def summarise(model) -> OnnxSummary:
    summary = OnnxSummary(
        ir_version=model.ir_version,
        producer=f"{model.producer_name[:TEXT_LIMIT]} {model.producer_version[:TEXT_LIMIT]}".strip(),
        has_graph=model.HasField("graph"),
    )
    for opset in model.opset_import:
        summary.opsets[opset.domain[:TEXT_LIMIT] or "ai.onnx"] = opset.version
    for message in _messages(model):
        kind = message.DESCRIPTOR.full_name
        if kind == "onnx.NodeProto":
            summary.nodes += 1
        elif kind == "onnx.TensorProto" and _is_external(message):
            summary.external_tensors.append(message.name[:TEXT_LIMIT])
    return summary


def _is_external(tensor) -> bool:
    return tensor.data_location == EXTERNAL or len(tensor.external_data) > 0


def _messages(root: Message) -> Iterator[Message]:
    """Every message inside ``root`` (depth first, iteratively: upb already bounds the nesting).

    Only message-typed fields are followed, so tensor payloads (``raw_data``, ``float_data``…) are never
    copied out of the parsed model.
    """
    stack = [root]
    while stack:
        message = stack.pop()
        yield message
        if message.DESCRIPTOR.full_name == "onnx.TensorProto":
            continue  # holds no tensor, only its payload and the external_data key/value strings
        for descriptor in message.DESCRIPTOR.fields:
            if descriptor.type != FieldDescriptor.TYPE_MESSAGE:
                continue
            if descriptor.is_repeated:
                stack.extend(getattr(message, descriptor.name))
            elif message.HasField(descriptor.name):
                stack.append(getattr(message, descriptor.name))
