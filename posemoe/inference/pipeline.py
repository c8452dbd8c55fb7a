"""Inference entry points that write files.

- ``infer_video``: a video file, image file or image folder -> decode -> BlazePose 2D -> fill
  gaps -> lift -> (smooth) -> .npz/.json/.csv (+ .mp4 / .html renderings), timing each stage;
- ``infer_stream``: a webcam or network stream, lifted online with a sliding window;
- ``infer_keypoints``: 2D keypoint files written by other tools -> 3D;
- ``infer_image``: one image through an end-to-end image model (AITEPose).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from posemoe.datasets.images import crop, read_image, square_box
from posemoe.evaluation.h36m import predict_images
from posemoe.layouts import get_layout
from posemoe.models import is_image_model
from posemoe.models.pretrained import load_model


def infer_image(image_path: str | Path, model_name: str, *, out_dir: str | Path = "posemoe-out",
                bbox: list[float] | None = None, flip: bool = True, quiet: bool = False) -> dict:
    """Crop the person (``bbox`` [x, y, w, h] in pixels, default the whole image), predict, write
    ``<stem>.json`` and ``<stem>.npz``. 3D models give metres, camera frame, root-relative;
    2D models give pixels of the input image. Returns the JSON record."""
    model = load_model(model_name)
    if not is_image_model(model.config):
        raise ValueError(f"{model_name} is a lifting model; `posemoe infer IMAGE` needs an image model (aitepose-*)")
    image = read_image(image_path)
    h, w = image.shape[:2]
    box = square_box(bbox if bbox is not None else [0, 0, w, h], margin=1.0 if bbox is None else 1.25)
    patch = crop(image, box, model.config.image_size)
    poses, confidences = predict_images(model, patch[None], flip=flip)
    pred, confidence = poses[0], confidences[0]
    layout = get_layout(model.config.layout)
    if model.config.out_dims == 2:
        x0, y0, side = box
        pred = (pred + 1) / 2 * side + [x0, y0]
    record = {"image": str(image_path), "model": str(model_name), "layout": layout.name, "joints": list(layout.joints),
              "bbox_square": [float(v) for v in box],
              ("joints_3d_m" if model.config.out_dims == 3 else "keypoints_px"): pred.round(5).tolist(),
              "confidence": confidence.round(4).tolist()}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = Path(image_path).stem
    (out / f"{stem}.json").write_text(json.dumps(record, indent=1) + "\n")
    np.savez(out / f"{stem}.npz", pose=pred.astype(np.float32), confidence=confidence,
             joints=np.array(layout.joints))
    if not quiet:
        print(f"wrote {out / (stem + '.json')} and {out / (stem + '.npz')}")
    return record



def infer_keypoints(path: str | Path, model_name: str, *, image_size: tuple[int, int], layout: str | None = None,
                    fps: float = 50.0, track: int | None = None, smooth: bool = False,
                    out_dir: str | Path = "posemoe-out", quiet: bool = False) -> list[Path]:
    """2D keypoint file(s) of another tool -> 3D: read, pick the person (``track``), fill gaps,
    lift, optionally One-Euro smooth, write ``<stem>.npz/.json/.csv``. Returns the written paths."""
    from posemoe.export.results import write_outputs
    from posemoe.inference.lifter import Lifter
    from posemoe.inference.smoothing import one_euro
    from posemoe.io.keypoints import fill_gaps, main_track, read_keypoints
    from posemoe.layouts import H36M17, convert

    frames = read_keypoints(path, layout)
    chosen, report = main_track(frames, track)
    filled, more = fill_gaps(chosen)
    lifter = Lifter(load_model(model_name))
    joints = lifter.lift(filled, layout=frames.layout.name, image_size=image_size)
    if smooth:
        joints = one_euro(joints, fps).astype(np.float32)
    used = convert(filled, frames.layout, H36M17)
    stem = Path(path).stem if Path(path).is_file() else Path(path).name
    paths = write_outputs(out_dir, stem, joints, used, fps=fps,
                          extra={"source": str(path), "model": str(model_name), "report": report + more})
    if not quiet:
        for line in report + more:
            print(line)
        print("wrote " + ", ".join(str(p) for p in paths))
    return paths


DEFAULT_LIFTER = "posemoe-t27-s-h36m"


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
            lines.append(f"  {stage:<8} {sec:7.2f} s  {100 * sec / max(total, 1e-9):5.1f} %  {1000 * sec / max(frames, 1):6.2f} ms/frame")
        return lines


def timed_detections(frames: Iterable[np.ndarray], detector: Callable[[np.ndarray], np.ndarray | None],
                     stages: Stages) -> Iterator[np.ndarray | None]:
    """Detect on each frame, timing decoding and detection: yields (J, 3) keypoints or None."""
    iterator = iter(frames)
    while True:
        with stages.time("decode"):
            frame = next(iterator, None)
        if frame is None:
            return
        with stages.time("detect"):
            points = detector(frame)
        yield points


def detect_video(source: str | Path | int, *, fps: float | None = None, max_frames: int | None = None,
                 stages: Stages | None = None, quiet: bool = False) -> tuple[np.ndarray, dict]:
    """Decode ``source`` and run BlazePose on every frame. Returns ((T, 33, 3) pixels +
    visibility, NaN where nobody was found; info: name, kind, fps, size, frames)."""
    from tqdm import tqdm

    from posemoe.inference.detectors import BlazePose
    from posemoe.io.video import open_frames

    stages = stages if stages is not None else Stages()
    with stages.time("decode"):
        frames = open_frames(source, fps=fps)
    found: list[np.ndarray] = []
    with frames, BlazePose(video=frames.kind != "images" or (frames.frame_count or 0) > 1) as detector:
        total = frames.frame_count if max_frames is None else min(max_frames, frames.frame_count or max_frames)
        bar = tqdm(total=total, unit="frame", desc="detect", disable=quiet)
        for points in timed_detections(frames, detector, stages):
            found.append(points if points is not None else np.full((33, 3), np.nan, np.float32))
            bar.update()
            if max_frames is not None and len(found) >= max_frames:
                break
        bar.close()
    if not found:
        raise ValueError(f"{frames.name}: no frames decoded")
    info = {"name": frames.name, "kind": frames.kind, "fps": frames.fps, "size": frames.size, "frames": len(found)}
    return np.stack(found), info


def infer_video(source: str | Path, model_name: str = DEFAULT_LIFTER, *, out_dir: str | Path = "posemoe-out",
                smooth: bool = False, render: tuple[str, ...] = (), fps: float | None = None,
                max_frames: int | None = None, quiet: bool = False) -> dict:
    """A video file, image or image folder -> 3D for every frame with a person.

    Writes ``<stem>.npz/.json/.csv`` (3D joints and the H36M-17 2D used, see
    :func:`posemoe.export.write_outputs`), ``<stem>_blazepose33.npz`` (the raw detections, a
    keypoint file ``posemoe infer`` reads back) and, as asked in ``render``, ``<stem>.mp4``
    (2D over the video beside 3D) and ``<stem>.html`` (rotatable 3D). Frames where nobody was
    found are filled over time and marked ``person_visible = false``. Returns the paths, the
    report lines and the per-stage timing.
    """
    from posemoe.export.results import write_outputs
    from posemoe.inference.lifter import Lifter
    from posemoe.inference.smoothing import one_euro
    from posemoe.io.keypoints import fill_gaps
    from posemoe.layouts import BLAZEPOSE33, H36M17, convert

    stages = Stages()
    raw, info = detect_video(source, fps=fps, max_frames=max_frames, stages=stages, quiet=quiet)
    visible = ~np.isnan(raw[:, 0, 0])
    if not visible.any():
        raise ValueError(f"{info['name']}: no person found in any of its {info['frames']} frames")
    with stages.time("lift"):
        h36m = convert(raw, BLAZEPOSE33, H36M17)
        filled, report = fill_gaps(h36m)
        lifter = Lifter(load_model(model_name))
        joints = lifter.lift(filled, layout="h36m17", image_size=info["size"])
        if smooth:
            joints = one_euro(joints, info["fps"]).astype(np.float32)
    report = [f"{info['name']}: {info['kind']}, {info['size'][0]}x{info['size'][1]}, {info['fps']:.3g} fps, "
              f"{info['frames']} frames, a person in {int(visible.sum())}"] + report
    stem = Path(str(source)).stem or "video"
    out = Path(out_dir)
    with stages.time("write"):
        paths = write_outputs(out, stem, joints, filled, fps=info["fps"],
                              extra={"source": str(source), "model": str(model_name), "report": report,
                                     "person_visible": visible.tolist()})
        out.mkdir(parents=True, exist_ok=True)
        raw_path = out / f"{stem}_blazepose33.npz"
        np.savez(raw_path, keypoints=raw, layout="blazepose33", fps=np.float32(info["fps"]))
        paths.append(raw_path)
    timing = stages.report(info["frames"])
    if not quiet:
        for line in report + ["speed (decode + 2D detection + lifting + writing; rendering apart):"] + timing:
            print(line)
        print("wrote " + ", ".join(str(p) for p in paths))
    paths += render_outputs(out, stem, source, filled, joints, fps=info["fps"], render=render, quiet=quiet)
    return {"paths": paths, "report": report, "timing": timing, "seconds": dict(stages.seconds),
            "frames": info["frames"], "visible": visible}


def render_outputs(out: Path, stem: str, source: str | Path | int | None, keypoints: np.ndarray, joints: np.ndarray, *,
                   fps: float, render: tuple[str, ...], truth: np.ndarray | None = None,
                   frames: Iterator[np.ndarray] | None = None, quiet: bool = False) -> list[Path]:
    """Write the renderings named in ``render`` ("mp4", "html"). The .mp4 re-reads ``source``
    (or draws on ``frames``) so that a long video is never held in memory."""
    from posemoe.io.video import open_frames
    from posemoe.viz.draw import render_mp4, write_html

    unknown = set(render) - {"mp4", "html"}
    if unknown:
        raise ValueError(f"unknown rendering {sorted(unknown)}; choose from mp4, html")
    paths = []
    if "mp4" in render:
        if frames is not None:
            paths.append(render_mp4(out / f"{stem}.mp4", frames, keypoints, joints, fps=fps, truth=truth))
        else:
            with open_frames(source) as video:
                paths.append(render_mp4(out / f"{stem}.mp4", video, keypoints, joints, fps=fps, truth=truth))
    if "html" in render:
        paths.append(write_html(out / f"{stem}.html", joints, fps=fps, truth=truth, title=f"posemoe: {stem}"))
    if not quiet and paths:
        print("rendered " + ", ".join(str(p) for p in paths))
    return paths


def infer_stream(source: str | int, model_name: str = DEFAULT_LIFTER, *, out_dir: str | Path = "posemoe-out",
                 max_frames: int | None = None, quiet: bool = False) -> dict:
    """A webcam (index) or stream URL, lifted online: each frame's 3D comes from the window of
    the last T frames ending on it (:class:`posemoe.lift.OnlineLifter`). Runs until the stream
    ends, ``max_frames`` or Ctrl-C, then writes ``<name>.npz/.json/.csv`` as :func:`infer_video`."""
    from tqdm import tqdm

    from posemoe.export.results import write_outputs
    from posemoe.inference.detectors import BlazePose
    from posemoe.inference.lifter import Lifter, OnlineLifter
    from posemoe.io.video import open_frames
    from posemoe.layouts import BLAZEPOSE33, H36M17, convert

    stages = Stages()
    lifter = Lifter(load_model(model_name))
    keypoints, joints = [], []
    with stages.time("decode"):
        frames = open_frames(source)
    online = OnlineLifter(lifter, layout="blazepose33", image_size=frames.size)
    bar = tqdm(unit="frame", desc="live", disable=quiet)
    with frames, BlazePose(video=True) as detector:
        try:
            for points in timed_detections(frames, detector, stages):
                with stages.time("lift"):
                    pose = online.push(points)
                if pose is None:
                    continue  # nobody seen yet
                keypoints.append(convert(points[None], BLAZEPOSE33, H36M17)[0] if points is not None
                                 else np.full((17, 3), np.nan, np.float32))
                joints.append(pose)
                bar.update()
                if max_frames is not None and len(joints) >= max_frames:
                    break
        except KeyboardInterrupt:
            pass
    bar.close()
    if not joints:
        raise ValueError(f"{frames.name}: no person seen in the stream")
    name = "camera" + str(source) if str(source).isdigit() else Path(str(source).split("?")[0]).stem or "stream"
    paths = write_outputs(out_dir, name, np.stack(joints), np.stack(keypoints), fps=frames.fps,
                          extra={"source": str(source), "model": str(model_name), "mode": "online, causal window"})
    timing = stages.report(len(joints))
    if not quiet:
        print("\n".join(timing))
        print("wrote " + ", ".join(str(p) for p in paths))
    return {"paths": paths, "timing": timing, "frames": len(joints)}
