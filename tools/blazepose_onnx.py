"""Make ``posemoe/assets/pose_detection.onnx`` and ``posemoe/assets/pose_landmark_full_body.onnx``:
BlazePose's person detector (the mediapipe 0.10.21 wheel's ``pose_detection.tflite``) and the
landmark model ``tools/models/pose_landmark_full_body.tflite`` (cut from the wheel's by
``tools/blazepose_landmarks.py``) converted to ONNX, for ONNX Runtime.

The conversion is tf2onnx's; one step comes before it. The detector stores 38 of its weight tensors
sparse (float16, TFLite's block-sparse format) and expands them with DENSIFY operators, which
tf2onnx cannot read: TFLite itself runs the model once and the expanded (dense) float16 values
replace the sparse ones as constants; the DENSIFY operators go. Nothing else changes before tf2onnx,
which turns the float16 weights and their DEQUANTIZE operators into float32 constants. Two passes
follow: every node, weight and intermediate tensor is named by its place in the graph (tf2onnx
numbers them in an order that changes from run to run), and every weight that float16 holds exactly
(all of them) is stored as float16 with a Cast in front, which ONNX Runtime folds when it loads the
model: half the size, the same numbers. Each converted model is then run beside the tflite on random
images and the largest difference printed.

A developer's tool, not part of the package: it needs TensorFlow (for TFLite's interpreter and
tf2onnx), which pins numpy and protobuf versions the package does not, so run it in its own venv:

    python3 -m venv /tmp/convert && /tmp/convert/bin/pip install tensorflow-cpu==2.15.1 tf2onnx==1.17.0 \
        onnx==1.16.2 onnxruntime==1.20.1
    /tmp/convert/bin/python tools/blazepose_onnx.py \
        "$(python3 -c 'import mediapipe, os; print(os.path.dirname(mediapipe.__file__))')/modules/pose_detection/pose_detection.tflite" \
        posemoe/assets

With those versions it writes the shipped files byte for byte (``SHIPPED_SHA256``; the test
``tests/inference/test_blazepose.py`` pins the shipped files to these digests).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import tempfile
from pathlib import Path

import numpy as np


def _landmark_tool():
    """tools/blazepose_landmarks.py (its pruning, and the digest of the tflite it made)."""
    spec = importlib.util.spec_from_file_location(
        "blazepose_landmarks", Path(__file__).parent / "blazepose_landmarks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DETECTOR_SHA256 = "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c"  # the wheel's pose_detection.tflite
OPSET = 17
LANDMARK_TFLITE = Path(__file__).parent / "models" / "pose_landmark_full_body.tflite"
# what this tool wrote with the versions above (the shipped files)
SHIPPED_SHA256 = {
    "pose_detection.onnx": "41cbb16d9d8c477f8e961adde6a894d7be1517db90aec3948c21c5b1e5a9ff7d",
    "pose_landmark_full_body.onnx": "cb2fa9909d27179cbb35cfbbdb0706c2a3c199b29e5e11ad8cf4f1bbdca9bc8d",
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def densify(tflite: Path, out: Path) -> int:
    """Write ``tflite`` with every DENSIFY operator's output stored as a dense constant and the
    operator removed -> the number of operators removed."""
    import tensorflow as tf
    from tensorflow.lite.tools import flatbuffer_utils

    interpreter = tf.lite.Interpreter(
        model_path=str(tflite), experimental_preserve_all_tensors=True
    )
    interpreter.allocate_tensors()
    interpreter.invoke()  # DENSIFY runs once, at the first invocation
    dense = {
        op["outputs"][0]: interpreter.get_tensor(op["outputs"][0])
        for op in interpreter._get_ops_details()
        if op["op_name"] == "DENSIFY"
    }
    model = flatbuffer_utils.read_model(str(tflite))
    graph = model.subgraphs[0]
    codes = [flatbuffer_utils.opcode_to_name(model, op.opcodeIndex) for op in graph.operators]
    kept = []
    for op, code in zip(graph.operators, codes):
        if code != "DENSIFY":
            kept.append(op)
            continue
        tensor = graph.tensors[op.outputs[0]]
        values = dense[op.outputs[0]]
        if (
            tensor.buffer == 0 or model.buffers[tensor.buffer].data is not None
        ):  # give the output a buffer of its own
            model.buffers.append(type(model.buffers[0])())
            tensor.buffer = len(model.buffers) - 1
        model.buffers[tensor.buffer].data = np.frombuffer(values.tobytes(), np.uint8)
    removed = len(graph.operators) - len(kept)
    graph.operators = kept
    _landmark_tool().prune(
        model, tuple(range(len(graph.outputs)))
    )  # drops the sparse tensors nothing reads any more
    flatbuffer_utils.write_model(model, str(out))
    return removed


def convert(tflite: Path, out: Path) -> None:
    import onnx
    import tf2onnx

    proto, _ = tf2onnx.convert.from_tflite(str(tflite), opset=OPSET)
    proto.producer_version = tf2onnx.__version__.split("/")[0]
    canonical_order(proto.graph)
    canonical_names(proto.graph)
    store_half(proto.graph)
    onnx.save(proto, str(out))


def store_half(graph) -> int:
    """Store each float32 weight that float16 holds exactly (all of BlazePose's convolution weights:
    the tflite files keep them in float16) as float16 with a Cast to float32 before its first use:
    half the file, the same numbers (ONNX Runtime folds the Cast when it loads the model) -> the
    number of weights stored so."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    casts = []
    for weight in graph.initializer:
        if weight.data_type != TensorProto.FLOAT:
            continue
        values = numpy_helper.to_array(weight)
        half = values.astype(np.float16)
        if values.size < 64 or not np.array_equal(half.astype(np.float32), values):
            continue
        name = weight.name
        weight.CopyFrom(numpy_helper.from_array(half, f"{name}_f16"))
        casts.append(
            helper.make_node(
                "Cast", [f"{name}_f16"], [name], name=f"Cast_{name}", to=onnx.TensorProto.FLOAT
            )
        )
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    return len(casts)


def canonical_order(graph) -> None:
    """Put the nodes in an order that depends on the graph alone: tf2onnx orders parallel branches by
    Python's string hashing, which changes from run to run. Of the nodes whose inputs are ready, the
    next is the least by (operator, attributes, inputs), an input being named by the node and output
    that made it, or a weight by its contents; equal keys are interchangeable nodes."""
    import heapq

    from onnx import numpy_helper

    weights = {
        w.name: hashlib.sha256(
            numpy_helper.to_array(w).tobytes() + str((w.data_type, list(w.dims))).encode()
        ).hexdigest()
        for w in graph.initializer
    }
    made = {v.name: f"input {v.name}" for v in graph.input}
    made.update(weights)
    waiting = {k: {name for name in node.input if name} for k, node in enumerate(graph.node)}
    readers: dict[str, list[int]] = {}
    for k, needs in waiting.items():
        for name in needs:
            readers.setdefault(name, []).append(k)

    def key(k: int) -> tuple:
        node = graph.node[k]
        return (
            node.op_type,
            [a.SerializeToString() for a in node.attribute],
            [made.get(n, "") for n in node.input],
            k,
        )

    ready = [key(k) for k, needs in waiting.items() if needs <= made.keys()]
    heapq.heapify(ready)
    order, queued = [], {entry[-1] for entry in ready}
    while ready:
        k = heapq.heappop(ready)[-1]
        order.append(graph.node[k])
        for j, name in enumerate(graph.node[k].output):
            made[name] = f"{len(order)}:{j}"
            for reader in readers.get(name, []):
                if reader not in queued and waiting[reader] <= made.keys():
                    queued.add(reader)
                    heapq.heappush(ready, key(reader))
    if len(order) != len(graph.node):
        raise SystemExit(
            f"the converted graph has a cycle or dangling inputs: {len(order)} of {len(graph.node)} nodes ordered"
        )
    nodes = [type(n)() for n in order]
    for new, old in zip(nodes, order):
        new.CopyFrom(old)
    del graph.node[:]
    graph.node.extend(nodes)


def canonical_names(graph) -> None:
    """Name every node, weight and intermediate tensor by its place in the graph (tf2onnx numbers
    them from counters whose order follows Python's string hashing, which changes from run to run),
    and store the weights in the order the nodes first use them: with :func:`canonical_order`, the
    same model gives the same bytes."""
    weights = {w.name: w for w in graph.initializer}
    kept = {v.name for v in [*graph.input, *graph.output]}
    names: dict[str, str] = {}
    for k, node in enumerate(graph.node):
        node.name = f"{node.op_type}_{k}"
        for j, name in enumerate(node.input):
            if name in weights and name not in names:
                names[name] = f"w{sum(1 for n in names if n in weights)}"
            node.input[j] = names.get(name, name)
        for j, name in enumerate(node.output):
            if name not in kept:
                names[name] = f"t{k}_{j}"
                node.output[j] = names[name]
    ordered = sorted(
        (w for w in graph.initializer if w.name in names), key=lambda w: int(names[w.name][1:])
    )
    for w in ordered:
        w.name = names[w.name]
    del graph.initializer[:]
    graph.initializer.extend(ordered)
    del graph.value_info[:]  # shapes of intermediate tensors: ONNX Runtime infers them


def compare(tflite: Path, onnx_file: Path, seed: int = 0) -> float:
    """Largest absolute difference between the tflite's and the ONNX model's outputs on three
    random images (uniform in the model's input range)."""
    import onnxruntime as ort
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_path=str(tflite))
    interpreter.allocate_tensors()
    details = interpreter.get_input_details()[0]
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    rng, worst = np.random.default_rng(seed), 0.0
    for _ in range(3):
        image = rng.uniform(
            -1.0 if details["shape"][1] == 224 else 0.0, 1.0, details["shape"]
        ).astype(np.float32)
        interpreter.set_tensor(details["index"], image)
        interpreter.invoke()
        expected = [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]
        found = session.run(None, {session.get_inputs()[0].name: image})
        worst = max(worst, *(float(np.abs(e - f).max()) for e, f in zip(expected, found)))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "detector", type=Path, help="mediapipe/modules/pose_detection/pose_detection.tflite"
    )
    parser.add_argument("assets", type=Path, help="posemoe/assets (writes the .onnx there)")
    parser.add_argument(
        "--landmarks",
        type=Path,
        default=LANDMARK_TFLITE,
        help="the cut landmark model (tools/blazepose_landmarks.py)",
    )
    args = parser.parse_args()
    landmarks = args.landmarks
    for path, expected in (
        (args.detector, DETECTOR_SHA256),
        (landmarks, _landmark_tool().SHIPPED_SHA256),
    ):
        if sha256(path) != expected:
            raise SystemExit(f"{path}: sha256 {sha256(path)}, expected {expected}")
    with tempfile.TemporaryDirectory() as tmp:
        dense = Path(tmp) / "pose_detection_dense.tflite"
        print(
            f"{args.detector.name}: {densify(args.detector, dense)} DENSIFY operators folded into constants"
        )
        for source, name in (
            (dense, "pose_detection.onnx"),
            (landmarks, "pose_landmark_full_body.onnx"),
        ):
            out = args.assets / name
            convert(source, out)
            digest = sha256(out)
            print(
                f"{out}: {out.stat().st_size} bytes, sha256 {digest}, largest difference from the tflite "
                f"{compare(args.detector if source == dense else source, out):.2e}"
                + (
                    ""
                    if digest == SHIPPED_SHA256[name]
                    else " (not the shipped file's: update SHIPPED_SHA256 if you ship it)"
                )
            )


if __name__ == "__main__":
    main()
