"""registry.onnx_scan: the streaming ONNX reader agrees with onnx and finds external data anywhere."""

import io

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from registry import onnx_scan


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
