"""The side-by-side .mp4: the video with its 2D skeletons, beside the lifted 3D skeletons."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from posemoe.errors import UserError
from posemoe.inference.unseen import unseen_joints
from posemoe.io.video import require_cv2
from posemoe.viz.draw import Person, View3D, fit_view, people_legend, side_by_side_poses
from posemoe.viz.encode import write_mp4


def render_mp4(
    path: str | Path,
    frames: Iterable[np.ndarray],
    keypoints: np.ndarray,
    joints_3d: np.ndarray,
    *,
    fps: float,
    truth: np.ndarray | None = None,
    unseen: np.ndarray | None = None,
    max_height: int = 720,
) -> Path:
    """Write the side-by-side H.264 video (:func:`posemoe.viz.encode.write_mp4`): RGB ``frames``
    with ``keypoints`` (T, 17, 3) pixels + confidence beside ``joints_3d`` (T, 17, 3) metres,
    root-relative (and ``truth``). ``unseen`` (T, 17) bool joints are drawn dashed (default:
    :func:`unseen_joints` of the keypoints in the first frame's size). Frames taller than
    ``max_height`` are scaled down."""
    person = Person(joints_3d, keypoints, unseen=unseen, truth=truth)
    return render_people_mp4(path, frames, [person], fps=fps, view=View3D(), max_height=max_height)


def render_people_mp4(
    path: str | Path,
    frames: Iterable[np.ndarray],
    people: Sequence[Person],
    *,
    fps: float,
    view: View3D | None = None,
    max_height: int = 720,
    height: int | None = None,
    progress: bool = False,
) -> Path:
    """Write the side-by-side H.264 video of ``people`` (:class:`~posemoe.viz.draw.Person`, all
    over the same T frames): each RGB frame of ``frames`` with every visible person's 2D skeleton,
    beside the 3D panel framed by ``view`` (default: :func:`fit_view` of everyone where visible).
    A person without ``unseen`` gets :func:`unseen_joints` of its keypoints in the first frame's
    size. Frames are scaled to ``height`` pixels (None: frames taller than ``max_height`` are
    scaled down to it); the output is that tall and as wide as the frame plus the square 3D panel.
    ``progress`` shows a bar (rendering is the slowest stage)."""
    cv2 = require_cv2()
    from tqdm import tqdm

    if height is not None and not 64 <= height <= 4320:
        raise UserError(f"render height must be 64..4320 pixels, got {height}")
    people = list(people)
    length = len(people[0].joints) if people else 0
    if view is None:
        view = fit_view(np.concatenate([p.shown_points() for p in people])) if people else View3D()

    def composed() -> Iterator[np.ndarray]:
        drawn, legend = people, None
        bar = tqdm(total=length, unit="frame", desc="render", disable=not progress)
        for t, frame in enumerate(frames):
            if t >= length:
                break
            if legend is None:
                drawn = [_with_unseen(p, (frame.shape[1], frame.shape[0])) for p in people]
                legend = people_legend(drawn)
            scale, tall = 1.0, min(frame.shape[0], max_height) if height is None else height
            if tall != frame.shape[0]:
                size = (
                    max(2, round(frame.shape[1] * tall / frame.shape[0]) // 2 * 2),
                    tall // 2 * 2,
                )
                scale = size[1] / frame.shape[0]
                frame = cv2.resize(
                    frame, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
                )
            poses = [pose for p in drawn if (pose := p.pose(t)) is not None]
            if scale != 1.0:
                poses = [pose._replace(keypoints=_scaled(pose.keypoints, scale)) for pose in poses]
            yield side_by_side_poses(frame, poses, view=view, label=f"frame {t}", legend=legend)
            bar.update()
        bar.close()

    return write_mp4(path, composed(), fps)


def _with_unseen(person: Person, size: tuple[int, int]) -> Person:
    """``person`` with its unseen joints found in a (width, height) image when it has none."""
    if person.unseen is not None or person.keypoints is None:
        return person
    return dataclasses.replace(person, unseen=unseen_joints(person.keypoints, size)[0])


def _scaled(keypoints: np.ndarray | None, scale: float) -> np.ndarray | None:
    """(J, 2|3) pixel keypoints (+ confidence) of an image resized by ``scale``."""
    if keypoints is None:
        return None
    out = keypoints.copy()
    out[:, :2] *= scale
    return out
