"""MPI-INF-3DHP: the 17-joint layout of the test set (``annot2``, ``annot3``, ``univ_annot3``)
and its converters to and from H36M-17.

The test set's joints are the dataset's "relevant" 17, chosen to match the Human3.6M skeleton
that ``univ_annot3`` is retargeted to, so the correspondence used when a lifter trained on
Human3.6M is scored here is one-to-one (a permutation, exact both ways):

===============  ==============  =============================================
H36M-17          MPI-INF-3DHP    note
===============  ==============  =============================================
Hip              pelvis          root of both skeletons
Spine            spine           mid-torso
Thorax           neck            base of the neck
Neck/Nose        head            head centre (H36M-17's joint between thorax and head top)
Head             head_top        top of the head
L/R Shoulder ..  left/right_..   shoulder, elbow, wrist, hip, knee; H36M "Foot" is the ankle
===============  ==============  =============================================
"""

from __future__ import annotations

from posemoe.layouts.base import (
    JointLayout,
    register_converter,
    register_layout,
    selecting_converter,
)
from posemoe.layouts.h36m import H36M17

_JOINTS = (
    "head_top",
    "neck",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "pelvis",
    "spine",
    "head",
)
# The chain pelvis -> spine -> neck -> head -> head_top carries the head; limbs hang from the
# neck (arms) and the pelvis (legs).
_PARENTS = {
    "head_top": "head",
    "neck": "spine",
    "right_shoulder": "neck",
    "right_elbow": "right_shoulder",
    "right_wrist": "right_elbow",
    "left_shoulder": "neck",
    "left_elbow": "left_shoulder",
    "left_wrist": "left_elbow",
    "right_hip": "pelvis",
    "right_knee": "right_hip",
    "right_ankle": "right_knee",
    "left_hip": "pelvis",
    "left_knee": "left_hip",
    "left_ankle": "left_knee",
    "pelvis": None,
    "spine": "pelvis",
    "head": "neck",
}
_LEFT = tuple(i for i, name in enumerate(_JOINTS) if name.startswith("left_"))

MPI_INF_3DHP17 = register_layout(
    JointLayout(
        name="mpi_inf_3dhp17",
        joints=_JOINTS,
        parents=tuple(-1 if _PARENTS[j] is None else _JOINTS.index(_PARENTS[j]) for j in _JOINTS),
        left=_LEFT,
        right=tuple(_JOINTS.index("right_" + _JOINTS[i][len("left_") :]) for i in _LEFT),
    )
)
"""The 17 test-set joints of MPI-INF-3DHP in file order; root = pelvis (index 14)."""

H36M17_FROM_MPI = {
    "Hip": "pelvis",
    "RHip": "right_hip",
    "RKnee": "right_knee",
    "RFoot": "right_ankle",
    "LHip": "left_hip",
    "LKnee": "left_knee",
    "LFoot": "left_ankle",
    "Spine": "spine",
    "Thorax": "neck",
    "Neck/Nose": "head",
    "Head": "head_top",
    "LShoulder": "left_shoulder",
    "LElbow": "left_elbow",
    "LWrist": "left_wrist",
    "RShoulder": "right_shoulder",
    "RElbow": "right_elbow",
    "RWrist": "right_wrist",
}
"""H36M-17 joint <- the MPI-INF-3DHP joint at the same body point."""

MPI_FROM_H36M17 = {mpi: h36m for h36m, mpi in H36M17_FROM_MPI.items()}
"""MPI-INF-3DHP joint <- the H36M-17 joint at the same body point (the inverse table)."""

MPI_COMMON14 = tuple(j for j in _JOINTS if j not in ("pelvis", "spine", "head"))
"""The 14 joints of the dataset's own evaluation (no pelvis, spine or head centre), in file order."""

register_converter(
    MPI_INF_3DHP17, H36M17, selecting_converter(MPI_INF_3DHP17, H36M17, H36M17_FROM_MPI)
)
register_converter(
    H36M17, MPI_INF_3DHP17, selecting_converter(H36M17, MPI_INF_3DHP17, MPI_FROM_H36M17)
)
