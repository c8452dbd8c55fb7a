"""One image to 3D (or 2D) with an end-to-end image model (AITEPose)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from posemoe.codecs import flip_horizontal
from posemoe.crops import crop, images_to_tensor_layout, square_box
from posemoe.errors import UserError
from posemoe.inference.runtime import as_runner, load_runner
from posemoe.io.files import refuse_inputs, write_files
from posemoe.io.npz import save_npz_to
from posemoe.io.video import read_image
from posemoe.layouts import get_layout


def predict_images(
    model: Any, crops: np.ndarray, *, flip: bool = True, batch_size: int = 64, device: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Run an image model (a runner of :mod:`posemoe.inference.runtime`, or a torch module, its
    inputs sent to ``device``) over crops (N, S, S, 3) uint8 -> pose (N, J, D), flip-averaged if
    ``flip``, and confidence (N, J) of the unflipped crops."""
    runner = as_runner(model, device)
    perm = get_layout(runner.config.layout).flip_permutation()
    poses, confidences = [], []
    for i in range(0, len(crops), batch_size):
        x = images_to_tensor_layout(crops[i : i + batch_size])  # (B, 3, S, S)
        out = runner.predict(x)
        y, confidence = out["pose"], out["confidence"]
        if flip:
            y = (y + flip_horizontal(runner(x[..., ::-1]), perm)) / 2
        poses.append(y)
        confidences.append(confidence)
    return np.concatenate(poses), np.concatenate(confidences)


def infer_image(
    image_path: str | Path,
    model_name: str,
    *,
    out_dir: str | Path = "posemoe-out",
    bbox: list[float] | None = None,
    flip: bool = True,
    quiet: bool = False,
    runtime: str | None = None,
) -> dict:
    """Crop the person (``bbox`` [x, y, w, h] in pixels, default the whole image), predict, write
    ``<stem>.json`` and ``<stem>.npz``. 3D models give metres, camera frame, root-relative;
    2D models give pixels of the input image. ``runtime``: see
    :func:`~posemoe.inference.runtime.load_runner`. Returns the JSON record."""
    model, _ = load_runner(model_name, runtime=runtime)
    if model.task != "image":
        raise UserError(
            f"{model_name} is a lifting model; `posemoe infer IMAGE` needs an image model (aitepose-*)"
        )
    image = read_image(image_path)
    h, w = image.shape[:2]
    box = square_box(
        bbox if bbox is not None else [0, 0, w, h], margin=1.0 if bbox is None else 1.25
    )
    patch = crop(image, box, model.config.image_size)
    poses, confidences = predict_images(model, patch[None], flip=flip)
    pred, confidence = poses[0], confidences[0]
    layout = get_layout(model.config.layout)
    if model.config.out_dims == 2:
        x0, y0, side = box
        pred = (pred + 1) / 2 * side + [x0, y0]
    record = {
        "image": str(image_path),
        "model": str(model_name),
        "layout": layout.name,
        "joints": list(layout.joints),
        "bbox_square": [float(v) for v in box],
        ("joints_3d_m" if model.config.out_dims == 3 else "keypoints_px"): pred.round(5).tolist(),
        "confidence": confidence.round(4).tolist(),
    }
    out, stem = Path(out_dir), Path(image_path).stem
    paths = [out / f"{stem}.json", out / f"{stem}.npz"]
    refuse_inputs(paths, [image_path])
    write_files(
        {
            paths[0]: lambda f: f.write(json.dumps(record, indent=1) + "\n"),
            paths[1]: lambda f: save_npz_to(
                f,
                pose=pred.astype(np.float32),
                confidence=confidence,
                joints=np.array(layout.joints),
            ),
        },
        binary=[paths[1]],
    )
    if not quiet:
        print(f"wrote {paths[0]} and {paths[1]}")
    return record
