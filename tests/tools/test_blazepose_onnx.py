"""tools/blazepose_onnx.py's two passes over the converted graph, on a small ONNX graph (the tool
itself needs TensorFlow to read the tflite files): names by place make two conversions that
numbered their tensors differently byte for byte the same, and float16 storage keeps the numbers."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

TOOL = Path(__file__).parents[2] / "tools" / "blazepose_onnx.py"


def _tool():
    spec = importlib.util.spec_from_file_location("blazepose_onnx", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _model(names: dict[str, str], weights: dict[str, np.ndarray]):
    """y = (x + a) * b, the tensors and nodes named by ``names`` (as a converter's counters might),
    the weights listed in the order ``weights`` gives."""
    nodes = [helper.make_node("Add", ["x", names["a"]], [names["sum"]], name=names["add"]),
             helper.make_node("Mul", [names["sum"], names["b"]], ["y"], name=names["mul"])]
    inits = [numpy_helper.from_array(v, names[k]) for k, v in weights.items()]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])], inits)
    graph.value_info.append(helper.make_tensor_value_info(names["sum"], TensorProto.FLOAT, [1, 64]))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_names_by_place_make_differently_numbered_conversions_identical():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(1, 64)).astype(np.float16).astype(np.float32)
    b = rng.normal(size=(1, 64)).astype(np.float32)  # not exact in float16: stays float32
    first = _model({"a": "scales__424", "b": "const_fold_opt__906", "sum": "Add__12:0", "add": "Add__12", "mul": "Mul__7"},
                   {"a": a, "b": b})
    second = _model({"a": "scales__364", "b": "const_fold_opt__905", "sum": "Add__3:0", "add": "Add__3", "mul": "Mul__88"},
                    {"b": b, "a": a})
    tool = _tool()
    for model in (first, second):
        tool.canonical_names(model.graph)
        assert tool.store_half(model.graph) == 1
    assert first.SerializeToString() == second.SerializeToString()
    graph = first.graph
    assert [n.name for n in graph.node] == ["Cast_w0", "Add_0", "Mul_1"]
    assert [w.name for w in graph.initializer] == ["w0_f16", "w1"] and graph.initializer[0].data_type == TensorProto.FLOAT16
    assert len(graph.value_info) == 0


def test_float16_storage_gives_the_same_outputs():
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(1)
    weights = {"a": rng.normal(size=(1, 64)).astype(np.float16).astype(np.float32),
               "b": rng.normal(size=(1, 64)).astype(np.float16).astype(np.float32)}
    names = {"a": "a", "b": "b", "sum": "s", "add": "add", "mul": "mul"}
    plain, half = _model(names, weights), _model(names, weights)
    tool = _tool()
    tool.canonical_names(half.graph)
    assert tool.store_half(half.graph) == 2
    x = rng.normal(size=(1, 64)).astype(np.float32)
    out = [ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
           for m in (plain, half)]
    np.testing.assert_array_equal(out[0], out[1])
    np.testing.assert_allclose(out[0], (x + weights["a"]) * weights["b"], rtol=1e-6)
