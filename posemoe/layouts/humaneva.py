"""HumanEva-I: the 15-joint layout of the VideoPose3D conversion (``humaneva15``) and its
converters to and from H36M-17.

The two skeletons were marked up differently. Measured on the 3D of HumanEva-I Train (S1-S3)
and of Human3.6M (S1, S5-S8): HumanEva's hips are 9-10 cm apart (H36M-17: 24-29 cm) and its
pelvis lies 5 cm from their mid-point (H36M-17's Hip is the mid-point); its thorax is 1-3 cm above
the shoulder line (H36M-17: 5-6 cm, the base of the neck); its head point is 0.31-0.33 m from the
thorax (H36M-17's Head, the top of the head: 0.16-0.21 m). Only the limb joints mark the same
anatomical points: :data:`SHARED_WITH_H36M17`.

HumanEva-15 -> H36M-17 (approximate, for training or visualising on HumanEva): same-named joints
are copied (pelvis -> Hip, thorax -> Thorax, head -> Head, ankles -> Foot); Spine is the mean of
pelvis and thorax and Neck/Nose the mean of thorax and head, which is where H36M-17 puts them in
proportion (Spine about halfway up the torso, Neck/Nose about halfway from thorax to head top).

H36M-17 -> HumanEva-15 (for scoring an H36M-17 prediction on HumanEva's joints): the same-named
joints are picked (Hip -> pelvis, Thorax -> thorax, Head -> head); score only on
:data:`SHARED_WITH_H36M17` unless the offsets above are acceptable.

Both converters average or pick all channels alike, so they take coordinates (2D pixels or 3D
metres); a confidence channel would be averaged too.
"""

from __future__ import annotations

import numpy as np

from posemoe.layouts.base import (
    Converter,
    JointLayout,
    mean_weights,
    named_layout,
    register_converter,
    register_layout,
    selecting_converter,
    weighted_mean,
)
from posemoe.layouts.h36m import H36M17

HUMANEVA15 = register_layout(
    named_layout(
        "humaneva15",
        {
            "pelvis": None,
            "thorax": "pelvis",
            "LShoulder": "thorax",
            "LElbow": "LShoulder",
            "LWrist": "LElbow",
            "RShoulder": "thorax",
            "RElbow": "RShoulder",
            "RWrist": "RElbow",
            "LHip": "pelvis",
            "LKnee": "LHip",
            "LAnkle": "LKnee",
            "RHip": "pelvis",
            "RKnee": "RHip",
            "RAnkle": "RKnee",
            "head": "thorax",
        },
    )
)
"""HumanEva-I's 15 joints in the order of ``data_*_humaneva15.npz``; root = pelvis."""

H36M17_FROM_HUMANEVA: dict[str, tuple[str, ...]] = {
    "Hip": ("pelvis",),
    "RHip": ("RHip",),
    "RKnee": ("RKnee",),
    "RFoot": ("RAnkle",),
    "LHip": ("LHip",),
    "LKnee": ("LKnee",),
    "LFoot": ("LAnkle",),
    "Spine": ("pelvis", "thorax"),
    "Thorax": ("thorax",),
    "Neck/Nose": ("thorax", "head"),
    "Head": ("head",),
    "LShoulder": ("LShoulder",),
    "LElbow": ("LElbow",),
    "LWrist": ("LWrist",),
    "RShoulder": ("RShoulder",),
    "RElbow": ("RElbow",),
    "RWrist": ("RWrist",),
}
"""H36M-17 joint <- the HumanEva joints it is the mean of."""

HUMANEVA_FROM_H36M17 = {
    "pelvis": "Hip",
    "thorax": "Thorax",
    "LShoulder": "LShoulder",
    "LElbow": "LElbow",
    "LWrist": "LWrist",
    "RShoulder": "RShoulder",
    "RElbow": "RElbow",
    "RWrist": "RWrist",
    "LHip": "LHip",
    "LKnee": "LKnee",
    "LAnkle": "LFoot",
    "RHip": "RHip",
    "RKnee": "RKnee",
    "RAnkle": "RFoot",
    "head": "Head",
}
"""HumanEva joint <- the H36M-17 joint of the same name."""

SHARED_WITH_H36M17 = (
    "LShoulder",
    "LElbow",
    "LWrist",
    "RShoulder",
    "RElbow",
    "RWrist",
    "LKnee",
    "LAnkle",
    "RKnee",
    "RAnkle",
)
"""HumanEva joints that mark the same body point as their H36M-17 counterpart (see module doc)."""


def mean_converter(
    source: JointLayout, target: JointLayout, recipe: dict[str, tuple[str, ...]]
) -> Converter:
    """A converter where each target joint is the mean of named source joints, on every channel:
    ``(..., J_source, C)`` -> ``(..., J_target, C)`` in the input's float dtype."""
    weights = mean_weights(source, target, recipe)

    def convert_fn(points: np.ndarray) -> np.ndarray:
        dtype = points.dtype if np.issubdtype(points.dtype, np.floating) else np.float64
        return weighted_mean(weights, points).astype(dtype, copy=False)

    convert_fn.weights = weights  # type: ignore[attr-defined]
    return convert_fn


register_converter(HUMANEVA15, H36M17, mean_converter(HUMANEVA15, H36M17, H36M17_FROM_HUMANEVA))
register_converter(
    H36M17, HUMANEVA15, selecting_converter(H36M17, HUMANEVA15, HUMANEVA_FROM_H36M17)
)
