"""Live input (a webcam or a network stream), lifted online: each frame's 3D comes at once from
the window of the model's frames ending on it (:class:`~posemoe.inference.lifter.OnlineLifter`),
for every person in view, followed by an online :class:`~posemoe.inference.tracking.Tracker` (which a
left/right flip cannot break; the offline joining of fragments needs the whole recording)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from posemoe.errors import UserError
from posemoe.inference.lifter import Lifter, OnlineLifter
from posemoe.inference.pipeline import (
    DEFAULT_LIFTER,
    DETECT_PEOPLE,
    DETECT_WORKERS,
    CameraOptions,
    PersonResult,
    Result,
    Stages,
    make_pipeline,
    timed_detections,
)
from posemoe.inference.tracking import Tracker
from posemoe.inference.upright import UPRIGHT_LIMIT
from posemoe.layouts import BLAZEPOSE33, convert


class _Live:
    """One tracked person's online lifter and what it produced, frame by frame."""

    def __init__(
        self,
        lifter: Lifter,
        image_size: tuple[int, int],
        fps: float | None,
        start: int,
        camera: CameraOptions,
    ) -> None:
        self.online = OnlineLifter(
            lifter,
            layout=BLAZEPOSE33.name,
            image_size=image_size,
            fps=fps,
            intrinsics=camera.intrinsics(image_size),
        )
        self.layout, self.start = lifter.layout, start
        self.keypoints: list[np.ndarray] = []  # (J, 3) pixels, NaN while out of view
        self.joints: list[np.ndarray] = []  # (J, 3) metres; out of view: the last pose's input held

    def push(self, points: np.ndarray | None) -> None:
        self.joints.append(self.online.push(points))
        nobody = np.full((BLAZEPOSE33.num_joints, 3), np.nan, np.float32)
        self.keypoints.append(
            convert((points if points is not None else nobody)[None], BLAZEPOSE33, self.layout)[0]
        )

    def result(self, pid: int) -> PersonResult:
        """(T, J, 3) arrays over the whole stream; before the person arrived, their first pose."""
        before = self.start
        keypoints = np.stack(
            [np.full_like(self.keypoints[0], np.nan)] * before + self.keypoints
        ).astype(np.float32)
        joints = np.stack([self.joints[0]] * before + self.joints).astype(np.float32)
        return PersonResult(pid, keypoints, joints, ~np.isnan(keypoints[:, :, :2]).all(axis=(1, 2)))


def infer_stream(
    source: str | int,
    model: str = DEFAULT_LIFTER,
    *,
    max_frames: int | None = None,
    max_people: int | None = None,
    detect_workers: int = DETECT_WORKERS,
    device: str | None = None,
    quiet: bool = True,
    camera: CameraOptions | None = None,
    upright: float | None = UPRIGHT_LIMIT,
    runtime: str | None = None,
) -> Result:
    """Run until the stream ends, ``max_frames`` or Ctrl-C; frames before anyone is seen are
    skipped. Every person in view (up to ``max_people``, default :data:`DETECT_PEOPLE`) is lifted
    online under the id the tracker gave them on arrival; ``camera``'s focal length reaches
    camera-codec lifters (default: the 60-degree guess). ``runtime``: see :func:`~posemoe.inference.lifter.load`."""
    from tqdm import tqdm

    from posemoe.inference.detectors import BlazePose
    from posemoe.io.video import open_frames

    stages = Stages()
    lifter = make_pipeline(model, device=device, upright=upright, runtime=runtime).lifter
    with stages.time("decode"):
        frames = open_frames(source)
    tracker, people, count = Tracker(layout=BLAZEPOSE33), {}, 0
    bar = tqdm(unit="frame", desc="live", disable=quiet)
    with (
        frames,
        BlazePose(
            max_people=max_people or DETECT_PEOPLE, threads=detect_workers, follow_back=False
        ) as detector,
    ):
        try:
            for found in timed_detections(frames, detector, stages):
                if not people and not len(found):
                    continue  # nobody seen yet
                with stages.time("lift"):
                    here = dict(zip(tracker.update(found), found))
                    for pid in here.keys() - people.keys():
                        people[pid] = _Live(
                            lifter, frames.size, frames.fps, count, camera or CameraOptions()
                        )
                    for pid, live in people.items():
                        live.push(here.get(pid))
                count += 1
                bar.update()
                if max_frames is not None and count >= max_frames:
                    break
        except KeyboardInterrupt:
            pass
    bar.close()
    if not people:
        raise UserError(f"{frames.name}: no person seen in the stream")
    name = (
        "camera" + str(source)
        if str(source).isdigit()
        else Path(str(source).split("?")[0]).stem or "stream"
    )
    results = [live.result(pid) for pid, live in sorted(people.items())]
    return Result(
        name,
        str(source),
        str(model),
        frames.fps,
        frames.size,
        lifter.layout,
        results,
        [frames.describe(), f"{len(results)} person(s) tracked online"],
        stages,
        {"mode": "online, causal window"},
    )
