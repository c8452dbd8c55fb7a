"""Which joints the camera did not really see: outside the image, or guessed by the detector.

A detector given a waist-up photo still returns legs: BlazePose invents them below the image
edge or, inside it, with low visibility. The lifter needs every joint, so the pipeline fills
them in, but a picture should not present them as seen. ``unseen_joints`` marks them per frame
so that renderings draw them dashed and a report can say the body was partial.
"""

from __future__ import annotations

import numpy as np

from posemoe.errors import UserError
from posemoe.layouts import H36M17, JointLayout

MIN_CONFIDENCE = (
    0.5  # BlazePose's visibility for joints it guesses (off-frame, occluded) is mostly below this
)


def unseen_joints(
    keypoints: np.ndarray,
    image_size: tuple[int, int] | None,
    *,
    min_confidence: float = MIN_CONFIDENCE,
    layout: JointLayout = H36M17,
) -> tuple[np.ndarray, str]:
    """Mark the joints of (T, J, 2|3) ``keypoints`` (pixels, + confidence) that are NaN, outside
    the ``image_size`` (width, height) image (skipped when None), or below ``min_confidence``.
    Returns the (T, J) bool "unseen" mask and a one-line summary."""
    points = np.asarray(keypoints, dtype=np.float64)
    if points.ndim != 3 or points.shape[1] != layout.num_joints or points.shape[2] not in (2, 3):
        raise UserError(
            f"expected keypoints of shape (T, {layout.num_joints}, 2|3) in the {layout.name} layout, "
            f"got {points.shape}"
        )
    xy = points[..., :2]
    unseen = np.isnan(xy).any(-1)
    if image_size is not None:
        width, height = image_size
        with np.errstate(invalid="ignore"):
            unseen |= (
                (xy[..., 0] < 0)
                | (xy[..., 0] > width - 1)
                | (xy[..., 1] < 0)
                | (xy[..., 1] > height - 1)
            )
    if points.shape[2] == 3:
        unseen |= ~(np.nan_to_num(points[..., 2], nan=0.0) >= min_confidence)
    return unseen, unseen_summary(unseen, min_confidence=min_confidence, layout=layout)


def unseen_summary(
    unseen: np.ndarray, *, min_confidence: float = MIN_CONFIDENCE, layout: JointLayout = H36M17
) -> str:
    """One line about a (T, J) unseen mask: how many frames and positions, and which joints."""
    frames = len(unseen)
    if not unseen.any():
        return f"every joint seen in all {frames} frames"
    per_joint = unseen.sum(0)
    order = np.argsort(-per_joint, kind="stable")
    head = f"unseen (outside the frame or confidence < {min_confidence:g}; drawn dashed): "
    counts = f"{int(unseen.sum())} of {unseen.size} joint positions in {int(unseen.any(1).sum())} of {frames} frames"
    mostly = [layout.joints[j] for j in order if per_joint[j] > frames / 2]
    if mostly:
        return head + f"{', '.join(mostly)} in most frames; {counts}"
    often = ", ".join(f"{layout.joints[j]} {per_joint[j]}" for j in order[:3] if per_joint[j])
    return head + f"{counts}, most often {often}"
