"""Reading 2D keypoints written by other tools, one array of people per frame.

Every reader returns :class:`KeypointFrames`: ``people[t]`` is ``(P_t, J, 3)`` pixels x, y and
confidence in [0, 1] (``P_t`` may be 0), plus the layout. Supported:

Results files list only frames with detections; when image ids are frame numbers ("12", "12.jpg"),
the frames between them with nobody come back as empty frames, so time stays right.

- COCO-17 JSON: COCO results (a list of ``{"image_id", "keypoints": [51 numbers], "score"}``, as
  Ultralytics and rtmlib scripts write) or MMPose inferencer output (a list of
  ``{"frame_id", "instances": [{"keypoints": [[x, y]] x 17, "keypoint_scores": [17]}]}``);
- OpenPose BODY_25: a folder of per-frame ``*_keypoints.json`` (``people[i].pose_keypoints_2d``);
- AlphaPose Halpe-26 JSON: a list of ``{"image_id", "keypoints": [78 numbers]}``;
- ``.npy`` / ``.npz`` (key ``keypoints``): ``(T, J, 2|3)`` or ``(T, P, J, 2|3)`` in a layout you name.

Readers check structure and types and raise :class:`~posemoe.errors.UserError` naming the file
and entry. Values are passed on as found (NaN, inf, 1e30 included):
:func:`posemoe.inference.tracking.drop_invalid` marks joints with non-finite coordinates or beyond
:data:`MAX_ABS_PIXELS` as missing and reports them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posemoe.errors import UserError
from posemoe.layouts import COCO17, HALPE26, OPENPOSE25, JointLayout, get_layout

# Keypoints further than this from the image's corner (pixels) are not detections of anything in
# the frame; no camera has a side of 10^5 pixels.
MAX_ABS_PIXELS = 1e5
MAX_IMAGE_SIDE = int(MAX_ABS_PIXELS)  # pixels of a frame's side, for the same reason


def check_image_size(image_size: tuple[int, int], where: str) -> None:
    """Refuse a (width, height) that no frame has: not positive, or a side over :data:`MAX_IMAGE_SIDE`."""
    width, height = image_size
    if not (0 < width <= MAX_IMAGE_SIDE and 0 < height <= MAX_IMAGE_SIDE):
        raise UserError(
            f"{where}: expected a frame size (width, height) of 1-{MAX_IMAGE_SIDE} pixels a side, "
            f"got {width:g}x{height:g}"
        )


@dataclass
class KeypointFrames:
    people: list[np.ndarray]  # per frame: (P_t, J, 3) pixels + confidence
    layout: JointLayout
    source: str = ""  # the file or folder they were read from, named in errors
    fps: float | None = None  # the frame rate, where the file records it
    image_size: tuple[int, int] | None = (
        None  # (width, height) of the frames, where the file records it
    )

    def __len__(self) -> int:
        return len(self.people)

    def check_pixels(self, image_size: tuple[int, int]) -> None:
        """Refuse keypoints that are plainly not pixels of a ``image_size`` frame (:func:`check_pixels`)."""
        points = [
            p[..., :2][np.isfinite(p[..., :2]).all(-1) & (p[..., 2] > 0)]
            for p in self.people
            if p.size
        ]
        check_pixels(
            np.concatenate(points) if points else np.zeros((0, 2)), image_size, self.source
        )


def check_pixels(points: np.ndarray, image_size: tuple[int, int], source: str) -> None:
    """Refuse (N, 2) keypoints that are plainly not pixels of a ``image_size`` frame: over 90 % of
    them more than half the frame outside it (a wrong size), or every |x|, |y| at most 1.5
    (coordinates normalised to [0, 1] or [-1, 1], as some tools write them)."""
    points = points[np.isfinite(points).all(-1)]
    if not len(points):
        return
    size = np.asarray(image_size, np.float64)
    outside = ((points < -0.5 * size) | (points > 1.5 * size)).any(-1).mean()
    if outside > 0.9:
        raise UserError(
            f"{source}: {outside:.0%} of the keypoints lie far outside the {image_size[0]}x"
            f"{image_size[1]} frame (by more than half its size): give the frame size of the video they came "
            "from (--image-size for keypoint files)"
        )
    if min(image_size) < 32 or np.abs(points).max() > 1.5:
        return
    signed = points.min() < 0
    scale = (
        "[-1, 1]: pixels are (x + 1) / 2 * width and (y + 1) / 2 * height"
        if signed
        else "[0, 1]: pixels are x * width and y * height"
    )
    raise UserError(
        f"{source}: every keypoint coordinate lies within 1.5 of 0 (largest "
        f"{np.abs(points).max():.3g}), in a {image_size[0]}x{image_size[1]} frame: they look "
        f"normalised to {scale}; convert them first"
    )


def _load_json(path: Path) -> object:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"no keypoint file at {path}") from None
    except OSError as err:
        raise UserError(f"{path}: cannot be read ({err.strerror or err})") from None
    except (ValueError, UnicodeDecodeError) as err:  # JSONDecodeError, or an integer of 5000 digits
        raise UserError(f"{path}: not valid JSON ({err})") from None
    except RecursionError:
        raise UserError(f"{path}: not valid JSON (nested too deeply)") from None


def _numbers(values: object, where: str) -> np.ndarray:
    """A (nested) list of JSON numbers -> float64 array, or an error naming ``where``."""
    if isinstance(values, (str, bytes, dict)) or values is None:
        raise UserError(f"{where}: expected a list of numbers, got {type(values).__name__}")
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError, OverflowError, RecursionError):
        raise UserError(f"{where}: expected a list of numbers, found other values") from None


def _flat(values: object, joints: int, where: str) -> np.ndarray:
    array = _numbers(values, where).reshape(-1)
    if array.size != joints * 3:
        raise UserError(f"{where}: expected {joints} x 3 keypoint numbers, got {array.size}")
    return array.reshape(joints, 3)


def _frame_key(image_id: object) -> tuple[int, str]:
    """Sort key for image ids that may be ints, '12', '12.jpg' or 'cam2_0012.jpg': the frame
    number is the last run of digits in the name."""
    if isinstance(image_id, bool) or not isinstance(image_id, (int, str)):
        raise UserError(
            f"image_id must be a number or a file name, got {type(image_id).__name__} {str(image_id)[:40]}"
        )
    text = str(image_id)
    runs = re.findall(r"\d+", Path(text).stem)
    return (int(runs[-1]) if runs and len(runs[-1]) <= 18 else 0, text)


def _group_by_image(records: list, joints: int, where: str) -> list[np.ndarray]:
    frames: dict[object, list[np.ndarray]] = {}
    for i, rec in enumerate(records):
        if not isinstance(rec, dict) or "keypoints" not in rec or "image_id" not in rec:
            raise UserError(
                f"{where} [entry {i}]: expected an object with 'image_id' and 'keypoints'"
            )
        try:
            _frame_key(rec["image_id"])
        except UserError as err:
            raise UserError(f"{where} [entry {i}]: {err}") from None
        frames.setdefault(rec["image_id"], []).append(
            _flat(rec["keypoints"], joints, f"{where} [entry {i}]")
        )
    keys = sorted(frames, key=_frame_key)
    numbers = [_frame_key(k)[0] for k in keys]
    span = max(numbers) - min(numbers) + 1
    # Numbered frames: the frames nobody was found in come back empty, so time stays right. Ids far
    # sparser than frames of one video (COCO image ids) are taken in order instead.
    if len(set(numbers)) == len(numbers) and span <= 2 * len(numbers) + 1000:
        by_number = {n: np.stack(frames[k]) for n, k in zip(numbers, keys)}
        return [
            by_number.get(n, np.zeros((0, joints, 3)))
            for n in range(min(numbers), max(numbers) + 1)
        ]
    return [np.stack(frames[k]) for k in keys]


def read_coco_json(path: str | Path) -> KeypointFrames:
    path = Path(path)
    data = _load_json(path)
    if not isinstance(data, list) or not data:
        raise UserError(f"{path}: expected a non-empty list of COCO results or MMPose frames")
    if isinstance(data[0], dict) and "instances" in data[0]:
        return KeypointFrames(
            [_mmpose_frame(frame, f"{path} [frame {t}]") for t, frame in enumerate(data)],
            COCO17,
            str(path),
        )
    return KeypointFrames(_group_by_image(data, COCO17.num_joints, str(path)), COCO17, str(path))


def _mmpose_frame(frame: object, where: str) -> np.ndarray:
    """One MMPose frame ``{"instances": [{"keypoints": [[x, y]] x 17, "keypoint_scores": [17]}]}`` -> (P, 17, 3)."""
    joints = COCO17.num_joints
    instances = frame.get("instances") if isinstance(frame, dict) else None
    if not isinstance(instances, list):
        raise UserError(f"{where}: expected an object with an 'instances' list")
    persons = []
    for i, inst in enumerate(instances):
        if not isinstance(inst, dict) or "keypoints" not in inst:
            raise UserError(f"{where} [instance {i}]: expected an object with 'keypoints'")
        xy = _numbers(inst["keypoints"], f"{where} [instance {i}] keypoints")
        scores = _numbers(
            inst.get("keypoint_scores", [1.0] * joints), f"{where} [instance {i}] keypoint_scores"
        )
        if xy.shape != (joints, 2) or scores.shape != (joints,):
            raise UserError(
                f"{where} [instance {i}]: expected {joints} [x, y] keypoints with {joints} scores, "
                f"got {xy.shape} and {scores.shape}"
            )
        persons.append(np.concatenate([xy, scores[:, None]], -1))
    return np.stack(persons) if persons else np.zeros((0, joints, 3))


def read_alphapose_json(path: str | Path) -> KeypointFrames:
    path = Path(path)
    data = _load_json(path)
    if not isinstance(data, list) or not data:
        raise UserError(f"{path}: expected a non-empty list of AlphaPose results")
    return KeypointFrames(_group_by_image(data, HALPE26.num_joints, str(path)), HALPE26, str(path))


def read_openpose_folder(folder: str | Path) -> KeypointFrames:
    folder = Path(folder)
    files = sorted(folder.glob("*_keypoints.json"))
    if not files:
        raise FileNotFoundError(f"{folder}: no OpenPose *_keypoints.json files")
    people = []
    for f in files:
        data = _load_json(f)
        if not isinstance(data, dict) or not isinstance(data.get("people"), list):
            raise UserError(f"{f}: expected an OpenPose object with a 'people' list")
        persons = []
        for i, person in enumerate(data["people"]):
            if not isinstance(person, dict):
                raise UserError(f"{f} [person {i}]: expected an object with 'pose_keypoints_2d'")
            persons.append(
                _flat(
                    person.get("pose_keypoints_2d", []), OPENPOSE25.num_joints, f"{f} [person {i}]"
                )
            )
        people.append(np.stack(persons) if persons else np.zeros((0, OPENPOSE25.num_joints, 3)))
    return KeypointFrames(people, OPENPOSE25, str(folder))


def _array_metadata(data: dict, path: Path) -> dict:
    """The optional ``layout``, ``fps`` and ``image_size`` of an .npz keypoint file (as
    ``posemoe infer`` writes ``<name>_blazepose33.npz``), checked."""
    meta: dict = {}
    if "layout" in data:
        value = np.asarray(data["layout"])
        if value.ndim != 0 or value.dtype.kind != "U":
            raise UserError(f"{path}: expected 'layout' as a layout name, got {value!r}")
        meta["layout"] = str(value)
    if "fps" in data:
        value = np.asarray(data["fps"])
        if (
            value.size != 1
            or value.dtype.kind not in "iuf"
            or not 0 < float(value.reshape(())) < 1e4
        ):
            raise UserError(f"{path}: expected 'fps' as a positive frame rate, got {value!r}")
        meta["fps"] = float(value.reshape(()))
    if "image_size" in data:
        value = np.asarray(data["image_size"])
        if (
            value.shape != (2,)
            or value.dtype.kind not in "iuf"
            or not (value > 0).all()
            or not np.array_equal(value, np.round(value))
        ):
            raise UserError(
                f"{path}: expected 'image_size' as two positive integers (width, height), got {value!r}"
            )
        check_image_size((float(value[0]), float(value[1])), f"{path}: 'image_size'")
        meta["image_size"] = (int(value[0]), int(value[1]))
    return meta


def read_array(path: str | Path, layout: str | None) -> KeypointFrames:
    """``(T, J, C)`` (one person) or ``(T, P, J, C)``, C = 2 (confidence 1 is added, 0 for a joint at
    (0, 0): not found) or 3; a person slot with no joint found (all NaN, or all at (0, 0) with no
    confidence) is no person. An .npz may record ``layout``, ``fps`` and ``image_size`` beside
    ``keypoints``; a ``layout`` given here must agree."""
    from posemoe.io.npz import load_npy, load_npz, require_key

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no keypoint file at {path}")
    meta = {}
    if path.suffix == ".npz":
        data = load_npz(path)
        array, meta = require_key(data, "keypoints", path), _array_metadata(data, path)
    else:
        array = load_npy(path)
    if layout is not None and meta.get("layout", layout) != layout:
        raise UserError(
            f"{path}: the file's keypoints are {meta['layout']}, not {layout} "
            "(leave --layout out to use the file's)"
        )
    if layout is None and "layout" not in meta:
        raise UserError(f"{path}: name the joint layout of an array file (e.g. --layout coco17)")
    lay = get_layout(layout or meta["layout"])
    if not isinstance(array, np.ndarray) or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        found = f"{array.dtype} array" if isinstance(array, np.ndarray) else type(array).__name__
        raise UserError(f"{path}: expected 'keypoints' as an array of numbers, got a {found}")
    if array.ndim == 3:
        array = array[:, None]
    if array.ndim != 4 or array.shape[2] != lay.num_joints or array.shape[3] not in (2, 3):
        raise UserError(
            f"{path}: expected (T, [P,] {lay.num_joints}, 2|3) for layout {lay.name}, got {array.shape}"
        )
    array = array.astype(np.float64)
    if array.shape[3] == 2:  # (0, 0) is how tools write a joint they did not find
        array = np.concatenate([array, (array != 0).any(-1, keepdims=True).astype(np.float64)], -1)
    missing = np.isnan(array).all(-1) | (
        (array[..., :2] == 0).all(-1) & (array[..., 2] <= 0)
    )  # (T, P, J)
    return KeypointFrames(
        [frame[~gone.all(-1)] for frame, gone in zip(array, missing)],
        lay,
        str(path),
        meta.get("fps"),
        meta.get("image_size"),
    )


def read_keypoints(path: str | Path, layout: str | None = None) -> KeypointFrames:
    """Pick the reader from the path: folder = OpenPose (``layout`` ignored), .npy/.npz = array
    (``layout`` needed unless the .npz records it), .json = COCO-17 or, with ``layout="halpe26"``, AlphaPose."""
    path = Path(path)
    if path.is_dir():
        return read_openpose_folder(path)
    if path.suffix in (".npy", ".npz"):
        return read_array(path, layout)
    if path.suffix == ".json":
        if layout not in (None, "coco17", "halpe26"):
            raise UserError(
                f"{path}: a .json file is read as COCO-17 (COCO / MMPose results) or, with --layout "
                f"halpe26, as AlphaPose; --layout {layout} does not apply to it"
            )
        return read_alphapose_json(path) if layout == "halpe26" else read_coco_json(path)
    raise UserError(
        f"{path}: unsupported keypoint file (use .json, .npy, .npz or an OpenPose folder)"
    )
