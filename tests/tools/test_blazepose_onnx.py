"""tools/blazepose_onnx.py's passes over the converted graph, on small ONNX graphs (the tool itself
needs TensorFlow to read the tflite files): order and names by place make two conversions that
ordered and numbered their nodes and tensors differently byte for byte the same, and float16
storage keeps the numbers."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def _model(names: dict[str, str], weights: dict[str, np.ndarray]):
    """y = (x + a) * b, the tensors and nodes named by ``names`` (as a converter's counters might),
    the weights listed in the order ``weights`` gives."""
    nodes = [
        helper.make_node("Add", ["x", names["a"]], [names["sum"]], name=names["add"]),
        helper.make_node("Mul", [names["sum"], names["b"]], ["y"], name=names["mul"]),
    ]
    inits = [numpy_helper.from_array(v, names[k]) for k, v in weights.items()]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])],
        inits,
    )
    graph.value_info.append(helper.make_tensor_value_info(names["sum"], TensorProto.FLOAT, [1, 64]))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _branches(names: dict[str, str], order: list[int], weights: dict[str, np.ndarray]):
    """y = (x * a) + (x * b + c): two parallel branches, the nodes listed in ``order``."""
    nodes = [
        helper.make_node("Mul", ["x", names["a"]], [names["p"]], name=names["n0"]),
        helper.make_node("Mul", ["x", names["b"]], [names["q"]], name=names["n1"]),
        helper.make_node("Add", [names["q"], names["c"]], [names["r"]], name=names["n2"]),
        helper.make_node("Add", [names["p"], names["r"]], ["y"], name=names["n3"]),
    ]
    inits = [numpy_helper.from_array(v, names[k]) for k, v in weights.items()]
    graph = helper.make_graph(
        [nodes[k] for k in order],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_order_and_names_by_place_make_differently_ordered_conversions_identical(load_tool):
    rng = np.random.default_rng(2)
    weights = {k: rng.normal(size=(1, 64)).astype(np.float32) for k in "abc"}
    first = _branches(
        {
            **{k: f"{k}__{n}" for k, n in zip("abc", (3, 9, 4))},
            "p": "P:0",
            "q": "Q:0",
            "r": "R:0",
            "n0": "Mul__1",
            "n1": "Mul__2",
            "n2": "Add__3",
            "n3": "Add__4",
        },
        [0, 1, 2, 3],
        weights,
    )
    second = _branches(
        {
            **{k: f"{k}__{n}" for k, n in zip("abc", (7, 1, 5))},
            "p": "Z:0",
            "q": "Y:0",
            "r": "X:0",
            "n0": "Mul__9",
            "n1": "Mul__8",
            "n2": "Add__7",
            "n3": "Add__6",
        },
        [1, 2, 0, 3],
        dict(reversed(weights.items())),
    )
    tool = load_tool("blazepose_onnx")
    for model in (first, second):
        tool.canonical_order(model.graph)
        tool.canonical_names(model.graph)
    assert first.SerializeToString() == second.SerializeToString()
    assert [n.op_type for n in first.graph.node] in (
        ["Mul", "Mul", "Add", "Add"],
        ["Mul", "Add", "Mul", "Add"],
    )
    dangling = _branches(
        {
            **{k: k for k in "abc"},
            "p": "P",
            "q": "Q",
            "r": "R",
            "n0": "0",
            "n1": "1",
            "n2": "2",
            "n3": "3",
        },
        [0, 1, 2, 3],
        {"a": weights["a"], "c": weights["c"]},
    )  # b is nowhere
    with pytest.raises(SystemExit, match="1 of 4 nodes ordered"):
        tool.canonical_order(dangling.graph)


def test_names_by_place_make_differently_numbered_conversions_identical(load_tool):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(1, 64)).astype(np.float16).astype(np.float32)
    b = rng.normal(size=(1, 64)).astype(np.float32)  # not exact in float16: stays float32
    first = _model(
        {
            "a": "scales__424",
            "b": "const_fold_opt__906",
            "sum": "Add__12:0",
            "add": "Add__12",
            "mul": "Mul__7",
        },
        {"a": a, "b": b},
    )
    second = _model(
        {
            "a": "scales__364",
            "b": "const_fold_opt__905",
            "sum": "Add__3:0",
            "add": "Add__3",
            "mul": "Mul__88",
        },
        {"b": b, "a": a},
    )
    tool = load_tool("blazepose_onnx")
    for model in (first, second):
        tool.canonical_names(model.graph)
        assert tool.store_half(model.graph) == 1
    assert first.SerializeToString() == second.SerializeToString()
    graph = first.graph
    assert [n.name for n in graph.node] == ["Cast_w0", "Add_0", "Mul_1"]
    assert [w.name for w in graph.initializer] == ["w0_f16", "w1"] and graph.initializer[
        0
    ].data_type == TensorProto.FLOAT16
    assert len(graph.value_info) == 0


def test_float16_storage_gives_the_same_outputs(load_tool):
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(1)
    weights = {
        "a": rng.normal(size=(1, 64)).astype(np.float16).astype(np.float32),
        "b": rng.normal(size=(1, 64)).astype(np.float16).astype(np.float32),
    }
    names = {"a": "a", "b": "b", "sum": "s", "add": "add", "mul": "mul"}
    plain, half = _model(names, weights), _model(names, weights)
    tool = load_tool("blazepose_onnx")
    tool.canonical_names(half.graph)
    assert tool.store_half(half.graph) == 2
    x = rng.normal(size=(1, 64)).astype(np.float32)
    out = [
        ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(
            None, {"x": x}
        )[0]
        for m in (plain, half)
    ]
    np.testing.assert_array_equal(out[0], out[1])
    np.testing.assert_allclose(out[0], (x + weights["a"]) * weights["b"], rtol=1e-6)
