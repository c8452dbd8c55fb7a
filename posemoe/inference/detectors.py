"""2D keypoints from frames: the bundled offline detector, MediaPipe BlazePose (full), for every
person in view.

``mediapipe==0.10.21`` ships BlazePose inside its wheel (``modules/pose_detection`` and
``modules/pose_landmark``; later wheels dropped them), so nothing is downloaded. :class:`BlazePose`
runs mediapipe's own graphs for the two stages (``PoseDetectionCpu``: people in the whole frame; the
landmark model on one person's region, as in ``PoseLandmarkByRoiCpu`` but with its presence score
out). The landmark model is the wheel's with the two heads posemoe never reads cut off (the
segmentation mask and the world landmarks; ``posemoe/assets/pose_landmark_full_body.tflite``, made
by ``tools/blazepose_landmarks.py``): the same weights and, bit for bit, the same landmarks, 1.35
(two threads) to 1.9 (one) times faster. The detector schedules the two stages itself: each person
is followed from frame to frame through the region their landmarks give, and the person detector
looks for newcomers every few frames, or at once when someone is lost, on a second core when there
is one. mediapipe's ready-made landmarker instead runs the person detector on every frame until it
follows as many people as it was asked for, which made looking for several people 1.5 times slower.
mediapipe pins numpy<2, which is why it lives in the ``posemoe[video]`` extra.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from posemoe.errors import MissingDependency, UserError
from posemoe.layouts import BLAZEPOSE33

SEARCH_EVERY = 4  # frames between two looks for newcomers (the person detector); see the README
PATIENCE = 3  # frames in a row a person may be doubted (presence score < threshold) before they are let go
DETECT_PEOPLE = 4  # people looked for per frame when --max-people is not given
DETECT_WORKERS = 2  # threads: newcomers are looked for beside following people (README speed)


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity where the OS tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


@contextmanager
def _silenced(active: bool) -> Iterator[None]:
    """Point file descriptor 2 at /dev/null: mediapipe's absl and TFLite loggers write there
    directly (not through Python) while the graph is built and the first frames run, and no
    environment variable reaches them. ``POSEMOE_VERBOSE=1`` (``posemoe --verbose``) keeps them."""
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
        raise MissingDependency("the BlazePose detector needs mediapipe 0.10.21: pip install 'posemoe[video]'") from None
    root = Path(mp.__file__).parent
    for model in ("pose_detection/pose_detection.tflite", "pose_landmark/pose_landmark_full.tflite"):
        if not (root / "modules" / model).is_file():
            raise MissingDependency(f"{root / 'modules' / model} is missing: reinstall mediapipe==0.10.21 "
                                    "(pip install 'posemoe[video]')")
    resource_util.set_resource_dir(str(root.parent))  # graphs name their models "mediapipe/modules/..."
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


LANDMARK_MODEL = Path(__file__).parents[1] / "assets" / "pose_landmark_full_body.tflite"


def _landmark_graph(threads: int, model: Path | None = LANDMARK_MODEL) -> str:
    """The landmark graph with the landmark model run by XNNPACK on ``threads`` threads: ``model`` (a
    .tflite whose outputs are landmarks, presence flag and heatmap), or None for the wheel's own model
    with all five heads (the reference the shipped one is checked against)."""
    xnnpack = f"delegate {{ xnnpack {{ num_threads: {threads} }} }}"
    if model is None:
        node = ('node { calculator: "ConstantSidePacketCalculator" output_side_packet: "PACKET:complexity"\n'
                '       options { [mediapipe.ConstantSidePacketCalculatorOptions.ext] { packet { int_value: 1 } } } }\n'
                'node { calculator: "PoseLandmarkModelLoader" input_side_packet: "MODEL_COMPLEXITY:complexity" '
                'output_side_packet: "MODEL:model" }\n'
                'node { calculator: "InferenceCalculator" input_side_packet: "MODEL:model" input_stream: "TENSORS:input"\n'
                f'       output_stream: "TENSORS:output" options {{ [mediapipe.InferenceCalculatorOptions.ext] {{ {xnnpack} }} }} }}')
        outputs = "ranges { begin: 0 end: 1 } ranges { begin: 1 end: 2 } ranges { begin: 3 end: 4 }"
    else:
        path = json.dumps(str(model), ensure_ascii=False)  # a quoted, escaped text-proto string
        node = ('node { calculator: "InferenceCalculator" input_stream: "TENSORS:input" output_stream: "TENSORS:output"\n'
                f'       options {{ [mediapipe.InferenceCalculatorOptions.ext] {{ model_path: {path} {xnnpack} }} }} }}')
        outputs = "ranges { begin: 0 end: 1 } ranges { begin: 1 end: 2 } ranges { begin: 2 end: 3 }"
    return _LANDMARKS.replace("@MODEL@", node).replace("@OUTPUTS@", outputs)


class _Graph:
    """One mediapipe graph run a packet set at a time: ``graph(image=..., roi=...)`` -> the packets its
    output streams produced (a stream may produce none: the landmark graph's, when nobody is there)."""

    def __init__(self, mp: Any, config: str, outputs: dict[str, Any], side_packets: dict | None = None) -> None:
        self.config, self._outputs, self._time = config, {}, 0
        self._graph = mp.CalculatorGraph(graph_config=config)
        for name, getter in outputs.items():
            self._graph.observe_output_stream(name, lambda stream, packet, g=getter: self._outputs.__setitem__(stream, g(packet)))
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


Head = tuple[np.ndarray, float]  # a person's head: centre (x, y) and size, pixels


def _head(points: np.ndarray) -> Head:
    """The head of 33 BlazePose landmarks (pixels): the centre and extent of the face points 0-10."""
    face = points[:11, :2]
    return face.mean(axis=0), float(np.ptp(face, axis=0).max())


def _same_person(a: Head, b: Head) -> bool:
    """Two heads that are one person's: their centres lie within 0.6 of the larger head's size. Heads
    are what tell people apart (two people's hips or boxes can come close; their heads cannot), and
    the one place where two guesses at a half-seen person agree."""
    return bool(np.linalg.norm(a[0] - b[0]) < 0.6 * max(a[1], b[1]))


def _one_body(a: np.ndarray, b: np.ndarray) -> bool:
    """Two sets of 33 landmarks (pixels) on one body: the same head, or one's box lying at least
    80 % inside the other's (a follower that slid onto a person's legs sees a small person there)."""
    if _same_person(_head(a), _head(b)):
        return True
    low, high = np.maximum(a[:, :2].min(0), b[:, :2].min(0)), np.minimum(a[:, :2].max(0), b[:, :2].max(0))
    inside = np.prod(np.clip(high - low, 0, None))
    smaller = min(np.prod(np.ptp(a[:, :2], axis=0)), np.prod(np.ptp(b[:, :2], axis=0)))
    return bool(inside >= 0.8 * smaller > 0)


@dataclass
class _Followed:
    """A person being followed: where to look in the next frame, their latest landmarks (33, 3)
    pixels, and for how many frames in a row the landmark model has doubted anyone is there."""

    roi: Any
    points: np.ndarray
    misses: int = 0


class BlazePose:
    """Every person in a frame, up to ``max_people``, by the offline BlazePose models (full) inside the
    mediapipe wheel. ``detector(rgb)`` -> (N, 33, 3) pixels x, y and visibility, N >= 0, largest first.
    ``video=True`` follows people between consecutive frames (each call is the next frame) and looks for
    newcomers every ``search_every`` frames and right after someone was lost; ``video=False`` looks
    afresh in every image. ``threads=2`` runs the look for newcomers beside following the known people,
    and follows two people at a time; ``threads`` is capped at :func:`usable_cores` (XNNPACK with more
    threads than cores runs dozens of times slower). ``landmark_model=None`` runs the wheel's landmark
    model with all its heads instead of the shipped one (the same landmarks, slower: a reference)."""

    layout = BLAZEPOSE33

    def __init__(self, *, max_people: int = DETECT_PEOPLE, video: bool = True, search_every: int = SEARCH_EVERY,
                 threads: int = 1, min_detection_confidence: float = 0.5,
                 landmark_model: Path | None = LANDMARK_MODEL) -> None:
        if not 1 <= max_people <= 64:
            raise UserError(f"max_people must be 1..64, got {max_people}")
        if search_every < 1 or threads < 1:
            raise UserError(f"search_every and threads must be >= 1, got {search_every} and {threads}")
        self._mp = mp = require_mediapipe()
        if landmark_model is not None and not Path(landmark_model).is_file():
            if Path(landmark_model) == LANDMARK_MODEL:
                raise MissingDependency(f"{LANDMARK_MODEL} is missing: reinstall posemoe (or, in a checkout, "
                                        "make it with tools/blazepose_landmarks.py)")
            raise UserError(f"no landmark model at {landmark_model}")
        threads = min(threads, usable_cores())
        self._max, self._video, self._every, self._min_score = max_people, video, search_every, min_detection_confidence
        with _silenced(os.environ.get("POSEMOE_VERBOSE") != "1"):  # mediapipe logs as each graph opens
            self._search = _Graph(mp, _DETECT, {"rois": mp.packet_getter.get_proto_list,
                                                "detections": mp.packet_getter.get_proto_list})
            outputs = {"landmarks": mp.packet_getter.get_proto, "next_roi": mp.packet_getter.get_proto,
                       "presence": mp.packet_getter.get_float}
            self._follow = [_Graph(mp, _landmark_graph(1, landmark_model), outputs) for _ in range(threads)]
            # one person: the landmark model on every thread
            self._solo = _Graph(mp, _landmark_graph(threads, landmark_model), outputs) if threads > 1 else self._follow[0]
            self._warm_up()
        self._pool = ThreadPoolExecutor(max_workers=threads - 1) if threads > 1 else None
        self._people: list[_Followed] = []
        self._since_search = search_every  # frames since the last look (search on the first frame)

    def _warm_up(self) -> None:
        """Run every graph once on a blank image: mediapipe opens a graph's models (and logs about
        it) at its first packet, which must not happen unsilenced in the middle of a video."""
        from mediapipe.framework.formats import rect_pb2

        image = self._mp.packet_creator.create_image_frame(image_format=self._mp.ImageFormat.SRGB,
                                                           data=np.full((64, 64, 3), 128, np.uint8))
        roi = self._mp.packet_creator.create_proto(rect_pb2.NormalizedRect(x_center=0.5, y_center=0.5, width=1, height=1))
        for graph in self._graphs():
            graph(image=image) if graph is self._search else graph(image=image, roi=roi)

    def _graphs(self) -> list[_Graph]:
        """Every graph once (the solo graph is the first lane's with one thread)."""
        return list({id(g): g for g in [self._search, *self._follow, self._solo]}.values())

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise UserError(f"expected an RGB uint8 image (H, W, 3), got {rgb.dtype} {rgb.shape}")
        if not self._video:
            self._people, self._since_search = [], self._every
        image = self._mp.packet_creator.create_image_frame(image_format=self._mp.ImageFormat.SRGB,
                                                           data=np.ascontiguousarray(rgb))
        people = self._frame(image, rgb.shape[1], rgb.shape[0])
        if not len(people):
            return np.zeros((0, self.layout.num_joints, 3), np.float32)
        people = np.stack(people).astype(np.float32)
        people[..., 2] = np.clip(people[..., 2], 0.0, 1.0)
        size = [np.ptp(p[:, :2], axis=0).prod() for p in people]
        return people[np.argsort(size)[::-1]] if len(people) > 1 else people

    def _frame(self, image: Any, width: int, height: int) -> list[np.ndarray]:
        """Follow the known people in ``image`` and, when it is time, look for newcomers beside them."""
        searching = len(self._people) < self._max and self._since_search >= self._every
        followed, candidates = self._follow_and_look(image, width, height, searching)
        self._since_search = 1 if searching else self._since_search + 1
        people: list[_Followed] = []
        followed.sort(key=lambda person: person.misses)  # stable: the surest first, then the longest followed
        for person in followed:  # two followers may have closed in on one person: keep the first
            if person.misses <= PATIENCE and not any(_one_body(person.points, p.points) for p in people):
                people.append(person)
        if len(people) < len(self._people):
            self._since_search = self._every  # someone was lost: look again on the next frame
        for roi, head in candidates:
            if len(people) >= self._max or any(_same_person(head, _head(p.points)) for p in people):
                continue
            for new in self._landmarks(self._follow[0], image, [_Followed(roi, np.zeros((0, 3)))], width, height):
                if new.misses == 0 and not any(_one_body(new.points, p.points) for p in people):
                    people.append(new)
        self._people = people
        return [p.points for p in people if p.misses == 0]

    def _follow_and_look(self, image: Any, width: int, height: int, searching: bool) -> tuple[list[_Followed], list]:
        """Each known person's landmarks in ``image`` and, if ``searching``, the newcomer candidates
        (:meth:`_look`). With several threads the look runs beside the landmark model: one person is
        followed on every thread, several are split into lanes of one thread each (the look runs on
        the pool, before lane 2's people with two threads). Measured: README, speed."""
        search = self._pool.submit(self._look, image, width, height) if searching and self._pool is not None else None
        if len(self._people) == 1:
            try:
                followed = self._landmarks(self._solo, image, self._people, width, height)
            finally:
                wait([search] if search is not None else [])
        else:
            lanes = [self._people[k::len(self._follow)] for k in range(len(self._follow))]
            found = [self._pool.submit(self._landmarks, self._follow[k], image, lane, width, height)
                     for k, lane in enumerate(lanes[1:], start=1)] if self._pool is not None else []
            try:
                followed = self._landmarks(self._follow[0], image, lanes[0], width, height)
            finally:  # no graph may still be busy when this returns or raises: the next frame uses them
                wait(found + ([search] if search is not None else []))
            for future in found:
                followed += future.result()
        candidates = (search.result() if search is not None else self._look(image, width, height)) if searching else []
        return followed, candidates

    def _look(self, image: Any, width: int, height: int) -> list[tuple[Any, Head]]:
        """The person detector on the whole frame -> (region, head) of each person it finds, largest
        region first (so that with room for fewer people than are there, the nearest are followed);
        the detector's box is the face's."""
        out = self._search(image=image)
        found = []
        for detection, roi in zip(out.get("detections", []), out.get("rois", [])):
            score, box = (detection.score[0] if detection.score else 0.0), detection.location_data.relative_bounding_box
            if score >= self._min_score:
                centre = np.array([(box.xmin + box.width / 2) * width, (box.ymin + box.height / 2) * height])
                area = roi.width * width * roi.height * height
                found.append((area, roi, (centre, max(box.width * width, box.height * height))))
        return [(roi, head) for _, roi, head in sorted(found, key=lambda f: -f[0])]

    def _landmarks(self, graph: _Graph, image: Any, people: list[_Followed], width: int, height: int) -> list[_Followed]:
        """33 landmarks in each person's region -> each person with their new landmarks and region."""
        updated = []
        for person in people:
            if not (person.roi.width > 0 and person.roi.height > 0):  # the graph would fail for good
                continue
            out = graph(image=image, roi=self._mp.packet_creator.create_proto(person.roi))
            if not {"landmarks", "presence", "next_roi"} <= out.keys():
                continue  # nothing came out of this region: the person is lost
            points = np.array([(p.x * width, p.y * height, p.visibility) for p in out["landmarks"].landmark])
            present = out["presence"] >= self._min_score
            updated.append(_Followed(out["next_roi"], points, 0 if present else person.misses + 1))
        return updated

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
        for graph in self._graphs():
            graph.close()

    def __enter__(self) -> BlazePose:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
