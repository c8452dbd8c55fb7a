"""Procedural human motion written in exactly the VideoPose3D file formats.

A 32-joint skeleton (the Human3.6M mocap layout) walks, turns, swings its arms and bends its
knees with per-sequence random rhythm and body size; the poses are seen by the four Human3.6M
cameras of each subject. Tests and the demo use it so that they exercise the real loaders.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from posemoe.camera import load_h36m_cameras
from posemoe.datasets.h36m import project_sequences
from posemoe.io.npz import save_npz
from posemoe.layouts import H36M17, H36M32

# Rest offsets from each joint's parent, metres, body frame: x = body's left, y = forward, z = up.
_REST_OFFSETS = {
    "RightUpLeg": (-0.13, 0, 0),
    "RightLeg": (0, 0, -0.44),
    "RightFoot": (0, 0, -0.44),
    "RightToeBase": (0, 0.13, -0.05),
    "RightToeSite": (0, 0.05, 0),
    "LeftUpLeg": (0.13, 0, 0),
    "LeftLeg": (0, 0, -0.44),
    "LeftFoot": (0, 0, -0.44),
    "LeftToeBase": (0, 0.13, -0.05),
    "LeftToeSite": (0, 0.05, 0),
    "Spine": (0, 0, 0.01),
    "Spine1": (0, 0, 0.23),
    "Neck": (0, 0, 0.25),
    "Head": (0, 0.02, 0.12),
    "HeadSite": (0, 0, 0.11),
    "LeftShoulder": (0, 0, 0.22),
    "LeftArm": (0.17, 0, -0.03),
    "LeftForeArm": (0, 0, -0.28),
    "LeftHand": (0, 0, -0.25),
    "LeftHandThumb": (0, 0, 0),
    "LeftThumbSite": (0, 0.03, -0.03),
    "LeftWristEnd": (0, 0, -0.05),
    "LeftWristSite": (0, 0, 0),
    "RightShoulder": (0, 0, 0.22),
    "RightArm": (-0.17, 0, -0.03),
    "RightForeArm": (0, 0, -0.28),
    "RightHand": (0, 0, -0.25),
    "RightHandThumb": (0, 0, 0),
    "RightThumbSite": (0, 0.03, -0.03),
    "RightWristEnd": (0, 0, -0.05),
    "RightWristSite": (0, 0, 0),
}

ACTIONS = ("Walking", "Directions", "Eating", "Sitting")


def _rotation(axis: str, angle: np.ndarray) -> np.ndarray:
    """(T,) angles -> (T, 3, 3) rotations about a body axis."""
    c, s = np.cos(angle), np.sin(angle)
    one, zero = np.ones_like(angle), np.zeros_like(angle)
    rows = {
        "x": [[one, zero, zero], [zero, c, -s], [zero, s, c]],
        "y": [[c, zero, s], [zero, one, zero], [-s, zero, c]],
        "z": [[c, -s, zero], [s, c, zero], [zero, zero, one]],
    }[axis]
    return np.stack([np.stack(r, axis=-1) for r in rows], axis=-2)


def synthesize_motion(frames: int, rng: np.random.Generator, action: str = "Walking") -> np.ndarray:
    """One sequence of world-frame poses, (T, 32, 3) metres, z up."""
    t = np.arange(frames) / 50.0
    scale = rng.uniform(0.9, 1.1)
    freq = rng.uniform(0.7, 1.2) * (1.0 if action == "Walking" else 0.5)
    phase = rng.uniform(0, 2 * np.pi)
    swing = rng.uniform(0.3, 0.6) * (1.0 if action == "Walking" else 0.4)
    w = 2 * np.pi * freq * t + phase
    sit = (
        0.9 * (0.5 - 0.5 * np.cos(2 * np.pi * 0.2 * t)) if action == "Sitting" else np.zeros_like(t)
    )
    reach = (
        rng.uniform(0.2, 1.2) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.3 * t + phase))
        if action in ("Eating", "Directions")
        else 0 * t
    )

    local = {name: np.broadcast_to(np.eye(3), (frames, 3, 3)) for name in H36M32.joints}
    local["RightUpLeg"] = _rotation("x", swing * np.sin(w) + sit)
    local["LeftUpLeg"] = _rotation("x", -swing * np.sin(w) + sit)
    local["RightLeg"] = _rotation("x", -(0.6 * swing * (1 + np.sin(w + 1.2)) + 1.5 * sit))
    local["LeftLeg"] = _rotation("x", -(0.6 * swing * (1 + np.sin(w + np.pi + 1.2)) + 1.5 * sit))
    local["Spine1"] = _rotation("z", 0.15 * np.sin(w)) @ _rotation("x", 0.1 * sit)
    local["Head"] = _rotation("z", 0.3 * np.sin(0.5 * w))
    local["LeftArm"] = _rotation("x", swing * np.sin(w) + reach) @ _rotation(
        "y", -0.2 - 0.3 * reach
    )
    local["RightArm"] = _rotation("x", -swing * np.sin(w)) @ _rotation("y", 0.2 + 0.1 * reach)
    local["LeftForeArm"] = _rotation("x", 0.3 + 0.4 * swing * (1 + np.sin(w)) + reach)
    local["RightForeArm"] = _rotation("x", 0.3 + 0.4 * swing * (1 + np.sin(w + np.pi)))

    heading = rng.uniform(0, 2 * np.pi) + rng.uniform(-0.5, 0.5) * t
    speed = rng.uniform(0.8, 1.4) if action == "Walking" else 0.1
    root_rot = _rotation("z", heading)
    velocity = speed * np.stack([-np.sin(heading), np.cos(heading), np.zeros_like(t)], axis=-1)
    path = np.cumsum(velocity, axis=0) / 50.0
    path -= path.mean(axis=0)
    path = path / max(1.0, np.abs(path[:, :2]).max() / 1.5)  # stay within the capture volume
    height = 0.92 * scale - 0.45 * scale * sit / 0.9 + 0.02 * np.sin(2 * w)
    root = path + height[:, None] * np.array([0.0, 0.0, 1.0])

    positions = np.zeros((frames, H36M32.num_joints, 3))
    rotations = np.zeros((frames, H36M32.num_joints, 3, 3))
    for j, (name, parent) in enumerate(zip(H36M32.joints, H36M32.parents)):
        if parent < 0:
            rotations[:, j] = root_rot
            positions[:, j] = root
            continue
        offset = scale * np.asarray(_REST_OFFSETS[name])
        positions[:, j] = positions[:, parent] + np.einsum(
            "tij,j->ti", rotations[:, parent], offset
        )
        rotations[:, j] = rotations[:, parent] @ local[name]
    # The offsets above put x on the body's left, which with y forward and z up draws the mirror
    # image of a real body (its "right" leg on its left). Mirroring x gives a real person.
    positions = positions * np.array([-1.0, 1.0, 1.0])
    return positions.astype(np.float32)


def write_synthetic_dataset(
    out_dir: str | Path,
    *,
    subjects: list[str] | tuple[str, ...] = ("S1", "S5", "S6", "S7", "S8", "S9", "S11"),
    frames: int = 300,
    actions: tuple[str, ...] = ACTIONS,
    seed: int = 0,
    dataset: str = "h36m",
    detector_noise_px: float = 4.0,
) -> list[Path]:
    """Write ``data_3d_<dataset>.npz``, ``data_2d_<dataset>_gt.npz`` and a noisy detector-like
    ``data_2d_<dataset>_det.npz`` (with a confidence channel) for Human3.6M subjects."""
    rng = np.random.default_rng(seed)
    cameras = load_h36m_cameras()
    positions_3d = {
        s: {
            f"{a} {take}": synthesize_motion(frames + int(rng.integers(0, frames // 3)), rng, a)
            for a in actions
            for take in (1, 2)
        }
        for s in subjects
    }
    positions_2d = project_sequences(positions_3d, cameras, "synthetic")
    detected = {}
    for s, acts in positions_2d.items():
        detected[s] = {}
        for a, views in acts.items():
            noisy = []
            for view in views:
                confidence = rng.uniform(0.5, 1.0, size=view.shape[:-1] + (1,)).astype(np.float32)
                jitter = rng.normal(0, detector_noise_px, size=view.shape) * (1.5 - confidence)
                noisy.append(
                    np.concatenate([view + jitter.astype(np.float32), confidence], axis=-1)
                )
            detected[s][a] = noisy
    metadata = {
        "layout_name": "h36m",
        "num_joints": H36M17.num_joints,
        "keypoints_symmetry": [list(H36M17.left), list(H36M17.right)],
    }
    out = Path(out_dir)
    paths = [
        out / f"data_3d_{dataset}.npz",
        out / f"data_2d_{dataset}_gt.npz",
        out / f"data_2d_{dataset}_det.npz",
    ]
    save_npz(paths[0], positions_3d=positions_3d)
    save_npz(paths[1], positions_2d=positions_2d, metadata=metadata)
    save_npz(paths[2], positions_2d=detected, metadata=metadata)
    return paths
