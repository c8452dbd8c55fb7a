"""Person crops for the image models: the square around a person's box, cut out of an image and
resized, and the (B, 3, S, S) float layout the models take. Shared by inference (one image) and the
dataset importers (many).

Crops are squares around the box centre, ``margin`` times its longer side; the part outside the
image is black. :class:`~posemoe.codecs.CropCodec` maps pixels to the crop's [-1, 1] coordinates.
"""

from __future__ import annotations

import numpy as np

from posemoe.errors import UserError

MAX_CROP_SIZE = 4096  # pixels a side; image models take at most 2048


def square_box(bbox: np.ndarray, margin: float = 1.25) -> np.ndarray:
    """[x, y, w, h] -> the square [x0, y0, side] around its centre, ``margin`` x its longer side."""
    try:
        values = np.asarray(bbox, dtype=np.float64)
    except (TypeError, ValueError):
        values = np.zeros(0)
    if values.shape != (4,) or not np.isfinite(values).all():
        raise UserError(f"bbox must be 4 finite numbers [x, y, w, h], got {str(bbox)[:80]}")
    x, y, w, h = values
    if w <= 0 or h <= 0:
        raise UserError(f"bbox must have a positive size (width and height), got {list(values)}")
    side = max(w, h) * margin
    return np.array([x + w / 2 - side / 2, y + h / 2 - side / 2, side])


def crop(image: np.ndarray, box: np.ndarray, size: int) -> np.ndarray:
    """Cut the square ``box`` ([x0, y0, side] pixels; the part outside the image is black) ->
    (size, size, 3) uint8. Only the part inside the image is resampled, so a huge box costs no
    memory; a box that misses the image is an error."""
    from PIL import Image

    if not 0 < size <= MAX_CROP_SIZE:
        raise UserError(f"crop size must be 1..{MAX_CROP_SIZE} pixels, got {size}")
    x0, y0, side = (float(v) for v in box)
    height, width = image.shape[:2]
    if not (np.isfinite([x0, y0, side]).all() and side > 0):
        raise UserError(f"crop box must be finite with a positive side, got [{x0}, {y0}, {side}]")
    left, top, right, bottom = round(x0), round(y0), round(x0 + side), round(y0 + side)
    inside = (max(left, 0), max(top, 0), min(right, width), min(bottom, height))
    scale = size / max(right - left, 1)
    target = [
        round((inside[0] - left) * scale),
        round((inside[1] - top) * scale),
        round((inside[2] - left) * scale),
        round((inside[3] - top) * scale),
    ]
    if (
        inside[2] <= inside[0]
        or inside[3] <= inside[1]
        or target[2] <= target[0]
        or target[3] <= target[1]
    ):
        raise UserError(
            f"the square around the bbox, [x0 {x0:.6g}, y0 {y0:.6g}, side {side:.6g}], does not cover the "
            f"{width}x{height} image (or covers less than a pixel of the crop)"
        )
    visible = (
        Image.fromarray(image)
        .crop(inside)
        .resize((target[2] - target[0], target[3] - target[1]), Image.Resampling.BILINEAR)
    )
    out = np.zeros((size, size, 3), np.uint8)
    out[target[1] : target[3], target[0] : target[2]] = np.asarray(visible)
    return out


def images_to_tensor_layout(images: np.ndarray) -> np.ndarray:
    """(B, S, S, 3) uint8 -> (B, 3, S, S) float32 in [0, 1]."""
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0
