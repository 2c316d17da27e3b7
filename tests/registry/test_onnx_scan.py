"""registry.onnx_scan: the streaming ONNX reader agrees with onnx and finds external data anywhere."""

import io
import os
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from registry import formats, onnx_scan

ROOT = Path(__file__).resolve().parents[2]


def tensor(name: str, external: bool = False) -> TensorProto:
    made = numpy_helper.from_array(np.ones((3, 3), dtype="float32"), name=name)
    if external:
        made.ClearField("raw_data")
        made.data_location = TensorProto.EXTERNAL
        made.external_data.add(key="location", value="/etc/passwd")
    return made


def model_bytes(*, initializer_external=False, subgraph_external=False) -> bytes:
    inner = helper.make_graph(
        [helper.make_node("Constant", [], ["c"], value=tensor("inner", subgraph_external))],
        "branch",
        [],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [3, 3])],
    )
    nodes = [
        helper.make_node("MatMul", ["X", "W"], ["Y"]),
        helper.make_node("If", ["cond"], ["Z"], then_branch=inner, else_branch=inner),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [
            helper.make_tensor_value_info("X", TensorProto.FLOAT, [3, 3]),
            helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
        ],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [3, 3])],
        initializer=[tensor("W", initializer_external)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="tests")
    buffer = io.BytesIO()
    onnx.save_model(model, buffer)
    return buffer.getvalue()


def scan(data: bytes) -> onnx_scan.OnnxSummary:
    return onnx_scan.scan(io.BytesIO(data), len(data))


def test_it_reads_the_header_and_counts_nodes_including_subgraphs():
    summary = scan(model_bytes())
    assert summary.ir_version == onnx.load_model_from_string(model_bytes()).ir_version
    assert summary.opsets == {"ai.onnx": 17}
    assert summary.producer.startswith("tests")
    assert summary.nodes == 4  # MatMul, If, and the Constant in each branch
    assert summary.external_tensors == []


@pytest.mark.parametrize(
    ("options", "name"), [({"initializer_external": True}, "W"), ({"subgraph_external": True}, "inner")]
)
def test_it_finds_external_data_in_initializers_and_nested_graphs(options, name):
    assert name in scan(model_bytes(**options)).external_tensors


@pytest.mark.parametrize("data", [b"\x08", b"\x08\x07\x3a\xff\xff\xff\x0f", b"\x08\x07\x0f"])
def test_it_refuses_malformed_bytes(data):
    with pytest.raises(onnx_scan.NotOnnx):
        scan(data)


# --- encodings the runtime accepts ---------------------------------------------------------------------
# ONNX Runtime parses with C++ protobuf, which reads a field tag as a 32-bit varint: bits past 32 are dropped
# and over-long forms (redundant continuation bytes) are accepted. Whatever way the bytes are written, a
# tensor with external data must never make the file executable.

PLACES = [
    "initializer",
    "sparse_initializer",
    "constant",
    "tensors_attribute",
    "if_branch",
    "loop_body",
    "function_node",
    "function_default",
    "training_info",
]


def everywhere_model(external: str | None) -> onnx.ModelProto:
    """A model with a tensor in every place a TensorProto can sit, the one named ``external`` external."""

    def made(place: str) -> TensorProto:
        return tensor(place, external=place == external)

    def constant(place: str, output: str) -> onnx.NodeProto:
        return helper.make_node("Constant", [], [output], value=made(place))

    out = helper.make_tensor_value_info("c", TensorProto.FLOAT, [3, 3])
    then_branch = helper.make_graph(
        [constant("constant", "c")], "then", [], [out], initializer=[made("if_branch")]
    )
    else_branch = helper.make_graph([helper.make_node("Identity", ["W"], ["c"])], "else", [], [out])
    loop_body = helper.make_graph([constant("loop_body", "c")], "body", [], [out])
    custom = helper.make_node("Custom", [], ["t"], domain="custom")
    custom.attribute.append(helper.make_attribute("ts", [made("tensors_attribute")]))
    nodes = [
        helper.make_node("If", ["cond"], ["Z"], then_branch=then_branch, else_branch=else_branch),
        helper.make_node("Loop", ["n", "cond"], ["L"], body=loop_body),
        custom,
    ]
    sparse = helper.make_sparse_tensor(
        made("sparse_initializer"), numpy_helper.from_array(np.arange(9, dtype="int64"), "i"), [3, 3]
    )
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("Z", TensorProto.FLOAT, [3, 3])],
        initializer=[made("initializer")],
        sparse_initializer=[sparse],
    )
    function = helper.make_function(
        "custom",
        "F",
        [],
        ["y"],
        [constant("function_node", "y")],
        [helper.make_opsetid("", 17)],
        attribute_protos=[helper.make_attribute("default", made("function_default"))],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("custom", 1)],
        functions=[function],
        producer_name="tests",
    )
    model.training_info.add().initialization.CopyFrom(
        helper.make_graph([], "init", [], [], initializer=[made("training_info")])
    )
    return model


def varint(value: int, width: int = 1) -> bytes:
    """``value`` as a protobuf varint of at least ``width`` bytes (over-long: redundant zero groups)."""
    groups = [value & 0x7F]
    while value >> 7:
        value >>= 7
        groups.append(value & 0x7F)
    groups += [0] * (width - len(groups))
    return bytes(group | 0x80 for group in groups[:-1]) + bytes(groups[-1:])


def read_varint(data: bytes, position: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, position


# C++ protobuf reads a tag or a length from at most 5 bytes (a tag's bits 32..34, in its 5th byte, are
# dropped) and any other varint from at most 10.
TAG_BYTES, LENGTH_BYTES, VARINT_BYTES = 5, 5, 10


@dataclass
class Writer:
    """Writes each varint its own way: drawn over-long forms, drawn high bits that the runtime drops."""

    rng: random.Random
    padding_rate: float
    high_bits_rate: float

    def number(self, value: int, most: int = VARINT_BYTES) -> bytes:
        padded = self.rng.random() < self.padding_rate
        return varint(value, self.rng.randint(1, most) if padded else 1)

    def tag(self, key: int) -> bytes:
        if self.rng.random() < self.high_bits_rate:
            return varint(key | self.rng.randint(1, 7) << 32, TAG_BYTES)
        return self.number(key, TAG_BYTES)

    def enum(self, value: int) -> bytes:
        # enums are int32: the runtime truncates a 64-bit varint, so high bits keep EXTERNAL external
        if value < 2**31 and self.rng.random() < self.high_bits_rate:
            value |= self.rng.randrange(1, 2**32) << 32
        return self.number(value)

    def message(self, data: bytes, descriptor) -> bytes:
        """``data`` (a ``descriptor`` message) written again, nested messages included."""
        out, position = bytearray(), 0
        while position < len(data):
            key, position = read_varint(data, position)
            field_ = descriptor.fields_by_number.get(key >> 3)
            out += self.tag(key)
            wire = key & 7
            if wire == 0:
                value, position = read_varint(data, position)
                is_enum = field_ is not None and field_.type == field_.TYPE_ENUM
                out += self.enum(value) if is_enum else self.number(value)
            elif wire == 2:
                length, position = read_varint(data, position)
                payload = data[position : position + length]
                position += length
                if field_ is not None and field_.message_type is not None:
                    payload = self.message(payload, field_.message_type)
                out += self.number(len(payload), LENGTH_BYTES) + payload
            else:
                width = 8 if wire == 1 else 4
                out += data[position : position + width]
                position += width
        return bytes(out)


def written(model: onnx.ModelProto, writer: Writer) -> bytes:
    return writer.message(model.SerializeToString(), onnx.ModelProto.DESCRIPTOR)


def assert_not_executable(data: bytes) -> None:
    try:
        detected = formats.detect(io.BytesIO(data))
    except formats.ArtifactRejected:
        return
    assert not detected.executable, detected


def test_it_finds_external_data_in_every_place_a_tensor_can_sit():
    assert scan(everywhere_model(None).SerializeToString()).external_tensors == []
    for place in PLACES:
        assert scan(everywhere_model(place).SerializeToString()).external_tensors == [place]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    place=st.sampled_from(PLACES),
    seed=st.integers(0, 2**32 - 1),
    padding_rate=st.floats(0, 1),
    high_bits_rate=st.floats(0, 1),
)
def test_no_encoding_of_tags_and_lengths_hides_external_data(place, seed, padding_rate, high_bits_rate):
    data = written(everywhere_model(place), Writer(random.Random(seed), padding_rate, high_bits_rate))

    assert_not_executable(data)
    try:
        summary = scan(data)
    except onnx_scan.NotOnnx:
        return  # refused whole: stored as an opaque, non-executable blob
    assert summary.external_tensors == [place]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), padding_rate=st.floats(0, 1))
def test_over_long_varints_read_the_same_as_canonical_ones(seed, padding_rate):
    model = everywhere_model(None)
    data = written(model, Writer(random.Random(seed), padding_rate, high_bits_rate=0))

    assert scan(data) == scan(model.SerializeToString())


def bit_32_model(folder) -> bytes:
    """A MatMul whose weight lives in ``folder/w.bin``, the external-data tags written with bit 32 set."""
    weight = numpy_helper.from_array(np.full((3, 3), 7, dtype="float32"), name="W")
    (folder / "w.bin").write_bytes(weight.raw_data)
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    weight.external_data.add(key="location", value="w.bin")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["Y"])],
        "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [3, 3])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [3, 3])],
        initializer=[weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)

    class Bit32(Writer):
        def tag(self, key: int) -> bytes:
            external_fields = {TensorProto.EXTERNAL_DATA_FIELD_NUMBER, TensorProto.DATA_LOCATION_FIELD_NUMBER}
            return varint(key | 1 << 32, TAG_BYTES) if key >> 3 in external_fields else varint(key)

    return written(model, Bit32(random.Random(0), 0, 0))


def test_a_tag_with_bit_32_set_does_not_hide_external_data_the_runtime_reads(tmp_path):
    import onnxruntime

    data = bit_32_model(tmp_path)
    (tmp_path / "model.onnx").write_bytes(data)
    session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    eye = np.eye(3, dtype="float32")
    assert session.run(None, {"X": eye})[0].tolist() == [[7.0] * 3] * 3  # the runtime read w.bin

    assert_not_executable(data)
    with (tmp_path / "model.onnx").open("rb") as handle:
        assert_not_executable(handle.read())


def test_protobufs_pure_python_parser_is_not_trusted(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(bit_32_model(tmp_path))
    program = (
        "import sys; from registry import onnx_scan\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "try:\n    print(onnx_scan.scan_bytes(data).external_tensors)\n"
        "except onnx_scan.NotOnnx:\n    print('refused')\n"
    )
    environment = {**os.environ, "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python"}
    answer = subprocess.run(
        [sys.executable, "-c", program, str(path)],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert answer.stdout.strip() == "refused"


def external_logistic_model(folder, location: str) -> bytes:
    """A logistic model over two features whose weights sit in ``folder/w.bin``, named by ``location``."""
    weights = numpy_helper.from_array(np.array([[0.04], [0.001]], dtype="float32"), name="W")
    (folder / "w.bin").write_bytes(weights.raw_data)
    weights.ClearField("raw_data")
    weights.data_location = TensorProto.EXTERNAL
    weights.external_data.add(key="location", value=location)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["z"]), helper.make_node("Sigmoid", ["z"], ["probability"])],
        "logistic",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 2])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, [None, 1])],
        initializer=[weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    return model.SerializeToString()


@pytest.mark.parametrize("absolute", [False, True])
def test_the_sandbox_never_hands_the_runtime_a_model_that_names_external_data(tmp_path, absolute):
    from monitoring import sandbox
    from tests.monitoring import factories

    location = str(tmp_path / "w.bin") if absolute else "w.bin"
    path = tmp_path / "model.onnx"
    path.write_bytes(external_logistic_model(tmp_path, location))
    frame = factories.credit_frame(rows=20, seed=1)

    with pytest.raises(sandbox.ModelRefused, match="external data"):
        sandbox.score(
            artifact=path,
            artifact_format="onnx",
            frame=frame,
            features=factories.FEATURES,
            allowed_types=[],
            limits=sandbox.Limits(memory_mb=4096, seconds=120),
            positive_label=None,
        )
