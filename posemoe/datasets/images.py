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
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from posemoe.datasets.sequences import PoseSequences, SequenceInfo
from posemoe.errors import UserError
from posemoe.io.npz import load_npz, require_key, save_npz
from posemoe.layouts import COCO17, H36M17, JointLayout, get_layout

H36M_ACTIONS = ("Directions", "Discussion", "Eating", "Greeting", "Phoning", "Posing", "Purchases", "Sitting",
                "SittingDown", "Smoking", "Photo", "Waiting", "Walking", "WalkDog", "WalkTogether")


@dataclass
class ImageSet:
    """Rendered (or loaded) crops with labels, ordered by sequence so evaluation can group by action.

    images: (N, S, S, 3) uint8 RGB. ``labels.poses`` (N, J, 3) metres root-relative camera frame;
    ``labels.keypoints`` (N, J, 2) crop coordinates in [-1, 1].
    """

    images: np.ndarray
    labels: PoseSequences

    def save(self, path: str | Path) -> None:
        seqs = self.labels.sequences
        save_npz(path, images=self.images, poses=self.labels.poses, keypoints=self.labels.keypoints,
                 subject=np.array([s.subject for s in seqs]), action=np.array([s.action for s in seqs]),
                 camera=np.array([s.camera for s in seqs]), length=np.array([s.length for s in seqs]),
                 source=np.array(self.labels.source), layout=np.array(self.labels.layout.name))

    @classmethod
    def load(cls, path: str | Path) -> "ImageSet":
        entries = load_npz(path)
        images = require_key(entries, "images", path)
        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
            raise UserError(f"{path}: 'images' must be (N, S, S, 3) uint8, got {images.shape} {images.dtype}")
        lengths = require_key(entries, "length", path).astype(int)
        if lengths.sum() != len(images):
            raise UserError(f"{path}: sequence lengths add up to {lengths.sum()} but there are {len(images)} images")
        starts = np.cumsum(lengths) - lengths
        seqs = [SequenceInfo(str(s), str(a), int(c), int(st), int(n)) for s, a, c, st, n in
                zip(entries["subject"], entries["action"], entries["camera"], starts, lengths)]
        labels = PoseSequences(keypoints=require_key(entries, "keypoints", path).astype(np.float32),
                               poses=require_key(entries, "poses", path).astype(np.float32),
                               sequences=seqs, source=str(entries.get("source", "images")),
                               layout=get_layout(str(entries.get("layout", "h36m17"))))
        return cls(images, labels)


def images_to_tensor_layout(images: np.ndarray) -> np.ndarray:
    """(B, S, S, 3) uint8 -> (B, 3, S, S) float32 in [0, 1]."""
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0


def read_image(path: str | Path) -> np.ndarray:
    """-> (H, W, 3) uint8 RGB. Raises ``ValueError`` naming the file when it is not a readable image."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no image at {path}")
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError) as err:
        raise UserError(f"{path}: not a readable image ({err})") from None


def square_box(bbox: np.ndarray, margin: float = 1.25) -> np.ndarray:
    """[x, y, w, h] -> the square [x0, y0, side] around its centre, ``margin`` x its longer side."""
    x, y, w, h = np.asarray(bbox, dtype=np.float64)
    if w <= 0 or h <= 0:
        raise UserError(f"bounding box must have positive size, got {list(bbox)}")
    side = max(w, h) * margin
    return np.array([x + w / 2 - side / 2, y + h / 2 - side / 2, side])


def crop(image: np.ndarray, box: np.ndarray, size: int) -> np.ndarray:
    """Cut the square ``box`` ([x0, y0, side], may leave the image: black there) -> (size, size, 3) uint8."""
    from PIL import Image

    x0, y0, side = box
    pil = Image.fromarray(image).crop((round(x0), round(y0), round(x0 + side), round(y0 + side)))
    return np.asarray(pil.resize((size, size), Image.Resampling.BILINEAR))


def to_crop_coords(points: np.ndarray, box: np.ndarray) -> np.ndarray:
    """(..., 2) image pixels -> crop coordinates in [-1, 1]."""
    x0, y0, side = box
    return ((points - [x0, y0]) / side * 2 - 1).astype(np.float32)


def from_crop_coords(points: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_crop_coords`."""
    x0, y0, side = box
    return (points + 1) / 2 * side + [x0, y0]


def _read_json(path: str | Path) -> dict:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"no annotation file at {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) or not isinstance(data.get("annotations"), list):
        raise UserError(f"{path}: expected a COCO-style object with 'images' and 'annotations' lists")
    return data


def _action_of(file_name: str) -> tuple[str, str, int]:
    """Subject, action and camera from an H36M frame name like 's_09_act_02_subact_01_ca_03/...jpg'."""
    m = re.search(r"s_(\d+)_act_(\d+)_subact_(\d+)_ca_(\d+)", file_name)
    if not m:
        return "unknown", "unknown", 0
    act = int(m.group(2))
    name = H36M_ACTIONS[act - 2] if 2 <= act < 2 + len(H36M_ACTIONS) else f"act{act}"
    return f"S{int(m.group(1))}", f"{name} {int(m.group(3))}", int(m.group(4)) - 1


def _to_image_set(crops: list[np.ndarray], poses: list[np.ndarray], keypoints: list[np.ndarray],
                  groups: list[tuple[str, str, int]], source: str, layout: JointLayout = H36M17) -> ImageSet:
    order = sorted(range(len(crops)), key=lambda i: groups[i])
    seqs: list[SequenceInfo] = []
    for rank, i in enumerate(order):
        if seqs and (seqs[-1].subject, seqs[-1].action, seqs[-1].camera) == groups[i]:
            seqs[-1] = replace(seqs[-1], length=seqs[-1].length + 1)
        else:
            seqs.append(SequenceInfo(*groups[i], start=rank, length=1))
    labels = PoseSequences(keypoints=np.stack([keypoints[i] for i in order]), poses=np.stack([poses[i] for i in order]),
                           sequences=seqs, source=source, layout=layout)
    return ImageSet(np.stack([crops[i] for i in order]), labels)


def load_h36m_json(json_path: str | Path, image_dir: str | Path, size: int, *, margin: float = 1.25,
                   limit: int | None = None) -> ImageSet:
    """Human3.6M crops with 3D labels (root-relative, metres) from RLE / 3DMPPE-style JSON."""
    data = _read_json(json_path)
    images = {img["id"]: img for img in data["images"]}
    crops, poses, keypoints, groups = [], [], [], []
    for ann in data["annotations"][:limit]:
        where = f"{json_path} [annotation {ann.get('id', len(crops))}]"
        joints = ann.get("h36m_joints", ann.get("keypoints_cam"))
        if joints is None or "bbox" not in ann or ann.get("image_id") not in images:
            raise UserError(f"{where}: needs 'image_id' of a listed image, 'bbox' and 'h36m_joints' or 'keypoints_cam'")
        joints = np.asarray(joints, dtype=np.float64).reshape(-1, 3)
        if len(joints) != H36M17.num_joints:
            raise UserError(f"{where}: expected {H36M17.num_joints} joints, got {len(joints)}")
        info = images[ann["image_id"]]
        box = square_box(ann["bbox"], margin)
        crops.append(crop(read_image(Path(image_dir) / info["file_name"]), box, size))
        poses.append(((joints - joints[H36M17.root]) / 1000.0).astype(np.float32))
        cam = info.get("cam_param")
        if cam is not None:  # project with the frame's intrinsics for 2D labels
            pix = np.asarray(cam["f"]) * joints[:, :2] / joints[:, 2:] + np.asarray(cam["c"])
            keypoints.append(to_crop_coords(pix, box))
        else:
            keypoints.append(np.zeros((H36M17.num_joints, 2), np.float32))
        groups.append(_action_of(info["file_name"]))
    if not crops:
        raise UserError(f"{json_path}: no annotations")
    return _to_image_set(crops, poses, keypoints, groups, source=f"h36m images {size}px")


def load_coco_json(json_path: str | Path, image_dir: str | Path, size: int, *, margin: float = 1.25,
                   min_keypoints: int = 1, limit: int | None = None) -> ImageSet:
    """COCO person keypoints as crops; ``labels.keypoints`` is (N, 17, 3): crop x, y and visibility (0/1)."""
    data = _read_json(json_path)
    images = {img["id"]: img for img in data["images"]}
    crops, poses, keypoints, groups = [], [], [], []
    for ann in data["annotations"]:
        if limit is not None and len(crops) >= limit:
            break
        if ann.get("iscrowd", 0) or ann.get("num_keypoints", 1) < min_keypoints:
            continue
        where = f"{json_path} [annotation {ann.get('id', len(crops))}]"
        if "keypoints" not in ann or "bbox" not in ann or ann.get("image_id") not in images:
            raise UserError(f"{where}: needs 'image_id' of a listed image, 'bbox' and 'keypoints'")
        kp = np.asarray(ann["keypoints"], dtype=np.float64).reshape(-1, 3)
        if len(kp) != COCO17.num_joints:
            raise UserError(f"{where}: expected {COCO17.num_joints} keypoints, got {len(kp)}")
        box = square_box(ann["bbox"], margin)
        crops.append(crop(read_image(Path(image_dir) / images[ann["image_id"]]["file_name"]), box, size))
        visible = (kp[:, 2] > 0).astype(np.float32)
        keypoints.append(np.concatenate([to_crop_coords(kp[:, :2], box) * visible[:, None], visible[:, None]], -1))
        poses.append(np.zeros((COCO17.num_joints, 3), np.float32))
        groups.append(("coco", "person", 0))
    if not crops:
        raise UserError(f"{json_path}: no person annotations with keypoints")
    return _to_image_set(crops, poses, keypoints, groups, source=f"coco {size}px", layout=COCO17)
