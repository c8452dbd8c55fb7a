"""One image to 3D (or 2D) with an end-to-end image model (AITEPose)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from posemoe.codecs import flip_horizontal
from posemoe.datasets.images import crop, images_to_tensor_layout, read_image, square_box
from posemoe.errors import UserError
from posemoe.export.results import refuse_inputs, save_npz_to, write_files
from posemoe.layouts import get_layout
from posemoe.models import is_image_model
from posemoe.models.pretrained import load_model


@torch.no_grad()
def predict_images(model: nn.Module, crops: np.ndarray, *, flip: bool = True, batch_size: int = 64,
                   device: str | torch.device = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """Run an image model over crops (N, S, S, 3) uint8 -> pose (N, J, D), flip-averaged if
    ``flip``, and confidence (N, J) of the unflipped crops."""
    model.eval()
    perm = get_layout(model.config.layout).flip_permutation()
    poses, confidences = [], []
    for i in range(0, len(crops), batch_size):
        x = torch.from_numpy(images_to_tensor_layout(crops[i:i + batch_size])).to(device)
        pose, aux = model(x, aux=True)
        y, confidence = pose.float().cpu().numpy(), aux["confidence"].float().cpu().numpy()
        if flip:
            y = (y + flip_horizontal(model(x.flip(-1)).float().cpu().numpy(), perm)) / 2
        poses.append(y)
        confidences.append(confidence)
    return np.concatenate(poses), np.concatenate(confidences)


def infer_image(image_path: str | Path, model_name: str, *, out_dir: str | Path = "posemoe-out",
                bbox: list[float] | None = None, flip: bool = True, quiet: bool = False) -> dict:
    """Crop the person (``bbox`` [x, y, w, h] in pixels, default the whole image), predict, write
    ``<stem>.json`` and ``<stem>.npz``. 3D models give metres, camera frame, root-relative;
    2D models give pixels of the input image. Returns the JSON record."""
    model = load_model(model_name)
    if not is_image_model(model.config):
        raise UserError(f"{model_name} is a lifting model; `posemoe infer IMAGE` needs an image model (aitepose-*)")
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
    out, stem = Path(out_dir), Path(image_path).stem
    paths = [out / f"{stem}.json", out / f"{stem}.npz"]
    refuse_inputs(paths, [image_path])
    write_files({paths[0]: lambda f: f.write(json.dumps(record, indent=1) + "\n"),
                 paths[1]: lambda f: save_npz_to(f, pose=pred.astype(np.float32), confidence=confidence,
                                                 joints=np.array(layout.joints))}, binary=[paths[1]])
    if not quiet:
        print(f"wrote {paths[0]} and {paths[1]}")
    return record
