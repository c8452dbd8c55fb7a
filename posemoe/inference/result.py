"""What inference produces: per-person 2D and 3D over the frames, the report and the timing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from posemoe.io.keypoints import KeypointFrames
from posemoe.layouts import JointLayout


class Stages:
    """Wall-clock seconds per pipeline stage, for the speed report."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def time(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start

    def report(self, frames: int) -> list[str]:
        total = sum(self.seconds.values())
        lines = [f"{frames} frames in {total:.2f} s: {frames / max(total, 1e-9):.1f} frames/s"]
        for stage, sec in self.seconds.items():
            lines.append(
                f"  {stage:<8} {sec:7.2f} s  {100 * sec / max(total, 1e-9):5.1f} %  {1000 * sec / max(frames, 1):6.2f} ms/frame"
            )
        return lines


@dataclass
class PersonResult:
    """One tracked person. keypoints: (T, J, 3) pixels + confidence in the lifter's layout, gaps
    filled; joints_3d: (T, J, 3) metres, camera frame, root-relative; visible: (T,) detected.

    After the motion stage (:func:`posemoe.inference.pipeline.fit_motion`): ``fitted`` (T, J, 3) the
    joints of a skeleton with constant bone lengths (root-relative), ``rotations`` (T, J, 3, 3) its
    local joint rotations, ``root`` (T, 3) the pelvis in camera coordinates (metres) with the
    ``focal_px`` it was solved with, and with a
    ground plane ``world_from_camera`` (4, 4), a y-up world frame on the ground."""

    track: int
    keypoints: np.ndarray
    joints_3d: np.ndarray
    visible: np.ndarray
    unseen: np.ndarray | None = (
        None  # (T, J) bool: outside the frame, missing or barely seen (filled in)
    )
    fitted: np.ndarray | None = None
    rotations: np.ndarray | None = None
    root: np.ndarray | None = None
    world_from_camera: np.ndarray | None = None
    focal_px: float | None = (
        None  # the focal length ``root`` was solved with (principal point: the image centre)
    )


@dataclass
class Result:
    """What a pipeline run produced; :func:`posemoe.export.write_result` writes it as the CLI does."""

    name: str
    source: str
    model: str
    fps: float
    image_size: tuple[int, int]
    layout: JointLayout
    people: list[PersonResult]
    report: list[str] = field(default_factory=list)
    stages: Stages = field(default_factory=Stages)
    extra: dict = field(default_factory=dict)  # written into the .json
    detections: KeypointFrames | None = None  # the detector's raw per-frame output, when it ran

    @property
    def frames(self) -> int:
        return len(self.people[0].joints_3d) if self.people else 0
