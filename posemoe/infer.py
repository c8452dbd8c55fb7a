"""Inference entry points that write files: 3D pose from an image (end-to-end models)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from posemoe.evaluate import predict_images
from posemoe.images import crop, read_image, square_box
from posemoe.layouts import get_layout
from posemoe.models import is_image_model
from posemoe.pretrained import load_model


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


IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def infer_keypoints(path: str | Path, model_name: str, *, image_size: tuple[int, int], layout: str | None = None,
                    fps: float = 50.0, track: int | None = None, smooth: bool = False,
                    out_dir: str | Path = "posemoe-out", quiet: bool = False) -> list[Path]:
    """2D keypoint file(s) of another tool -> 3D: read, pick the person (``track``), fill gaps,
    lift, optionally One-Euro smooth, write ``<stem>.npz/.json/.csv``. Returns the written paths."""
    from posemoe.export import one_euro, write_outputs
    from posemoe.keypoints import fill_gaps, main_track, read_keypoints
    from posemoe.layouts import H36M17, convert
    from posemoe.lift import Lifter

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
