"""BlazePose on mediapipe 0.10.21's own calculator graphs, the reference posemoe's ONNX Runtime
detector (:mod:`posemoe.inference.blazepose`) was measured against: ``PoseDetectionCpu`` +
``PoseDetectionToRoi`` (people in the whole frame) and the landmark model on one person's region, as
in ``PoseLandmarkByRoiCpu`` but with its presence score out, run by XNNPACK.
:class:`MediapipeBlazePose` runs them under posemoe's scheduler (:class:`~posemoe.inference.
detectors.BlazePose`), so that the two differ only in what runs the stages.

A developer's module, not part of the package: posemoe runs BlazePose on ONNX Runtime alone.
mediapipe 0.10.21 (the last release with BlazePose's models and graphs) has wheels for CPython
3.9-3.12 only and pins numpy < 2, so it lives in a venv of its own (tools/blazepose_agreement.py says
how to make it). The landmark model is ``tools/models/pose_landmark_full_body.tflite`` (the wheel's
with the two heads posemoe never reads cut off; ``tools/blazepose_landmarks.py``): the same weights
and, bit for bit, the same landmarks, 1.35 (two threads) to 1.9 (one) times faster than the wheel's,
which ``landmark_model="wheel"`` runs instead.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from posemoe.errors import MissingDependency, UserError
from posemoe.inference.blazepose import Found, Roi
from posemoe.inference.detectors import BlazePose

LANDMARK_MODEL = Path(__file__).parent / "models" / "pose_landmark_full_body.tflite"
WHEEL = "wheel"  # landmark_model: the wheel's own landmark model, all five heads


@contextmanager
def _silenced(active: bool) -> Iterator[None]:
    """Point file descriptor 2 at /dev/null: mediapipe's absl and TFLite loggers write there
    directly (not through Python) while the graph is built and the first frames run, and no
    environment variable reaches them. ``POSEMOE_VERBOSE=1`` keeps them."""
    if not active:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def require_mediapipe() -> Any:
    """Import mediapipe (with its graph resources found inside the wheel) or explain how to get it."""
    try:
        import mediapipe as mp
        from mediapipe.python._framework_bindings import resource_util
    except ImportError:
        raise MissingDependency(
            "the reference detector needs mediapipe 0.10.21 (CPython <= 3.12): see "
            "tools/blazepose_agreement.py for its venv"
        ) from None
    root = Path(mp.__file__).parent
    for model in (
        "pose_detection/pose_detection.tflite",
        "pose_landmark/pose_landmark_full.tflite",
    ):
        if not (root / "modules" / model).is_file():
            raise MissingDependency(
                f"{root / 'modules' / model} is missing: reinstall mediapipe==0.10.21"
            )
    resource_util.set_resource_dir(
        str(root.parent)
    )  # graphs name their models "mediapipe/modules/..."
    return mp


_DETECT = """
input_stream: "image"
output_stream: "rois"
output_stream: "detections"
node { calculator: "ImagePropertiesCalculator" input_stream: "IMAGE:image" output_stream: "SIZE:size" }
node { calculator: "PoseDetectionCpu" input_stream: "IMAGE:image" output_stream: "DETECTIONS:detections" }
node { calculator: "BeginLoopDetectionCalculator" input_stream: "ITERABLE:detections" input_stream: "CLONE:size"
       output_stream: "ITEM:detection" output_stream: "CLONE:item_size" output_stream: "BATCH_END:end" }
node { calculator: "PoseDetectionToRoi" input_stream: "DETECTION:detection" input_stream: "IMAGE_SIZE:item_size"
       output_stream: "ROI:roi" }
node { calculator: "EndLoopNormalizedRectCalculator" input_stream: "ITEM:roi" input_stream: "BATCH_END:end"
       output_stream: "ITERABLE:rois" }
"""

# mediapipe's PoseLandmarkByRoiCpu, less its gate: the landmark model's presence score comes out (the
# follower, not the graph, decides when a person is lost), and no segmentation (the shipped model has
# no such head; the wheel's computes one, which is not decoded).
# @MODEL@ and @OUTPUTS@ are filled in by _landmark_graph.
_LANDMARKS = """
input_stream: "image"
input_stream: "roi"
output_stream: "landmarks"
output_stream: "presence"
output_stream: "next_roi"
node { calculator: "ImagePropertiesCalculator" input_stream: "IMAGE:image" output_stream: "SIZE:size" }
node { calculator: "ImageToTensorCalculator" input_stream: "IMAGE:image" input_stream: "NORM_RECT:roi"
       output_stream: "TENSORS:input" output_stream: "LETTERBOX_PADDING:padding"
       options { [mediapipe.ImageToTensorCalculatorOptions.ext] { output_tensor_width: 256 output_tensor_height: 256
                 keep_aspect_ratio: true output_tensor_float_range { min: 0.0 max: 1.0 } } } }
@MODEL@
node { calculator: "SplitTensorVectorCalculator" input_stream: "output"
       output_stream: "landmark_tensor" output_stream: "flag_tensor" output_stream: "heatmap_tensor"
       options { [mediapipe.SplitVectorCalculatorOptions.ext] { @OUTPUTS@ } } }
node { calculator: "TensorsToFloatsCalculator" input_stream: "TENSORS:flag_tensor" output_stream: "FLOAT:presence" }
node { calculator: "TensorsToLandmarksCalculator" input_stream: "TENSORS:landmark_tensor" output_stream: "NORM_LANDMARKS:raw"
       options { [mediapipe.TensorsToLandmarksCalculatorOptions.ext] { num_landmarks: 39 input_image_width: 256
                 input_image_height: 256 visibility_activation: SIGMOID presence_activation: SIGMOID } } }
node { calculator: "RefineLandmarksFromHeatmapCalculator" input_stream: "NORM_LANDMARKS:raw"
       input_stream: "TENSORS:heatmap_tensor" output_stream: "NORM_LANDMARKS:refined"
       options { [mediapipe.RefineLandmarksFromHeatmapCalculatorOptions.ext] { kernel_size: 7 } } }
node { calculator: "LandmarkLetterboxRemovalCalculator" input_stream: "LANDMARKS:refined"
       input_stream: "LETTERBOX_PADDING:padding" output_stream: "LANDMARKS:unpadded" }
node { calculator: "LandmarkProjectionCalculator" input_stream: "NORM_LANDMARKS:unpadded" input_stream: "NORM_RECT:roi"
       output_stream: "NORM_LANDMARKS:projected" }
node { calculator: "SplitNormalizedLandmarkListCalculator" input_stream: "projected"
       output_stream: "landmarks" output_stream: "auxiliary"
       options { [mediapipe.SplitVectorCalculatorOptions.ext] { ranges { begin: 0 end: 33 } ranges { begin: 33 end: 35 } } } }
node { calculator: "PoseLandmarksToRoi" input_stream: "LANDMARKS:auxiliary" input_stream: "IMAGE_SIZE:size"
       output_stream: "ROI:next_roi" }
"""


def _landmark_graph(threads: int, model: Path | None = LANDMARK_MODEL) -> str:
    """The landmark graph with the landmark model run by XNNPACK on ``threads`` threads: ``model`` (a
    .tflite whose outputs are landmarks, presence flag and heatmap), or None for the wheel's own model
    with all five heads (the reference the shipped one is checked against)."""
    xnnpack = f"delegate {{ xnnpack {{ num_threads: {threads} }} }}"
    if model is None:
        node = (
            'node { calculator: "ConstantSidePacketCalculator" output_side_packet: "PACKET:complexity"\n'
            "       options { [mediapipe.ConstantSidePacketCalculatorOptions.ext] { packet { int_value: 1 } } } }\n"
            'node { calculator: "PoseLandmarkModelLoader" input_side_packet: "MODEL_COMPLEXITY:complexity" '
            'output_side_packet: "MODEL:model" }\n'
            'node { calculator: "InferenceCalculator" input_side_packet: "MODEL:model" input_stream: "TENSORS:input"\n'
            f'       output_stream: "TENSORS:output" options {{ [mediapipe.InferenceCalculatorOptions.ext] {{ {xnnpack} }} }} }}'
        )
        outputs = "ranges { begin: 0 end: 1 } ranges { begin: 1 end: 2 } ranges { begin: 3 end: 4 }"
    else:
        path = json.dumps(str(model), ensure_ascii=False)  # a quoted, escaped text-proto string
        node = (
            'node { calculator: "InferenceCalculator" input_stream: "TENSORS:input" output_stream: "TENSORS:output"\n'
            f"       options {{ [mediapipe.InferenceCalculatorOptions.ext] {{ model_path: {path} {xnnpack} }} }} }}"
        )
        outputs = "ranges { begin: 0 end: 1 } ranges { begin: 1 end: 2 } ranges { begin: 2 end: 3 }"
    return _LANDMARKS.replace("@MODEL@", node).replace("@OUTPUTS@", outputs)


class _Graph:
    """One mediapipe graph run a packet set at a time: ``graph(image=..., roi=...)`` -> the packets its
    output streams produced (a stream may produce none: the landmark graph's, when nobody is there)."""

    def __init__(
        self, mp: Any, config: str, outputs: dict[str, Any], side_packets: dict | None = None
    ) -> None:
        self.config, self._outputs, self._time = config, {}, 0
        self._graph = mp.CalculatorGraph(graph_config=config)
        for name, getter in outputs.items():
            self._graph.observe_output_stream(
                name, lambda stream, packet, g=getter: self._outputs.__setitem__(stream, g(packet))
            )
        self._graph.start_run(input_side_packets=side_packets or {})

    def __call__(self, **packets: Any) -> dict[str, Any]:
        self._outputs.clear()
        self._time += 1  # each call its own timestamp (the graphs keep no state between calls), even after a failure
        for name, packet in packets.items():
            self._graph.add_packet_to_input_stream(name, packet.at(self._time))
        self._graph.wait_until_idle()
        return dict(self._outputs)

    def close(self) -> None:
        self._graph.close()


class _Frame(NamedTuple):
    """A frame as mediapipe's graphs take it, with its size in pixels."""

    packet: Any
    width: int
    height: int


def _rect(roi: Roi) -> Any:
    from mediapipe.framework.formats import rect_pb2

    return rect_pb2.NormalizedRect(
        x_center=roi.x, y_center=roi.y, width=roi.width, height=roi.height, rotation=roi.rotation
    )


def _roi(rect: Any) -> Roi:
    return Roi(rect.x_center, rect.y_center, rect.width, rect.height, rect.rotation)


class MediapipeBackend:
    """BlazePose's two stages as mediapipe graphs: ``look(image)`` (the person detector on the whole
    frame) and ``lanes`` + ``solo``, landmark graphs on one thread each and on ``threads`` threads
    (``lane(image, roi)`` -> :data:`Found` or None when nothing came out). ``image(rgb)`` wraps a
    frame once for all of them."""

    name = "mediapipe"

    def __init__(self, *, threads: int, landmark_model: Path | str | None = None) -> None:
        self._mp = mp = require_mediapipe()
        model = (
            LANDMARK_MODEL
            if landmark_model is None
            else None
            if landmark_model == WHEEL
            else Path(landmark_model)
        )
        if model is not None and not model.is_file():
            if model == LANDMARK_MODEL:
                raise MissingDependency(
                    f"{LANDMARK_MODEL} is missing: make it with tools/blazepose_landmarks.py"
                )
            raise UserError(f"no landmark model at {model}")
        with _silenced(
            os.environ.get("POSEMOE_VERBOSE") != "1"
        ):  # mediapipe logs as each graph opens
            self._search = _Graph(
                mp,
                _DETECT,
                {
                    "rois": mp.packet_getter.get_proto_list,
                    "detections": mp.packet_getter.get_proto_list,
                },
            )
            outputs = {
                "landmarks": mp.packet_getter.get_proto,
                "next_roi": mp.packet_getter.get_proto,
                "presence": mp.packet_getter.get_float,
            }
            self.graphs = [_Graph(mp, _landmark_graph(1, model), outputs) for _ in range(threads)]
            # one person: the landmark model on every thread
            self.solo_graph = (
                _Graph(mp, _landmark_graph(threads, model), outputs)
                if threads > 1
                else self.graphs[0]
            )
            self._warm_up()
        self.lanes = [self._runner(g) for g in self.graphs]
        self.solo = self._runner(self.solo_graph)

    def _warm_up(self) -> None:
        """Run every graph once on a blank image: mediapipe opens a graph's models (and logs about
        it) at its first packet, which must not happen unsilenced in the middle of a video."""
        image = self.image(np.full((64, 64, 3), 128, np.uint8))
        roi = self._mp.packet_creator.create_proto(_rect(Roi(0.5, 0.5, 1.0, 1.0)))
        for graph in self._graphs():
            graph(image=image.packet) if graph is self._search else graph(
                image=image.packet, roi=roi
            )

    def _graphs(self) -> list[_Graph]:
        """Every graph once (the solo graph is the first lane's with one thread)."""
        return list({id(g): g for g in [self._search, *self.graphs, self.solo_graph]}.values())

    def image(self, rgb: np.ndarray) -> _Frame:
        packet = self._mp.packet_creator.create_image_frame(
            image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb)
        )
        return _Frame(packet, rgb.shape[1], rgb.shape[0])

    def look(self, image: _Frame) -> list[tuple[float, np.ndarray, Roi]]:
        """Each person the detector finds -> (score, face box (xmin, ymin, width, height) normalized,
        region), surest first."""
        out = self._search(image=image.packet)
        found = []
        for detection, rect in zip(out.get("detections", []), out.get("rois", [])):
            box = detection.location_data.relative_bounding_box
            score = detection.score[0] if detection.score else 0.0
            found.append((score, np.array([box.xmin, box.ymin, box.width, box.height]), _roi(rect)))
        return found

    def _runner(self, graph: _Graph):
        def run(image: _Frame, roi: Roi) -> Found | None:
            out = graph(image=image.packet, roi=self._mp.packet_creator.create_proto(_rect(roi)))
            if not {"landmarks", "presence", "next_roi"} <= out.keys():
                return None  # nothing came out of this region
            width, height = image.width, image.height
            points = np.array(
                [(p.x * width, p.y * height, p.visibility) for p in out["landmarks"].landmark]
            )
            return points, out["presence"], _roi(out["next_roi"])

        return run

    def close(self) -> None:
        for graph in self._graphs():
            graph.close()


class MediapipeBlazePose(BlazePose):
    """posemoe's scheduler with mediapipe's graphs running the two stages (``landmark_model``: a
    .tflite, None for the shipped cut, or ``"wheel"``)."""

    def _make_backend(self, threads: int, landmark_model: Path | str | None) -> MediapipeBackend:
        return MediapipeBackend(threads=threads, landmark_model=landmark_model)
