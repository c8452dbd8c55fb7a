"""Image inputs for the end-to-end models: reading, person crops, and dataset importers.

Importers turn annotated images into an :class:`~posemoe.bodies.ImageSet` of fixed-size crops
(one ``.npz``), so training reads arrays instead of decoding JPEGs every step:

- ``load_h36m_json``: Human3.6M frames as RLE / 3DMPPE-style JSON (COCO layout: ``images`` with
  ``id``, ``file_name``, ``width``, ``height``, optional ``cam_param`` {``f``, ``c``};
  ``annotations`` with ``image_id``, ``bbox`` [x, y, w, h] and the 17 H36M joints in camera
  coordinates, millimetres, under ``h36m_joints`` or ``keypoints_cam``).
- ``load_coco_json``: COCO person keypoints (``keypoints`` = 17 x [x, y, v], ``bbox``), for AITEPose2D.

Crops are squares around the box centre, ``margin`` times its longer side, resized to the
model's input size; keypoints are returned in crop coordinates, [-1, 1] left/top to right/bottom.

Hostile files are refused before they cost memory: images over
:data:`~posemoe.io.video.MAX_IMAGE_PIXELS` (from the header), crops over :data:`~posemoe.crops.MAX_CROP_SIZE`,
and annotations whose labels would not be finite (joints at or behind the camera, NaN, values
beyond :data:`MAX_ABS_MM` or :data:`~posemoe.io.keypoints.MAX_ABS_PIXELS`) raise an error naming
the annotation.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from posemoe.crops import crop, square_box
from posemoe.datasets.sequences import PoseSequences, SequenceInfo
from posemoe.errors import UserError
from posemoe.io.keypoints import MAX_ABS_PIXELS
from posemoe.io.npz import load_npz, require_key, save_npz
from posemoe.layouts import COCO17, H36M17, JointLayout, get_layout

MAX_ABS_MM = 1e5  # camera-frame joints further than 100 m from the camera are not a person in view

H36M_ACTIONS = (
    "Directions",
    "Discussion",
    "Eating",
    "Greeting",
    "Phoning",
    "Posing",
    "Purchases",
    "Sitting",
    "SittingDown",
    "Smoking",
    "Photo",
    "Waiting",
    "Walking",
    "WalkDog",
    "WalkTogether",
)


@dataclass
class ImageSet:
    """Rendered (or loaded) crops with labels, ordered by sequence so evaluation can group by action.

    images: (N, S, S, 3) uint8 RGB. ``labels.poses`` (N, J, 3) metres root-relative camera frame;
    ``labels.keypoints`` (N, J, 2) crop coordinates in [-1, 1].
    """

    images: np.ndarray
    labels: PoseSequences

    def save(self, path: str | Path) -> Path:
        """Write the set to ``path`` (``.npz`` appended if missing), whole or not at all; returns the path."""
        seqs = self.labels.sequences
        return save_npz(
            path,
            images=self.images,
            poses=self.labels.poses,
            keypoints=self.labels.keypoints,
            subject=np.array([s.subject for s in seqs]),
            action=np.array([s.action for s in seqs]),
            camera=np.array([s.camera for s in seqs]),
            length=np.array([s.length for s in seqs]),
            source=np.array(self.labels.source),
            layout=np.array(self.labels.layout.name),
        )

    @classmethod
    def load(cls, path: str | Path) -> ImageSet:
        """Read a set written by :meth:`save`; every entry's type and shape is checked."""
        entries = load_npz(path)
        images = _entry(entries, "images", path)
        if (
            images.ndim != 4
            or images.shape[-1] != 3
            or images.dtype != np.uint8
            or images.shape[1] != images.shape[2]
        ):
            raise UserError(
                f"{path}: 'images' must be (N, S, S, 3) uint8, got {images.shape} {images.dtype}"
            )
        try:
            layout = get_layout(str(entries.get("layout", "h36m17"))[:40])
        except UserError as err:
            raise UserError(f"{path}: {err}") from None
        count, joints = len(images), layout.num_joints
        poses = _entry(entries, "poses", path, numeric=True)
        keypoints = _entry(entries, "keypoints", path, numeric=True)
        if (
            poses.shape != (count, joints, 3)
            or keypoints.shape[:2] != (count, joints)
            or keypoints.shape[2:] not in ((2,), (3,))
        ):
            raise UserError(
                f"{path}: expected 'poses' ({count}, {joints}, 3) and 'keypoints' ({count}, {joints}, 2|3) "
                f"for {count} images of layout {layout.name}, got {poses.shape} and {keypoints.shape}"
            )
        for key, array in (("poses", poses), ("keypoints", keypoints)):
            if not np.isfinite(array).all():
                raise UserError(f"{path}: {key!r} holds NaN or inf")
        per_sequence = [
            _entry(entries, key, path) for key in ("subject", "action", "camera", "length")
        ]
        lengths, cameras = per_sequence[3], per_sequence[2]
        if (
            any(a.ndim != 1 or len(a) != len(lengths) for a in per_sequence)
            or not np.issubdtype(lengths.dtype, np.integer)
            or not np.issubdtype(cameras.dtype, np.integer)
            or (lengths < 0).any()
        ):
            raise UserError(
                f"{path}: expected 'subject', 'action', 'camera' and 'length' as one value per sequence, "
                f"camera and length non-negative integers"
            )
        if int(lengths.sum()) != count:
            raise UserError(
                f"{path}: sequence lengths add up to {int(lengths.sum())} but there are {count} images"
            )
        starts = np.cumsum(lengths) - lengths
        seqs = [
            SequenceInfo(str(s), str(a), int(c), int(st), int(n))
            for s, a, c, st, n in zip(per_sequence[0], per_sequence[1], cameras, starts, lengths)
        ]
        labels = PoseSequences(
            keypoints=keypoints.astype(np.float32),
            poses=poses.astype(np.float32),
            sequences=seqs,
            source=str(entries.get("source", "images")),
            layout=layout,
        )
        return cls(images, labels)


def _entry(entries: dict, key: str, path: str | Path, *, numeric: bool = False) -> np.ndarray:
    value = require_key(entries, key, path)
    if (
        not isinstance(value, np.ndarray)
        or value.dtype.hasobject
        or (
            numeric
            and not (
                np.issubdtype(value.dtype, np.integer) or np.issubdtype(value.dtype, np.floating)
            )
        )
    ):
        found = f"{value.dtype} array" if isinstance(value, np.ndarray) else type(value).__name__
        raise UserError(
            f"{path}: {key!r} must be {'a numeric' if numeric else 'an'} array, got a {found}"
        )
    return value


def read_image(path: str | Path) -> np.ndarray:
    """-> (H, W, 3) uint8 RGB. Raises ``ValueError`` naming the file when it is not a readable image
    or declares more than :data:`~posemoe.io.video.MAX_IMAGE_PIXELS` (checked before decoding)."""
    from posemoe.io.video import read_image as read_checked

    return read_checked(path)


def to_crop_coords(points: np.ndarray, box: np.ndarray) -> np.ndarray:
    """(..., 2) image pixels -> crop coordinates in [-1, 1]."""
    x0, y0, side = box
    return ((points - [x0, y0]) / side * 2 - 1).astype(np.float32)


def from_crop_coords(points: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_crop_coords`."""
    x0, y0, side = box
    return (points + 1) / 2 * side + [x0, y0]


def _read_json(path: str | Path) -> tuple[dict, dict]:
    """-> (the annotation object, its images by id), the structure checked."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"no annotation file at {path}") from None
    except OSError as err:
        raise UserError(f"{path}: cannot be read ({err.strerror or err})") from None
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise UserError(
            f"{path}: not valid JSON ({type(err).__name__}: {err})".splitlines()[0]
        ) from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("images"), list)
        or not isinstance(data.get("annotations"), list)
    ):
        raise UserError(
            f"{path}: expected a COCO-style object with 'images' and 'annotations' lists"
        )
    images = {}
    for i, info in enumerate(data["images"]):
        if (
            not isinstance(info, dict)
            or isinstance(info.get("id"), bool)
            or not isinstance(info.get("id"), (int, str))
            or not isinstance(info.get("file_name"), str)
        ):
            raise UserError(
                f"{path} [image {i}]: expected an object with an 'id' (number or string) and a 'file_name'"
            )
        images[info["id"]] = info
    return data, images


def _annotation(ann: object, images: dict, keys: tuple[str, ...], where: str) -> dict:
    """The annotation, checked to be an object with ``keys`` whose image is listed."""
    image_id = ann.get("image_id") if isinstance(ann, dict) else None
    if (
        not isinstance(ann, dict)
        or not all(k in ann for k in keys)
        or not isinstance(image_id, (int, str))
        or image_id not in images
    ):
        raise UserError(
            f"{where}: needs 'image_id' of a listed image, " + ", ".join(f"{k!r}" for k in keys)
        )
    return ann


def _points(values: object, shape: tuple[int, int], where: str, what: str) -> np.ndarray:
    """JSON numbers -> finite float64 array of ``shape`` (flat or nested), or an error naming ``where``."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError, OverflowError, RecursionError):
        raise UserError(f"{where}: {what} must be numbers") from None
    if isinstance(values, (str, bytes, dict)) or array.size != shape[0] * shape[1]:
        raise UserError(
            f"{where}: expected {shape[0]} {what}, got {array.size // shape[1] if array.ndim else 0}"
        )
    array = array.reshape(shape)
    if not np.isfinite(array).all():
        raise UserError(f"{where}: {what} hold NaN or inf")
    return array


def _cropped(
    image_dir: str | Path, info: dict, bbox: object, margin: float, size: int, where: str
) -> tuple[np.ndarray, np.ndarray]:
    """-> (crop (size, size, 3), its square box)."""
    image = read_image(Path(image_dir) / info["file_name"])
    try:
        box = square_box(bbox, margin)
        return crop(image, box, size), box
    except UserError as err:
        raise UserError(f"{where}: {err}") from None


def _projected(joints_mm: np.ndarray, cam: object, where: str) -> np.ndarray:
    """(J, 3) camera-frame millimetres -> (J, 2) pixels with the image's ``cam_param`` {f, c}."""
    if not isinstance(cam, dict) or "f" not in cam or "c" not in cam:
        raise UserError(f"{where}: cam_param must be an object with 'f' [fx, fy] and 'c' [cx, cy]")
    f, c = (_points(cam[k], (1, 2), where, f"cam_param {k!r} values")[0] for k in ("f", "c"))
    if (joints_mm[:, 2] <= 0).any():
        raise UserError(
            f"{where}: {int((joints_mm[:, 2] <= 0).sum())} joint(s) at or behind the camera (z <= 0 mm) "
            "cannot be projected; expected camera-frame millimetres"
        )
    with np.errstate(over="ignore"):  # z near 0 overflows to inf: refused just below
        pix = f * joints_mm[:, :2] / joints_mm[:, 2:] + c
    if not (np.abs(pix) <= MAX_ABS_PIXELS).all():
        raise UserError(f"{where}: joints project beyond {MAX_ABS_PIXELS:.0e} px (z near 0?)")
    return pix


def _action_of(file_name: str) -> tuple[str, str, int]:
    """Subject, action and camera from an H36M frame name like 's_09_act_02_subact_01_ca_03/...jpg'."""
    m = re.search(r"s_(\d+)_act_(\d+)_subact_(\d+)_ca_(\d+)", file_name)
    if not m:
        return "unknown", "unknown", 0
    act = int(m.group(2))
    name = H36M_ACTIONS[act - 2] if 2 <= act < 2 + len(H36M_ACTIONS) else f"act{act}"
    return f"S{int(m.group(1))}", f"{name} {int(m.group(3))}", int(m.group(4)) - 1


def _to_image_set(
    crops: list[np.ndarray],
    poses: list[np.ndarray],
    keypoints: list[np.ndarray],
    groups: list[tuple[str, str, int]],
    source: str,
    layout: JointLayout = H36M17,
) -> ImageSet:
    order = sorted(range(len(crops)), key=lambda i: groups[i])
    seqs: list[SequenceInfo] = []
    for rank, i in enumerate(order):
        if seqs and (seqs[-1].subject, seqs[-1].action, seqs[-1].camera) == groups[i]:
            seqs[-1] = replace(seqs[-1], length=seqs[-1].length + 1)
        else:
            seqs.append(SequenceInfo(*groups[i], start=rank, length=1))
    labels = PoseSequences(
        keypoints=np.stack([keypoints[i] for i in order]),
        poses=np.stack([poses[i] for i in order]),
        sequences=seqs,
        source=source,
        layout=layout,
    )
    return ImageSet(np.stack([crops[i] for i in order]), labels)


def load_h36m_json(
    json_path: str | Path,
    image_dir: str | Path,
    size: int,
    *,
    margin: float = 1.25,
    limit: int | None = None,
) -> ImageSet:
    """Human3.6M crops with 3D labels (root-relative, metres) from RLE / 3DMPPE-style JSON."""
    data, images = _read_json(json_path)
    crops, poses, keypoints, groups = [], [], [], []
    for i, ann in enumerate(data["annotations"][:limit]):
        where = f"{json_path} [annotation {i}]"
        joints_key = (
            "h36m_joints" if isinstance(ann, dict) and "h36m_joints" in ann else "keypoints_cam"
        )
        ann = _annotation(ann, images, ("bbox", joints_key), where)
        joints = _points(ann[joints_key], (H36M17.num_joints, 3), where, "joints")
        if not (np.abs(joints) <= MAX_ABS_MM).all():
            raise UserError(
                f"{where}: joints beyond {MAX_ABS_MM:.0e} mm; expected camera-frame millimetres"
            )
        info = images[ann["image_id"]]
        patch, box = _cropped(image_dir, info, ann["bbox"], margin, size, where)
        crops.append(patch)
        poses.append(((joints - joints[H36M17.root]) / 1000.0).astype(np.float32))
        if info.get("cam_param") is not None:  # project with the frame's intrinsics for 2D labels
            keypoints.append(to_crop_coords(_projected(joints, info["cam_param"], where), box))
        else:
            keypoints.append(np.zeros((H36M17.num_joints, 2), np.float32))
        groups.append(_action_of(info["file_name"]))
    if not crops:
        raise UserError(f"{json_path}: no annotations")
    return _to_image_set(crops, poses, keypoints, groups, source=f"h36m images {size}px")


def load_coco_json(
    json_path: str | Path,
    image_dir: str | Path,
    size: int,
    *,
    margin: float = 1.25,
    min_keypoints: int = 1,
    limit: int | None = None,
) -> ImageSet:
    """COCO person keypoints as crops; ``labels.keypoints`` is (N, 17, 3): crop x, y and visibility (0/1)."""
    data, images = _read_json(json_path)
    crops, poses, keypoints, groups = [], [], [], []
    for i, ann in enumerate(data["annotations"]):
        if limit is not None and len(crops) >= limit:
            break
        where = f"{json_path} [annotation {i}]"
        ann = _annotation(ann, images, ("bbox", "keypoints"), where)
        labelled = ann.get("num_keypoints", 1)
        if isinstance(labelled, bool) or not isinstance(labelled, (int, float)):
            raise UserError(
                f"{where}: 'num_keypoints' must be a number, got {type(labelled).__name__}"
            )
        if ann.get("iscrowd", 0) or labelled < min_keypoints:
            continue
        kp = _points(ann["keypoints"], (COCO17.num_joints, 3), where, "keypoints")
        visible = (kp[:, 2] > 0).astype(np.float32)
        if not (np.abs(kp[visible > 0, :2]) <= MAX_ABS_PIXELS).all():
            raise UserError(f"{where}: labelled keypoints beyond {MAX_ABS_PIXELS:.0e} px")
        patch, box = _cropped(image_dir, images[ann["image_id"]], ann["bbox"], margin, size, where)
        crops.append(patch)
        keypoints.append(
            np.concatenate(
                [to_crop_coords(kp[:, :2], box) * visible[:, None], visible[:, None]], -1
            )
        )
        poses.append(np.zeros((COCO17.num_joints, 3), np.float32))
        groups.append(("coco", "person", 0))
    if not crops:
        raise UserError(f"{json_path}: no person annotations with keypoints")
    return _to_image_set(crops, poses, keypoints, groups, source=f"coco {size}px", layout=COCO17)
