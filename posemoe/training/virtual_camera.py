"""Virtual cameras around a person, for training a lifter that works on any video.

For each clip one pinhole camera: any azimuth around the person; elevation from below the hips
(looking up) to overhead; a horizontal field of view from wide phone lenses to tele; a frame of a
common shape, portrait or landscape; the distance that makes the person fill a random share of the
frame height; the aim point off the person by up to a fifth of the frame (some clips cut the person
off); the principal point off centre by up to 3%; a small roll; and, in 40% of clips, a camera that
pans and moves slowly over the clip. Cameras use the convention of :class:`posemoe.camera.Camera`:
x right, y down, z forward, pixels from the top-left.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ASPECTS = ((16, 9), (4, 3), (1, 1), (3, 4), (9, 16))


@dataclass(frozen=True)
class VirtualCameraConfig:
    """Ranges of the sampled cameras (angles in degrees)."""

    elevation: tuple[float, float] = (-20.0, 70.0)  # below the hips (< 0) to overhead
    hfov: tuple[float, float] = (25.0, 100.0)  # horizontal field of view of the longer side: tele to wide
    fill: tuple[float, float] = (0.3, 1.0)  # person height / frame height
    long_side: tuple[int, int] = (480, 3840)  # pixels
    aim_offset: float = 0.2  # of the frame, where the person's centre may sit off the middle
    principal_offset: float = 0.03  # of the frame
    roll: float = 8.0  # degrees, standard deviation
    moving: float = 0.4  # share of clips whose camera moves
    pan: float = 10.0  # degrees over a clip, at most, for a moving camera
    dolly: float = 0.3  # metres over a clip, at most, for a moving camera


@dataclass
class VirtualCameras:
    """Per clip: focal (B,), principal point (B, 2), image size (B, 2) as (width, height); per frame:
    world -> camera rotation R (B, T, 3, 3) and camera centre C (B, T, 3), world metres."""

    focal: np.ndarray
    centre: np.ndarray
    image_size: np.ndarray
    R: np.ndarray
    C: np.ndarray


def _rotation(axis: int, angle: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotations by ``angle`` (...) radians about camera axis 0 (x), 1 (y) or 2 (z)."""
    c, s = np.cos(angle), np.sin(angle)
    out = np.zeros(angle.shape + (3, 3))
    i, j = [k for k in range(3) if k != axis]
    out[..., axis, axis] = 1
    out[..., i, i], out[..., i, j], out[..., j, i], out[..., j, j] = c, -s, s, c
    return out


def _look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """World -> camera rotations (..., 3, 3) of cameras at ``eye`` looking at ``target``, z-up world,
    image x to the right and y down."""
    forward = target - eye
    forward = forward / np.linalg.norm(forward, axis=-1, keepdims=True)
    right = np.cross(forward, np.array([0.0, 0.0, 1.0]))
    right = right / np.maximum(np.linalg.norm(right, axis=-1, keepdims=True), 1e-9)
    down = np.cross(forward, right)
    return np.stack([right, down, forward], -2)


def sample_cameras(cfg: VirtualCameraConfig, rng: np.random.Generator, world: np.ndarray) -> VirtualCameras:
    """One camera per clip of ``world`` (B, T, J, 3) metres, z up, H36M-17 (joint 0 = pelvis)."""
    b, t = world.shape[:2]
    aspect = np.array(ASPECTS)[rng.integers(len(ASPECTS), size=b)]
    scale = rng.uniform(*cfg.long_side, b) / aspect.max(1)
    size = np.round(aspect * scale[:, None] / 2) * 2  # (B, 2) even pixel sizes, (width, height)
    focal = size.max(1) / 2 / np.tan(np.radians(rng.uniform(*cfg.hfov, b)) / 2)
    centre = size / 2 + rng.uniform(-1, 1, (b, 2)) * cfg.principal_offset * size
    height = np.maximum(np.ptp(world[..., 2], axis=-1).max(-1), 0.5)  # the person's height over the clip
    distance = np.maximum(focal * height / (rng.uniform(*cfg.fill, b) * size[:, 1]), 1.2 + height / 2)
    azimuth = rng.uniform(0, 2 * np.pi, b)
    elevation = np.radians(rng.uniform(*cfg.elevation, b))
    target = world[:, :, 0].mean(1) + np.array([0.0, 0.0, 0.1]) * height[:, None]  # (B, 3)
    direction = np.stack([np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth),
                          np.sin(elevation)], -1)
    eye = target + distance[:, None] * direction
    eye[:, 2] = np.maximum(eye[:, 2], 0.1)  # not under the floor
    moving = rng.random(b) < cfg.moving
    progress = np.linspace(-0.5, 0.5, t)[None, :] * moving[:, None]  # (B, T), 0 for a fixed camera
    dolly = rng.uniform(-cfg.dolly, cfg.dolly, (b, 3)) * np.array([1.0, 1.0, 0.3])
    eyes = eye[:, None] + progress[..., None] * dolly[:, None]  # (B, T, 3)
    base = _look_at(eyes, np.broadcast_to(target[:, None], eyes.shape))
    # Aim off the person (its centre up to ``aim_offset`` of the frame from the middle), pan, roll.
    offset = rng.uniform(-1, 1, (b, 2)) * cfg.aim_offset * size / focal[:, None]
    yaw = offset[:, :1] + np.radians(rng.uniform(-cfg.pan, cfg.pan, b))[:, None] * progress
    tilt = np.broadcast_to(offset[:, 1:], (b, t))
    roll = np.broadcast_to(np.radians(rng.normal(0, cfg.roll, b))[:, None], (b, t))
    R = _rotation(2, roll) @ _rotation(0, tilt) @ _rotation(1, yaw) @ base
    return VirtualCameras(focal, centre, size.astype(int), R, eyes)


def project(world: np.ndarray, cams: VirtualCameras) -> tuple[np.ndarray, np.ndarray]:
    """world (B, T, J, 3) -> pixels (B, T, J, 2) and camera-frame points (B, T, J, 3), metres."""
    cam = np.einsum("btij,btkj->btki", cams.R, world - cams.C[:, :, None])
    z = np.maximum(cam[..., 2:], 0.05)
    pixels = cams.focal[:, None, None, None] * cam[..., :2] / z + cams.centre[:, None, None]
    return pixels, cam
