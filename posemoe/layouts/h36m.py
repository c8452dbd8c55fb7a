"""Human3.6M: the 17-joint layout of lifting work (VideoPose3D) and the 32-joint mocap skeleton."""

from __future__ import annotations

import numpy as np

from posemoe.layouts.base import (
    JointLayout,
    named_layout,
    register_converter,
    register_layout,
    selecting_converter,
)

H36M17 = register_layout(
    named_layout(
        "h36m17",
        {
            "Hip": None,
            "RHip": "Hip",
            "RKnee": "RHip",
            "RFoot": "RKnee",
            "LHip": "Hip",
            "LKnee": "LHip",
            "LFoot": "LKnee",
            "Spine": "Hip",
            "Thorax": "Spine",
            "Neck/Nose": "Thorax",
            "Head": "Neck/Nose",
            "LShoulder": "Thorax",
            "LElbow": "LShoulder",
            "LWrist": "LElbow",
            "RShoulder": "Thorax",
            "RElbow": "RShoulder",
            "RWrist": "RElbow",
        },
    )
)
"""The 17-joint Human3.6M layout used by VideoPose3D and most lifting work. Root = pelvis."""

H36M32 = register_layout(
    JointLayout(
        name="h36m32",
        joints=(
            "Hips",
            "RightUpLeg",
            "RightLeg",
            "RightFoot",
            "RightToeBase",
            "RightToeSite",
            "LeftUpLeg",
            "LeftLeg",
            "LeftFoot",
            "LeftToeBase",
            "LeftToeSite",
            "Spine",
            "Spine1",
            "Neck",
            "Head",
            "HeadSite",
            "LeftShoulder",
            "LeftArm",
            "LeftForeArm",
            "LeftHand",
            "LeftHandThumb",
            "LeftThumbSite",
            "LeftWristEnd",
            "LeftWristSite",
            "RightShoulder",
            "RightArm",
            "RightForeArm",
            "RightHand",
            "RightHandThumb",
            "RightThumbSite",
            "RightWristEnd",
            "RightWristSite",
        ),
        parents=(
            -1,
            0,
            1,
            2,
            3,
            4,
            0,
            6,
            7,
            8,
            9,
            0,
            11,
            12,
            13,
            14,
            12,
            16,
            17,
            18,
            19,
            20,
            19,
            22,
            12,
            24,
            25,
            26,
            27,
            28,
            27,
            30,
        ),
        left=(6, 7, 8, 9, 10, 16, 17, 18, 19, 20, 21, 22, 23),
        right=(1, 2, 3, 4, 5, 24, 25, 26, 27, 28, 29, 30, 31),
    )
)
"""The 32-joint Human3.6M mocap skeleton of ``data_3d_h36m.npz``."""

# H36M-17 joint <- H36M-32 joint of the same body point (shoulders re-attach to the thorax).
_H36M32_TO_17 = {
    "Hip": "Hips",
    "RHip": "RightUpLeg",
    "RKnee": "RightLeg",
    "RFoot": "RightFoot",
    "LHip": "LeftUpLeg",
    "LKnee": "LeftLeg",
    "LFoot": "LeftFoot",
    "Spine": "Spine1",
    "Thorax": "Neck",
    "Neck/Nose": "Head",
    "Head": "HeadSite",
    "LShoulder": "LeftArm",
    "LElbow": "LeftForeArm",
    "LWrist": "LeftHand",
    "RShoulder": "RightArm",
    "RElbow": "RightForeArm",
    "RWrist": "RightHand",
}
_from_32 = selecting_converter(H36M32, H36M17, _H36M32_TO_17)
register_converter(H36M32, H36M17, _from_32)


def h36m32_to_h36m17_indices() -> np.ndarray:
    """Indices into the 32-joint mocap array that give the 17-joint layout."""
    return _from_32.index.copy()  # type: ignore[attr-defined]
