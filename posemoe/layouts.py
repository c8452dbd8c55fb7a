"""Joint layouts as data: names, parents and left/right pairs, plus converters.

Every index list in the package comes from these tables; nothing else hard-codes joint numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class JointLayout:
    """A skeleton definition.

    ``parents[j]`` is the parent of joint ``j`` (-1 for the root); ``left``/``right`` are
    paired joints, ``left[i]`` mirroring ``right[i]``.
    """

    name: str
    joints: tuple[str, ...]
    parents: tuple[int, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.parents) != len(self.joints):
            raise ValueError(f"{self.name}: {len(self.joints)} joints but {len(self.parents)} parents")
        if len(self.left) != len(self.right):
            raise ValueError(f"{self.name}: left and right lists differ in length")

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    @property
    def root(self) -> int:
        return self.parents.index(-1)

    @property
    def bones(self) -> list[tuple[int, int]]:
        """(parent, child) pairs, one per non-root joint."""
        return [(p, j) for j, p in enumerate(self.parents) if p >= 0]

    def flip_permutation(self) -> np.ndarray:
        """Index array that swaps left and right joints: ``x_mirrored = x[..., perm, :]``."""
        perm = np.arange(self.num_joints)
        perm[list(self.left)] = self.right
        perm[list(self.right)] = self.left
        return perm

    def index(self, joint: str) -> int:
        return self.joints.index(joint)


H36M17 = JointLayout(
    name="h36m17",
    joints=(
        "Hip", "RHip", "RKnee", "RFoot", "LHip", "LKnee", "LFoot", "Spine", "Thorax",
        "Neck/Nose", "Head", "LShoulder", "LElbow", "LWrist", "RShoulder", "RElbow", "RWrist",
    ),
    parents=(-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15),
    left=(4, 5, 6, 11, 12, 13),
    right=(1, 2, 3, 14, 15, 16),
)
"""The 17-joint Human3.6M layout used by VideoPose3D and most lifting work. Root = pelvis."""

H36M32 = JointLayout(
    name="h36m32",
    joints=(
        "Hips", "RightUpLeg", "RightLeg", "RightFoot", "RightToeBase", "RightToeSite",
        "LeftUpLeg", "LeftLeg", "LeftFoot", "LeftToeBase", "LeftToeSite", "Spine", "Spine1",
        "Neck", "Head", "HeadSite", "LeftShoulder", "LeftArm", "LeftForeArm", "LeftHand",
        "LeftHandThumb", "LeftThumbSite", "LeftWristEnd", "LeftWristSite", "RightShoulder",
        "RightArm", "RightForeArm", "RightHand", "RightHandThumb", "RightThumbSite",
        "RightWristEnd", "RightWristSite",
    ),
    parents=(-1, 0, 1, 2, 3, 4, 0, 6, 7, 8, 9, 0, 11, 12, 13, 14, 12, 16, 17, 18, 19, 20, 19,
             22, 12, 24, 25, 26, 27, 28, 27, 30),
    left=(6, 7, 8, 9, 10, 16, 17, 18, 19, 20, 21, 22, 23),
    right=(1, 2, 3, 4, 5, 24, 25, 26, 27, 28, 29, 30, 31),
)
"""The 32-joint Human3.6M mocap skeleton of ``data_3d_h36m.npz``."""

COCO17 = JointLayout(
    name="coco17",
    joints=(
        "Nose", "LEye", "REye", "LEar", "REar", "LShoulder", "RShoulder", "LElbow", "RElbow",
        "LWrist", "RWrist", "LHip", "RHip", "LKnee", "RKnee", "LAnkle", "RAnkle",
    ),
    parents=(-1, 0, 0, 1, 2, 0, 0, 5, 6, 7, 8, 5, 6, 11, 12, 13, 14),
    left=(1, 3, 5, 7, 9, 11, 13, 15),
    right=(2, 4, 6, 8, 10, 12, 14, 16),
)
"""The COCO keypoint layout (MMPose, rtmlib, Ultralytics). It has no pelvis; the tree is rooted at
the nose, shoulders hang from it and hips from the shoulders, so every joint has one bone."""

def _named_layout(name: str, tree: dict[str, str | None]) -> JointLayout:
    """A layout from ``{joint: parent or None}`` in index order; left/right pairs come from
    names ("L" + X mirrors "R" + X)."""
    joints = tuple(tree)
    pairs = [(joints.index(j), joints.index("R" + j[1:])) for j in joints if j.startswith("L") and "R" + j[1:] in tree]
    return JointLayout(name=name, joints=joints, parents=tuple(-1 if p is None else joints.index(p) for p in tree.values()),
                       left=tuple(a for a, _ in pairs), right=tuple(b for _, b in pairs))


_FEET = {"BigToe": "Ankle", "SmallToe": "Ankle", "Heel": "Ankle"}

OPENPOSE25 = _named_layout("openpose25", {
    "Nose": "Neck", "Neck": None, "RShoulder": "Neck", "RElbow": "RShoulder", "RWrist": "RElbow",
    "LShoulder": "Neck", "LElbow": "LShoulder", "LWrist": "LElbow", "MidHip": "Neck", "RHip": "MidHip",
    "RKnee": "RHip", "RAnkle": "RKnee", "LHip": "MidHip", "LKnee": "LHip", "LAnkle": "LKnee",
    "REye": "Nose", "LEye": "Nose", "REar": "REye", "LEar": "LEye",
    "LBigToe": "LAnkle", "LSmallToe": "LAnkle", "LHeel": "LAnkle", "RBigToe": "RAnkle", "RSmallToe": "RAnkle",
    "RHeel": "RAnkle",
})
"""OpenPose BODY_25."""

HALPE26 = _named_layout("halpe26", {
    "Nose": "Neck", "LEye": "Nose", "REye": "Nose", "LEar": "LEye", "REar": "REye", "LShoulder": "Neck",
    "RShoulder": "Neck", "LElbow": "LShoulder", "RElbow": "RShoulder", "LWrist": "LElbow", "RWrist": "RElbow",
    "LHip": "Pelvis", "RHip": "Pelvis", "LKnee": "LHip", "RKnee": "RHip", "LAnkle": "LKnee", "RAnkle": "RKnee",
    "HeadTop": "Nose", "Neck": "Pelvis", "Pelvis": None, "LBigToe": "LAnkle", "RBigToe": "RAnkle",
    "LSmallToe": "LAnkle", "RSmallToe": "RAnkle", "LHeel": "LAnkle", "RHeel": "RAnkle",
})
"""AlphaPose Halpe-26 body keypoints."""

BLAZEPOSE33 = _named_layout("blazepose33", {
    "Nose": None, "LEyeInner": "Nose", "LEye": "LEyeInner", "LEyeOuter": "LEye", "REyeInner": "Nose",
    "REye": "REyeInner", "REyeOuter": "REye", "LEar": "LEyeOuter", "REar": "REyeOuter", "LMouth": "Nose",
    "RMouth": "Nose", "LShoulder": "Nose", "RShoulder": "Nose", "LElbow": "LShoulder", "RElbow": "RShoulder",
    "LWrist": "LElbow", "RWrist": "RElbow", "LPinky": "LWrist", "RPinky": "RWrist", "LIndex": "LWrist",
    "RIndex": "RWrist", "LThumb": "LWrist", "RThumb": "RWrist", "LHip": "LShoulder", "RHip": "RShoulder",
    "LKnee": "LHip", "RKnee": "RHip", "LAnkle": "LKnee", "RAnkle": "RKnee", "LHeel": "LAnkle", "RHeel": "RAnkle",
    "LFootIndex": "LAnkle", "RFootIndex": "RAnkle",
})
"""MediaPipe BlazePose's 33 landmarks (subject's left = "L")."""

# H36M-17 joints as averages of named joints of the 2D detector layouts. Approximations: the
# pelvis is mid-hip, the thorax mid-shoulder, the spine halfway between them, "Neck/Nose" the
# nose and the head mid-eye (Halpe: its head-top point).
_TO_H36M17 = {
    "Hip": ("LHip", "RHip"), "RHip": ("RHip",), "RKnee": ("RKnee",), "RFoot": ("RAnkle",),
    "LHip": ("LHip",), "LKnee": ("LKnee",), "LFoot": ("LAnkle",),
    "Spine": ("LHip", "RHip", "LShoulder", "RShoulder"), "Thorax": ("LShoulder", "RShoulder"),
    "Neck/Nose": ("Nose",), "Head": ("LEye", "REye"), "LShoulder": ("LShoulder",), "LElbow": ("LElbow",),
    "LWrist": ("LWrist",), "RShoulder": ("RShoulder",), "RElbow": ("RElbow",), "RWrist": ("RWrist",),
}


def to_h36m17_weights(source: JointLayout) -> np.ndarray:
    """(17, J_source) averaging weights: ``h36m = weights @ source`` over the joint axis."""
    recipe = dict(_TO_H36M17, Head=("HeadTop",)) if source.name == "halpe26" else _TO_H36M17
    weights = np.zeros((H36M17.num_joints, source.num_joints), np.float32)
    for i, joint in enumerate(H36M17.joints):
        for name in recipe[joint]:
            weights[i, source.index(name)] = 1.0 / len(recipe[joint])
    return weights


# H36M-17 joint <- H36M-32 joint of the same body point (shoulders re-attach to the thorax).
_H36M32_TO_17 = {
    "Hip": "Hips", "RHip": "RightUpLeg", "RKnee": "RightLeg", "RFoot": "RightFoot",
    "LHip": "LeftUpLeg", "LKnee": "LeftLeg", "LFoot": "LeftFoot", "Spine": "Spine1",
    "Thorax": "Neck", "Neck/Nose": "Head", "Head": "HeadSite", "LShoulder": "LeftArm",
    "LElbow": "LeftForeArm", "LWrist": "LeftHand", "RShoulder": "RightArm",
    "RElbow": "RightForeArm", "RWrist": "RightHand",
}

LAYOUTS: dict[str, JointLayout] = {layout.name: layout for layout in (H36M17, H36M32, COCO17, OPENPOSE25, HALPE26, BLAZEPOSE33)}


def get_layout(name: str) -> JointLayout:
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ValueError(f"unknown joint layout {name!r}; known: {sorted(LAYOUTS)}") from None


def h36m32_to_h36m17_indices() -> np.ndarray:
    """Indices into the 32-joint mocap array that give the 17-joint layout."""
    return np.array([H36M32.index(_H36M32_TO_17[name]) for name in H36M17.joints])


def convert(points: np.ndarray, source: JointLayout, target: JointLayout) -> np.ndarray:
    """Convert ``(..., J_source, C)`` keypoints to ``(..., J_target, C)``.

    From the 2D detector layouts to H36M-17, coordinates are averaged (see ``_TO_H36M17``) and a
    confidence channel (C = 3) takes the lowest confidence of the joints averaged.
    """
    if points.shape[-2] != source.num_joints:
        raise ValueError(
            f"expected keypoints with {source.num_joints} joints ({source.name}), "
            f"got shape {points.shape}"
        )
    if source == target:
        return points
    if (source, target) == (H36M32, H36M17):
        return points[..., h36m32_to_h36m17_indices(), :]
    if target == H36M17 and source in (COCO17, OPENPOSE25, HALPE26, BLAZEPOSE33):
        weights = to_h36m17_weights(source)
        out = np.einsum("kj,...jc->...kc", weights, points[..., :2].astype(np.float32))
        if points.shape[-1] == 2:
            return out
        conf = np.where(weights > 0, points[..., None, :, 2], np.inf).min(-1)
        return np.concatenate([out, conf[..., None].astype(np.float32)], -1)
    raise ValueError(f"no converter from {source.name} to {target.name}")
