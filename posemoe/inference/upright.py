"""Turning a tilted body upright before lifting, and its 3D back.

Lifters learn from people who are mostly upright in the image: in the default lifter's training
views the body leans over 45 degrees from image-up in 3.4 % of frames, and on Human3.6M S8 seen by
virtual cameras, rolling the cameras about their optical axes raises its MPJPE from 64.6 mm to
149.5 mm at 90 degrees and 275.8 mm upside down (README, "Bodies that lean"). A roll of a pinhole
camera about its optical axis turns the image about the principal point and the camera-frame 3D
about the optical axis by the same angle, exactly. So a track whose body leans beyond ``limit``
(lying on the floor, a handstand, a camera held askew) is turned about the principal point to lean
at most ``limit`` (upside down: upright), lifted, and each frame's 3D is turned back: the answer
stays in the real camera's frame.

The lean is that of the body's long axis (knees and ankles to shoulders, thorax and head), summed
over a short Gaussian window in time so that frames where the axis points at the camera (short in
2D), or whose legs the detector only guessed, take their neighbours' direction.
"""

from __future__ import annotations

import numpy as np

from posemoe.camera import Intrinsics
from posemoe.layouts import H36M17, JointLayout, convert

UPRIGHT_LIMIT = 15.0
"""Default lean (degrees from image-up) beyond which a body is turned; 16 % of the frames of the
default lifter's training views lean further (``docs/scripts/upright.py``)."""

_UPPER = ("Thorax", "Neck/Nose", "Head", "LShoulder", "RShoulder")
_LOWER = ("LKnee", "RKnee", "LFoot", "RFoot")


def _rays(points: np.ndarray, camera: Intrinsics) -> np.ndarray:
    """(..., 2) pixels -> (..., 2) pinhole rays (x right, y down)."""
    return (points - np.asarray(camera.centre)) / np.asarray(camera.focal)


def _rotate(xy: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """(T, J, 2) turned by ``angles`` (T,) radians (x right, y down: positive turns clockwise on screen)."""
    c, s = np.cos(angles)[:, None], np.sin(angles)[:, None]
    x, y = xy[..., 0], xy[..., 1]
    return np.stack([c * x - s * y, s * x + c * y], -1)


def body_lean(
    points: np.ndarray,
    layout: JointLayout,
    camera: Intrinsics,
    fps: float,
    smooth_s: float = 0.1,
    min_confidence: float = 0.3,
) -> np.ndarray:
    """(T, J, 2|3) pixels (+ confidence) in ``layout`` -> (T,) lean of the body's axis from image-up,
    radians in [-pi, pi] (positive: the head toward image right), the axis summed over a Gaussian
    window of ``smooth_s`` seconds (sigma). With confidences, each end of a frame's axis is the mean of
    its joints seen (at least ``min_confidence``) and the axis counts by the share of its upper times
    its lower joints seen: frames whose legs were guessed or filled in take their neighbours' lean,
    and a window with nothing seen leans 0."""
    points = np.asarray(points, np.float64)
    body = convert(points, layout, H36M17)
    upper, lower = [H36M17.index(j) for j in _UPPER], [H36M17.index(j) for j in _LOWER]
    rays = _rays(body[..., :2], camera)
    seen = (
        np.nan_to_num(body[..., 2], nan=0.0) >= min_confidence
        if body.shape[-1] > 2
        else np.ones(body.shape[:2], bool)
    ).astype(np.float64)

    def end(
        joints: list[int],
    ) -> tuple[np.ndarray, np.ndarray]:  # mean of the seen joints, share seen
        count = seen[:, joints].sum(1)
        mean = (rays[:, joints] * seen[:, joints, None]).sum(1) / np.maximum(count, 1.0)[:, None]
        return mean, count / len(joints)

    (top, top_seen), (bottom, bottom_seen) = end(upper), end(lower)
    axis = (top - bottom) * (top_seen * bottom_seen)[:, None]
    sigma = smooth_s * fps
    if sigma > 0.3 and len(axis) > 1:
        from scipy.ndimage import gaussian_filter1d

        axis = gaussian_filter1d(axis, sigma, axis=0, mode="nearest", truncate=3.0)
    return np.arctan2(axis[:, 0], 0.0 - axis[:, 1])  # 0.0 - y, not -y: a zero axis leans 0, not pi


def upright_turn(lean: np.ndarray, limit_deg: float) -> np.ndarray:
    """(T,) leans -> (T,) angles to turn each frame by so it leans at most ``limit_deg``: leans up to
    the limit are kept; past it the lean after turning falls linearly from the limit to upright for a
    body upside down (continuous, so a lean passing through 180 degrees does not jump sides)."""
    limit = np.radians(np.clip(limit_deg, 0.0, 179.0))
    size = np.abs(lean)
    target = np.minimum(size, limit * (np.pi - size) / (np.pi - limit))
    return np.sign(lean) * target - lean


def turn_keypoints(points: np.ndarray, angles: np.ndarray, camera: Intrinsics) -> np.ndarray:
    """(T, J, C) pixels (+ confidence) turned by ``angles`` (T,) about the principal point, as a
    camera rolled about its optical axis sees them; a copy, confidence kept."""
    out = np.array(points, dtype=np.float32, copy=True)
    turned = _rotate(_rays(points[..., :2].astype(np.float64), camera), angles)
    out[..., :2] = turned * np.asarray(camera.focal) + np.asarray(camera.centre)
    return out


def turn_back(joints: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """(T, J, 3) camera-frame 3D predicted for keypoints turned by ``angles`` -> the same in the
    unturned camera's frame (turned by ``-angles`` about the optical axis)."""
    out = np.array(joints, copy=True)
    out[..., :2] = _rotate(joints[..., :2].astype(np.float64), -angles)
    return out
