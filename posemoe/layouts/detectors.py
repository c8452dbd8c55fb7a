"""The layouts 2D detectors write (COCO-17, OpenPose BODY_25, AlphaPose Halpe-26, BlazePose-33),
each with its converter to H36M-17.

H36M-17 joints are averages of named detector joints. Approximations: the pelvis is mid-hip, the
thorax mid-shoulder, the spine halfway between them, "Neck/Nose" the nose and the head mid-eye
(Halpe: its head-top point). A converted joint's confidence is the lowest of the joints averaged.
"""

from __future__ import annotations

from posemoe.layouts.base import (
    averaging_converter,
    named_layout,
    register_converter,
    register_layout,
)
from posemoe.layouts.h36m import H36M17

COCO17 = register_layout(
    named_layout(
        "coco17",
        {
            "Nose": None,
            "LEye": "Nose",
            "REye": "Nose",
            "LEar": "LEye",
            "REar": "REye",
            "LShoulder": "Nose",
            "RShoulder": "Nose",
            "LElbow": "LShoulder",
            "RElbow": "RShoulder",
            "LWrist": "LElbow",
            "RWrist": "RElbow",
            "LHip": "LShoulder",
            "RHip": "RShoulder",
            "LKnee": "LHip",
            "RKnee": "RHip",
            "LAnkle": "LKnee",
            "RAnkle": "RKnee",
        },
    )
)
"""The COCO keypoint layout (MMPose, rtmlib, Ultralytics). It has no pelvis; the tree is rooted at
the nose, shoulders hang from it and hips from the shoulders, so every joint has one bone."""

OPENPOSE25 = register_layout(
    named_layout(
        "openpose25",
        {
            "Nose": "Neck",
            "Neck": None,
            "RShoulder": "Neck",
            "RElbow": "RShoulder",
            "RWrist": "RElbow",
            "LShoulder": "Neck",
            "LElbow": "LShoulder",
            "LWrist": "LElbow",
            "MidHip": "Neck",
            "RHip": "MidHip",
            "RKnee": "RHip",
            "RAnkle": "RKnee",
            "LHip": "MidHip",
            "LKnee": "LHip",
            "LAnkle": "LKnee",
            "REye": "Nose",
            "LEye": "Nose",
            "REar": "REye",
            "LEar": "LEye",
            "LBigToe": "LAnkle",
            "LSmallToe": "LAnkle",
            "LHeel": "LAnkle",
            "RBigToe": "RAnkle",
            "RSmallToe": "RAnkle",
            "RHeel": "RAnkle",
        },
    )
)
"""OpenPose BODY_25."""

HALPE26 = register_layout(
    named_layout(
        "halpe26",
        {
            "Nose": "Neck",
            "LEye": "Nose",
            "REye": "Nose",
            "LEar": "LEye",
            "REar": "REye",
            "LShoulder": "Neck",
            "RShoulder": "Neck",
            "LElbow": "LShoulder",
            "RElbow": "RShoulder",
            "LWrist": "LElbow",
            "RWrist": "RElbow",
            "LHip": "Pelvis",
            "RHip": "Pelvis",
            "LKnee": "LHip",
            "RKnee": "RHip",
            "LAnkle": "LKnee",
            "RAnkle": "RKnee",
            "HeadTop": "Nose",
            "Neck": "Pelvis",
            "Pelvis": None,
            "LBigToe": "LAnkle",
            "RBigToe": "RAnkle",
            "LSmallToe": "LAnkle",
            "RSmallToe": "RAnkle",
            "LHeel": "LAnkle",
            "RHeel": "RAnkle",
        },
    )
)
"""AlphaPose Halpe-26 body keypoints."""

BLAZEPOSE33 = register_layout(
    named_layout(
        "blazepose33",
        {
            "Nose": None,
            "LEyeInner": "Nose",
            "LEye": "LEyeInner",
            "LEyeOuter": "LEye",
            "REyeInner": "Nose",
            "REye": "REyeInner",
            "REyeOuter": "REye",
            "LEar": "LEyeOuter",
            "REar": "REyeOuter",
            "LMouth": "Nose",
            "RMouth": "Nose",
            "LShoulder": "Nose",
            "RShoulder": "Nose",
            "LElbow": "LShoulder",
            "RElbow": "RShoulder",
            "LWrist": "LElbow",
            "RWrist": "RElbow",
            "LPinky": "LWrist",
            "RPinky": "RWrist",
            "LIndex": "LWrist",
            "RIndex": "RWrist",
            "LThumb": "LWrist",
            "RThumb": "RWrist",
            "LHip": "LShoulder",
            "RHip": "RShoulder",
            "LKnee": "LHip",
            "RKnee": "RHip",
            "LAnkle": "LKnee",
            "RAnkle": "RKnee",
            "LHeel": "LAnkle",
            "RHeel": "RAnkle",
            "LFootIndex": "LAnkle",
            "RFootIndex": "RAnkle",
        },
    )
)
"""MediaPipe BlazePose's 33 landmarks (subject's left = "L")."""

TO_H36M17 = {
    "Hip": ("LHip", "RHip"),
    "RHip": ("RHip",),
    "RKnee": ("RKnee",),
    "RFoot": ("RAnkle",),
    "LHip": ("LHip",),
    "LKnee": ("LKnee",),
    "LFoot": ("LAnkle",),
    "Spine": ("LHip", "RHip", "LShoulder", "RShoulder"),
    "Thorax": ("LShoulder", "RShoulder"),
    "Neck/Nose": ("Nose",),
    "Head": ("LEye", "REye"),
    "LShoulder": ("LShoulder",),
    "LElbow": ("LElbow",),
    "LWrist": ("LWrist",),
    "RShoulder": ("RShoulder",),
    "RElbow": ("RElbow",),
    "RWrist": ("RWrist",),
}
"""H36M-17 joint <- the detector joints it is the mean of."""

for _layout in (COCO17, OPENPOSE25, BLAZEPOSE33):
    register_converter(_layout, H36M17, averaging_converter(_layout, H36M17, TO_H36M17))
register_converter(
    HALPE26, H36M17, averaging_converter(HALPE26, H36M17, dict(TO_H36M17, Head=("HeadTop",)))
)
