"""Make ``tools/models/pose_landmark_full_body.tflite``: BlazePose full's landmark model from the
mediapipe 0.10.21 wheel with the heads posemoe never reads (the segmentation mask and the world
landmarks) cut off, so that TFLite no longer computes them. Nothing else changes: the kept operators,
tensors and (float16) weights are the wheel's own, and the outputs posemoe reads (landmarks, presence
flag, heatmap) come out bit for bit the same (checked through mediapipe's graphs, which run a
.tflite directly). ``tools/blazepose_onnx.py`` converts the result to the ONNX model posemoe ships;
the .tflite itself is kept in the repository, not in the package.
The model's metadata (minimum runtime version, reduced-precision support) is kept as it is.

A developer's tool, not part of the package: it needs ``ai-edge-litert`` (TFLite's flatbuffer
schema and helpers), which wants numpy 2 while mediapipe pins numpy < 2, so run it in its own venv:

    python3 -m venv /tmp/litert && /tmp/litert/bin/pip install ai-edge-litert==2.3.0
    /tmp/litert/bin/python tools/blazepose_landmarks.py \
        "$(python3 -c 'import mediapipe, os; print(os.path.dirname(mediapipe.__file__))')/modules/pose_landmark/pose_landmark_full.tflite" \
        tools/models/pose_landmark_full_body.tflite
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

KEEP = (
    0,
    1,
    3,
)  # of the wheel's outputs: landmarks (1, 195), presence (1, 1), heatmap (1, 64, 64, 39);
# dropped: 2, the segmentation mask (1, 256, 256, 1), and 4, the world landmarks (1, 117)
WHEEL_SHA256 = "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f"
# what this tool wrote with ai-edge-litert 2.3.0 (tools/models' file; tests/tools checks the two agree)
SHIPPED_SHA256 = "8adc7443b4fcf044fc5ec4d28de59c5e406521e8a9a63cc35a9a936ae9c4d478"


def prune(model, keep: tuple[int, ...]) -> tuple[int, int]:
    """Keep only the outputs ``keep`` of ``model``'s one subgraph, then every operator they need, in
    their order, with all their tensors; empty the buffers that nothing (no kept tensor, no metadata
    entry) refers to. Returns the operators before and after."""
    if (
        len(model.subgraphs) != 1
        or model.signatureDefs
        or any(op.intermediates for op in model.subgraphs[0].operators)
    ):
        raise SystemExit(
            "expected one subgraph, no signatures and no intermediate tensors (BlazePose's landmark model)"
        )
    graph = model.subgraphs[0]
    graph.outputs = [graph.outputs[k] for k in keep]
    needed, kept = set(graph.outputs), []
    for op in reversed(graph.operators):
        if any(t in needed for t in op.outputs):
            kept.append(op)
            needed |= {t for t in op.inputs if t >= 0}
    before, graph.operators = len(graph.operators), kept[::-1]
    used = sorted(needed | set(graph.inputs) | {t for op in graph.operators for t in op.outputs})
    index = {old: new for new, old in enumerate(used)}
    graph.tensors = [graph.tensors[t] for t in used]
    for op in graph.operators:
        op.inputs = [index[t] if t >= 0 else -1 for t in op.inputs]
        op.outputs = [index[t] for t in op.outputs]
    graph.inputs, graph.outputs = (
        [index[t] for t in graph.inputs],
        [index[t] for t in graph.outputs],
    )
    referenced = {t.buffer for t in graph.tensors} | {
        entry.buffer for entry in model.metadata or []
    }
    for k, buffer in enumerate(model.buffers):
        if k not in referenced:
            buffer.data = None
    return before, len(graph.operators)


def main() -> None:
    from ai_edge_litert.tools import flatbuffer_utils

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "wheel_model", type=Path, help="mediapipe/modules/pose_landmark/pose_landmark_full.tflite"
    )
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    digest = hashlib.sha256(args.wheel_model.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        raise SystemExit(
            f"{args.wheel_model}: sha256 {digest}, not mediapipe 0.10.21's landmark model"
        )
    model = flatbuffer_utils.read_model(str(args.wheel_model))
    before, after = prune(model, KEEP)
    flatbuffer_utils.write_model(model, str(args.out))
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(
        f"{args.out}: {before} -> {after} operators, {args.out.stat().st_size} bytes, sha256 {digest}"
        + (
            ""
            if digest == SHIPPED_SHA256
            else " (not the shipped file's: update SHIPPED_SHA256 if you ship it)"
        )
    )


if __name__ == "__main__":
    main()
