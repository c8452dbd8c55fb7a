"""Live input (a webcam or a network stream), lifted online: each frame's 3D comes at once from
the window of the model's frames ending on it (:class:`~posemoe.inference.lifter.OnlineLifter`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from posemoe.errors import UserError
from posemoe.inference.lifter import OnlineLifter
from posemoe.inference.pipeline import DEFAULT_LIFTER, PersonResult, Result, Stages, make_pipeline, timed_detections
from posemoe.layouts import convert


def infer_stream(source: str | int, model: str = DEFAULT_LIFTER, *, max_frames: int | None = None,
                 device: str = "cpu", quiet: bool = True) -> Result:
    """Run until the stream ends, ``max_frames`` or Ctrl-C; frames before anyone is seen are skipped."""
    from tqdm import tqdm

    from posemoe.inference.detectors import BlazePose
    from posemoe.io.video import open_frames

    stages = Stages()
    lifter = make_pipeline(model, device=device).lifter
    keypoints, joints, visible = [], [], []
    with stages.time("decode"):
        frames = open_frames(source)
    online = OnlineLifter(lifter, layout=BlazePose.layout.name, image_size=frames.size, fps=frames.fps)
    bar = tqdm(unit="frame", desc="live", disable=quiet)
    with frames, BlazePose(video=True) as detector:
        try:
            for points in timed_detections(frames, detector, stages):
                with stages.time("lift"):
                    pose = online.push(points)
                if pose is None:
                    continue  # nobody seen yet
                nobody = np.full((BlazePose.layout.num_joints, 3), np.nan, np.float32)
                keypoints.append(convert((points if points is not None else nobody)[None], BlazePose.layout,
                                         lifter.layout)[0])
                joints.append(pose)
                visible.append(points is not None)
                bar.update()
                if max_frames is not None and len(joints) >= max_frames:
                    break
        except KeyboardInterrupt:
            pass
    bar.close()
    if not joints:
        raise UserError(f"{frames.name}: no person seen in the stream")
    name = "camera" + str(source) if str(source).isdigit() else Path(str(source).split("?")[0]).stem or "stream"
    person = PersonResult(0, np.stack(keypoints), np.stack(joints), np.array(visible))
    return Result(name, str(source), str(model), frames.fps, frames.size, lifter.layout, [person],
                  [frames.describe()], stages, {"mode": "online, causal window"})
