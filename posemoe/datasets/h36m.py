"""Human3.6M in the VideoPose3D formats: subject splits, loading into packed sequences, and the
ground-truth 2D file made from the 3D file and the cameras (``posemoe prepare-2d``).

Files: ``data_3d_<dataset>.npz`` (``positions_3d`` = {subject: {action: (T, 32|17, 3) world
metres}}) and ``data_2d_<dataset>_<source>.npz`` (``positions_2d`` = {subject: {action: [per
camera (T, 17, 2|3) pixels]}}). Dicts are pickled; :mod:`posemoe.io.npz` reads them safely.

Frames with values no recording can have (NaN, inf, 3D beyond :data:`MAX_WORLD_METRES`, 2D beyond
:data:`~posemoe.io.keypoints.MAX_ABS_PIXELS`) are never passed on: loading stops with an error
that names the sequence, how many frames and the first of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posemoe.camera import Camera, load_h36m_cameras
from posemoe.codecs import make_codec, root_relative
from posemoe.datasets.sequences import PoseSequences, SequenceInfo
from posemoe.errors import UserError
from posemoe.io.keypoints import MAX_ABS_PIXELS
from posemoe.io.npz import load_npz, require_key, save_npz
from posemoe.layouts import H36M17, H36M32, convert

MAX_WORLD_METRES = (
    1000.0  # capture volumes are a few metres across; beyond a kilometre is corruption
)


@dataclass(frozen=True)
class Protocol:
    """Which subjects play which role. Test subjects are only ever read by ``posemoe eval``."""

    train: tuple[str, ...] = ("S1", "S5", "S6", "S7")
    val: tuple[str, ...] = ("S8",)
    test: tuple[str, ...] = ("S9", "S11")

    def check_no_test_leak(self) -> None:
        leaked = sorted(set(self.test) & (set(self.train) | set(self.val)))
        if leaked:
            raise UserError(
                f"test subjects {leaked} appear in the training/validation split; choose "
                "checkpoints on a validation subject (e.g. S8) and keep test subjects for `posemoe eval`"
            )


def data_file(
    data_dir: str | Path, kind: str, dataset: str = "h36m", source: str | None = None
) -> Path:
    name = f"data_{kind}_{dataset}" + (f"_{source}" if source else "") + ".npz"
    return Path(data_dir) / name


def _check_values(array: np.ndarray, limit: float, unit: str, where: str) -> None:
    """Refuse a (T, J, C) sequence with NaN, inf or coordinates beyond ``limit`` in any frame; the
    error names how many frames and the first ones (a 2D confidence channel only needs to be finite)."""
    coords = array[..., :3] if unit == "m" else array[..., :2]
    with np.errstate(invalid="ignore"):
        good = np.isfinite(array).all(-1) & (np.abs(coords) <= limit).all(-1)
    bad = np.flatnonzero(~good.all(-1))
    if len(bad):
        first = ", ".join(str(int(t)) for t in bad[:5])
        raise UserError(
            f"{where}: {len(bad)} of {len(array)} frame(s) hold NaN, inf or coordinates beyond "
            f"{limit:g} {unit} (first: frame {first}); fix or remove them"
        )


def _numeric(value: object, where: str) -> np.ndarray:
    """A sequence's array as float32, or an error naming it (strings, objects, ragged lists...)."""
    if isinstance(value, np.ndarray) and (
        np.issubdtype(value.dtype, np.integer) or np.issubdtype(value.dtype, np.floating)
    ):
        return value.astype(np.float32, copy=False)
    try:
        array = np.asarray(value, dtype=np.float32) if isinstance(value, (list, tuple)) else None
    except (TypeError, ValueError, OverflowError):
        array = None
    if array is None:
        found = f"{value.dtype} array" if isinstance(value, np.ndarray) else type(value).__name__
        raise UserError(f"{where}: expected an array of numbers, got a {found}")
    return array


def _mapping(value: object, what: str, where: str) -> dict:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise UserError(
            f"{where}: expected a dict of {what} with string keys, got {type(value).__name__}"
        )
    return value


def _poses_17(array: np.ndarray, where: str) -> np.ndarray:
    array = _numeric(array, where)
    if (
        array.ndim != 3
        or array.shape[-1] != 3
        or array.shape[1] not in (H36M32.num_joints, H36M17.num_joints)
        or not len(array)
    ):
        raise UserError(
            f"{where}: expected 3D poses of shape (T, 32, 3) or (T, 17, 3) with T >= 1 frames, "
            f"got {array.shape}"
        )
    layout = H36M32 if array.shape[1] == H36M32.num_joints else H36M17
    return convert(array.astype(np.float32), layout, H36M17)


def load_h36m(
    data_dir: str | Path,
    subjects: tuple[str, ...] | list[str],
    source: str = "gt",
    *,
    dataset: str = "h36m",
    cameras: dict[str, list[Camera]] | None = None,
    actions: tuple[str, ...] | None = None,
    skip_incomplete: bool = False,
    codec: str = "screen",
) -> PoseSequences:
    """Load subjects from ``data_3d_<dataset>.npz`` and ``data_2d_<dataset>_<source>.npz``, the 2D
    normalised with ``codec`` ("screen" or "camera", which reads each camera's intrinsics).

    A sequence whose 2D is missing or shorter than its 3D raises an error naming it, unless
    ``skip_incomplete`` is set; skipped sequences are listed in ``report``. A 2D sequence
    longer than the 3D one is trimmed to it (as VideoPose3D does) and also reported.
    """
    path3d = data_file(data_dir, "3d", dataset)
    path2d = data_file(data_dir, "2d", dataset, source)
    positions_3d = require_key(load_npz(path3d), "positions_3d", path3d)
    positions_2d = require_key(load_npz(path2d), "positions_2d", path2d)
    for path, value in ((path3d, positions_3d), (path2d, positions_2d)):
        _mapping(value, "subjects", str(path))
    cameras = load_h36m_cameras() if cameras is None else cameras
    if codec not in (
        "screen",
        "camera",
    ):  # the two a loader can apply (see posemoe.codecs.dataset_encoding)
        raise UserError(f"datasets are loaded with the screen or camera codec, not {codec!r}")

    keypoints, poses, infos, report = [], [], [], []
    offset = 0
    for subject in subjects:
        for path, value in ((path3d, positions_3d), (path2d, positions_2d)):
            if subject not in value:
                raise UserError(f"{path}: subject {subject!r} not found (has {sorted(value)[:20]})")
        if subject not in cameras:
            raise UserError(f"no camera parameters for subject {subject!r}")
        subject_cams = cameras[subject]
        actions_3d = _mapping(positions_3d[subject], "actions", f"{path3d} [{subject}]")
        actions_2d = _mapping(positions_2d[subject], "actions", f"{path2d} [{subject}]")
        for action in sorted(actions_3d):
            if actions is not None and action.split(" ")[0] not in actions:
                continue
            where3d = f"{path3d} [{subject} / {action}]"
            world = _poses_17(actions_3d[action], where3d)
            _check_values(world, MAX_WORLD_METRES, "m", where3d)
            views = actions_2d.get(action)
            if views is None:
                if skip_incomplete:
                    report.append(f"skipped {subject} / {action}: no 2D in {path2d.name}")
                    continue
                raise UserError(
                    f"{path2d}: no 2D keypoints for {subject} / {action}, which the 3D file has"
                )
            if not isinstance(views, (list, tuple)) or len(views) != len(subject_cams):
                found = (
                    len(views)
                    if isinstance(views, (list, tuple))
                    else f"a {type(views).__name__}, not a list of"
                )
                raise UserError(
                    f"{path2d} [{subject} / {action}]: {found} camera views, expected {len(subject_cams)}"
                )
            for cam_index, (view, cam) in enumerate(zip(views, subject_cams)):
                where2d = f"{path2d} [{subject} / {action} / camera {cam.id}]"
                view = _numeric(view, where2d)
                if (
                    view.ndim != 3
                    or view.shape[1] != H36M17.num_joints
                    or view.shape[2] not in (2, 3)
                ):
                    raise UserError(
                        f"{where2d}: expected keypoints of shape (T, 17, 2|3), got {view.shape}"
                    )
                if len(view) < len(world):
                    if skip_incomplete:
                        report.append(
                            f"skipped {subject} / {action} / camera {cam.id}: 2D has {len(view)} frames, 3D {len(world)}"
                        )
                        continue
                    raise UserError(f"{where2d}: {len(view)} frames of 2D but {len(world)} of 3D")
                if len(view) > len(world):
                    report.append(
                        f"trimmed {subject} / {action} / camera {cam.id}: 2D {len(view)} -> {len(world)} frames"
                    )
                    view = view[: len(world)]
                _check_values(view, MAX_ABS_PIXELS, "px", where2d)
                encoder = make_codec(codec, (cam.width, cam.height), cam.intrinsics)
                normalized = view.copy()
                normalized[..., :2] = encoder.encode(view[..., :2])
                keypoints.append(normalized)
                poses.append(root_relative(cam.world_to_camera(world)).astype(np.float32))
                infos.append(SequenceInfo(subject, action, cam_index, offset, len(world)))
                offset += len(world)
    if not infos:
        raise UserError(f"{path3d}: no sequences found for subjects {list(subjects)}")
    channels = {k.shape[-1] for k in keypoints}
    if len(channels) > 1:
        raise UserError(f"{path2d}: sequences mix 2- and 3-channel keypoints")
    return PoseSequences(
        keypoints=np.concatenate(keypoints),
        poses=np.concatenate(poses),
        sequences=infos,
        source=source,
        report=report,
        codec=codec,
    )


def project_sequences(positions_3d: dict, cameras: dict[str, list[Camera]], source: str) -> dict:
    """``{subject: {action: (T, 32|17, 3) world}}`` -> ``{subject: {action: [(T, 17, 2) pixels per camera]}}``."""
    out: dict = {}
    for subject, actions in _mapping(positions_3d, "subjects", source).items():
        if subject not in cameras:
            raise UserError(f"{source}: no camera parameters for subject {subject!r}")
        out[subject] = {}
        for action, world in _mapping(actions, "actions", f"{source} [{subject}]").items():
            where = f"{source} [{subject} / {action}]"
            joints = _poses_17(world, where).astype(np.float64)
            _check_values(joints, MAX_WORLD_METRES, "m", where)
            out[subject][action] = [
                cam.project(cam.world_to_camera(joints)).astype(np.float32)
                for cam in cameras[subject]
            ]
    return out


def write_gt_2d(
    data_dir: str | Path, dataset: str = "h36m", cameras_path: str | Path | None = None
) -> Path:
    """Write ``data_2d_<dataset>_gt.npz`` beside ``data_3d_<dataset>.npz``; returns its path."""
    path3d = data_file(data_dir, "3d", dataset)
    positions_3d = require_key(load_npz(path3d), "positions_3d", path3d)
    cameras = load_h36m_cameras(cameras_path)
    positions_2d = project_sequences(positions_3d, cameras, str(path3d))
    out = data_file(data_dir, "2d", dataset, "gt")
    metadata = {
        "layout_name": "h36m",
        "num_joints": H36M17.num_joints,
        "keypoints_symmetry": [list(H36M17.left), list(H36M17.right)],
    }
    save_npz(out, positions_2d=positions_2d, metadata=metadata)
    return out
