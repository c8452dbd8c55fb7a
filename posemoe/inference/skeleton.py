"""A fitted skeleton for one tracked person: fixed bone lengths, and joint rotations by inverse kinematics.

Lifted 3D joints come one pose per frame, so a person's bones stretch and shrink over a track.
:func:`fit_skeleton` holds them fixed:

- **Bone lengths**: per bone, the median of its lifted length over confident frames (both ends
  at or above ``min_confidence`` in 2D and the person detected); a left bone and its right
  mirror share the mean of their two medians.
- **Girdles**: a joint with several children (Hip: both hips and the spine; Thorax: the neck and
  both shoulders) turns them as one rigid body in any rotation-based skeleton (BVH, glTF, FBX), so
  their shape is held fixed too: the median of each child's direction in a frame of the girdle,
  made left/right symmetric. Each frame's girdle is the rotation that best fits the lifted
  children (Kabsch).
- **Joints** are re-placed from the root outwards: a bone below a single-child joint keeps its
  lifted direction and takes its fixed length; girdle bones follow the fitted girdle.

**Rotations.** The rest pose is a T-pose in a y-up frame: x is the body's left, y up, z the way
the body faces (BVH files conventionally face +z), with the girdles' fitted shape.
:func:`inverse_kinematics` gives local rotation matrices (T, J, 3, 3) such that forward kinematics
of the rest offsets reproduces the fitted joints exactly; the root's rotation takes the rest frame
into the camera frame. Twist: 17 joints do not show how a limb turns about its own axis, so a
single-child joint's local rotation is the smallest rotation (a swing, no twist) that takes its
rest bone onto the fitted one in its parent's frame. Thighs therefore take their twist from the
pelvis (the plane of the hips), upper arms and the neck from the chest (the plane of the
shoulders), shins and forearms from the bone above. Leaf joints (feet, wrists, head) keep the
identity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posemoe.errors import UserError
from posemoe.io.bvh import compose
from posemoe.layouts import H36M17, JointLayout

# Girdles: the joint with several children -> (its right child, left child, middle child). The girdle
# frame is x = unit(left - right), y = the middle child's direction made orthogonal to x, z = x cross y.
GIRDLES: dict[str, tuple[str, str, str]] = {
    "Hip": ("RHip", "LHip", "Spine"),
    "Thorax": ("RShoulder", "LShoulder", "Neck/Nose"),
}

# Rest (T-pose) direction of each bone below a single-child joint, named by the bone's child joint.
REST_DIRECTIONS: dict[str, tuple[float, float, float]] = {
    "RKnee": (0, -1, 0),
    "RFoot": (0, -1, 0),
    "LKnee": (0, -1, 0),
    "LFoot": (0, -1, 0),
    "Thorax": (0, 1, 0),
    "Head": (0, 1, 0),
    "LElbow": (1, 0, 0),
    "LWrist": (1, 0, 0),
    "RElbow": (-1, 0, 0),
    "RWrist": (-1, 0, 0),
}

ANKLE_FRACTION = (
    0.039  # ankle height as a fraction of stature (Winter, Biomechanics of Human Movement)
)
_MIRROR = np.array([-1.0, 1.0, 1.0])  # left <-> right in a girdle frame (x = the body's left)


@dataclass(frozen=True)
class SkeletonFit:
    """One person's fitted skeleton. ``lengths`` (J,) metres of the bone ending at each joint (0 for
    the root); ``offsets`` (J, 3) rest-pose offsets from the parent, metres, rest frame (x left, y up,
    z forward); ``fitted`` (T, J, 3) metres, camera frame, root-relative; ``rotations`` (T, J, 3, 3)
    local rotations (the root's maps the rest frame into the camera frame); ``raw_cv`` (J,) the
    lifted bone lengths' coefficient of variation over the frames where the person was detected
    (nan for the root)."""

    layout: JointLayout
    lengths: np.ndarray
    offsets: np.ndarray
    fitted: np.ndarray
    rotations: np.ndarray
    raw_cv: np.ndarray

    @property
    def stature(self) -> float:
        """Standing height in metres: rest pose from ankle to head top, plus the ankle height."""
        heights = self.rest_positions()[:, 1]
        return float((heights.max() - heights.min()) / (1.0 - ANKLE_FRACTION))

    def rest_positions(self) -> np.ndarray:
        """(J, 3) joint positions of the rest pose, metres, root at the origin."""
        return forward_kinematics(
            np.broadcast_to(np.eye(3), (1, *self.offsets.shape, 3)), self.offsets, self.layout
        )[0]

    def report(self) -> str:
        """One line: stature and how much the lifted bones varied."""
        cv = self.raw_cv[1:]
        worst = 1 + int(np.nanargmax(cv))
        return (
            f"skeleton: {len(self.fitted)} frames, bone lengths fixed, stature {self.stature:.2f} m; lifted "
            f"bone-length CV median {100 * np.nanmedian(cv):.1f} %, worst {self.layout.joints[worst]} "
            f"{100 * self.raw_cv[worst]:.1f} %"
        )


# ----------------------------------------------------------------------------------------------
# Bone lengths


def bone_lengths(joints: np.ndarray, layout: JointLayout = H36M17) -> np.ndarray:
    """(..., J, 3) joints -> (..., J) length of the bone ending at each joint (0 for the root)."""
    parents = np.array([max(p, 0) for p in layout.parents])
    return np.linalg.norm(joints - joints[..., parents, :], axis=-1)


def bone_length_cv(joints: np.ndarray, layout: JointLayout = H36M17) -> np.ndarray:
    """(T, J, 3) joints -> (J,) standard deviation / mean of each bone's length over the frames
    (nan for the root)."""
    lengths = bone_lengths(np.asarray(joints, np.float64), layout)
    mean = lengths.mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        cv = lengths.std(axis=0) / mean
    cv[layout.root] = np.nan
    return cv


def confident_joints(
    confidence: np.ndarray | None,
    visible: np.ndarray | None,
    shape: tuple[int, int],
    min_confidence: float,
) -> np.ndarray:
    """(T, J) True where a joint's 2D confidence is at least ``min_confidence`` in a frame with the
    person detected; all True without confidences."""
    ok = np.ones(shape, bool) if confidence is None else np.asarray(confidence) >= min_confidence
    if visible is not None:
        ok = ok & np.asarray(visible, bool)[:, None]
    return ok


def robust_bone_lengths(
    joints: np.ndarray, ok: np.ndarray, layout: JointLayout = H36M17
) -> np.ndarray:
    """(J,) metres: each bone's median length over the frames where both its ends are ``ok``
    (T, J) (over all frames when there are none), left and right bones averaged."""
    lengths = bone_lengths(joints, layout)
    parents = np.array([max(p, 0) for p in layout.parents])
    both = ok & ok[:, parents]
    out = np.array(
        [
            np.median(lengths[both[:, j], j] if both[:, j].any() else lengths[:, j])
            for j in range(layout.num_joints)
        ]
    )
    left, right = list(layout.left), list(layout.right)
    out[left] = out[right] = 0.5 * (out[left] + out[right])
    out[layout.root] = 0.0
    return out


# ----------------------------------------------------------------------------------------------
# Girdles


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def girdle_axes(joints: np.ndarray, girdle: str, layout: JointLayout = H36M17) -> np.ndarray:
    """(T, 3, 3) rows: the girdle frame's x (the body's left), y (towards the middle child) and
    z (forward) axes, in the joints' frame."""
    right, left, middle = (layout.index(n) for n in GIRDLES[girdle])
    x = _unit(joints[:, left] - joints[:, right])
    v = joints[:, middle] - joints[:, layout.index(girdle)]
    y = _unit(v - np.sum(v * x, axis=-1, keepdims=True) * x)
    return np.stack([x, y, np.cross(x, y)], axis=1)


def girdle_directions(
    joints: np.ndarray, ok: np.ndarray, girdle: str, layout: JointLayout = H36M17
) -> np.ndarray:
    """(3, 3) unit directions of the girdle's right, left and middle child in the girdle frame (x
    left, y up, z forward): the median over frames where all four joints are ``ok`` (T, J), made
    left/right symmetric."""
    centre = layout.index(girdle)
    children = [layout.index(n) for n in GIRDLES[girdle]]
    frames = ok[:, [centre, *children]].all(axis=1)
    frames = frames if frames.any() else np.ones(len(joints), bool)
    axes = girdle_axes(joints[frames], girdle, layout)
    local = np.einsum(
        "tij,tkj->tki", axes, _unit(joints[frames][:, children] - joints[frames][:, [centre]])
    )
    right, left, middle = _unit(np.median(local, axis=0))
    left = _unit(left + _MIRROR * right)
    middle = _unit(middle * np.array([0.0, 1.0, 1.0]))
    return np.stack([_MIRROR * left, left, middle])


def kabsch(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(K, 3) source vectors, (T, K, 3) targets -> (T, 3, 3) proper rotations R minimising
    sum |R s_k - t_k|^2."""
    h = np.einsum("ki,tkj->tij", source, target)
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(np.einsum("tji,tkj->tik", vt, u)))
    fix = np.broadcast_to(np.eye(3), h.shape).copy()
    fix[:, 2, 2] = np.where(d == 0, 1.0, d)
    return np.einsum("tji,tjk,tlk->til", vt, fix, u)


# ----------------------------------------------------------------------------------------------
# Rest pose, re-fitting, kinematics


def rest_offsets(
    lengths: np.ndarray, girdles: dict[str, np.ndarray], layout: JointLayout = H36M17
) -> np.ndarray:
    """(J, 3) T-pose offsets from each joint's parent, metres, rest frame (x left, y up, z forward):
    girdle children along ``girdles[name]`` (3, 3) directions, other bones along
    :data:`REST_DIRECTIONS`."""
    directions = {name: np.asarray(d, np.float64) for name, d in REST_DIRECTIONS.items()}
    for girdle, units in girdles.items():
        directions.update(zip(GIRDLES[girdle], units))
    missing = [n for j, n in enumerate(layout.joints) if j != layout.root and n not in directions]
    if missing:
        raise UserError(
            f"expected a rest direction for every joint of {layout.name}, found none for {missing}"
        )
    offsets = np.zeros((layout.num_joints, 3))
    for j, name in enumerate(layout.joints):
        if j != layout.root:
            offsets[j] = lengths[j] * directions[name]
    return offsets


def refit_joints(
    joints: np.ndarray, offsets: np.ndarray, layout: JointLayout = H36M17
) -> np.ndarray:
    """(T, J, 3) lifted joints -> the same with the rest pose's bone lengths and girdle shapes: girdles
    rotated to fit the lifted children best, other bones in their lifted directions; root at 0."""
    parents = layout.parents
    fitted = np.zeros_like(joints)
    girdle_rotation = {
        layout.index(g): kabsch(
            offsets[[layout.index(n) for n in GIRDLES[g]]],
            joints[:, [layout.index(n) for n in GIRDLES[g]]] - joints[:, [layout.index(g)]],
        )
        for g in GIRDLES
    }
    for j in range(layout.num_joints):
        p = parents[j]
        if p < 0:
            continue
        if p in girdle_rotation:
            bone = np.einsum("tij,j->ti", girdle_rotation[p], offsets[j])
        else:
            raw = joints[:, j] - joints[:, p]
            degenerate = np.linalg.norm(raw, axis=-1) < 1e-9
            raw[degenerate] = offsets[j]
            bone = np.linalg.norm(offsets[j]) * _unit(raw)
        fitted[:, j] = fitted[:, p] + bone
    return fitted


def swing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(..., 3) unit vectors -> (..., 3, 3) the smallest rotations taking ``a`` onto ``b`` (half a
    turn about an axis normal to ``a`` where ``b = -a``)."""
    a, b = np.broadcast_arrays(a, b)
    v, c = np.cross(a, b), np.sum(a * b, axis=-1)
    opposite = c < -1 + 1e-9
    if opposite.any():  # any axis normal to a: a half turn about it takes a to -a
        helper = np.where(np.abs(a[..., :1]) < 0.9, [1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
        v = np.where(opposite[..., None], _unit(np.cross(a, helper)), v)
    k = np.zeros(v.shape + (3,))
    k[..., 0, 1], k[..., 0, 2], k[..., 1, 2] = -v[..., 2], v[..., 1], -v[..., 0]
    k = k - np.swapaxes(k, -1, -2)
    scale = np.where(opposite, 1.0, 1.0 / np.maximum(1.0 + c, 1e-12))[..., None, None]
    half_turn = np.where(opposite[..., None, None], 2.0, 1.0)  # I + 2 K^2 for a unit axis
    return np.eye(3) + np.where(opposite[..., None, None], 0.0, k) + half_turn * scale * (k @ k)


def inverse_kinematics(
    positions: np.ndarray, offsets: np.ndarray, layout: JointLayout = H36M17
) -> np.ndarray:
    """(T, J, 3) joints with the rest pose's bone lengths -> (T, J, 3, 3) local rotations such that
    :func:`forward_kinematics` of ``offsets`` (J, 3) gives them back. Joints with several children
    fit them by Kabsch, joints with one child swing without twist, leaves keep the identity."""
    frames, count = positions.shape[:2]
    children = [[c for c in range(count) if layout.parents[c] == j] for j in range(count)]
    world = np.empty((frames, count, 3, 3))
    local = np.empty((frames, count, 3, 3))
    for j in range(count):
        p = layout.parents[j]
        above = world[:, p] if p >= 0 else np.broadcast_to(np.eye(3), (frames, 3, 3))
        kids = children[j]
        if not kids:
            world[:, j], local[:, j] = above, np.eye(3)
            continue
        if len(kids) == 1:
            bone = np.einsum("tji,tj->ti", above, positions[:, kids[0]] - positions[:, j])
            local[:, j] = swing(_unit(offsets[kids[0]]), _unit(bone))
            world[:, j] = above @ local[:, j]
        else:
            world[:, j] = kabsch(offsets[kids], positions[:, kids] - positions[:, [j]])
            local[:, j] = np.swapaxes(above, 1, 2) @ world[:, j]
    return local


def forward_kinematics(
    rotations: np.ndarray,
    offsets: np.ndarray,
    layout: JointLayout = H36M17,
    root: np.ndarray | None = None,
) -> np.ndarray:
    """(T, J, 3, 3) local rotations, (J, 3) offsets, optional (T, 3) root positions -> (T, J, 3)
    joint positions (root at 0 without ``root``)."""
    translations = np.broadcast_to(offsets, (len(rotations), *offsets.shape)).copy()
    translations[:, layout.root] = 0.0 if root is None else root
    return compose(np.asarray(layout.parents), rotations, translations)[0]


def fit_skeleton(
    joints_3d: np.ndarray,
    *,
    confidence: np.ndarray | None = None,
    visible: np.ndarray | None = None,
    layout: JointLayout = H36M17,
    min_confidence: float = 0.5,
) -> SkeletonFit:
    """(T, J, 3) lifted joints (metres, root-relative), with optional 2D ``confidence`` (T, J) and
    ``visible`` (T,) -> a :class:`SkeletonFit`: fixed bone lengths, re-fitted joints, IK rotations."""
    joints = np.asarray(joints_3d, np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (layout.num_joints, 3) or len(joints) == 0:
        raise UserError(
            f"expected joints of shape (T, {layout.num_joints}, 3) in the {layout.name} layout, "
            f"got {joints.shape}"
        )
    if not np.isfinite(joints).all():
        raise UserError("expected finite 3D joints, found NaN or infinity")
    missing = [n for g, names in GIRDLES.items() for n in (g, *names) if n not in layout.joints]
    if missing:
        raise UserError(
            f"expected the {H36M17.name} layout (or one with its joint names), {layout.name} "
            f"lacks {missing}"
        )
    joints = joints - joints[:, [layout.root]]
    ok = confident_joints(confidence, visible, joints.shape[:2], min_confidence)
    lengths = robust_bone_lengths(joints, ok, layout)
    offsets = rest_offsets(
        lengths, {g: girdle_directions(joints, ok, g, layout) for g in GIRDLES}, layout
    )
    fitted = refit_joints(joints, offsets, layout)
    seen = np.ones(len(joints), bool) if visible is None else np.asarray(visible, bool)
    raw_cv = bone_length_cv(joints[seen] if seen.any() else joints, layout)
    return SkeletonFit(
        layout, lengths, offsets, fitted, inverse_kinematics(fitted, offsets, layout), raw_cv
    )
