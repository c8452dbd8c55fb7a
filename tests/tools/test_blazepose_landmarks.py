"""tools/blazepose_landmarks.py's pruning, on a small graph of plain objects shaped like TFLite's
object API (the tool itself needs ai-edge-litert to read and write real models)."""

import hashlib
from pathlib import Path
from types import SimpleNamespace as NS


def test_the_kept_model_is_what_the_tool_recorded_writing(load_tool):
    model = Path(__file__).parents[2] / "tools" / "models" / "pose_landmark_full_body.tflite"
    assert (
        hashlib.sha256(model.read_bytes()).hexdigest()
        == load_tool("blazepose_landmarks").SHIPPED_SHA256
    )


def test_prune_keeps_what_the_kept_outputs_need_and_reindexes(load_tool):
    # tensors: 0 input, 1 weight a, 2 a's output (out 0), 3 weight b, 4 b's output (out 1),
    # 5 weight c, 6 c's output (out 2; c reads a's output too), 7 c's second output (nobody's)
    tensors = [NS(name=f"t{k}", buffer=k + 1) for k in range(8)]
    ops = [
        NS(name="a", inputs=[0, 1, -1], outputs=[2], intermediates=[]),
        NS(name="b", inputs=[0, 3], outputs=[4], intermediates=[]),
        NS(name="c", inputs=[2, 5], outputs=[6, 7], intermediates=[]),
    ]
    graph = NS(inputs=[0], outputs=[2, 4, 6], operators=ops, tensors=tensors)
    buffers = [NS(data=None)] + [NS(data=b"x") for _ in range(9)]  # 9: metadata's
    model = NS(
        subgraphs=[graph],
        buffers=buffers,
        signatureDefs=[],
        metadata=[NS(name=b"min_runtime_version", buffer=9)],
    )
    assert load_tool("blazepose_landmarks").prune(model, (0, 2)) == (3, 2)
    assert [op.name for op in graph.operators] == ["a", "c"]
    assert [t.name for t in graph.tensors] == ["t0", "t1", "t2", "t5", "t6", "t7"]
    assert graph.operators[0].inputs == [0, 1, -1] and graph.operators[0].outputs == [2]
    assert graph.operators[1].inputs == [2, 3] and graph.operators[1].outputs == [4, 5]
    assert graph.inputs == [0] and graph.outputs == [2, 4]
    # b's weight (buffer 4) and output (buffer 5) are emptied; everything kept, metadata too, keeps its bytes
    assert [b.data for b in model.buffers] == [
        None,
        b"x",
        b"x",
        b"x",
        None,
        None,
        b"x",
        b"x",
        b"x",
        b"x",
    ]
