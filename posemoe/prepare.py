"""Dataset preparation: the ground-truth 2D file from the 3D file and the cameras."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from posemoe.camera import Camera, load_h36m_cameras
from posemoe.data import _poses_17, data_file
from posemoe.io import load_npz, require_key, save_npz
from posemoe.layouts import H36M17


def project_sequences(positions_3d: dict, cameras: dict[str, list[Camera]], source: str) -> dict:
    """``{subject: {action: (T, 32|17, 3) world}}`` -> ``{subject: {action: [(T, 17, 2) pixels per camera]}}``."""
    out: dict = {}
    for subject, actions in positions_3d.items():
        if subject not in cameras:
            raise KeyError(f"{source}: no camera parameters for subject {subject!r}")
        out[subject] = {}
        for action, world in actions.items():
            joints = _poses_17(np.asarray(world), f"{source} [{subject} / {action}]").astype(np.float64)
            out[subject][action] = [
                cam.project(cam.world_to_camera(joints)).astype(np.float32) for cam in cameras[subject]
            ]
    return out


def write_gt_2d(data_dir: str | Path, dataset: str = "h36m", cameras_path: str | Path | None = None) -> Path:
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
