"""The lifting API: ``posemoe.load("<weights>").lift(keypoints, layout=..., image_size=..., fps=...)``.

A :class:`Lifter` feeds a model as its weights say it was trained (:class:`PretrainedConfig`): it
converts the input layout to the model's, normalises with the model's codec, and resamples the
2D track to the model's frame rate, then the 3D back to the input's frames.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from posemoe.camera import Intrinsics
from posemoe.codecs import make_codec, match_channels
from posemoe.errors import UserError
from posemoe.inference.runtime import as_runner, load_runner
from posemoe.inference.upright import (
    UPRIGHT_LIMIT,
    body_lean,
    turn_back,
    turn_keypoints,
    upright_turn,
)
from posemoe.inference.windows import predict_windows, sequence_windows
from posemoe.io.keypoints import MAX_ABS_PIXELS, check_pixels
from posemoe.layouts import convert, get_layout, layout_for
from posemoe.models.pretrained import PretrainedConfig


def resample(points: np.ndarray, times: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Linear interpolation along axis 0: ``points`` (T, ...) sampled at ``times`` (T,) seconds ->
    (len(at), ...) at the times ``at``; outside the range the end values are held."""
    flat = points.reshape(len(points), -1)
    out = np.empty((len(at), flat.shape[1]), np.float64)
    for k in range(flat.shape[1]):
        out[:, k] = np.interp(at, times, flat[:, k])
    return out.reshape(len(at), *points.shape[1:]).astype(points.dtype)


class Lifter:
    """A lifting model ready for one person's 2D track. ``model``: a runner
    (:mod:`posemoe.inference.runtime`: an ONNX Runtime session or a wrapped torch module) or a torch
    module; ``pretrained``: how it must be fed (None: the runner's own, else the defaults).
    ``upright``: bodies leaning more than this many degrees from image-up are turned toward upright
    before lifting and their 3D turned back (:mod:`posemoe.inference.upright`); None lifts every
    frame as it is."""

    def __init__(
        self,
        model: Any,
        pretrained: PretrainedConfig | None = None,
        *,
        flip: bool = True,
        batch_size: int = 64,
        stride: int | None = None,
        upright: float | None = UPRIGHT_LIMIT,
    ) -> None:
        if not hasattr(model.config, "num_frames"):
            raise UserError("Lifter needs a lifting model (posemoe-*); image models take crops")
        if upright is not None and not 0 <= upright <= 179:
            raise UserError(
                f"upright must be a lean in degrees from 0 to 179 (or None: off), got {upright}"
            )
        self.runner = as_runner(model)
        self.model = getattr(
            self.runner, "module", self.runner
        )  # the torch module, where torch runs it
        self.pretrained = (
            pretrained or getattr(self.runner, "pretrained", None) or PretrainedConfig()
        )
        self.layout = get_layout(self.pretrained.layout)
        self.flip, self.batch_size, self.stride, self.upright = flip, batch_size, stride, upright

    @property
    def num_frames(self) -> int:
        return self.model.config.num_frames

    def lift(
        self,
        keypoints: np.ndarray,
        *,
        layout: str | None = None,
        image_size: tuple[int, int],
        fps: float | None = None,
        intrinsics: Intrinsics | None = None,
    ) -> np.ndarray:
        """keypoints: (T, J, 2|3) pixels (+ confidence) in ``layout`` (a name of
        :data:`posemoe.layouts.LAYOUTS`; None: the one layout with J joints, refused for a J that
        several share, as 17: H36M, COCO and MPI-INF-3DHP); image_size: (width, height);
        fps: the track's frame rate (None: take it to be the model's); intrinsics: the camera's, when
        known (None: a guess, :meth:`~posemoe.camera.Intrinsics.guess`; read by camera-codec lifters).

        Returns (T, J', 3) joints of the model's layout (H36M-17 for the shipped lifters) in metres,
        camera frame (x right, y down, z forward), root-relative. Windows overlap and are blended
        (see :mod:`posemoe.inference.windows`); bodies leaning past ``upright`` are lifted turned
        about the principal point (``intrinsics``, else the image centre) and turned back. Missing
        joints must be filled first (``posemoe.inference.tracking.fill_gaps``): NaN or infinite input
        is refused, and so are keypoints that are plainly not pixels of ``image_size`` (normalised ones).
        """
        points = self.prepare(keypoints, layout)
        codec = make_codec(self.pretrained.codec, image_size, intrinsics)  # checks the image size
        seen = points[..., 2] > 0 if points.shape[-1] == 3 else np.ones(points.shape[:2], bool)
        check_pixels(
            points[..., :2][seen], image_size, "keypoints"
        )  # normalised ones are refused, not lifted
        model_fps = self.pretrained.fps
        if fps is not None and fps <= 0:
            raise UserError(f"fps must be positive, got {fps}")
        turn = None
        if (
            self.upright is not None
        ):  # the lean reads the input's confidences, before the model's channels
            camera = intrinsics or Intrinsics.guess(image_size)
            turn = upright_turn(
                body_lean(points, self.layout, camera, fps or model_fps or 50.0), self.upright
            )
            turn = turn if turn.any() else None
        points = match_channels(points, self.model.config.in_channels)
        if turn is not None:
            points = turn_keypoints(points, turn, camera)
        if fps is None or model_fps is None or abs(fps - model_fps) < 1e-6:
            lifted = self._lift(points, codec.encode_windows)
        else:
            times = np.arange(len(points)) / fps
            model_times = np.arange(0.0, times[-1] + 1e-9, 1.0 / model_fps)
            lifted = resample(
                self._lift(resample(points, times, model_times), codec.encode_windows),
                model_times,
                times,
            )
        return lifted if turn is None else turn_back(lifted, turn).astype(lifted.dtype)

    def prepare(self, keypoints: np.ndarray, layout: str | None) -> np.ndarray:
        """(T, J, 2|3) pixels (+ confidence) in ``layout`` (see :meth:`lift`), checked -> (T, J', 2|3)
        in the model's layout."""
        points = np.asarray(keypoints, dtype=np.float32)
        if points.ndim != 3 or points.shape[-1] not in (2, 3) or len(points) == 0:
            raise UserError(f"expected keypoints of shape (T, J, 2|3), got {points.shape}")
        if not np.isfinite(points[..., :2]).all():
            raise UserError(
                "keypoints contain NaN or infinite values; fill gaps first "
                "(posemoe.inference.tracking.fill_gaps)"
            )
        absurd = np.nonzero((np.abs(points[..., :2]) > MAX_ABS_PIXELS).any(axis=(1, 2)))[0]
        if len(absurd):
            raise UserError(
                f"keypoints of {len(absurd)} frame(s) lie beyond {MAX_ABS_PIXELS:g} px (first: frame "
                f"{', '.join(map(str, absurd[:5]))}): not pixel coordinates of a video"
            )
        return convert(points, layout_for(points.shape[1], layout), self.layout)

    def _lift(self, points: np.ndarray, encode) -> np.ndarray:
        windows, weights = sequence_windows(0, len(points), self.num_frames, self.stride)
        return predict_windows(
            self.runner,
            points,
            windows,
            weights,
            flip=self.flip,
            batch_size=self.batch_size,
            layout=self.layout,
            encode=encode,
        )


class OnlineLifter:
    """Sliding-window lifting for live input (webcam, stream): push each frame's 2D as it
    arrives and get that frame's 3D at once, from the window of the model's ``T`` frames ending on
    it (causal: no look-ahead, so no delay, at some cost in accuracy against offline lifting). A
    stream at another rate than the model's is resampled to it inside the window.

    Joints that are missing (NaN / None) or below ``min_confidence`` hold their last good value;
    until the window is full, the first frame is repeated before it.
    """

    def __init__(
        self,
        lifter: Lifter,
        *,
        layout: str | None = None,
        image_size: tuple[int, int],
        fps: float | None = None,
        min_confidence: float = 0.3,
        intrinsics: Intrinsics | None = None,
    ) -> None:
        self.lifter = lifter
        self.layout = (
            None if layout is None else get_layout(layout)
        )  # None: known at the first frame
        self.image_size, self.intrinsics = image_size, intrinsics
        self.min_confidence = min_confidence
        model_fps = lifter.pretrained.fps
        self.ratio = (
            1.0 if fps is None or model_fps is None else fps / model_fps
        )  # input frames per model frame
        history = int(np.ceil((lifter.num_frames - 1) * self.ratio)) + 2
        self.window: deque[np.ndarray] = deque(
            maxlen=history if self.ratio != 1.0 else lifter.num_frames
        )
        self.last: np.ndarray | None = None

    def push(self, keypoints: np.ndarray | None) -> np.ndarray | None:
        """keypoints: (J, 2|3) pixels (+ confidence) in the layout (None at construction: the one
        with J joints, see :meth:`Lifter.lift`), or None for no person.
        Returns (J', 3) metres, camera frame, root-relative; None until a person has been seen."""
        if self.layout is None and keypoints is not None:
            self.layout = layout_for(np.shape(keypoints)[0], None)
        points = self._held(keypoints)
        if points is None:
            return None
        self.last = points
        if not self.window:
            self.window.extend([points] * (self.window.maxlen or 1))
        self.window.append(points)
        track = np.stack(self.window)
        if self.ratio != 1.0:  # the model's T frames ending now, read off the input frames
            steps = (
                len(track)
                - 1
                - (self.lifter.num_frames - 1 - np.arange(self.lifter.num_frames)) * self.ratio
            )
            track = resample(track, np.arange(len(track), dtype=np.float64), steps)
        return self.lifter.lift(
            track, layout=self.layout.name, image_size=self.image_size, intrinsics=self.intrinsics
        )[-1]

    def _held(self, keypoints: np.ndarray | None) -> np.ndarray | None:
        if keypoints is None:
            return self.last
        points = np.asarray(keypoints, np.float32).copy()
        if points.shape[-1] == 2:
            points = np.concatenate([points, np.ones_like(points[:, :1])], -1)
        bad = ~np.isfinite(points[:, :2]).all(-1) | (
            np.nan_to_num(points[:, 2]) < self.min_confidence
        )
        if self.last is not None:
            points[bad, :2] = self.last[bad, :2]
        elif bad.all():
            return None
        elif bad.any():  # nothing to hold yet: put unseen joints on the mean of the seen ones
            points[bad, :2] = points[~bad, :2].mean(0)
        return points


def load(
    name_or_path: str | Path | None = None,
    *,
    device: str | None = None,
    upright: float | None = UPRIGHT_LIMIT,
    runtime: str | None = None,
) -> Lifter:
    """Shipped lifting weights by name, or a .onnx / .safetensors / .pt file -> :class:`Lifter`;
    without a name, the default lifter (:data:`posemoe.weights.DEFAULT_LIFTER`). ``runtime``:
    ``"onnx"`` (ONNX Runtime, no torch), ``"torch"``, or None: ONNX for .onnx files and weights
    shipped as ONNX, torch for the rest (:func:`~posemoe.inference.runtime.load_runner`).
    ``device`` applies to torch: cpu, cuda, cuda:N, mps, or None (the default, as the command
    line's): CUDA where available, else the CPU. ``upright``: see :class:`Lifter`."""
    from posemoe.weights import DEFAULT_LIFTER

    name_or_path = DEFAULT_LIFTER if name_or_path is None else name_or_path
    model, pretrained = load_runner(name_or_path, runtime=runtime, device=device)
    if model.task != "lifting":
        raise UserError(
            f"{name_or_path} is an image model (it takes person crops); lifting 2D keypoints needs "
            "lifting weights (posemoe models --details lists them)"
        )
    return Lifter(model, pretrained, upright=upright)
