"""Whether the camera moves: the background's motion between frames, and what the root path may claim.

**Measuring.** Every :data:`CAMERA_STRIDE` frames, corners of the background are found on a grey
copy at most :data:`ANALYSIS_SIDE` pixels on its longer side (``cv2.goodFeaturesToTrack``), people
masked out by their keypoints' boxes grown by :data:`MASK_MARGIN` of their size in both frames, and
followed into the next measured frame by pyramidal Lucas-Kanade (``cv2.calcOpticalFlowPyrLK``); a
homography from one measured frame's pixels to the next's is fitted by RANSAC
(``cv2.findHomography``). A pair with fewer than :data:`MIN_POINTS` tracked corners is unknown.

**Judging.** Over the clip, the frame's centre is followed through the homographies: ``shift`` is the
length of its path and ``zoom`` the largest change of scale around it from the first frame (once
the camera's turning is taken out, for a camera that is not still).
- *still*: a shift under :data:`STILL_SHIFT` of the frame's diagonal and a zoom under :data:`STILL_ZOOM`.
- *rotating* (pan, tilt, roll about the camera's centre): each homography is that of a rotation,
  ``H = K R K^-1`` with the focal length the root path uses (a guess from the field of view unless
  given), to within :data:`ROTATION_RESIDUAL` of the diagonal, and what the rotations leave
  zooms under :data:`STILL_ZOOM`. Then the root path is turned into the first frame's camera orientation,
  ``R_t^T root_t``, which removes the camera's turning (a rotation changes no depth).
- *moving* otherwise (a zoom, a camera that travels, or too many unknown frames): the root path is
  relative to the moving camera, and the report says so instead of claiming a path in the world.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ANALYSIS_SIDE = 480  # pixels, the longer side of the grey copy the features are tracked on
CAMERA_STRIDE = 3  # frames: the background is measured on every third
MASK_MARGIN = 0.2  # people's boxes grown by this share of their size before masking
MIN_POINTS = 12  # tracked background corners a homography needs
STILL_SHIFT = (
    0.02  # of the frame's diagonal: the centre's path over the clip of a still camera, at most
)
STILL_ZOOM = 0.02  # change of scale (log) from the first frame of a still camera, or of a turning one, at most
ROTATION_RESIDUAL = (
    0.004  # of the diagonal: how far a rotation's homography may miss the measured one
)
MAX_UNKNOWN = 0.2  # share of frame pairs that may go unmeasured before the motion counts as unknown


@dataclass
class CameraMotion:
    """Background motion of a clip: ``steps`` (T, 3, 3) homographies from the previous measured
    frame's pixels to frame t's where ``measured`` (T,) (NaN where that failed), identity elsewhere
    and for frame 0; full-resolution pixels; ``image_size`` (w, h)."""

    steps: np.ndarray
    image_size: tuple[int, int]
    measured: np.ndarray

    @property
    def unknown(self) -> int:
        return int(np.isnan(self.steps).any(axis=(1, 2)).sum())

    def from_first(self) -> np.ndarray:
        """(T, 3, 3) homographies from frame 0's pixels to frame t's (unmeasured steps: identity)."""
        out = np.empty_like(self.steps)
        total = np.eye(3)
        for t, step in enumerate(self.steps):
            total = (np.eye(3) if np.isnan(step).any() else step) @ total
            total /= total[2, 2]
            out[t] = total
        return out

    def shift_and_zoom(self) -> tuple[float, float]:
        """The path of the frame's centre over the clip (pixels) and the largest |log| change of
        scale around it from the first frame."""
        from_first = self.from_first()
        centre = np.array(self.image_size, np.float64) / 2
        path = float(
            np.linalg.norm(np.diff(_apply(from_first, centre[None])[:, 0], axis=0), axis=-1).sum()
        )
        return path, _largest_zoom(from_first, self.image_size)

    def rotations(self, focal_px: float) -> tuple[np.ndarray, float]:
        """(T, 3, 3) rotations ``R_t`` from the first frame's camera to frame t's, each measured step
        the rotation nearest ``K^-1 H K``, frames between measured ones interpolated (slerp); and the
        median miss (pixels) of the rotations' homographies."""
        from scipy.spatial.transform import Rotation, Slerp

        k = _intrinsics(focal_px, self.image_size)
        k_inv = np.linalg.inv(k)
        grid = np.stack(
            np.meshgrid(
                np.linspace(0, self.image_size[0], 5), np.linspace(0, self.image_size[1], 5)
            ),
            -1,
        ).reshape(-1, 2)
        times, totals, total, misses = [0], [np.eye(3)], np.eye(3), []
        for t in np.flatnonzero(self.measured):
            step = self.steps[t]
            if not np.isnan(step).any():
                rotation = _nearest_rotation(k_inv @ step @ k)
                turned = _apply((k @ rotation @ k_inv)[None], grid)
                misses.append(float(np.abs(turned - _apply(step[None], grid)).max()))
                total = rotation @ total
            times.append(int(t))
            totals.append(total)
        frames = np.arange(len(self.steps))
        if len(times) < 2:
            return np.tile(np.eye(3), (len(frames), 1, 1)), 0.0
        between = Slerp(times, Rotation.from_matrix(np.stack(totals)))(
            np.clip(frames, times[0], times[-1])
        )
        return between.as_matrix(), float(np.median(misses)) if misses else 0.0

    def judge(self, focal_px: float) -> CameraJudgement:
        """Still, rotating or moving (module doc), with the rotations when rotating."""
        diagonal = float(np.hypot(*self.image_size))
        shift, zoom = self.shift_and_zoom()
        pairs = max(int(self.measured.sum()), 1)
        if self.unknown > MAX_UNKNOWN * pairs:
            return CameraJudgement(
                "moving", shift / diagonal, zoom, self.unknown, note="unmeasured"
            )
        if shift < STILL_SHIFT * diagonal and zoom < STILL_ZOOM:
            return CameraJudgement("still", shift / diagonal, zoom, self.unknown)
        rotations, miss = self.rotations(focal_px)
        k = _intrinsics(focal_px, self.image_size)
        turned = np.einsum("ij,tjk,kl->til", k, rotations, np.linalg.inv(k))
        zoom = _largest_zoom(
            self.from_first() @ np.linalg.inv(turned), self.image_size
        )  # what turning leaves
        if zoom < STILL_ZOOM and miss < ROTATION_RESIDUAL * diagonal:
            return CameraJudgement(
                "rotating", shift / diagonal, zoom, self.unknown, rotations, focal_px
            )
        return CameraJudgement(
            "moving",
            shift / diagonal,
            zoom,
            self.unknown,
            note="zooms" if zoom >= STILL_ZOOM else "travels",
        )


@dataclass
class CameraJudgement:
    """What the background says: ``kind`` "still", "rotating" or "moving"; the centre's ``shift``
    (share of the diagonal) and ``zoom`` (|log scale|); frame pairs ``unknown``; when rotating,
    ``rotations`` (T, 3, 3) from the first frame's camera and the ``focal_px`` they assume."""

    kind: str
    shift: float
    zoom: float
    unknown: int
    rotations: np.ndarray | None = None
    focal_px: float | None = None
    note: str = ""

    def angles(self) -> tuple[float, float]:
        """The largest pan and tilt from the first frame's view over the clip, degrees."""
        if self.rotations is None:
            return 0.0, 0.0
        axis = self.rotations[
            :, 2, :
        ]  # each frame's optical axis in the first frame's camera coordinates
        pan = np.degrees(np.arctan2(axis[:, 0], axis[:, 2]))
        tilt = np.degrees(np.arctan2(-axis[:, 1], np.hypot(axis[:, 0], axis[:, 2])))
        return float(np.abs(pan).max()), float(np.abs(tilt).max())

    def report(self) -> str:
        measured = f"background shift {100 * self.shift:.1f} % of the diagonal, zoom {100 * self.zoom:.1f} %"
        if self.unknown:
            measured += f", {self.unknown} frame pair(s) unmeasured"
        if self.kind == "still":
            return f"camera: still ({measured}); the root path is in the camera's frame"
        if self.kind == "rotating":
            pan, tilt = self.angles()
            return (
                f"camera: turns about its centre (pans up to {pan:.1f} deg, tilts up to {tilt:.1f} deg with the "
                f"{self.focal_px:.0f} px focal; {measured}); the root path is turned into the first frame's "
                "camera orientation"
            )
        why = {
            "zooms": "zooms",
            "travels": "moves in a way a turn about its centre does not explain",
            "unmeasured": "could not be followed",
        }[self.note]
        return (
            f"camera: {why} ({measured}); the root path is relative to the moving camera, not a path in "
            "the world"
        )

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "background_shift": round(self.shift, 5),
            "zoom": round(self.zoom, 5),
            "unmeasured_pairs": self.unknown,
            "root_path": {
                "still": "camera",
                "rotating": "first frame's camera",
                "moving": "camera-relative",
            }[self.kind],
        }

    def compensate(self, root: np.ndarray) -> np.ndarray:
        """(T, 3) root, camera frame of each frame -> the first frame's camera orientation (when
        rotating; otherwise unchanged)."""
        if self.rotations is None:
            return root
        return np.einsum("tji,tj->ti", self.rotations, root)


@dataclass
class CameraMotionTracker:
    """Feeds on frames and their people one at a time (:meth:`push`); :meth:`result` at the end.
    Every ``stride``-th frame is measured against the last measured one (a camera turns little in a
    tenth of a second, and measuring costs about a third of BlazePose's time on a frame)."""

    image_size: tuple[int, int]
    stride: int = CAMERA_STRIDE
    steps: list[np.ndarray] = field(default_factory=list)
    measured: list[bool] = field(default_factory=list)
    _previous: tuple[np.ndarray, np.ndarray] | None = (
        None  # the last measured grey frame, background mask
    )
    _pending: tuple[np.ndarray, np.ndarray] | None = None  # the last frame, when not measured

    def push(self, frame: np.ndarray, people: np.ndarray) -> None:
        """One (H, W, 3) RGB frame and its (P, J, >=2) people, pixels."""
        if len(self.steps) % self.stride:
            self.steps.append(np.eye(3))
            self.measured.append(False)
            self._pending = frame, people  # measured at the end if it is the last
            return
        self._pending = None
        self.steps.append(np.eye(3))
        self.measured.append(False)
        self._measure(frame, people)

    def result(self) -> CameraMotion:
        if not self.steps:
            return CameraMotion(np.eye(3)[None], self.image_size, np.zeros(1, bool))
        if self._pending is not None:  # the last frame, so that the motion reaches the clip's end
            self._measure(*self._pending)
            self._pending = None
        return CameraMotion(np.stack(self.steps), self.image_size, np.array(self.measured))

    def _measure(self, frame: np.ndarray, people: np.ndarray) -> None:
        """The last frame's step from the last measured frame (frame 0: none)."""
        import cv2

        scale = min(1.0, ANALYSIS_SIDE / max(frame.shape[:2]))
        # Linear, not area, resampling: ten times faster on a 1080p frame, and corners survive it.
        small = (
            cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
            if scale < 1
            else frame
        )
        grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        mask = _background_mask(grey.shape, people, scale)
        if self._previous is not None:
            step = _homography(*self._previous, grey, mask)
            to_small, to_full = np.diag([scale, scale, 1.0]), np.diag([1 / scale, 1 / scale, 1.0])
            self.steps[-1] = (
                to_full @ step @ to_small if step is not None else np.full((3, 3), np.nan)
            )
            self.measured[-1] = True
        self._previous = grey, mask


def _background_mask(shape: tuple[int, int], people: np.ndarray, scale: float) -> np.ndarray:
    """uint8 (h, w): 255 on the background, 0 inside people's boxes grown by :data:`MASK_MARGIN`."""
    mask = np.full(shape, 255, np.uint8)
    for person in (
        np.asarray(people, np.float64).reshape(-1, *np.shape(people)[-2:]) if len(people) else []
    ):
        xy = person[:, :2][np.isfinite(person[:, :2]).all(-1)] * scale
        if not len(xy):
            continue
        low, high = xy.min(0), xy.max(0)
        grow = MASK_MARGIN * (high - low) + 4
        x0, y0 = np.maximum(np.floor(low - grow), 0).astype(int)
        x1, y1 = np.ceil(high + grow).astype(int)
        mask[y0 : max(y1, y0), x0 : max(x1, x0)] = 0
    return mask


def _homography(
    previous: np.ndarray, previous_mask: np.ndarray, grey: np.ndarray, mask: np.ndarray
) -> np.ndarray | None:
    """3x3 from ``previous``'s pixels to ``grey``'s over background corners, or None with too few."""
    import cv2

    corners = cv2.goodFeaturesToTrack(
        previous, maxCorners=200, qualityLevel=0.01, minDistance=9, mask=previous_mask
    )
    if corners is None or len(corners) < MIN_POINTS:
        return None
    moved, status, _ = cv2.calcOpticalFlowPyrLK(
        previous, grey, corners, None, winSize=(15, 15), maxLevel=3
    )
    ok = status[:, 0] == 1
    inside = np.round(moved[:, 0]).astype(int)
    ok &= (inside >= 0).all(1) & (inside[:, 0] < grey.shape[1]) & (inside[:, 1] < grey.shape[0])
    ok[ok] &= mask[inside[ok, 1], inside[ok, 0]] > 0  # landed on a person: not background
    if ok.sum() < MIN_POINTS:
        return None
    step, inliers = cv2.findHomography(corners[ok], moved[ok], cv2.RANSAC, 1.0)
    if step is None or inliers.sum() < MIN_POINTS:
        return None
    return step / step[2, 2]


def _largest_zoom(homographies: np.ndarray, image_size: tuple[int, int]) -> float:
    """The largest |log| change of scale (T, 3, 3) homographies make around the frame's centre."""
    span = 0.1 * min(image_size)
    probe = np.array(image_size, np.float64) / 2 + np.array([[0.0, 0.0], [span, 0.0], [0.0, span]])
    moved = _apply(homographies, probe)
    spans = np.linalg.norm(moved[:, 1:] - moved[:, :1], axis=-1) / span  # (T, 2)
    return float(np.abs(np.log(np.sqrt(spans.prod(-1)))).max())


def _apply(homographies: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(T, 3, 3) and (N, 2) pixels -> (T, N, 2)."""
    lifted = np.concatenate([points, np.ones((len(points), 1))], -1)
    mapped = np.einsum("tij,nj->tni", homographies, lifted)
    return mapped[..., :2] / mapped[..., 2:]


def _intrinsics(focal_px: float, image_size: tuple[int, int]) -> np.ndarray:
    return np.array(
        [[focal_px, 0.0, image_size[0] / 2], [0.0, focal_px, image_size[1] / 2], [0.0, 0.0, 1.0]]
    )


def _nearest_rotation(matrix: np.ndarray) -> np.ndarray:
    """The rotation nearest a 3x3 matrix known up to scale (SVD)."""
    u, _, vt = np.linalg.svd(matrix)
    rotation = u @ vt
    return rotation if np.linalg.det(rotation) > 0 else -rotation
