"""The side-by-side .mp4: the video with its 2D skeleton, beside the lifted 3D skeleton."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from posemoe.io.video import require_cv2
from posemoe.viz.draw import legend_entries, side_by_side
from posemoe.viz.encode import write_mp4
from posemoe.inference.unseen import unseen_joints


def render_mp4(path: str | Path, frames: Iterable[np.ndarray], keypoints: np.ndarray, joints_3d: np.ndarray, *,
               fps: float, truth: np.ndarray | None = None, unseen: np.ndarray | None = None,
               max_height: int = 720) -> Path:
    """Write the side-by-side H.264 video (:func:`posemoe.viz.encode.write_mp4`): RGB ``frames``
    with ``keypoints`` (T, 17, 3) pixels + confidence beside ``joints_3d`` (T, 17, 3) metres (and
    ``truth``). ``unseen`` (T, 17) bool joints are drawn dashed (default: :func:`unseen_joints`
    of the keypoints in the first frame's size). Frames taller than ``max_height`` are scaled down."""
    cv2 = require_cv2()

    def composed() -> Iterator[np.ndarray]:
        hidden, legend = unseen, None
        for t, frame in enumerate(frames):
            if t >= len(joints_3d):
                break
            if hidden is None:
                hidden = unseen_joints(keypoints, (frame.shape[1], frame.shape[0]))[0]
            if legend is None:
                legend = legend_entries(truth=truth is not None, unseen=bool(hidden.any()))
            kp = keypoints[t]
            if frame.shape[0] > max_height:
                s = max_height / frame.shape[0]
                size = (round(frame.shape[1] * s) // 2 * 2, max_height)
                frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
                kp = kp.copy()
                kp[:, :2] *= s
            yield side_by_side(frame, kp, joints_3d[t], truth=None if truth is None else truth[t], unseen=hidden[t],
                               label=f"frame {t}", legend=legend)

    return write_mp4(path, composed(), fps)
