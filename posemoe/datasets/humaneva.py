"""HumanEva-I in the VideoPose3D formats: loading, a validation split of Train, the standard
protocol and its scorers.

Files in ``data_dir``: ``data_3d_humaneva15.npz`` (``positions_3d`` = {``"Train/S1"``: {``"Walking 1
chunk0"``: (T, 15, 3) world metres, z up}}), ``data_2d_humaneva15_<source>.npz`` (``positions_2d`` =
same keys -> [per camera C1, C2, C3: (T, 15, 2) pixels]) and ``humaneva_cameras.json`` (per
subject and camera: ``orientation``, the camera-to-world quaternion (w, x, y, z), and
``translation``, the camera centre in world millimetres). Sequences are split into chunks at
gaps in the motion capture. Images are 640x480 at 60 fps.

The camera file has no intrinsics: :func:`fit_intrinsics` recovers them (focal length, principal
point, two radial and two tangential terms) from the 3D and 2D of a subject's camera.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from posemoe.camera import Camera
from posemoe.errors import UserError
from posemoe.io.keypoints import MAX_ABS_PIXELS
from posemoe.io.npz import load_npz, require_key
from posemoe.layouts import H36M17, convert
from posemoe.layouts.humaneva import HUMANEVA15, SHARED_WITH_H36M17

IMAGE_WIDTH, IMAGE_HEIGHT = 640, 480
FPS = 60.0
CAMERA_NAMES = ("C1", "C2", "C3")
VALIDATION_TAIL = 0.2
"""Fraction of a single-chunk action that :func:`split_validation` holds out (its last frames)."""

_KEY = re.compile(r"(?P<action>\S+) (?P<take>\d+) chunk(?P<chunk>\d+)")


@dataclass(frozen=True)
class HumanEvaProtocol:
    """The evaluation VideoPose3D-based papers report: train on Train/S1-S3, test on Validate/S1-S3
    (the official Validate split), both restricted to Walking, Jog and Box (papers write "Walk");
    P-MPJPE (protocol 2) on the 15 joints per action and subject, frame-weighted over chunks and the
    three cameras; "Avg" is the mean of the action-subject cells."""

    train: tuple[str, ...] = ("Train/S1", "Train/S2", "Train/S3")
    test: tuple[str, ...] = ("Validate/S1", "Validate/S2", "Validate/S3")
    actions: tuple[str, ...] = ("Walking", "Jog", "Box")
    test_actions: tuple[str, ...] = (
        "Walking",
        "Jog",
    )  # the cells most papers' HumanEva tables give


PROTOCOL = HumanEvaProtocol()


@dataclass(frozen=True)
class HumanEvaClip:
    """One chunk seen by one camera, in HumanEva-15 joint order."""

    subject: str  # "Train/S1"
    action: str  # "Walking"
    chunk: str  # the file's key, "Walking 1 chunk0"
    camera: int  # 0, 1, 2 for C1, C2, C3
    keypoints_2d: np.ndarray  # (T, 15, 2) pixels (or (T, 15, 3) with a confidence channel)
    poses_3d: np.ndarray  # (T, 15, 3) metres, camera frame, root-relative (pelvis)
    root: np.ndarray  # (T, 3) metres, camera frame: the pelvis
    start: int = 0  # index in the chunk of the first frame (non-zero for a held-out tail)

    @property
    def points_camera(self) -> np.ndarray:
        """``(T, 15, 3)`` metres, camera frame, absolute."""
        return self.poses_3d + self.root[:, None]


def quaternion_to_matrix(q: np.ndarray) -> np.ndarray:
    """The ``(3, 3)`` rotation of a quaternion ``(w, x, y, z)`` (normalised here)."""
    w, x, y, z = np.asarray(q, np.float64) / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def _rotation(quaternion: object, where: str) -> np.ndarray:
    """The camera-to-world rotation of a file's quaternion, which must have length 1 (to 1 %)."""
    q = np.asarray(quaternion, np.float64)
    length = float(np.linalg.norm(q)) if q.shape == (4,) else np.nan
    if not abs(length - 1.0) <= 0.01:
        raise UserError(
            f"{where}: expected a rotation quaternion (w, x, y, z) of length 1, found "
            f"{f'length {length:.3g}' if np.isfinite(length) else f'{q.tolist()}'[:80]}"
        )
    return quaternion_to_matrix(q)


def load_humaneva_cameras(path: str | Path) -> dict[str, list[Camera]]:
    """Cameras per subject (``"S1"``) in the order C1, C2, C3, with extrinsics only: ``f`` and ``c``
    are NaN (so projecting gives NaN) until :func:`fit_intrinsics` fills them in."""
    path = Path(path)
    try:
        spec = json.loads(path.read_text())
        sizes = [
            (int(c["res_w"]), int(c["res_h"])) for c in spec["humaneva_cameras_intrinsic_params"]
        ]
        out = {}
        for subject, cams in spec["humaneva_cameras_extrinsic_params"].items():
            if not any(cams):
                continue  # a subject listed without calibration (S4 in the VideoPose3D file)
            out[subject] = [
                Camera(
                    id=f"{subject}/{CAMERA_NAMES[i]}",
                    R=_rotation(c["orientation"], f"{path}: {subject} camera {CAMERA_NAMES[i]}").T,
                    T=np.asarray(c["translation"], np.float64) / 1000.0,
                    f=np.full(2, np.nan),
                    c=np.full(2, np.nan),
                    k=np.zeros(3),
                    p=np.zeros(2),
                    width=sizes[i][0],
                    height=sizes[i][1],
                )
                for i, c in enumerate(cams)
            ]
    except (OSError, ValueError, KeyError, TypeError, IndexError) as err:
        raise UserError(
            f"{path}: expected the VideoPose3D HumanEva camera file ({type(err).__name__}: {err})"
        ) from None
    return out


def _parse_key(key: str, where: str) -> tuple[str, int, int]:
    """``"Walking 1 chunk0"`` -> ``("Walking", 1, 0)``."""
    match = _KEY.fullmatch(key)
    if match is None:
        raise UserError(f"{where}: expected sequence keys like 'Walking 1 chunk0', got {key!r}")
    return match["action"], int(match["take"]), int(match["chunk"])


def _chunk_clips(
    subject: str, key: str, world: np.ndarray, views: list, cameras: list[Camera], where: str
) -> list[HumanEvaClip]:
    """The clips of one chunk: ``world`` (T, 15, 3) metres and one 2D array per camera."""
    if world.ndim != 3 or world.shape[1:] != (HUMANEVA15.num_joints, 3) or not len(world):
        raise UserError(
            f"{where}: expected 3D poses of shape (T, 15, 3) with T >= 1, got {world.shape}"
        )
    _check_range(world, MAX_ABS_M, "m", f"{where}: 3D")
    if not isinstance(views, (list, tuple)) or len(views) != len(cameras):
        raise UserError(f"{where}: expected a list of {len(cameras)} camera views of 2D keypoints")
    clips = []
    for index, (view, camera) in enumerate(zip(views, cameras)):
        view, view_name = np.asarray(view, np.float32), f"{where} camera {CAMERA_NAMES[index]}"
        if view.ndim != 3 or view.shape[1] != HUMANEVA15.num_joints or view.shape[2] not in (2, 3):
            raise UserError(f"{view_name}: expected 2D of shape (T, 15, 2|3), got {view.shape}")
        if len(view) != len(world):
            raise UserError(f"{view_name}: {len(view)} frames of 2D but {len(world)} of 3D")
        _check_range(view[..., :2], MAX_ABS_PIXELS, "px", f"{view_name}: 2D")
        points = camera.world_to_camera(world.astype(np.float64))
        root = points[:, HUMANEVA15.root]
        clips.append(
            HumanEvaClip(
                subject=subject,
                action=_parse_key(key, where)[0],
                chunk=key,
                camera=index,
                keypoints_2d=view,
                poses_3d=(points - root[:, None]).astype(np.float32),
                root=root.astype(np.float32),
            )
        )
    return clips


MAX_ABS_M = 100.0  # a capture volume's extent, metres


def _check_range(values: np.ndarray, limit: float, unit: str, where: str) -> None:
    """Refuse NaN, inf or values beyond ``limit``, naming the first frame that has one."""
    bad = ~(np.abs(values) <= limit).all(axis=tuple(range(1, values.ndim)))
    if bad.any():
        first = int(np.argmax(bad))
        raise UserError(
            f"{where}: expected finite values within {limit:g} {unit}, found "
            f"{values[first][~(np.abs(values[first]) <= limit)].ravel()[0]:g} in frame {first} "
            f"({int(bad.sum())} frame(s) in all)"
        )


def _subject_dict(value: object, subject: str, path: Path) -> dict:
    if not isinstance(value, dict) or subject not in value or not isinstance(value[subject], dict):
        found = sorted(value) if isinstance(value, dict) else type(value).__name__
        raise UserError(f"{path}: expected a dict with subject {subject!r}, found {found}")
    return value[subject]


def subjects_in(data_dir: str | Path) -> list[str]:
    """The subjects (``"Train/S1"``, ``"Validate/S1"`` ...) of ``data_dir``'s 3D file."""
    path = Path(data_dir) / "data_3d_humaneva15.npz"
    positions = require_key(load_npz(path), "positions_3d", path)
    if not isinstance(positions, dict):
        raise UserError(f"{path}: expected a dict of subjects, got {type(positions).__name__}")
    return sorted(map(str, positions))


def load_humaneva(
    data_dir: str | Path,
    subjects: Sequence[str] | None = None,
    actions: Sequence[str] | None = None,
    source: str = "gt",
) -> list[HumanEvaClip]:
    """Clips of the given ``subjects`` (``"Train/S1"``; default: all in the 3D file) and ``actions``
    (``"Walking"``; default: all), ordered by subject, action, take, chunk and camera."""
    data_dir = Path(data_dir)
    path3d, path2d = (
        data_dir / "data_3d_humaneva15.npz",
        data_dir / f"data_2d_humaneva15_{source}.npz",
    )
    positions_3d = require_key(load_npz(path3d), "positions_3d", path3d)
    positions_2d = require_key(load_npz(path2d), "positions_2d", path2d)
    cameras = load_humaneva_cameras(data_dir / "humaneva_cameras.json")
    if not isinstance(positions_3d, dict):
        raise UserError(f"{path3d}: expected a dict of subjects, got {type(positions_3d).__name__}")
    clips = []
    for subject in sorted(positions_3d) if subjects is None else subjects:
        chunks_3d = _subject_dict(positions_3d, subject, path3d)
        chunks_2d = _subject_dict(positions_2d, subject, path2d)
        subject_cameras = cameras.get(subject.split("/")[-1])
        if subject_cameras is None:
            raise UserError(
                f"{data_dir / 'humaneva_cameras.json'}: no cameras for {subject} (has {sorted(cameras)})"
            )
        for key in sorted(chunks_3d, key=lambda k: _parse_key(k, f"{path3d} [{subject}]")):
            if actions is not None and _parse_key(key, str(path3d))[0] not in actions:
                continue
            if key not in chunks_2d:
                raise UserError(f"{path2d}: no 2D for {subject} / {key}, which the 3D file has")
            clips += _chunk_clips(
                subject,
                key,
                np.asarray(chunks_3d[key]),
                chunks_2d[key],
                subject_cameras,
                f"{path3d.name} + {path2d.name} [{subject} / {key}]",
            )
    if not clips:
        raise UserError(f"{path3d}: no clips for subjects {subjects} and actions {actions}")
    return clips


def _frames(clip: HumanEvaClip, start: int, stop: int) -> HumanEvaClip:
    """The clip's frames ``start:stop``, remembering where they begin in the chunk."""
    part = slice(start, stop)
    return replace(
        clip,
        keypoints_2d=clip.keypoints_2d[part],
        poses_3d=clip.poses_3d[part],
        root=clip.root[part],
        start=clip.start + start,
    )


def split_validation(
    clips: Sequence[HumanEvaClip],
) -> tuple[list[HumanEvaClip], list[HumanEvaClip]]:
    """(train, validation) from clips of the Train split, for choosing checkpoints without touching
    Validate. Per subject and action: the last chunk (highest take, then chunk number) is held out;
    an action with a single chunk instead gives its last :data:`VALIDATION_TAIL` of frames (at least
    one). Every camera of a chunk goes the same way, so no frame is in both parts."""
    groups: dict[tuple[str, str], set[str]] = defaultdict(set)
    for clip in clips:
        groups[clip.subject, clip.action].add(clip.chunk)
    held_out = {
        group: max(chunks, key=lambda k: _parse_key(k, group[0])[1:])
        for group, chunks in groups.items()
    }
    train, val = [], []
    for clip in clips:
        group = (clip.subject, clip.action)
        if clip.chunk != held_out[group]:
            train.append(clip)
        elif len(groups[group]) > 1:
            val.append(clip)
        elif len(clip.poses_3d) < 2:
            train.append(clip)
        else:
            frames = len(clip.poses_3d)
            cut = frames - max(1, round(VALIDATION_TAIL * frames))
            train.append(_frames(clip, 0, cut))
            val.append(_frames(clip, cut, frames))
    return train, val


def fit_intrinsics(
    camera: Camera, points_cam: np.ndarray, pixels: np.ndarray, iterations: int = 50
) -> Camera:
    """``camera`` with the focal lengths, principal point, radial (k1, k2) and tangential (p1, p2)
    terms that best map ``points_cam`` (M, 3) metres onto ``pixels`` (M, 2) under
    :meth:`Camera.project`, by Levenberg-Marquardt from the best distortion-free fit."""
    points_cam, pixels = np.asarray(points_cam, np.float64), np.asarray(pixels, np.float64)
    if (
        points_cam.ndim != 2
        or points_cam.shape[1] != 3
        or pixels.shape != (len(points_cam), 2)
        or len(pixels) < 8
    ):
        raise UserError(
            f"expected points (M, 3) and pixels (M, 2) with M >= 8, got {points_cam.shape} and "
            f"{pixels.shape}"
        )
    xy = points_cam[:, :2] / points_cam[:, 2:]
    start = [
        np.linalg.lstsq(np.stack([xy[:, a], np.ones(len(xy))], 1), pixels[:, a], rcond=None)[0]
        for a in (0, 1)
    ]
    theta = np.array([start[0][0], start[1][0], start[0][1], start[1][1], 0.0, 0.0, 0.0, 0.0])

    def residual(t: np.ndarray) -> np.ndarray:
        return (_with_intrinsics(camera, t).project(points_cam) - pixels).ravel()

    r, damping = residual(theta), 1e-3
    for _ in range(iterations):
        steps = 1e-6 * np.maximum(1.0, np.abs(theta))
        jac = np.stack(
            [(residual(theta + np.eye(8)[i] * steps[i]) - r) / steps[i] for i in range(8)], 1
        )
        normal = jac.T @ jac
        delta = np.linalg.solve(normal + damping * np.diag(np.diag(normal)), -jac.T @ r)
        r_new = residual(theta + delta)
        if r_new @ r_new < r @ r:
            done = r @ r - r_new @ r_new < 1e-12 * (r @ r)
            theta, r, damping = theta + delta, r_new, damping / 3
            if done:
                break
        else:
            damping *= 4
    return _with_intrinsics(camera, theta)


def _with_intrinsics(camera: Camera, theta: np.ndarray) -> Camera:
    return replace(
        camera,
        f=theta[0:2].copy(),
        c=theta[2:4].copy(),
        k=np.array([theta[4], theta[5], 0.0]),
        p=theta[6:8].copy(),
    )


def fit_cameras(
    clips: Sequence[HumanEvaClip], cameras: dict[str, list[Camera]]
) -> dict[tuple[str, int], tuple[Camera, np.ndarray]]:
    """Per (subject, camera index): the camera with fitted intrinsics and the reprojection error of
    every joint of every frame, ``(M,)`` pixels. Clips must hold ground-truth 2D."""
    grouped: dict[tuple[str, int], list[HumanEvaClip]] = defaultdict(list)
    for clip in clips:
        grouped[clip.subject, clip.camera].append(clip)
    out = {}
    for (subject, index), group in grouped.items():
        points = np.concatenate([c.points_camera.reshape(-1, 3) for c in group])
        pixels = np.concatenate([c.keypoints_2d[..., :2].reshape(-1, 2) for c in group])
        fitted = fit_intrinsics(cameras[subject.split("/")[-1]][index], points, pixels)
        out[subject, index] = (fitted, np.linalg.norm(fitted.project(points) - pixels, axis=-1))
    return out


def procrustes_errors(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-pose MPJPE after the best similarity transform of ``pred`` onto ``target`` (protocol 2):
    ``(N, J, 3)`` -> ``(N,)`` in the input units."""
    mu_p, mu_t = pred.mean(1, keepdims=True), target.mean(1, keepdims=True)
    p, t = pred - mu_p, target - mu_t
    u, s, vt = np.linalg.svd(np.swapaxes(p, 1, 2) @ t)  # p^T t = U S V^T; R = U V^T maps p onto t
    # A reflection is not a pose change: flip the weakest axis when the best orthogonal map has det -1.
    d = np.ones_like(s)
    d[:, -1] = np.sign(np.linalg.det(u @ vt))
    rotation = (u * d[:, None, :]) @ vt
    scale = (s * d).sum(-1) / np.maximum((p**2).sum((1, 2)), 1e-12)
    aligned = scale[:, None, None] * p @ rotation + mu_t
    return np.linalg.norm(aligned - target, axis=-1).mean(-1)


def _centred_errors(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-pose MPJPE after moving both centroids to the origin: ``(N, J, 3)`` -> ``(N,)``."""
    return np.linalg.norm(
        (pred - pred.mean(1, keepdims=True)) - (target - target.mean(1, keepdims=True)), axis=-1
    ).mean(-1)


@dataclass(frozen=True)
class HumanEvaReport:
    """Errors in mm per metric and (action, subject) cell, frame-weighted over chunks and cameras."""

    joints: tuple[str, ...]
    frames: dict[tuple[str, str], int]
    errors_mm: dict[str, dict[tuple[str, str], float]] = field(default_factory=dict)

    def average(self, metric: str) -> float:
        """Mean over the cells, each cell counting once (as papers' "Avg")."""
        return float(np.mean(list(self.errors_mm[metric].values())))

    def to_markdown(self) -> str:
        """One row per metric; columns action/subject as papers lay them out, then Avg."""
        order = {a: i for i, a in enumerate(PROTOCOL.actions)}
        cells = sorted(self.frames, key=lambda c: (order.get(c[0], len(order)), c[0], c[1]))
        header = ["metric (mm)"] + [f"{a} {s.split('/')[-1]}" for a, s in cells] + ["Avg"]
        lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
        for metric, by_cell in self.errors_mm.items():
            values = [f"{by_cell[c]:.1f}" for c in cells] + [f"{self.average(metric):.1f}"]
            lines.append("| " + " | ".join([metric] + values) + " |")
        frames = [str(self.frames[c]) for c in cells] + [str(sum(self.frames.values()))]
        lines.append("| " + " | ".join(["frames (all cameras)"] + frames) + " |")
        return "\n".join(lines)


def _report(
    per_clip: dict[str, list[np.ndarray]], clips: Sequence[HumanEvaClip], joints: tuple[str, ...]
) -> HumanEvaReport:
    """Pool per-frame errors (metres) of each metric into (action, subject) cells, in mm."""
    frames: dict[tuple[str, str], int] = defaultdict(int)
    for clip in clips:
        frames[clip.action, clip.subject] += len(clip.poses_3d)
    errors = {}
    for metric, values in per_clip.items():
        sums: dict[tuple[str, str], float] = defaultdict(float)
        for clip, value in zip(clips, values):
            sums[clip.action, clip.subject] += float(value.sum())
        errors[metric] = {cell: 1000.0 * total / frames[cell] for cell, total in sums.items()}
    return HumanEvaReport(joints=joints, frames=dict(frames), errors_mm=errors)


def _checked_predictions(
    predictions: Sequence[np.ndarray], clips: Sequence[HumanEvaClip], joints: int
) -> list[np.ndarray]:
    if not clips or len(predictions) != len(clips):
        raise UserError(
            f"expected one prediction per clip ({len(clips)} clips), got {len(predictions)}"
        )
    out = []
    for pred, clip in zip(predictions, clips):
        pred = np.asarray(pred, np.float64)
        expected = (len(clip.poses_3d), joints, 3)
        if pred.shape != expected or not np.isfinite(pred).all():
            raise UserError(
                f"{clip.subject} / {clip.chunk} / {CAMERA_NAMES[clip.camera]}: expected finite "
                f"predictions of shape {expected} (metres), got {pred.shape}"
            )
        out.append(pred)
    return out


def score_humaneva(
    predictions: Sequence[np.ndarray], clips: Sequence[HumanEvaClip]
) -> HumanEvaReport:
    """The standard protocol: P-MPJPE on the 15 joints of HumanEva-15 predictions ``(T, 15, 3)``
    metres, one per clip, against the root-relative targets."""
    preds = _checked_predictions(predictions, clips, HUMANEVA15.num_joints)
    errors = [procrustes_errors(p, c.poses_3d.astype(np.float64)) for p, c in zip(preds, clips)]
    return _report({"P-MPJPE": errors}, clips, HUMANEVA15.joints)


def score_h36m_on_humaneva(
    predictions: Sequence[np.ndarray], clips: Sequence[HumanEvaClip]
) -> HumanEvaReport:
    """Cross-dataset: H36M-17 predictions ``(T, 17, 3)`` metres, one per clip, scored on the joints
    both skeletons mark alike (:data:`~posemoe.layouts.humaneva.SHARED_WITH_H36M17`). P-MPJPE is the
    headline; "centred MPJPE" aligns only the centroids of those joints, because the two pelvis
    definitions differ and centring on them would add a constant offset."""
    preds = _checked_predictions(predictions, clips, H36M17.num_joints)
    shared = [HUMANEVA15.index(j) for j in SHARED_WITH_H36M17]
    pairs = [
        (convert(p, H36M17, HUMANEVA15)[:, shared], c.poses_3d[:, shared].astype(np.float64))
        for p, c in zip(preds, clips)
    ]
    return _report(
        {
            "P-MPJPE": [procrustes_errors(p, t) for p, t in pairs],
            "centred MPJPE": [_centred_errors(p, t) for p, t in pairs],
        },
        clips,
        SHARED_WITH_H36M17,
    )
