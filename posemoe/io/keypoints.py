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
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posemoe.errors import UserError
from posemoe.layouts import COCO17, HALPE26, OPENPOSE25, JointLayout, get_layout


@dataclass
class KeypointFrames:
    people: list[np.ndarray]  # per frame: (P_t, J, 3) pixels + confidence
    layout: JointLayout

    def __len__(self) -> int:
        return len(self.people)


def _load_json(path: Path) -> object:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"no keypoint file at {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not valid JSON ({err})") from None


def _flat(values: object, joints: int, where: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.size != joints * 3:
        raise UserError(f"{where}: expected {joints} x 3 keypoint numbers, got {array.size}")
    return array.reshape(joints, 3)


def _frame_key(image_id: object) -> tuple[int, str]:
    """Sort key for image ids that may be ints, '12', '12.jpg' or 'cam2_0012.jpg': the frame
    number is the last run of digits in the name."""
    if isinstance(image_id, bool) or not isinstance(image_id, (int, str)):
        raise UserError(f"image_id must be a number or a file name, got {type(image_id).__name__} {image_id!r}")
    text = str(image_id)
    runs = re.findall(r"\d+", Path(text).stem)
    return (int(runs[-1]) if runs else 0, text)


def _group_by_image(records: list, joints: int, where: str) -> list[np.ndarray]:
    frames: dict[object, list[np.ndarray]] = {}
    for i, rec in enumerate(records):
        if not isinstance(rec, dict) or "keypoints" not in rec or "image_id" not in rec:
            raise UserError(f"{where} [entry {i}]: expected an object with 'image_id' and 'keypoints'")
        try:
            _frame_key(rec["image_id"])
        except UserError as err:
            raise UserError(f"{where} [entry {i}]: {err}") from None
        frames.setdefault(rec["image_id"], []).append(_flat(rec["keypoints"], joints, f"{where} [entry {i}]"))
    keys = sorted(frames, key=_frame_key)
    numbers = [_frame_key(k)[0] for k in keys]
    span = max(numbers) - min(numbers) + 1
    # Numbered frames: the frames nobody was found in come back empty, so time stays right. Ids far
    # sparser than frames of one video (COCO image ids) are taken in order instead.
    if len(set(numbers)) == len(numbers) and span <= 2 * len(numbers) + 1000:
        by_number = {n: np.stack(frames[k]) for n, k in zip(numbers, keys)}
        return [by_number.get(n, np.zeros((0, joints, 3))) for n in range(min(numbers), max(numbers) + 1)]
    return [np.stack(frames[k]) for k in keys]


def read_coco_json(path: str | Path) -> KeypointFrames:
    path = Path(path)
    data = _load_json(path)
    if not isinstance(data, list) or not data:
        raise UserError(f"{path}: expected a non-empty list of COCO results or MMPose frames")
    if isinstance(data[0], dict) and "instances" in data[0]:
        people = []
        for t, frame in enumerate(data):
            persons = []
            for inst in frame.get("instances", []):
                xy = np.asarray(inst["keypoints"], dtype=np.float64).reshape(-1, 2)
                scores = np.asarray(inst.get("keypoint_scores", np.ones(len(xy))), dtype=np.float64)
                if len(xy) != COCO17.num_joints or scores.shape != (len(xy),):
                    raise UserError(f"{path} [frame {t}]: expected 17 keypoints with 17 scores")
                persons.append(np.concatenate([xy, scores[:, None]], -1))
            people.append(np.stack(persons) if persons else np.zeros((0, 17, 3)))
        return KeypointFrames(people, COCO17)
    return KeypointFrames(_group_by_image(data, COCO17.num_joints, str(path)), COCO17)


def read_alphapose_json(path: str | Path) -> KeypointFrames:
    path = Path(path)
    data = _load_json(path)
    if not isinstance(data, list) or not data:
        raise UserError(f"{path}: expected a non-empty list of AlphaPose results")
    return KeypointFrames(_group_by_image(data, HALPE26.num_joints, str(path)), HALPE26)


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
        persons = [_flat(p.get("pose_keypoints_2d", []), OPENPOSE25.num_joints, str(f)) for p in data["people"]]
        people.append(np.stack(persons) if persons else np.zeros((0, OPENPOSE25.num_joints, 3)))
    return KeypointFrames(people, OPENPOSE25)


def read_array(path: str | Path, layout: str) -> KeypointFrames:
    """``(T, J, C)`` (one person) or ``(T, P, J, C)``, C = 2 (confidence 1 is added) or 3."""
    from posemoe.io.npz import load_npz, require_key

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no keypoint file at {path}")
    if path.suffix == ".npz":
        array = np.asarray(require_key(load_npz(path), "keypoints", path), dtype=np.float64)
    else:
        try:
            array = np.load(path, allow_pickle=False)
        except ValueError as err:
            raise UserError(f"{path}: not a plain .npy array ({err})") from None
    lay = get_layout(layout)
    if array.ndim == 3:
        array = array[:, None]
    if array.ndim != 4 or array.shape[2] != lay.num_joints or array.shape[3] not in (2, 3):
        raise UserError(f"{path}: expected (T, [P,] {lay.num_joints}, 2|3) for layout {lay.name}, got {array.shape}")
    if array.shape[3] == 2:
        array = np.concatenate([array, np.ones_like(array[..., :1])], -1)
    return KeypointFrames([frame[~np.isnan(frame).all(axis=(1, 2))] for frame in array.astype(np.float64)], lay)


def read_keypoints(path: str | Path, layout: str | None = None) -> KeypointFrames:
    """Pick the reader from the path: folder = OpenPose, .npy/.npz = array (``layout`` needed),
    .json = COCO-17 or, with ``layout="halpe26"``, AlphaPose."""
    path = Path(path)
    if path.is_dir():
        return read_openpose_folder(path)
    if path.suffix in (".npy", ".npz"):
        if layout is None:
            raise UserError(f"{path}: name the joint layout of an array file (e.g. --layout coco17)")
        return read_array(path, layout)
    if path.suffix == ".json":
        return read_alphapose_json(path) if layout == "halpe26" else read_coco_json(path)
    raise UserError(f"{path}: unsupported keypoint file (use .json, .npy, .npz or an OpenPose folder)")
