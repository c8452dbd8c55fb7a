"""Virtual cameras around a person, for training a lifter that works on any video.

A lifter trained only on Human3.6M's four chest-height cameras fails on phone video. Each clip of
world motion here gets one camera drawn the way real footage is shot: any azimuth; from below
the hips (looking up) to overhead; wide phone lenses to tele; landscape, square and portrait
frames of common sizes; the person filling a quarter to all of the frame height, usually whole
but in some clips cut off by the frame's edge; the principal point a little off centre; a small
roll, now and then a larger one; mild radial distortion in some clips; and in some clips a
camera that pans, tilts, dollies or orbits slowly.

Conventions of :class:`posemoe.camera.Camera`: world metres, z up; camera x right, y down,
z forward; ``X_cam = R (X_world - C)`` with ``C`` the camera centre; pixels from the top-left.

Two steps: :func:`sample_rigs` draws cameras relative to a person, in the *clip frame* (origin
at the centre of the pelvis path, +y the way the person faces, z up), and :func:`aim_at` places
them around given clips, lifting a camera that would be under the floor and pushing one back
where a joint would come closer than ``min_depth``, or leave the frame of a clip meant to show
the whole person.
:func:`sample_cameras` does both. Frame-rate augmentation: :func:`resample_clip`,
:func:`sample_frame_indices` and :func:`interpolate_frames`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from posemoe.camera import Intrinsics
from posemoe.errors import UserError
from posemoe.layouts import H36M17, JointLayout

_HIP_HEIGHT = 0.53  # of the body height, standing


@dataclass(frozen=True)
class VirtualCameraConfig:
    """How virtual cameras are drawn: angles in degrees, lengths in metres, shares in [0, 1].
    A (low, high) pair is a uniform range, or triangular where a ``*_mode`` gives its peak."""

    azimuth: tuple[float, float] = (
        -180.0,
        180.0,
    )  # around the person: 0 in front, 90 on their left
    elevation: tuple[float, float] = (
        -20.0,
        70.0,
    )  # seen from the pelvis path: below the hips to overhead
    elevation_mode: float = 10.0  # most footage is shot from about chest height
    hfov: tuple[float, float] = (
        25.0,
        100.0,
    )  # field of view across the long side: tele to wide phone lens
    hfov_mode: float = 65.0  # a phone's main camera
    fill: tuple[float, float] = (
        0.25,
        1.0,
    )  # share of the frame height a person of body_height fills
    body_height: float = 1.7  # of the person the framing is for
    min_camera_height: float = (
        0.1  # above the floor (0.53 body heights below the hips): low views are close
    )
    long_side: tuple[int, int] = (
        854,
        3840,
    )  # pixels, log-uniform; with the aspects, widths 480-3840
    aspects: tuple[tuple[int, int], ...] = (
        (16, 9),
        (4, 3),
        (1, 1),
        (3, 4),
        (9, 16),
    )  # width : height
    aspect_weights: tuple[float, ...] = (0.35, 0.15, 0.1, 0.1, 0.3)  # 40% portrait, as phones film
    principal_offset: float = (
        0.03  # principal point off the frame centre, share of the frame, at most
    )
    roll: float = 3.0  # standard deviation of the usual roll
    big_roll: float = 15.0  # roll, at most, of the clips that get a big one
    big_roll_share: float = 0.1
    aim_offset: float = (
        0.1  # the pelvis path's centre off the frame centre, share of the frame, at most
    )
    partial: float = 0.15  # share of clips framed without regard to the frame's edges ...
    partial_offset: float = (
        0.35  # ... and aimed this far off centre, at most, so the frame cuts some
    )
    margin: float = 0.02  # every other clip keeps all joints this share of the frame inside it
    moving: float = 0.5  # share of clips whose camera moves (linearly over the clip)
    pan: float = 6.0  # pan over a moving clip, at most (and tilt, half as much)
    orbit: float = 8.0  # orbit around the person over a moving clip, at most
    dolly: float = 0.3  # camera travel over a moving clip, at most (vertical, a quarter as much)
    distorted: float = 0.3  # share of clips with radial distortion ...
    k1: tuple[float, float] = (
        -0.08,
        0.03,
    )  # ... of this coefficient on normalised coordinates (< 0: barrel)
    min_depth: float = 0.3  # no joint closer to the camera plane

    def __post_init__(self) -> None:
        for name in ("azimuth", "elevation", "hfov", "fill", "long_side", "k1"):
            low, high = getattr(self, name)
            if not low <= high:
                raise UserError(
                    f"VirtualCameraConfig.{name}: expected (low, high) with low <= high, got {(low, high)}"
                )
        checks = {
            "elevation": -90 < self.elevation[0] and self.elevation[1] < 90,
            "hfov": 0 < self.hfov[0] and self.hfov[1] < 180,
            "fill": self.fill[0] > 0,
            "long_side": self.long_side[0] >= 16,
            "body_height": self.body_height > 0,
            "min_depth": self.min_depth > 0,
            "margin": 0 <= self.margin < 0.5,
            "aspect_weights": len(self.aspect_weights) == len(self.aspects)
            and min(self.aspect_weights) >= 0
            and sum(self.aspect_weights) > 0,
            "aspects": all(w > 0 and h > 0 for w, h in self.aspects),
        }
        checks.update(
            {
                n: 0 <= getattr(self, n) <= 1
                for n in ("big_roll_share", "partial", "moving", "distorted")
            }
        )
        for name, ok in checks.items():
            if not ok:
                raise UserError(
                    f"VirtualCameraConfig.{name}: out of range, got {getattr(self, name)!r} "
                    f"(see the field's comment in posemoe/training/virtual_camera.py)"
                )


@dataclass(frozen=True)
class VirtualCameras:
    """B cameras, one per clip of T frames. ``focal`` (B,) pixels; ``centre`` (B, 2) principal
    point, pixels; ``image_size`` (B, 2) int (width, height); ``k1`` (B,) radial distortion;
    ``R`` (B, T, 3, 3) world -> camera rotations; ``C`` (B, T, 3) camera centres, metres;
    ``moving`` (B,) whether the camera moves; ``whole`` (B,) whether the clip is framed to keep
    every joint in view (else the frame may cut the person off)."""

    focal: np.ndarray
    centre: np.ndarray
    image_size: np.ndarray
    k1: np.ndarray
    R: np.ndarray
    C: np.ndarray
    moving: np.ndarray
    whole: np.ndarray

    def intrinsics(self, i: int) -> Intrinsics:
        """Clip ``i``'s focal length and principal point (square pixels; distortion left out)."""
        return Intrinsics(
            (float(self.focal[i]),) * 2, (float(self.centre[i, 0]), float(self.centre[i, 1]))
        )

    @property
    def t(self) -> np.ndarray:
        """(B, T, 3) translations for the other convention, ``X_cam = R X_world + t``."""
        return -np.einsum("btij,btj->bti", self.R, self.C)


def sample_cameras(
    cfg: VirtualCameraConfig,
    rng: np.random.Generator,
    world: np.ndarray,
    layout: JointLayout = H36M17,
) -> VirtualCameras:
    """One camera per clip of ``world`` (B, T, J, 3), metres, z up: :func:`sample_rigs` placed
    by :func:`aim_at`."""
    _check_world(world, layout)
    return aim_at(sample_rigs(cfg, rng, world.shape[0], world.shape[1]), world, cfg, layout)


def sample_rigs(
    cfg: VirtualCameraConfig, rng: np.random.Generator, batch: int, frames: int
) -> VirtualCameras:
    """``batch`` cameras over ``frames`` frames in the clip frame, framed for a person of
    ``cfg.body_height`` standing at the origin; reproducible given ``rng``'s state."""
    if batch < 1 or frames < 1:
        raise UserError(
            f"expected at least one clip of one frame, got batch={batch}, frames={frames}"
        )
    focal, centre, size, k1 = _intrinsics(cfg, rng, batch)
    whole = rng.random(batch) >= cfg.partial
    R0, C0 = _first_pose(cfg, rng, focal, size, whole)
    moving = rng.random(batch) < cfg.moving
    R, C = _camera_motion(cfg, rng, R0, C0, moving, frames)
    return VirtualCameras(focal, centre, size, k1, R, C, moving, whole)


def _intrinsics(
    cfg: VirtualCameraConfig, rng: np.random.Generator, batch: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Focal (B,) and principal point (B, 2) in pixels, image size (B, 2) even ints, k1 (B,)."""
    weights = np.asarray(cfg.aspect_weights, np.float64)
    aspect = np.asarray(cfg.aspects, np.float64)[
        rng.choice(len(cfg.aspects), size=batch, p=weights / weights.sum())
    ]
    long_side = np.exp(rng.uniform(*np.log(cfg.long_side), batch))
    size = 2 * np.round(aspect * (long_side / aspect.max(1))[:, None] / 2).astype(int)
    fov = np.radians(_triangular(rng, cfg.hfov, cfg.hfov_mode, batch))
    focal = size.max(1) / 2 / np.tan(fov / 2)
    centre = size / 2 + rng.uniform(-1, 1, (batch, 2)) * cfg.principal_offset * size
    k1 = np.where(rng.random(batch) < cfg.distorted, rng.uniform(*cfg.k1, batch), 0.0)
    return focal, centre, size, k1


def _first_pose(
    cfg: VirtualCameraConfig,
    rng: np.random.Generator,
    focal: np.ndarray,
    size: np.ndarray,
    whole: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Rotation (B, 3, 3) and centre (B, 3) of each camera at the first frame, clip frame."""
    batch = len(focal)
    azimuth = np.radians(rng.uniform(*cfg.azimuth, batch))
    elevation = np.radians(_triangular(rng, cfg.elevation, cfg.elevation_mode, batch))
    big = rng.random(batch) < cfg.big_roll_share
    roll = np.radians(
        np.where(
            big, rng.uniform(-cfg.big_roll, cfg.big_roll, batch), rng.normal(0.0, cfg.roll, batch)
        )
    )
    distance = focal * cfg.body_height / (rng.uniform(*cfg.fill, batch) * size[:, 1])
    # A camera below the hips must be near the person to stay above the floor.
    hips = _HIP_HEIGHT * cfg.body_height
    elevation = np.maximum(
        elevation, np.arcsin(np.clip((cfg.min_camera_height - hips) / distance, -1.0, 0.0))
    )
    reach = np.where(whole, cfg.aim_offset, cfg.partial_offset)
    offset = (
        rng.uniform(-1, 1, (batch, 2)) * reach[:, None] * size / focal[:, None]
    )  # normalised image coords
    toward_camera = np.stack(
        [
            -np.sin(azimuth) * np.cos(elevation),
            np.cos(azimuth) * np.cos(elevation),
            np.sin(elevation),
        ],
        -1,
    )
    R = _rotation(2, roll) @ look_at(toward_camera, np.zeros(3))
    # Shift the camera within its image plane so that the aim point shows ``offset`` off the
    # principal point: R (0 - C) = distance * (offset, 1).
    sight = np.concatenate([offset, np.ones((batch, 1))], -1)
    return R, -distance[:, None] * np.einsum("bji,bj->bi", R, sight)


def _camera_motion(
    cfg: VirtualCameraConfig,
    rng: np.random.Generator,
    R0: np.ndarray,
    C0: np.ndarray,
    moving: np.ndarray,
    frames: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame rotations (B, T, 3, 3) and centres (B, T, 3): a fixed camera, or one that pans,
    tilts, orbits about the vertical through the origin and travels, linearly over the clip."""
    batch = len(C0)
    ramp = moving[:, None] * np.linspace(0.0, 1.0, frames)[None]  # (B, T), 0 for a fixed camera
    pan = np.radians(rng.uniform(-cfg.pan, cfg.pan, batch))[:, None] * ramp
    tilt = np.radians(rng.uniform(-cfg.pan / 2, cfg.pan / 2, batch))[:, None] * ramp
    orbit = np.radians(rng.uniform(-cfg.orbit, cfg.orbit, batch))[:, None] * ramp
    heading = rng.uniform(0, 2 * np.pi, batch)
    reach = cfg.dolly * np.sqrt(rng.random(batch))
    travel = np.stack(
        [
            reach * np.cos(heading),
            reach * np.sin(heading),
            rng.uniform(-1, 1, batch) * cfg.dolly / 4,
        ],
        -1,
    )
    # The camera body turns by the orbit and the pan about the vertical; only the orbit moves its centre.
    R = _rotation(0, tilt) @ R0[:, None] @ np.swapaxes(_rotation(2, orbit + pan), -1, -2)
    C = (_rotation(2, orbit) @ C0[:, None, :, None])[..., 0] + ramp[..., None] * travel[:, None]
    return R, C


def aim_at(
    cams: VirtualCameras,
    world: np.ndarray,
    cfg: VirtualCameraConfig = VirtualCameraConfig(),
    layout: JointLayout = H36M17,
) -> VirtualCameras:
    """Cameras of :func:`sample_rigs` (clip frame) placed around the clips of ``world``
    (B, T, J, 3), metres, z up. A camera lower than ``cfg.min_camera_height`` above the clip's
    lowest joint is lifted to it; then each camera moves back along its first frame's line of
    sight (never downwards) as far as needed: no joint closer than ``cfg.min_depth``, and for
    ``whole`` clips every joint at least ``cfg.margin`` inside the frame, with room for
    pincushion distortion."""
    _check_world(world, layout)
    if world.shape[:2] != cams.C.shape[:2]:
        raise UserError(
            f"expected world motion of {cams.C.shape[0]} clips of {cams.C.shape[1]} frames, "
            f"got shape {world.shape}"
        )
    origin, basis = clip_frame(world, layout)
    dtype = np.result_type(
        world.dtype, np.float32
    )  # float32 motion: float32 arithmetic, twice as fast
    local = _rotate(
        np.broadcast_to(basis[:, None], cams.R.shape).astype(dtype), _planar(world, origin[:, None])
    )
    floor = local[2].min(axis=(0, 2)) + cfg.min_camera_height
    C = cams.C.copy()
    C[..., 2] += np.maximum(floor - C[..., 2].min(1), 0.0)[:, None]
    # Back along the first frame's line of sight, but never down (under the floor).
    ray = C[:, 0] * np.array([1.0, 1.0, 0.0]) + np.maximum(C[:, 0], 0.0) * np.array([0.0, 0.0, 1.0])
    C += _push_back(replace(cams, C=C), local, ray, cfg)[:, None, None] * ray[:, None]
    return replace(cams, R=cams.R @ basis[:, None], C=origin[:, None] + C @ basis)


def _push_back(
    cams: VirtualCameras, local: np.ndarray, ray: np.ndarray, cfg: VirtualCameraConfig
) -> np.ndarray:
    """(B,) least s >= 0 such that centres ``C + s ray`` (``ray`` (B, 3)) meet the depth and
    frame limits for the clip-frame joints ``local`` (3, J, B, T): camera coordinates are linear
    in s."""
    R, C = cams.R.astype(local.dtype), cams.C.astype(local.dtype)
    q = _rotate(R, local - np.moveaxis(C, 2, 0)[:, None])
    w = -np.moveaxis((R @ ray[:, None, :, None].astype(local.dtype))[..., 0], 2, 0)[
        :, None
    ]  # dq / ds
    need = _least_push(q[2] - cfg.min_depth * 1.001, w[2])
    # The frame's edges in normalised coordinates, drawn in by the most pincushion (k1 > 0) can
    # push a point outwards.
    corner = np.maximum(cams.centre, cams.image_size - cams.centre) / cams.focal[:, None]
    grow = 1.0 + np.maximum(cams.k1, 0.0) * np.sum(corner**2, -1)
    low = (cfg.margin * cams.image_size - cams.centre) / (cams.focal * grow)[:, None]
    high = ((1 - cfg.margin) * cams.image_size - cams.centre) / (cams.focal * grow)[:, None]
    for axis in (0, 1):
        lo, hi = low[:, None, axis], high[:, None, axis]
        inside_low = _least_push(q[axis] - lo * q[2], w[axis] - lo * w[2])
        inside_high = _least_push(hi * q[2] - q[axis], hi * w[2] - w[axis])
        need = np.where(cams.whole, np.maximum(need, np.maximum(inside_low, inside_high)), need)
    return np.maximum(need, 0.0)


def _least_push(value: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """(B,) least s meeting ``value + s * slope >= 0`` for all (J, B, T) constraints; ones that
    pushing back cannot meet (slope <= 0) are left out."""
    s = np.where(slope > 1e-12, -value / np.where(slope > 1e-12, slope, 1.0), -np.inf)
    return s.max(0).max(-1)  # over joints, then frames: contiguous reductions


def clip_frame(world: np.ndarray, layout: JointLayout = H36M17) -> tuple[np.ndarray, np.ndarray]:
    """The clip frame of each clip of ``world`` (B, T, J, 3): origin (B, 3), the centre of the
    pelvis path, and basis (B, 3, 3), rows = the person's right, the way they face (both level,
    from the hips over the clip) and up; ``local = basis @ (world - origin)``."""
    left, right = _hip_pair(layout)
    pelvis = world[:, :, layout.root]
    origin = (pelvis.min(1) + pelvis.max(1)) / 2
    across = (world[:, :, right] - world[:, :, left]).mean(1) * np.array([1.0, 1.0, 0.0])
    length = np.linalg.norm(across, axis=-1, keepdims=True)
    across = np.where(length > 1e-9, across / np.maximum(length, 1e-9), np.array([1.0, 0.0, 0.0]))
    up = np.broadcast_to(np.array([0.0, 0.0, 1.0]), across.shape)
    return origin, np.stack([across, np.cross(up, across), up], 1)


def look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """World -> camera rotations (..., 3, 3) of cameras at ``eye`` (..., 3) looking at
    ``target`` (..., 3), z-up world: image x to the right, y down, no roll."""
    forward = np.broadcast_to(target, np.broadcast(eye, target).shape) - eye
    forward = forward / np.linalg.norm(forward, axis=-1, keepdims=True)
    right = np.cross(forward, np.array([0.0, 0.0, 1.0]))
    # Looking straight up or down leaves "right" undefined; any level direction will do.
    right = np.where(
        np.linalg.norm(right, axis=-1, keepdims=True) > 1e-9, right, np.array([1.0, 0.0, 0.0])
    )
    right = right / np.linalg.norm(right, axis=-1, keepdims=True)
    return np.stack([right, np.cross(forward, right), forward], -2)


def project(world: np.ndarray, cams: VirtualCameras) -> tuple[np.ndarray, np.ndarray]:
    """world (B, T, J, 3) metres -> pixels (B, T, J, 2) and camera-frame points (B, T, J, 3),
    metres. Radial distortion ``1 + k1 r^2`` is held at its image-corner value beyond the
    corners, where the polynomial would fold back; points at or behind the camera get NaN pixels."""
    dtype = np.result_type(world.dtype, np.float32)
    camera = _rotate(cams.R.astype(dtype), _planar(world, cams.C.astype(dtype)))  # (3, J, B, T)
    x, y, z = camera
    inverse = np.where(z > 0, 1.0 / np.where(z > 0, z, 1.0), np.nan)
    u, v = x * inverse, y * inverse
    corner = np.maximum(cams.centre, cams.image_size - cams.centre) / cams.focal[:, None]
    r2 = np.minimum(u * u + v * v, np.sum(corner**2, -1).astype(dtype)[:, None])
    scale = (cams.focal[:, None] * (1.0 + cams.k1[:, None] * r2)).astype(dtype)
    centre = cams.centre.astype(dtype)
    pixels = np.stack([u * scale + centre[:, None, 0], v * scale + centre[:, None, 1]])
    return (
        np.ascontiguousarray(np.moveaxis(pixels, (0, 1), (3, 2))),
        np.ascontiguousarray(np.moveaxis(camera, (0, 1), (3, 2))),
    )


def resample_clip(points: np.ndarray, source_fps: float, target_fps: float) -> np.ndarray:
    """(T, ...) sampled at ``source_fps`` -> (T', ...) at ``target_fps`` over the same span,
    ``T' = floor((T - 1) * target / source) + 1``, linear between source frames."""
    if source_fps <= 0 or target_fps <= 0:
        raise UserError(
            f"expected positive frame rates, got source {source_fps}, target {target_fps}"
        )
    count = int(np.floor((len(points) - 1) * target_fps / source_fps + 1e-9)) + 1
    return interpolate_frames(points, np.arange(count) * (source_fps / target_fps))


def interpolate_frames(points: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """``points`` (T, ...) at fractional frame ``indices`` (any shape, within [0, T - 1]),
    linear between frames -> ``indices.shape + points.shape[1:]``."""
    indices = np.asarray(indices, np.float64)
    if (
        len(points) == 0
        or indices.size
        and (indices.min() < -1e-9 or indices.max() > len(points) - 1 + 1e-9)
    ):
        raise UserError(
            f"expected frame indices within [0, {len(points) - 1}], got "
            f"[{indices.min() if indices.size else 'none'}, {indices.max() if indices.size else 'none'}]"
        )
    low = np.clip(np.floor(indices).astype(int), 0, max(len(points) - 2, 0))
    high = np.minimum(low + 1, len(points) - 1)
    frac = np.clip(indices - low, 0.0, 1.0).reshape(indices.shape + (1,) * (points.ndim - 1))
    return points[low] * (1.0 - frac) + points[high] * frac


def sample_frame_indices(
    rng: np.random.Generator,
    batch: int,
    window: int,
    source_frames: int,
    source_fps: float,
    fps_range: tuple[float, float] = (12.0, 60.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Windows of ``window`` frames as a video at a random rate would show a sequence of
    ``source_frames`` recorded at ``source_fps``: fractional frame indices (B, window) for
    :func:`interpolate_frames`, and the rates (B,), log-uniform in ``fps_range``. The model sees
    consecutive inputs ``1 / fps`` seconds apart, so at its own nominal rate the motion plays
    faster or slower than it was recorded."""
    if window < 1 or source_frames < 1 or source_fps <= 0 or not 0 < fps_range[0] <= fps_range[1]:
        raise UserError(
            f"expected window >= 1, source_frames >= 1, source_fps > 0 and 0 < fps_range[0] <= "
            f"fps_range[1], got {window}, {source_frames}, {source_fps}, {fps_range}"
        )
    # The slowest rate at which the window still fits in the sequence.
    slowest = (
        source_fps * (window - 1) / (source_frames - 1)
        if source_frames > 1
        else (np.inf if window > 1 else 0)
    )
    low = max(fps_range[0], slowest)
    if low > fps_range[1]:
        raise UserError(
            f"a window of {window} frames at {fps_range[1]} fps needs "
            f"{int(np.ceil((window - 1) * source_fps / fps_range[1])) + 1} frames at {source_fps} fps, "
            f"the sequence has {source_frames}"
        )
    fps = np.exp(rng.uniform(np.log(low), np.log(fps_range[1]), batch))
    step = source_fps / fps
    start = rng.random(batch) * np.maximum(source_frames - 1 - (window - 1) * step, 0.0)
    return np.minimum(start[:, None] + np.arange(window) * step[:, None], source_frames - 1), fps


def _triangular(
    rng: np.random.Generator, bounds: tuple[float, float], mode: float, size: int
) -> np.ndarray:
    low, high = bounds
    if high <= low:
        return np.full(size, float(low))
    return rng.triangular(low, min(max(mode, low), high), high, size)


def _planar(points: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """``points`` (B, T, J, 3) minus ``offset`` (B, T, 3), laid out (3, J, B, T). With joints
    and coordinates outermost, per-frame 3 x 3 rotations broadcast over long contiguous rows:
    several times faster than batched matmul or einsum on thousands of tiny matrices."""
    return (
        np.ascontiguousarray(np.moveaxis(points, (3, 2), (0, 1)))
        - np.moveaxis(offset, 2, 0)[:, None]
    )


def _rotate(R: np.ndarray, planar: np.ndarray) -> np.ndarray:
    """``R`` (B, T, 3, 3) applied to points laid out (3, J, B, T) -> the same layout."""
    return np.stack(
        [
            R[:, :, i, 0] * planar[0] + R[:, :, i, 1] * planar[1] + R[:, :, i, 2] * planar[2]
            for i in range(3)
        ]
    )


def _rotation(axis: int, angle: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotations by ``angle`` (...) radians about axis 0 (x), 1 (y) or 2 (z)."""
    angle = np.asarray(angle, np.float64)
    c, s = np.cos(angle), np.sin(angle)
    out = np.zeros(angle.shape + (3, 3))
    i, j = [k for k in range(3) if k != axis]
    out[..., axis, axis] = 1.0
    out[..., i, i], out[..., i, j], out[..., j, i], out[..., j, j] = c, -s, s, c
    return out


def _hip_pair(layout: JointLayout) -> tuple[int, int]:
    """Left and right hip of ``layout``: the first left/right pair named like a hip."""
    for left, right in zip(layout.left, layout.right):
        if "hip" in layout.joints[left].lower() or "upleg" in layout.joints[left].lower():
            return left, right
    raise UserError(
        f"layout {layout.name} has no left/right hip pair to tell which way the person faces"
    )


def _check_world(world: np.ndarray, layout: JointLayout) -> None:
    if (
        not isinstance(world, np.ndarray)
        or world.ndim != 4
        or world.shape[2:] != (layout.num_joints, 3)
    ):
        shape = getattr(world, "shape", type(world).__name__)
        raise UserError(
            f"expected world motion of shape (B, T, {layout.num_joints}, 3) ({layout.name}), got {shape}"
        )
    if not np.isfinite(world).all():
        raise UserError("expected finite world motion, got NaN or infinite coordinates")
