"""Joint angles of a fitted H36M-17 skeleton, in degrees, per frame.

**Segment frames** (built from joint centres each frame; x anterior, y superior, z the body's right,
as the ISB recommends (Wu et al. 2002, 2005)):

- *pelvis*: z from LHip to RHip, y the Hip-to-Spine direction made normal to z, x = y cross z.
  The ISB pelvis rests on the iliac spines (ASIS, PSIS), which 17 joints do not have: posemoe's
  pelvis y is the lumbar direction, so its tilt is offset from a marker-based pelvis tilt by a
  constant of the person (about 10 degrees), while its changes over time are comparable.
- *thorax*: z from LShoulder to RShoulder, y the Spine-to-Thorax direction made normal to z (the
  ISB's C7/IJ and T8/PX landmarks are not among the 17 joints).

**Angles** (``<side>`` is ``right`` or ``left``; the lateral direction is outward for each side, so
that one sign convention holds for both):

- ``hip_flexion`` / ``hip_abduction``: the thigh (hip to knee) in the pelvis frame, decomposed as the
  ISB's joint coordinate system orders it (flexion about the pelvis's lateral axis first, then
  abduction about the rotated anterior axis): flexion = atan2(thigh . x, -thigh . y), positive when
  the knee moves forward; abduction = asin(thigh . lateral), positive away from the midline. The
  third ISB angle, internal/external rotation of the thigh, needs the femur's own axes (condyles):
  not measurable from 17 joints, not given.
- ``knee_flexion``: the angle between thigh and shank, 0 = straight, positive flexion. The knee's
  flexion axis is not among the joints, so hyperextension cannot be told from flexion: it reads as
  a small positive angle.
- ``ankle_flexion``: not given. Human3.6M's ``LFoot``/``RFoot`` are the ankle joints; no toe or heel
  point gives the foot a direction to measure dorsi/plantar flexion against (:data:`NOT_MEASURED`).
- ``shoulder_flexion`` / ``shoulder_abduction``: the upper arm (shoulder to elbow) in the thorax frame,
  decomposed like the hip (flexion first, then abduction; positive forward, and away from the
  body); ``shoulder_elevation``: the angle between the upper arm and the thorax's down direction
  (0 hanging, 90 horizontal, 180 overhead) whatever its plane. The ISB's Y-X-Y sequence for the
  humerus needs the arm's axial rotation, which a line from shoulder to elbow does not show; for
  the same reason an arm straight overhead reads as flexion 180, whichever way it went up, and
  flexion is ill-defined while abduction is near 90 (the arm straight out to the side).
- ``elbow_flexion``: the angle between upper arm and forearm, 0 = straight.
- With a ground (its up direction in the joints' frame): ``trunk_tilt`` and ``trunk_lateral_tilt``,
  the Hip-to-Thorax line against the vertical: forward tilt = atan2(trunk . forward, trunk . up),
  positive leaning forward, then lateral tilt = asin(trunk . right), positive leaning to the
  body's right; ``pelvis_tilt``: the pelvis y axis against the vertical the same way, positive
  anterior (the top of the pelvis forward); ``pelvis_obliquity`` = asin(pelvis z . up), positive
  with the right hip higher. Forward and right are the pelvis's, turned level on the floor.

An angle is NaN in every frame where one of the joints it reads was not seen
(:func:`posemoe.inference.unseen.unseen_joints`: outside the image, missing or barely seen, then
filled in by the pipeline) or the person was not detected at all: a filled-in joint is a guess, and
an angle computed from it would look like a measurement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from posemoe.errors import UserError
from posemoe.layouts import H36M17, JointLayout

if TYPE_CHECKING:
    from posemoe.inference.result import PersonResult

SIDES = {"right": "R", "left": "L"}
PELVIS = ("Hip", "RHip", "LHip", "Spine")
THORAX = ("Spine", "Thorax", "RShoulder", "LShoulder")

NOT_MEASURED = {
    "ankle_flexion": "H36M-17 ends at the ankle (LFoot/RFoot are ankle joints): no toe or heel point gives the foot "
    "a direction to measure dorsi/plantar flexion against",
    "hip_rotation": "the thigh's axial rotation needs the femur's own axes (knee condyles), which 17 joints lack",
    "shoulder_rotation": "the upper arm's axial rotation is not shown by a line from shoulder to elbow",
}

DEFINITIONS = {
    "hip_flexion": "thigh (hip->knee) in the pelvis frame, flexion first: atan2(thigh.anterior, -thigh.superior); "
    "+ knee forward",
    "hip_abduction": "then asin(thigh.lateral); + away from the midline",
    "knee_flexion": "angle between thigh and shank; 0 straight, + flexion (hyperextension reads as flexion)",
    "shoulder_flexion": "upper arm (shoulder->elbow) in the thorax frame, flexion first: "
    "atan2(arm.anterior, -arm.superior); + forward",
    "shoulder_abduction": "then asin(arm.lateral); + away from the body",
    "shoulder_elevation": "angle between the upper arm and the thorax's down direction; 0 hanging, 180 overhead",
    "elbow_flexion": "angle between upper arm and forearm; 0 straight, + flexion",
    "trunk_tilt": "Hip->Thorax against the ground's vertical, forward first: atan2(trunk.forward, trunk.up); "
    "+ leaning forward",
    "trunk_lateral_tilt": "then asin(trunk.right); + leaning to the body's right",
    "pelvis_tilt": "pelvis superior axis (Hip->Spine) against the vertical, like the trunk; + anterior tilt",
    "pelvis_obliquity": "asin(pelvis LHip->RHip axis . up); + right hip higher",
}
GROUND_ANGLES = ("trunk_tilt", "trunk_lateral_tilt", "pelvis_tilt", "pelvis_obliquity")


def _unit(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 1e-12, v / norm, np.nan)


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=-1)


def _normal_to(v: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """``v`` made normal to the unit ``axis`` and unit length."""
    return _unit(v - _dot(v, axis)[..., None] * axis)


def segment_axes(
    joints: np.ndarray, centre: str, top: str, right: str, left: str, layout: JointLayout = H36M17
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(T, J, 3) joints -> the (T, 3) anterior, superior and right unit axes of the segment whose
    right-left line runs ``left`` -> ``right`` and whose superior axis points ``centre`` -> ``top``."""
    p = lambda name: joints[:, layout.index(name)]  # noqa: E731
    z = _unit(p(right) - p(left))
    y = _normal_to(p(top) - p(centre), z)
    return np.cross(y, z), y, z


def _degrees(radians: np.ndarray) -> np.ndarray:
    return np.degrees(radians)


def _flexion_abduction(
    limb: np.ndarray, anterior: np.ndarray, superior: np.ndarray, lateral: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Unit (T, 3) limb direction in a segment frame -> flexion (about the lateral axis, first) and
    abduction (then out of the sagittal plane), degrees."""
    flexion = np.arctan2(_dot(limb, anterior), -_dot(limb, superior))
    abduction = np.arcsin(np.clip(_dot(limb, lateral), -1.0, 1.0))
    return _degrees(flexion), _degrees(abduction)


def _between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Degrees between (T, 3) directions ``a`` and ``b``."""
    return _degrees(np.arctan2(np.linalg.norm(np.cross(a, b), axis=-1), _dot(a, b)))


def _tilts(
    axis: np.ndarray, up: np.ndarray, forward: np.ndarray, right: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A (T, 3) unit axis against the vertical: forward tilt first, then lateral tilt, degrees."""
    return (
        _degrees(np.arctan2(_dot(axis, forward), _dot(axis, up))),
        _degrees(np.arcsin(np.clip(_dot(axis, right), -1.0, 1.0))),
    )


def _limb_angles(
    joints: np.ndarray, layout: JointLayout
) -> dict[str, tuple[np.ndarray, tuple[str, ...]]]:
    """Every angle of the limbs: name -> ((T,) degrees, the joints it reads)."""
    p = lambda name: joints[:, layout.index(name)]  # noqa: E731
    pelvis = segment_axes(joints, "Hip", "Spine", "RHip", "LHip", layout)
    thorax = segment_axes(joints, "Spine", "Thorax", "RShoulder", "LShoulder", layout)
    out: dict[str, tuple[np.ndarray, tuple[str, ...]]] = {}
    for side, s in SIDES.items():
        outward = 1.0 if s == "R" else -1.0
        thigh, shank = _unit(p(f"{s}Knee") - p(f"{s}Hip")), _unit(p(f"{s}Foot") - p(f"{s}Knee"))
        flexion, abduction = _flexion_abduction(thigh, pelvis[0], pelvis[1], outward * pelvis[2])
        out[f"{side}_hip_flexion"] = flexion, (*PELVIS, f"{s}Knee")
        out[f"{side}_hip_abduction"] = abduction, (*PELVIS, f"{s}Knee")
        out[f"{side}_knee_flexion"] = _between(thigh, shank), (f"{s}Hip", f"{s}Knee", f"{s}Foot")
        arm, forearm = (
            _unit(p(f"{s}Elbow") - p(f"{s}Shoulder")),
            _unit(p(f"{s}Wrist") - p(f"{s}Elbow")),
        )
        flexion, abduction = _flexion_abduction(arm, thorax[0], thorax[1], outward * thorax[2])
        out[f"{side}_shoulder_flexion"] = flexion, (*THORAX, f"{s}Elbow")
        out[f"{side}_shoulder_abduction"] = abduction, (*THORAX, f"{s}Elbow")
        out[f"{side}_shoulder_elevation"] = _between(arm, -thorax[1]), (*THORAX, f"{s}Elbow")
        out[f"{side}_elbow_flexion"] = (
            _between(arm, forearm),
            (f"{s}Shoulder", f"{s}Elbow", f"{s}Wrist"),
        )
    return out


def _ground_angles(
    joints: np.ndarray, up: np.ndarray, layout: JointLayout
) -> dict[str, tuple[np.ndarray, tuple[str, ...]]]:
    """Trunk and pelvis against the vertical ``up`` (3,), in the joints' frame."""
    p = lambda name: joints[:, layout.index(name)]  # noqa: E731
    _, superior, pelvis_right = segment_axes(joints, "Hip", "Spine", "RHip", "LHip", layout)
    up = np.broadcast_to(up, pelvis_right.shape)
    right = _normal_to(pelvis_right, up)
    forward = np.cross(up, right)
    trunk, lateral = _tilts(_unit(p("Thorax") - p("Hip")), up, forward, right)
    tilt, _ = _tilts(superior, up, forward, right)
    obliquity = _degrees(np.arcsin(np.clip(_dot(pelvis_right, up), -1.0, 1.0)))
    return {
        "trunk_tilt": (trunk, ("Hip", "Thorax", "RHip", "LHip")),
        "trunk_lateral_tilt": (lateral, ("Hip", "Thorax", "RHip", "LHip")),
        "pelvis_tilt": (tilt, PELVIS),
        "pelvis_obliquity": (obliquity, ("RHip", "LHip")),
    }


@dataclass(frozen=True)
class JointAngles:
    """One person's angles: ``degrees`` (T, A) under ``names`` (NaN where a joint read was unseen
    or the person not detected), ``hidden`` (T, A) True where that is why it is NaN, ``fps``."""

    names: tuple[str, ...]
    degrees: np.ndarray
    hidden: np.ndarray
    fps: float

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.names:
            raise UserError(f"no angle {name!r}; these were measured: {', '.join(self.names)}")
        return self.degrees[:, self.names.index(name)]

    def definition(self, name: str) -> str:
        """The definition and sign convention of ``name`` (side prefix dropped)."""
        bare = name.split("_", 1)[1] if name.split("_", 1)[0] in SIDES else name
        return DEFINITIONS[bare]

    def not_measured(self) -> dict[str, str]:
        """Angles left out, with the reason: always the ankles; the trunk and pelvis without a ground."""
        missing = dict(NOT_MEASURED)
        if "trunk_tilt" not in self.names:
            missing |= {
                name: "no ground plane (posemoe infer --world, --bvh or --angles fits one from foot contacts)"
                for name in GROUND_ANGLES
            }
        return missing


def joint_angles(
    joints_3d: np.ndarray,
    *,
    fps: float,
    up: np.ndarray | None = None,
    unseen: np.ndarray | None = None,
    visible: np.ndarray | None = None,
    layout: JointLayout = H36M17,
) -> JointAngles:
    """(T, J, 3) joints of an H36M-17 skeleton (metres, any right-handed frame: camera or world) ->
    :class:`JointAngles`. ``up`` (3,): the ground's up direction in the same frame (trunk and pelvis
    tilts are given only with it); ``unseen`` (T, J) and ``visible`` (T,) make angles NaN (module doc)."""
    joints = np.asarray(joints_3d, np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (layout.num_joints, 3):
        raise UserError(
            f"expected joints of shape (T, {layout.num_joints}, 3) in the {layout.name} layout, "
            f"got {joints.shape}"
        )
    missing = sorted(
        {
            *PELVIS,
            *THORAX,
            "RKnee",
            "RFoot",
            "RElbow",
            "RWrist",
            "LKnee",
            "LFoot",
            "LElbow",
            "LWrist",
        }
        - set(layout.joints)
    )
    if missing:
        raise UserError(f"expected the {H36M17.name} joint names, {layout.name} lacks {missing}")
    frames = len(joints)
    hidden_joints = (
        np.zeros((frames, layout.num_joints), bool) if unseen is None else np.asarray(unseen, bool)
    )
    if hidden_joints.shape != (frames, layout.num_joints):
        raise UserError(
            f"expected unseen flags (T, J) = {(frames, layout.num_joints)}, got {hidden_joints.shape}"
        )
    if visible is not None:
        hidden_joints = hidden_joints | ~np.asarray(visible, bool)[:, None]
    angles = _limb_angles(joints, layout)
    if up is not None:
        up = np.asarray(up, np.float64)
        if up.shape != (3,) or not np.linalg.norm(up) > 0:
            raise UserError(
                f"expected the ground's up direction as a (3,) non-zero vector, got {up!r}"
            )
        angles |= _ground_angles(joints, up / np.linalg.norm(up), layout)
    names = tuple(angles)
    degrees = np.stack([angles[n][0] for n in names], axis=1)
    hidden = np.stack(
        [hidden_joints[:, [layout.index(j) for j in angles[n][1]]].any(axis=1) for n in names],
        axis=1,
    )
    return JointAngles(names, np.where(hidden, np.nan, degrees), hidden, float(fps))


def person_angles(person: PersonResult, fps: float, layout: JointLayout = H36M17) -> JointAngles:
    """The angles of a :class:`~posemoe.inference.result.PersonResult`: from its fitted skeleton
    (``joints_3d`` when it has none), the ground's up from its ``world_from_camera`` when it has one."""
    joints = person.fitted if getattr(person, "fitted", None) is not None else person.joints_3d
    world = getattr(person, "world_from_camera", None)
    up = (
        None if world is None else np.asarray(world, np.float64)[1, :3]
    )  # the world's y axis, camera frame
    return joint_angles(
        joints,
        fps=fps,
        up=up,
        unseen=getattr(person, "unseen", None),
        visible=person.visible,
        layout=layout,
    )
