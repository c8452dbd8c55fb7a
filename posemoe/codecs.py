"""Normalisation as encode/decode objects, kept apart from models.

- :class:`ScreenCodec`: pixels <-> screen coordinates ([-1, 1] across the width, aspect kept);
- :class:`CameraCodec`: pixels <-> the pinhole camera's rays (the intrinsics divided out), so
  the frame's shape, size and the lens do not change what a model sees while the perspective stays;
- :class:`PersonCodec`: each window of a track centred on the person and scaled to the person's
  size, so the frame's shape, the focal length and the distance do not change what a model sees;
- :class:`CropCodec`: pixels <-> coordinates of a square person crop ([-1, 1] across the crop);
- root-relative 3D, horizontal flips, and the model's channel count.

A model's weights record the codec it was trained with by name (:data:`CODECS`), so inference
normalises as training did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from posemoe.camera import Intrinsics
from posemoe.errors import UserError
from posemoe.io.keypoints import check_image_size

RAY_SCALE = 2.29
""":class:`CameraCodec` multiplies rays by this: Human3.6M's cameras (focal about 1145 px on a 1000 px
frame) then give nearly the screen codec's numbers, so a screen-codec lifter is a good start for it."""


class _PixelCodec:
    """A codec of single points (``encode``), applied to windows keypoint by keypoint."""

    def encode(self, pixels: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def encode_windows(self, points: np.ndarray) -> np.ndarray:
        """``(..., T, J, C)`` pixels (+ confidence) -> the same with x, y encoded."""
        out = np.array(points, dtype=np.float32, copy=True)
        out[..., :2] = self.encode(out[..., :2])
        return out


@dataclass(frozen=True)
class ScreenCodec(_PixelCodec):
    """Maps pixels to normalised screen coordinates, keeping the aspect ratio.

    u in [0, width] maps to [-1, 1]; v is scaled by the same factor and centred, so a
    non-square image spans [-height/width, height/width] vertically.
    """

    width: int
    height: int

    def encode(self, pixels: np.ndarray) -> np.ndarray:
        """``(..., 2)`` pixels -> ``(..., 2)`` normalised."""
        dtype = np.result_type(pixels, np.float32)
        return pixels / self.width * 2.0 - np.array([1.0, self.height / self.width], dtype=dtype)

    def decode(self, normalized: np.ndarray) -> np.ndarray:
        """``(..., 2)`` normalised -> ``(..., 2)`` pixels."""
        offset = np.array([1.0, self.height / self.width], dtype=normalized.dtype)
        return (normalized + offset) * self.width / 2.0


@dataclass(frozen=True)
class CameraCodec(_PixelCodec):
    """Maps pixels to the rays of a pinhole camera, ``((u - cx) / fx, (v - cy) / fy) * RAY_SCALE``.

    What a model sees depends only on the directions the joints are seen in, not on the frame's
    shape, resolution, crop or principal point; it keeps the perspective (how far off the optical
    axis the person is, how strongly the body is foreshortened). Lens distortion is not undone.
    """

    intrinsics: Intrinsics

    def encode(self, pixels: np.ndarray) -> np.ndarray:
        """``(..., 2)`` pixels -> ``(..., 2)`` scaled rays."""
        k = self.intrinsics
        rays = (pixels - np.asarray(k.centre)) / np.asarray(k.focal) * RAY_SCALE
        return rays.astype(np.result_type(pixels, np.float32))

    def decode(self, normalized: np.ndarray) -> np.ndarray:
        """``(..., 2)`` scaled rays -> ``(..., 2)`` pixels."""
        k = self.intrinsics
        return normalized / RAY_SCALE * np.asarray(k.focal) + np.asarray(k.centre)


@dataclass(frozen=True)
class PersonCodec:
    """Per window: subtract the person's mean box centre, divide by the person's median box size
    (the longer side of the box around the confident joints, per frame), so a window spans about
    one unit whatever the frame, lens or distance. Invariant to any uniform scale and shift of its
    input: applied to pixels or to screen coordinates it gives the same numbers."""

    min_confidence: float = 0.3

    def encode_windows(self, points: np.ndarray) -> np.ndarray:
        """``(..., T, J, C)`` pixels (+ confidence) -> the same with x, y person-normalised."""
        out = np.array(points, dtype=np.float32, copy=True)
        xy = out[..., :2]
        sure = (
            out[..., 2] >= self.min_confidence
            if out.shape[-1] == 3
            else np.ones(xy.shape[:-1], bool)
        )
        sure = sure | ~sure.any(-1, keepdims=True)  # a frame with no confident joint uses them all
        lo = np.where(sure[..., None], xy, np.inf).min(-2)  # (..., T, 2)
        hi = np.where(sure[..., None], xy, -np.inf).max(-2)
        size = np.median((hi - lo).max(-1), axis=-1)[..., None, None, None]  # (..., 1, 1, 1)
        centre = ((hi + lo) / 2).mean(-2)[..., None, None, :]  # (..., 1, 1, 2)
        out[..., :2] = (xy - centre) / np.maximum(size, 1e-6)
        return out


def root_relative(points: np.ndarray, root: int = 0) -> np.ndarray:
    """``(..., J, 3)`` -> the same with joint ``root`` moved to the origin."""
    return points - points[..., root : root + 1, :]


def flip_horizontal(points: np.ndarray, flip_perm: np.ndarray) -> np.ndarray:
    """Mirror ``(..., J, C)`` points about the vertical axis (x -> -x) and swap left/right.

    Works for normalised 2D (centred on the image) and camera-frame 3D alike; channels past
    the first (y, z, confidence) are kept.
    """
    out = points[..., flip_perm, :].copy()
    out[..., 0] *= -1
    return out


@dataclass(frozen=True)
class CropCodec:
    """Maps image pixels to coordinates of the square ``box`` = (x0, y0, side): [-1, 1] from its
    left/top edge to its right/bottom edge."""

    x0: float
    y0: float
    side: float

    def encode(self, pixels: np.ndarray) -> np.ndarray:
        """``(..., 2)`` pixels -> ``(..., 2)`` crop coordinates."""
        return ((pixels - [self.x0, self.y0]) / self.side * 2 - 1).astype(np.float32)

    def decode(self, normalized: np.ndarray) -> np.ndarray:
        """``(..., 2)`` crop coordinates -> ``(..., 2)`` pixels."""
        return (normalized + 1) / 2 * self.side + [self.x0, self.y0]


Codec = ScreenCodec | CameraCodec | PersonCodec

CODECS = {
    "screen": lambda size, k: ScreenCodec(*size),
    "camera": lambda size, k: CameraCodec(k),
    "person": lambda size, k: PersonCodec(),
}
"""Keypoint codecs by the name weights record; each is built from the frame size ``(width, height)``
and the camera's :class:`~posemoe.camera.Intrinsics`."""

LIFTING_CODECS = tuple(CODECS)  # what a lifter may be trained with ("crop" is the image models')


def dataset_encoding(codec: str) -> tuple[str, Callable[[np.ndarray], np.ndarray] | None]:
    """How datasets feed a lifter of ``codec``: the codec to load them with ("screen" or "camera":
    loaders know the cameras), and what re-encodes the loaded windows (the person codec, which any
    uniform scale and shift leaves alike, works from screen coordinates), or None."""
    if codec not in LIFTING_CODECS:
        raise UserError(f"codec {codec!r}: lifters learn one of {', '.join(LIFTING_CODECS)}")
    if codec == "person":
        return "screen", PersonCodec().encode_windows
    return codec, None


def make_codec(
    name: str, image_size: tuple[int, int], intrinsics: Intrinsics | None = None
) -> Codec:
    """The codec ``name`` for frames of ``image_size`` (width, height) pixels from a camera with
    ``intrinsics`` (None: unknown, guessed by :meth:`~posemoe.camera.Intrinsics.guess`; only the
    camera codec reads them)."""
    if name not in CODECS:
        raise UserError(f"unknown keypoint codec {name!r}; known: {', '.join(sorted(CODECS))}")
    width, height = image_size
    if not (np.isfinite(width) and np.isfinite(height) and width > 0 and height > 0):
        raise UserError(
            f"image size must be two positive numbers (width, height), got {tuple(image_size)}"
        )
    check_image_size((width, height), "image size")
    if intrinsics is None and name == "camera":
        intrinsics = Intrinsics.guess((width, height))
    return CODECS[name]((width, height), intrinsics)


def match_channels(keypoints: np.ndarray, channels: int) -> np.ndarray:
    """Give ``(..., C)`` keypoints the model's channel count: add confidence 1 or drop it."""
    have = keypoints.shape[-1]
    if have == channels:
        return keypoints
    if have == 2 and channels == 3:
        return np.concatenate([keypoints, np.ones_like(keypoints[..., :1])], axis=-1)
    if have == 3 and channels == 2:
        return keypoints[..., :2]
    raise UserError(f"cannot turn {have}-channel keypoints into {channels} channels")
