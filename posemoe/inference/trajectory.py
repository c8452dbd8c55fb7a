"""Where a person is: the root (pelvis) in camera coordinates, the ground and a y-up world frame.

**Root per frame.** Lifted joints ``X_j`` are root-relative; the 2D keypoints ``(u_j, v_j)`` say where
they are in the image. With a pinhole camera of focal ``f`` (pixels) and the principal point at the
image centre ``(c_x, c_y)``, the root ``t`` places them where ``u_j - c_x = f (X_j + t_x) / (Z_j + t_z)``
(and likewise for v): two equations per joint that are linear in ``t``. :func:`solve_root` solves
them by weighted least squares over the confident joints, then once more with each row divided by
that joint's depth so that the residuals are in pixels. Depth comes from the 2D size of a skeleton
of known 3D size, so it is proportional to the lifted body's size (the lifter's, about an adult's)
and to the focal length; the position across the image does not depend on either.

**Focal length.** ``focal_px`` when known, else from a field of view across the longer image side
(:func:`posemoe.camera.focal_from_fov`), by default :data:`posemoe.camera.DEFAULT_FOV_DEG` = 60
degrees (why: its docstring). A focal 10 % off puts the track 10 % too near or too far; action
cameras (90-120 degrees, fisheye) need ``fov_deg`` or ``focal_px``.

**Smoothing.** The root is smoothed as image direction ``(t_x / t_z, t_y / t_z)`` and log depth:
the direction is measured well by the 2D, the depth is the noisy part, so depth is smoothed more
(Gaussian sigma 0.25 s against 0.05 s). Each is a robust local-linear regression over the frames
where the person was detected (Gaussian weights; Cleveland's LOWESS bisquare reweighting): it
follows a steady walk without lag, also at the ends, and drops outlier frames (a wrong detection,
a skeleton that shrinks for a frame). Frames without the person are interpolated linearly between
their neighbours, the first and last values held before and after.

**Ground and world frame.** :func:`fit_ground` takes frames where a foot is the lower one and
still, fits a plane to those ankle positions (IRLS with Tukey's bisquare, and a weak prior towards
the camera's up, -y, that only decides what the contacts leave open: a straight walk puts every
contact near one line), then lowers it by the ankle height. Several people share the normal but
each is measured from their own centroid: pooled as they are, a person on a box and one on the
grass (or two whose monocular depths are off by different amounts) tilt the plane between them
(68 degrees on the Sports2D clip, against 1.5-6 for each person alone). Without enough contacts the plane is
normal to the prior, through the lowest ankles. The prior is the camera's up because footage is
mostly shot roughly level; the lifted body's own up is no guide to the camera's pitch (a lifter
carries the pitch of its training cameras, and on the side view of the sports2d clip the shipped
lifter's ankles-to-thorax direction is 46 degrees off the camera's vertical).
:func:`world_transform` gives a right-handed world frame in metres: origin on the ground under a
chosen point (the first frame's pelvis), y up, and -z the camera's forward direction projected on
the ground (x is then the camera's right on the ground), as OpenGL, three.js and BVH viewers look
along -z; a person facing the camera faces +z.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posemoe.camera import DEFAULT_FOV_DEG, focal_from_fov
from posemoe.errors import UserError
from posemoe.layouts import H36M17, JointLayout

CAMERA_UP = np.array([0.0, -1.0, 0.0])  # the camera's up, camera frame (y down)
ANKLE_HEIGHT_M = 0.07  # ankle joint above the floor: 0.039 of a 1.75 m stature (Winter)
_MIN_JOINTS = 4  # confident joints needed to solve a frame's root


def solve_root(
    joints_3d: np.ndarray,
    keypoints: np.ndarray,
    focal_px: float,
    principal_point: tuple[float, float],
    weights: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per frame, the root translation ``t`` (T, 3), metres, camera frame, that best projects
    ``joints_3d + t`` (T, J, 3 root-relative metres) onto ``keypoints`` (T, J, >=2 pixels), joints
    weighted by ``weights`` (T, J); and the RMS reprojection error (T,) pixels. Frames with fewer
    than 4 weighted joints, or a solution behind the camera, are NaN."""
    x = np.asarray(joints_3d, np.float64)
    uv = np.asarray(keypoints, np.float64)[..., :2] - np.asarray(principal_point, np.float64)
    w = np.where(np.isfinite(uv).all(-1), np.asarray(weights, np.float64), 0.0)
    uv = np.nan_to_num(uv)
    solvable = (w > 0).sum(axis=1) >= _MIN_JOINTS
    # Rows: f t_x - u' t_z = u' Z - f X and f t_y - v' t_z = v' Z - f Y, for each joint.
    a = np.zeros(uv.shape[:2] + (2, 3))
    a[..., 0, 0] = a[..., 1, 1] = focal_px
    a[..., 2] = -uv
    b = uv * x[..., 2:3] - focal_px * x[..., :2]
    root = np.full((len(x), 3), np.nan)
    scale = np.ones(w.shape)
    for _ in range(2):  # the second pass divides each row by its depth: residuals in pixels
        rw = (w * scale**2)[..., None]
        normal = np.einsum("tjci,tjc,tjck->tik", a, rw, a)[solvable]
        rhs = np.einsum("tjci,tjc,tjc->ti", a, rw, b)[solvable]
        good = np.abs(np.linalg.det(normal)) > 1e-12 * focal_px**4
        solved = np.full((solvable.sum(), 3), np.nan)
        solved[good] = np.linalg.solve(normal[good], rhs[good][..., None])[..., 0]
        root[solvable] = solved
        depth = x[..., 2] + root[:, None, 2]
        scale = 1.0 / np.where(np.isfinite(depth) & (depth > 1e-3), depth, 1.0)
    root[root[:, 2] <= 0] = np.nan
    points = x + root[:, None]
    error = np.linalg.norm(focal_px * points[..., :2] / points[..., 2:3] - uv, axis=-1)
    with np.errstate(invalid="ignore"):
        rms = np.sqrt(np.sum(w * error**2, axis=1) / np.sum(w, axis=1))
    return root, np.where(np.isfinite(root[:, 2]), rms, np.nan)


def robust_smooth(
    values: np.ndarray,
    weights: np.ndarray,
    sigma_frames: float,
    *,
    iterations: int = 3,
    min_scale: float = 1e-6,
) -> tuple[np.ndarray, np.ndarray]:
    """Robust local-linear regression along axis 0: (T, K) values (NaN allowed), (T,) frame weights,
    a Gaussian kernel of ``sigma_frames`` -> the smoothed (T, K) and the final robustness weights
    (T, K), 0 for outlier frames (over 6 median residuals, or 6 ``min_scale`` in the values' units,
    off). Frames without a value (NaN or weight 0) are interpolated linearly between the fits of
    their neighbours, and the first and last fits held before and after: no extrapolation."""
    from scipy.ndimage import correlate1d  # on first use: scipy.ndimage takes 0.2-0.7 s to import

    y = np.asarray(values, np.float64)
    base = np.where(np.isfinite(y), np.asarray(weights, np.float64)[:, None], 0.0)
    y = np.nan_to_num(y)
    radius = max(1, int(np.ceil(4 * sigma_frames)))
    d = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (d / max(sigma_frames, 1e-6)) ** 2)
    robust = np.ones_like(y)
    for step in range(iterations + 1):
        w = base * robust
        s0, s1, s2 = (correlate1d(w, kernel * d**k, axis=0, mode="constant") for k in range(3))
        y0, y1 = (correlate1d(w * y, kernel * d**k, axis=0, mode="constant") for k in range(2))
        det = s0 * s2 - s1**2
        with np.errstate(invalid="ignore", divide="ignore"):
            fit = np.where(
                det > 1e-9 * np.maximum(s0, 1e-300) ** 2, (s2 * y0 - s1 * y1) / det, y0 / s0
            )
        if step == iterations:
            break
        residual = np.nan_to_num(
            np.where(base > 0, np.abs(y - fit), 0.0)
        )  # no fit yet: no evidence against
        scale = np.array(
            [
                np.median(residual[base[:, k] > 0, k]) if (base[:, k] > 0).any() else 0.0
                for k in range(y.shape[1])
            ]
        )
        robust = np.clip(1 - (residual / (6 * np.maximum(scale, min_scale))) ** 2, 0, None) ** 2
    return _fill_gaps(np.where(base > 0, fit, np.nan)), robust * (base > 0)


def _fill_gaps(x: np.ndarray) -> np.ndarray:
    out = x.copy()
    frames = np.arange(len(x))
    for k in range(x.shape[1]):
        good = np.isfinite(x[:, k])
        if good.any() and not good.all():
            out[:, k] = np.interp(frames, frames[good], x[good, k])
    return out


def smooth_root(
    root: np.ndarray,
    weights: np.ndarray,
    fps: float,
    *,
    depth_sigma_s: float = 0.25,
    image_sigma_s: float = 0.05,
) -> tuple[np.ndarray, np.ndarray]:
    """(T, 3) per-frame roots (NaN where unsolved), (T,) frame weights -> smoothed (T, 3) roots,
    camera frame metres, and (T,) True for frames dropped as outliers."""
    with np.errstate(invalid="ignore", divide="ignore"):
        direction = root[:, :2] / root[:, 2:3]
        log_depth = np.log(root[:, 2:3])
    image, image_w = robust_smooth(
        direction, weights, image_sigma_s * fps, min_scale=1e-4
    )  # ~0.1 px
    depth, depth_w = robust_smooth(
        log_depth, weights, depth_sigma_s * fps, min_scale=1e-3
    )  # 0.1 % of depth
    z = np.exp(depth)
    outliers = (
        (weights > 0)
        & np.isfinite(root[:, 2])
        & ((depth_w[:, 0] == 0) | (image_w == 0).any(axis=1))
    )
    return np.concatenate([image * z, z], axis=1), outliers


@dataclass(frozen=True)
class Trajectory:
    """One person's root: ``root`` (T, 3) smoothed, ``per_frame`` (T, 3) the solve of each frame (NaN
    where unsolved), metres, camera frame; ``residual_px`` (T,) RMS reprojection error of the
    per-frame solve; ``outliers`` (T,) frames the smoothing dropped; ``focal_px`` and where it came from."""

    root: np.ndarray
    per_frame: np.ndarray
    residual_px: np.ndarray
    outliers: np.ndarray
    focal_px: float
    focal_source: str
    fps: float

    def report(self) -> str:
        depth = self.root[:, 2]
        path = np.linalg.norm(np.diff(self.root, axis=0), axis=-1).sum()
        net = np.linalg.norm(self.root[-1] - self.root[0])
        return (
            f"trajectory: focal {self.focal_px:.0f} px ({self.focal_source}), depth {depth.mean():.2f} +- "
            f"{depth.std():.2f} m, path {path:.2f} m ({net:.2f} m start to end), reprojection "
            f"{np.nanmedian(self.residual_px):.1f} px median, {int(self.outliers.sum())} outlier frames, "
            f"{int(np.isnan(self.per_frame[:, 2]).sum())} frames without a solve"
        )


def estimate_trajectory(
    joints_3d: np.ndarray,
    keypoints: np.ndarray,
    *,
    image_size: tuple[int, int],
    fps: float,
    focal_px: float | None = None,
    fov_deg: float | None = None,
    visible: np.ndarray | None = None,
    unseen: np.ndarray | None = None,
    min_confidence: float = 0.3,
) -> Trajectory:
    """(T, J, 3) root-relative metres (the fitted skeleton's joints are steadier than raw lifted ones)
    and (T, J, 3) keypoints (pixels + confidence) of a (width, height) video -> its :class:`Trajectory`.
    Focal: ``focal_px``, else from ``fov_deg``, else :data:`DEFAULT_FOV_DEG`. ``unseen`` (T, J):
    joints outside the frame or barely seen (:func:`~posemoe.inference.unseen.unseen_joints`), left
    out of the solve; a frame with more than half its joints unseen (someone leaving the frame, or
    mostly hidden) is not solved but bridged from its neighbours: the 3D lifted from a cut body is
    not to be trusted for its scale."""
    joints, points = np.asarray(joints_3d, np.float64), np.asarray(keypoints, np.float64)
    if joints.shape[:2] != points.shape[:2] or joints.shape[-1] != 3 or points.shape[-1] < 2:
        raise UserError(
            f"expected 3D joints (T, J, 3) and keypoints (T, J, 3) of the same T and J, got "
            f"{joints.shape} and {points.shape}"
        )
    if fps <= 0:
        raise UserError(f"expected a positive fps, got {fps}")
    if focal_px is not None:
        if not focal_px > 0:
            raise UserError(f"expected a positive focal length in pixels, got {focal_px}")
        focal, source = float(focal_px), "given"
    else:
        fov = DEFAULT_FOV_DEG if fov_deg is None else fov_deg
        focal = focal_from_fov(image_size, fov)
        source = f"{fov:g} deg field of view{' (default)' if fov_deg is None else ''}"
    confidence = points[..., 2] if points.shape[-1] > 2 else np.ones(points.shape[:2])
    weights = np.where(confidence >= min_confidence, confidence, 0.0)
    seen = np.ones(len(joints), bool) if visible is None else np.asarray(visible, bool)
    if unseen is not None:
        unseen = np.asarray(unseen, bool)
        if unseen.shape != joints.shape[:2]:
            raise UserError(
                f"expected unseen flags (T, J) = {joints.shape[:2]}, got {unseen.shape}"
            )
        cut = (~unseen).sum(axis=1) * 2 < joints.shape[1]
        weights = np.where(unseen | cut[:, None], 0.0, weights)
    per_frame, residual = solve_root(
        joints, points, focal, (image_size[0] / 2, image_size[1] / 2), weights
    )
    frame_weight = np.where(seen & np.isfinite(per_frame[:, 2]), 1.0, 0.0)
    if not frame_weight.any():
        raise UserError(
            f"no frame with {_MIN_JOINTS} joints at confidence >= {min_confidence} to place the person"
        )
    root, outliers = smooth_root(per_frame, frame_weight, fps)
    return Trajectory(root, per_frame, residual, outliers, focal, source, fps)


# ----------------------------------------------------------------------------------------------
# Ground and world frame


@dataclass(frozen=True)
class Ground:
    """The floor, camera frame: unit ``normal`` (3,) pointing up, a ``point`` (3,) on it, metres;
    ``contacts`` (T, 2) right/left foot contacts used, ``method`` "contacts" or "prior" (too few)."""

    normal: np.ndarray
    point: np.ndarray
    contacts: np.ndarray
    method: str

    def height(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) camera-frame points -> (...,) metres above the floor."""
        return (np.asarray(points) - self.point) @ self.normal

    def report(self) -> str:
        tilt = np.degrees(np.arccos(np.clip(-self.normal[1], -1, 1)))
        source = (
            "the camera's up (too few foot contacts)" if self.method == "prior" else "foot contacts"
        )
        return (
            f"ground: from {source}, {int(self.contacts.sum())} contacts; the camera's y axis is "
            f"{tilt:.1f} deg off the floor's normal"
        )


def foot_contacts(
    positions: np.ndarray,
    fps: float,
    up: np.ndarray,
    layout: JointLayout = H36M17,
    *,
    visible: np.ndarray | None = None,
    height_tol: float = 0.05,
    max_speed: float = 0.5,
) -> np.ndarray:
    """(T, 2) True where the right/left ankle (camera frame, metres) is within ``height_tol`` of the
    lower ankle along ``up`` and moves slower than ``max_speed`` m/s (or than the 30th percentile of
    its speeds, when noise makes every frame faster), in frames where the person was ``visible``."""
    feet = positions[:, [layout.index("RFoot"), layout.index("LFoot")]]
    seen = np.ones(len(feet), bool) if visible is None else np.asarray(visible, bool)
    height = feet @ up
    low = (height - height.min(axis=1, keepdims=True) < height_tol) & seen[:, None]
    if len(feet) < 2 or not seen.any():
        return low
    speed = np.linalg.norm(np.gradient(feet, axis=0), axis=-1) * fps
    return low & (speed < max(max_speed, float(np.quantile(speed[seen], 0.3))))


def _robust_plane(
    points: np.ndarray,
    prior: np.ndarray,
    groups: np.ndarray | None = None,
    prior_m: float = 0.05,
    iterations: int = 10,
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 3) points -> unit normal (on ``prior``'s side) and a point of a Tukey-IRLS plane fit,
    tilting the normal away from ``prior`` costing as much as points ``prior_m`` off the plane.
    With ``groups`` (N,) (one label per person), each group is measured from its own centroid: the
    groups share the normal but not the height (people on a box or a stage, or whose distances
    from the camera are off by different amounts), and the point is the centroid of the lowest
    group among those with at least a quarter of the largest one's weight (the floor is the
    lowest surface people stand on, so that nobody is drawn sinking into it)."""
    groups = (
        np.zeros(len(points), np.intp)
        if groups is None
        else np.unique(groups, return_inverse=True)[1]
    )
    w = np.ones(len(points))
    for _ in range(iterations):
        totals = np.bincount(groups, weights=w)
        centres = (
            np.stack([np.bincount(groups, weights=w * points[:, k]) for k in range(3)], -1)
            / np.maximum(totals, 1e-12)[:, None]
        )
        centred = points - centres[groups]
        spread = np.einsum("n,ni,nj->ij", w, centred, centred)
        _, vectors = np.linalg.eigh(spread - prior_m**2 * w.sum() * np.outer(prior, prior))
        normal = vectors[:, 0] * np.sign(vectors[:, 0] @ prior or 1.0)
        residual = centred @ normal
        scale = max(1.4826 * np.median(np.abs(residual)), 0.01)
        w = np.clip(1 - (residual / (4.685 * scale)) ** 2, 0, None) ** 2
        if w.sum() < 3:
            w = np.ones(len(points))
    candidates = np.flatnonzero(
        totals >= 0.25 * totals.max()
    )  # people with a fair share of the contacts
    return normal, centres[candidates[np.argmin(centres[candidates] @ normal)]]


def fit_ground(
    positions: np.ndarray | list[np.ndarray],
    fps: float,
    *,
    visible: np.ndarray | list[np.ndarray | None] | None = None,
    layout: JointLayout = H36M17,
    up_prior: np.ndarray = CAMERA_UP,
    ankle_height: float = ANKLE_HEIGHT_M,
    min_contacts: int = 10,
) -> Ground:
    """(T, J, 3) joints in camera coordinates (root-relative joints + the trajectory's root), metres,
    and (T,) frames where the person was detected -> the :class:`Ground` under them (module doc).
    Several people: lists of both, one entry per person; their contacts share one normal, each
    person measured from its own centroid (people on a box or a stage, or whose distances from the
    camera are off by different amounts, stand on parallel planes), and the plane runs through the
    contacts of the lowest person among those with at least a quarter of the most contacts."""
    several = isinstance(positions, list) and all(np.ndim(p) == 3 for p in positions)
    tracks = (
        [np.asarray(p, np.float64) for p in positions]
        if several
        else [np.asarray(positions, np.float64)]
    )
    seen_in = visible if several and isinstance(visible, list) else [visible] * len(tracks)
    up = np.asarray(up_prior, np.float64) / np.linalg.norm(up_prior)
    contacts = np.concatenate(
        [foot_contacts(p, fps, up, layout, visible=v) for p, v in zip(tracks, seen_in)]
    )
    feet = np.concatenate([p[:, [layout.index("RFoot"), layout.index("LFoot")]] for p in tracks])
    person = np.concatenate([np.full((len(p), 2), k) for k, p in enumerate(tracks)])
    shown = np.concatenate(
        [
            np.ones(len(p), bool) if v is None else np.asarray(v, bool)
            for p, v in zip(tracks, seen_in)
        ]
    )
    if contacts.sum() >= min_contacts:
        normal, centre = _robust_plane(feet[contacts], up, person[contacts])
        return Ground(normal, centre - ankle_height * normal, contacts, "contacts")
    seen = feet[shown] if shown.any() else feet
    heights = seen.reshape(-1, 3) @ up
    lowest = seen.reshape(-1, 3)[np.argmin(np.abs(heights - np.quantile(heights, 0.05)))]
    return Ground(up, lowest - ankle_height * up, contacts, "prior")


def _on_plane(v: np.ndarray, normal: np.ndarray) -> np.ndarray:
    return v - (v @ normal) * normal


def world_transform(ground: Ground, origin: np.ndarray) -> np.ndarray:
    """(4, 4) world-from-camera transform: origin on the floor under ``origin`` (3,) (the first frame's
    pelvis), y up, -z the camera's forward direction on the floor, x = y cross z; metres."""
    up = ground.normal
    forward = _on_plane(np.array([0.0, 0.0, 1.0]), up)
    if (
        np.linalg.norm(forward) < 0.1
    ):  # looking straight down: the image's up is forward on the floor
        forward = _on_plane(np.array([0.0, -1.0, 0.0]), up)
    z = -forward / np.linalg.norm(forward)
    rotation = np.stack([np.cross(up, z), up, z])
    below = np.asarray(origin, np.float64) - ground.height(origin) * up
    out = np.eye(4)
    out[:3, :3], out[:3, 3] = rotation, -rotation @ below
    return out


def to_world(points: np.ndarray, transform: np.ndarray) -> np.ndarray:
    """(..., 3) camera-frame points -> (..., 3) world points with a (4, 4) world-from-camera transform."""
    return np.asarray(points) @ transform[:3, :3].T + transform[:3, 3]
