"""BlazePose's two models on ONNX Runtime, with the pre- and post-processing of mediapipe's graphs
redone in numpy and OpenCV (no mediapipe needed).

The models are the mediapipe 0.10.21 wheel's person detector and its full landmark model less the
two heads posemoe never reads (``tools/models/pose_landmark_full_body.tflite``), converted once by
``tools/blazepose_onnx.py``. Each step below follows the calculator of mediapipe's graph named in
its docstring, with the options those graphs set (``pose_detection_cpu.pbtxt``,
``pose_detection_to_roi.pbtxt``, ``pose_landmarks_to_roi.pbtxt``, and the landmark graph in
``tools/blazepose_mediapipe.py``).

Coordinates: a region (:class:`Roi`) is a rotated rectangle in *normalized* frame coordinates, as
mediapipe's ``NormalizedRect``: centre and size as fractions of the frame's width and height,
rotation in radians (clockwise on screen: y points down). Model outputs are normalized to the
model's input square until they are projected back to the frame; what leaves this module is in
pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posemoe.errors import MissingDependency, UserError
from posemoe.inference.runtime import cpu_session_options

ASSETS = Path(__file__).parents[1] / "assets"
DETECTOR_ONNX = ASSETS / "pose_detection.onnx"
LANDMARK_ONNX = ASSETS / "pose_landmark_full_body.onnx"

DETECTOR_SIZE = 224  # the person detector's input square, pixels
LANDMARK_SIZE = 256  # the landmark model's input square, pixels
HEATMAP_KERNEL = 7  # RefineLandmarksFromHeatmap: the window around a landmark, heatmap cells
REFINE_MIN_CONFIDENCE = 0.5  # ... refine only where the window's best cell is at least this sure
NMS_IOU = 0.3  # NonMaxSuppression (weighted): boxes overlapping more than this are merged
ROI_SCALE = (
    1.25  # RectTransformation: the person's region, enlarged around the two alignment points
)
SCORE_CLIP = 100.0  # TensorsToDetections: raw scores are clipped to +-this before the sigmoid
BODY_LANDMARKS = 33  # of the landmark model's 39: 33 body landmarks, 2 alignment points, 4 unused


@dataclass(frozen=True)
class Roi:
    """A rotated rectangle of a frame, normalized (mediapipe's ``NormalizedRect``): centre
    ``x``, ``y`` and ``width``, ``height`` as fractions of the frame's width and height, ``rotation``
    in radians, clockwise on screen."""

    x: float
    y: float
    width: float
    height: float
    rotation: float = 0.0


@dataclass(frozen=True)
class Detection:
    """One person found by the detector: ``score`` in [0, 1], the face's box (xmin, ymin, width,
    height) normalized to the frame, four keypoints (4, 2) normalized to the frame (mid-hip, a point
    giving the full body's size and rotation, mid-shoulder, the same for the upper body)."""

    score: float
    box: np.ndarray
    keypoints: np.ndarray


Found = tuple[
    np.ndarray, float, Roi
]  # one person: (33, 3) pixels x, y, visibility; presence score; next region


def sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(
        over="ignore"
    ):  # exp(-x) = inf for x < -88 (float32): the sigmoid is 0, rightly
        return 1.0 / (1.0 + np.exp(-x))


def normalize_radians(angle: float) -> float:
    """``angle`` wrapped into [-pi, pi)."""
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


# -- the person detector ----------------------------------------------------------------------


def ssd_anchors(
    size: int = DETECTOR_SIZE, strides: tuple[int, ...] = (8, 16, 32, 32, 32), per_layer: int = 2
) -> np.ndarray:
    """SsdAnchorsCalculator with the detector's options -> anchor centres (N, 2) x, y normalized.
    Layers of one stride share a grid; each cell holds ``per_layer`` anchors per layer (aspect ratio
    1 and the interpolated scale), all centred on the cell. With ``fixed_anchor_size`` every
    anchor's size is 1, so only centres matter. BlazePose's detector: 28x28x2 + 14x14x2 + 7x7x6 = 2254."""
    anchors = []
    k = 0
    while k < len(strides):
        layers = (
            next((j for j in range(k, len(strides)) if strides[j] != strides[k]), len(strides)) - k
        )
        cells = math.ceil(size / strides[k])
        centre = (np.arange(cells, dtype=np.float32) + 0.5) / cells
        ys, xs = np.meshgrid(centre, centre, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        anchors.append(np.repeat(grid, layers * per_layer, axis=0))
        k += layers
    return np.concatenate(anchors)


def decode_detections(
    raw_boxes: np.ndarray,
    raw_scores: np.ndarray,
    anchors: np.ndarray,
    min_score: float = 0.5,
    size: int = DETECTOR_SIZE,
) -> list[Detection]:
    """TensorsToDetectionsCalculator: the detector's raw outputs (N, 12) (box centre offset x, y,
    width, height, then 4 keypoint offsets x, y, all in input pixels relative to the anchor) and (N, 1)
    logits -> the detections scoring at least ``min_score`` (sigmoid of the clipped logit), normalized
    to the detector's input square, in anchor order."""
    scores = sigmoid(np.clip(raw_scores[:, 0], -SCORE_CLIP, SCORE_CLIP))
    keep = np.flatnonzero(scores >= min_score)
    raw, centres = raw_boxes[keep].astype(np.float32), anchors[keep]
    centre = raw[:, 0:2] / size + centres
    half = raw[:, 2:4] / size / 2
    low, high = centre - half, centre + half
    boxes = np.concatenate([low, high - low], axis=1)  # xmin, ymin, width, height
    points = raw[:, 4:12].reshape(-1, 4, 2) / size + centres[:, None]
    valid = (boxes[:, 2] >= 0) & (boxes[:, 3] >= 0)  # nan fails both
    return [
        Detection(float(scores[k]), boxes[i], points[i]) for i, k in enumerate(keep) if valid[i]
    ]


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of box ``a`` (4,) with each of ``b`` (N, 4); boxes xmin, ymin, width,
    height. Touching or disjoint boxes: 0."""
    low = np.maximum(a[:2], b[:, :2])
    high = np.minimum(a[:2] + a[2:], b[:, :2] + b[:, 2:])
    inter = np.prod(np.clip(high - low, 0, None), axis=1)
    union = a[2] * a[3] + b[:, 2] * b[:, 3] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def weighted_nms(detections: list[Detection], threshold: float = NMS_IOU) -> list[Detection]:
    """NonMaxSuppressionCalculator, WEIGHTED, intersection over union: take the surest remaining
    detection and every remaining one overlapping it by more than ``threshold`` (itself included);
    their score-weighted mean box and keypoints, with the surest's score, is one output. Surest first."""
    if not detections:
        return []
    order = sorted(range(len(detections)), key=lambda k: -detections[k].score)
    scores = np.array([detections[k].score for k in order], np.float32)
    boxes = np.stack([detections[k].box for k in order])
    points = np.stack([detections[k].keypoints for k in order])
    remaining = np.arange(len(order))
    merged = []
    while len(remaining):
        top = remaining[0]
        close = iou(boxes[top], boxes[remaining]) > threshold
        group = remaining[close]
        if len(group):
            w = scores[group]
            corners = np.concatenate(
                [boxes[group, :2], boxes[group, :2] + boxes[group, 2:]], axis=1
            )
            corners = (corners * w[:, None]).sum(0) / w.sum()
            box = np.concatenate([corners[:2], corners[2:] - corners[:2]])
            kps = (points[group] * w[:, None, None]).sum(0) / w.sum()
            merged.append(
                Detection(float(scores[top]), box.astype(np.float32), kps.astype(np.float32))
            )
        else:  # a box of no area overlaps nothing, not even itself: mediapipe keeps it as it is, and stops
            merged.append(Detection(float(scores[top]), boxes[top], points[top]))
            break
        remaining = remaining[~close]
    return merged


def letterbox_padding(width: float, height: float, size: int) -> tuple[float, float]:
    """ImageToTensorCalculator's ``keep_aspect_ratio``: a ``width`` x ``height`` region fitted into a
    ``size`` x ``size`` square -> the padding on the left (= right) and top (= bottom) as fractions of
    the square."""
    if height / width < 1.0:
        return 0.0, (1.0 - (height / width)) / 2.0
    return (1.0 - (width / height)) / 2.0, 0.0


def remove_letterbox(points: np.ndarray, padding: tuple[float, float]) -> np.ndarray:
    """(Detection|Landmark)LetterboxRemovalCalculator: points (..., 2) normalized to the padded
    square -> normalized to the region inside the padding."""
    left, top = padding
    return (points - np.array([left, top], np.float32)) / np.array(
        [1 - 2 * left, 1 - 2 * top], np.float32
    )


def alignment_roi(centre: np.ndarray, scale_point: np.ndarray, width: int, height: int) -> Roi:
    """AlignmentPointsRectsCalculator then RectTransformationCalculator, as PoseDetectionToRoi and
    PoseLandmarksToRoi set them: two points normalized to the frame (the body's centre, and a point
    whose distance gives the body's half size) -> a square region (in pixels) twice that distance
    across, enlarged by :data:`ROI_SCALE`, turned so that the centre-to-point direction is up."""
    x0, y0 = float(centre[0]) * width, float(centre[1]) * height
    x1, y1 = float(scale_point[0]) * width, float(scale_point[1]) * height
    side = 2.0 * math.hypot(x1 - x0, y1 - y0) * ROI_SCALE
    rotation = normalize_radians(math.pi / 2 - math.atan2(-(y1 - y0), x1 - x0))
    return Roi(x0 / width, y0 / height, side / width, side / height, rotation)


# -- crops --------------------------------------------------------------------------------------


def crop_corners(
    roi: Roi, width: int, height: int, size: int
) -> tuple[np.ndarray, tuple[float, float]]:
    """ImageToTensorCalculator's geometry: the region, enlarged to the square's aspect ratio
    (keep_aspect_ratio) -> its corners in the frame (4, 2) pixels, float32, in the order of the crop's
    corners (0, size), (0, 0), (size, size), (size, 0) (OpenCV's ``boxPoints`` order), and the letterbox
    padding (left, top) the enlargement added. Computed in float32 as mediapipe does: the crop's pixels
    then sample the same points."""
    import cv2

    f = np.float32
    w, h = f(roi.width) * f(width), f(roi.height) * f(height)
    if not (w > 0 and h > 0):
        raise UserError(f"expected a region of positive size, got {w} x {h} pixels")
    padding = letterbox_padding(float(w), float(h), size)
    w, h = (w, w) if h / w < f(1.0) else (h, h)
    degrees = f(float(f(roi.rotation) * f(180.0)) / math.pi)
    box = (
        (float(f(roi.x) * f(width)), float(f(roi.y) * f(height))),
        (float(w), float(h)),
        float(degrees),
    )
    return cv2.boxPoints(box).astype(np.float32), padding


def crop(
    rgb: np.ndarray, roi: Roi, size: int, value_range: tuple[float, float], replicate: bool
) -> tuple[np.ndarray, tuple[float, float]]:
    """The model's input: the region of ``rgb`` (H, W, 3) uint8 warped into a ``size`` x ``size``
    square, scaled from [0, 255] to ``value_range`` -> (1, size, size, 3) float32, letterbox padding
    (left, top). Outside the frame: the edge pixels repeated (``replicate``) or black. As mediapipe's
    OpenCV converter does it: a perspective warp from the region's four corners (the crop's corner
    pixels sample the corners), bilinear on the uint8 pixels. The map is affine, but ``warpAffine``
    rounds its sampling positions differently (to 1/32 pixel), and those few grey levels moved the
    landmarks by up to 0.06 pixel where the perspective warp moves them by 0.0004 (1080x1920 clip)."""
    import cv2

    corners, padding = crop_corners(roi, rgb.shape[1], rgb.shape[0], size)
    square = np.array([[0, size], [0, 0], [size, 0], [size, size]], np.float32)
    matrix = cv2.getPerspectiveTransform(corners, square)
    border = cv2.BORDER_REPLICATE if replicate else cv2.BORDER_CONSTANT
    pixels = cv2.warpPerspective(
        rgb, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=border, borderValue=(0, 0, 0)
    )
    low, high = value_range
    scale = np.float32((high - low) / 255.0)
    return (pixels.astype(np.float32) * scale + np.float32(low))[None], padding


WHOLE_FRAME = Roi(0.5, 0.5, 1.0, 1.0)  # the person detector's region


# -- the landmark model -------------------------------------------------------------------------


def refine_from_heatmap(
    points: np.ndarray,
    heatmap: np.ndarray,
    kernel: int = HEATMAP_KERNEL,
    min_confidence: float = REFINE_MIN_CONFIDENCE,
) -> np.ndarray:
    """RefineLandmarksFromHeatmapCalculator: each landmark (L, 2) normalized to the model's input
    moves to the sigmoid-weighted mean cell of the ``kernel`` x ``kernel`` window of its heatmap
    (heatmap (H, W, L) logits) around it, when the window's best cell is at least ``min_confidence``.
    Landmarks whose cell (index truncated toward zero, as C++ does) is off the heatmap stay."""
    rows, cols, count = heatmap.shape
    centre_col = np.trunc(points[:, 0] * cols).astype(np.int64)
    centre_row = np.trunc(points[:, 1] * rows).astype(np.int64)
    inside = (centre_col >= 0) & (centre_col < cols) & (centre_row >= 0) & (centre_row < rows)
    offsets = np.arange(kernel) - (kernel - 1) // 2
    row_idx = centre_row[:, None] + offsets  # (L, k)
    col_idx = centre_col[:, None] + offsets
    valid = ((row_idx >= 0) & (row_idx < rows))[:, :, None] & ((col_idx >= 0) & (col_idx < cols))[
        :, None, :
    ]
    values = heatmap[
        np.clip(row_idx, 0, rows - 1)[:, :, None],
        np.clip(col_idx, 0, cols - 1)[:, None, :],
        np.arange(count)[:, None, None],
    ]  # (L, k, k)
    confidence = np.where(valid, sigmoid(values.astype(np.float32)), 0.0)
    total = confidence.sum(axis=(1, 2))
    best = confidence.max(axis=(1, 2))
    refine = inside & (best >= min_confidence) & (total > 0)
    safe = np.where(total > 0, total, 1.0)
    x = (confidence * col_idx[:, None, :]).sum(axis=(1, 2)) / cols / safe
    y = (confidence * row_idx[:, :, None]).sum(axis=(1, 2)) / rows / safe
    out = points.copy()
    out[refine, 0], out[refine, 1] = x[refine], y[refine]
    return out


def project(points: np.ndarray, roi: Roi) -> np.ndarray:
    """LandmarkProjectionCalculator (NORM_RECT only): points (..., 2) normalized to the region ->
    normalized to the frame (turned by the region's rotation about its centre)."""
    c, s = math.cos(roi.rotation), math.sin(roi.rotation)
    x, y = points[..., 0] - 0.5, points[..., 1] - 0.5
    return np.stack(
        [(c * x - s * y) * roi.width + roi.x, (s * x + c * y) * roi.height + roi.y], axis=-1
    )


def decode_landmarks(
    raw: np.ndarray,
    heatmap: np.ndarray,
    roi: Roi,
    padding: tuple[float, float],
    width: int,
    height: int,
) -> tuple[np.ndarray, Roi]:
    """The landmark model's outputs -> (33, 3) pixels x, y and visibility, and the region to look at
    in the next frame. ``raw`` (39 * 5,): per landmark x, y (input pixels), z, visibility and
    presence logits; ``heatmap`` (64, 64, 39) logits. TensorsToLandmarks (sigmoid visibility),
    RefineLandmarksFromHeatmap, LandmarkLetterboxRemoval, LandmarkProjection, then PoseLandmarksToRoi
    on the two alignment points (landmarks 33 and 34)."""
    raw = raw.reshape(-1, 5)
    points = raw[:, :2] / np.float32(LANDMARK_SIZE)
    points = refine_from_heatmap(points, heatmap)
    points = project(remove_letterbox(points, padding), roi)
    body = np.empty((BODY_LANDMARKS, 3), np.float64)
    body[:, 0] = points[:BODY_LANDMARKS, 0] * width
    body[:, 1] = points[:BODY_LANDMARKS, 1] * height
    body[:, 2] = sigmoid(raw[:BODY_LANDMARKS, 3])
    return body, alignment_roi(points[BODY_LANDMARKS], points[BODY_LANDMARKS + 1], width, height)


# -- ONNX Runtime --------------------------------------------------------------------------------


def require_onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise MissingDependency(
            "the BlazePose detector needs onnxruntime: pip install 'posemoe[video]'"
        ) from None
    return onnxruntime


def session(model: Path, threads: int):
    """An ONNX Runtime session on the CPU running ``model`` on ``threads`` threads (and no more:
    the scheduler runs sessions side by side, one per core)."""
    ort = require_onnxruntime()
    if not Path(model).is_file():
        if Path(model) in (DETECTOR_ONNX, LANDMARK_ONNX):
            raise MissingDependency(
                f"{model} is missing: reinstall posemoe (or, in a checkout, make it with "
                "tools/blazepose_onnx.py)"
            )
        raise UserError(f"no model at {model}")
    return ort.InferenceSession(
        str(model), sess_options=cpu_session_options(threads), providers=["CPUExecutionProvider"]
    )


class PersonDetector:
    """BlazePose's person detector on a whole frame, or on one unrotated region of it
    (PoseDetectionCpu, then PoseDetectionToRoi for each person): ``detector(rgb)`` or
    ``detector(rgb, region)`` -> [(detection, region)], surest first; the detection's box is the
    face's, normalized to the frame."""

    def __init__(
        self, model: Path = DETECTOR_ONNX, *, threads: int = 1, min_score: float = 0.5
    ) -> None:
        self._session, self._min_score = session(model, threads), min_score
        self._input = self._session.get_inputs()[0].name
        self._anchors = ssd_anchors()

    def __call__(self, rgb: np.ndarray, region: Roi = WHOLE_FRAME) -> list[tuple[Detection, Roi]]:
        height, width = rgb.shape[:2]
        tensor, padding = crop(rgb, region, DETECTOR_SIZE, (-1.0, 1.0), replicate=False)
        raw_boxes, raw_scores = self._session.run(None, {self._input: tensor})
        found = weighted_nms(
            decode_detections(raw_boxes[0], raw_scores[0], self._anchors, self._min_score)
        )
        people = []
        for d in found:
            box = np.concatenate(
                [
                    remove_letterbox(d.box[:2], padding),
                    d.box[2:] / np.array([1 - 2 * padding[0], 1 - 2 * padding[1]], np.float32),
                ]
            )
            points = remove_letterbox(d.keypoints, padding)
            if region != WHOLE_FRAME:
                box, points = _to_frame(box, region), project(points, region).astype(np.float32)
            people.append(
                (
                    Detection(d.score, box, points),
                    alignment_roi(points[0], points[1], width, height),
                )
            )
        return people


def _to_frame(box: np.ndarray, region: Roi) -> np.ndarray:
    """A box (xmin, ymin, width, height) normalized to an unrotated ``region`` -> normalized to the
    frame."""
    corner = project(box[:2], region)
    return np.array(
        [corner[0], corner[1], box[2] * region.width, box[3] * region.height], np.float32
    )


class LandmarkModel:
    """BlazePose's landmark model on one person's region: ``model(rgb, roi)`` -> (33, 3) pixels x, y
    and visibility, the presence score (the model's flag, in [0, 1]) and the region for the next frame."""

    def __init__(self, model: Path = LANDMARK_ONNX, *, threads: int = 1) -> None:
        self._session = session(model, threads)
        self._input = self._session.get_inputs()[0].name

    def __call__(self, rgb: np.ndarray, roi: Roi) -> Found:
        height, width = rgb.shape[:2]
        tensor, padding = crop(rgb, roi, LANDMARK_SIZE, (0.0, 1.0), replicate=True)
        raw, flag, heatmap = self._session.run(None, {self._input: tensor})
        points, next_roi = decode_landmarks(raw[0], heatmap[0], roi, padding, width, height)
        return points, float(flag.reshape(-1)[0]), next_roi
