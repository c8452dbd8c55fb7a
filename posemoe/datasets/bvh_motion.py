"""Motion capture BVH files as Human3.6M-17 training motion: world joint positions in metres,
z up, right-handed, at a chosen frame rate.

Each file goes through resampling in time (joint rotations interpolated along the shortest
arc, translations linearly, so that bones keep their lengths), forward kinematics
(:mod:`posemoe.io.bvh`), a joint mapping chosen from its joint names, an axis change and a
unit scale.

Joint mappings (one table per rig; namespace prefixes such as ``mixamorig:`` are ignored):

- ``cmu`` -- the CMU mocap BVH naming, which Mixamo also uses: hips, knees and ankles are
  ``*UpLeg``, ``*Leg`` and ``*Foot``; shoulders, elbows and wrists ``*Arm``, ``*ForeArm``,
  ``*Hand``; Thorax is ``Neck`` (the base of the neck); Neck/Nose is ``Head`` (the top of the
  neck, at the skull base); Head is the top of the head, ``HeadTop_End`` (Mixamo) or the end
  site of ``Head`` (CMU), whichever the file has.
- ``bandai-namco`` -- the game-style rig of the Bandai Namco Research motion datasets:
  ``UpperLeg/LowerLeg/Foot`` and ``UpperArm/LowerArm/Hand`` with ``_L``/``_R``; Thorax is
  ``Neck``. Its ``Head`` joint sits at the top of a short neck bone and its head end site has
  zero length, so Neck/Nose and Head are points fixed to the head, on the axis that continues
  the neck-to-head bone, 0.06 and 0.20 leg lengths (hip to ankle) above the ``Head`` joint:
  about where Human3.6M's points lie relative to its Thorax.
- ``posemoe`` -- the files ``posemoe infer --bvh`` writes (:mod:`posemoe.export.bvh`): the
  H36M-17 tree under its own names (``Neck/Nose`` as ``Neck_Nose``), every point a joint of the
  file, so none of the approximations below applies.

Approximations shared by the other tables:

- Hip (the pelvis centre) is the midpoint of the two hip joints, as it is in Human3.6M.
- Spine is the point halfway along the spine chain (by bone length) from the rig's pelvis
  joint to its neck joint; Human3.6M's Spine point lies about halfway from Hip to Thorax.
- Rig joints are rotation centres of an animation skeleton, not Human3.6M's marker-based joint
  estimates. Game rigs in particular place the hip and shoulder joints closer together than
  Human3.6M does, and their ankle joints higher above the floor.
- Neck/Nose lies on the neck-head axis, whereas Human3.6M's point is slightly in front of it.

Units and axes: the file's y-up axes become z-up by a rotation of +90 degrees about x,
``(x, y, z) -> (x, -z, y)``, a proper rotation, so a right-handed file stays right-handed and
the subject's left stays on the subject's left (``up="z"`` keeps the axes of a z-up file). The
floor and the horizontal origin stay where the file has them. The unit (metres per file unit)
is the one among metres, centimetres, millimetres, inches and the CMU ASF unit (1/0.45 inch)
that makes the skeleton's standing height 1.4-2.0 m; pass ``scale`` for anything else. The
standing height is estimated from bone lengths (so any pose will do): ankle-knee-hip, then
Hip-Spine-Thorax-Neck/Nose-Head, as if upright, plus an ankle height of 0.039 of stature
(Winter, *Biomechanics and Motor Control of Human Movement*).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from posemoe.errors import UserError
from posemoe.io.bvh import BvhMotion, compose, local_rotations, local_translations, read_bvh
from posemoe.layouts import H36M17

# Standing heights accepted as human when guessing the unit, metres.
HUMAN_HEIGHT_M = (1.4, 2.0)
# Metres per file unit that BVH files are written in.
UNITS_M = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254, "cmu-asf": 0.0254 / 0.45}
_ANKLE_HEIGHT = 0.039  # ankle height as a fraction of stature (Winter)


@dataclass(frozen=True)
class MotionClip:
    """One clip of H36M-17 world motion: ``positions`` (T, 17, 3) float32, metres, z up."""

    name: str
    fps: float
    positions: np.ndarray


# ----------------------------------------------------------------------------------------------
# Body points: how one H36M-17 joint is made from rig joints


@dataclass(frozen=True)
class Blend:
    """A weighted mean of rig joints (one joint, a midpoint, an interpolation)."""

    joints: tuple[str, ...]
    weights: tuple[float, ...]

    def needs(self) -> tuple[str, ...]:
        return self.joints

    def locate(self, frame: _RigFrame) -> np.ndarray:
        return sum(w * frame.position(j) for j, w in zip(self.joints, self.weights))


@dataclass(frozen=True)
class AlongChain:
    """The point ``fraction`` of the way, by bone length, along the joint chain from ``start``
    down to its descendant ``end``."""

    start: str
    end: str
    fraction: float

    def needs(self) -> tuple[str, ...]:
        return self.start, self.end

    def locate(self, frame: _RigFrame) -> np.ndarray:
        chain = frame.chain(self.start, self.end)
        points = np.stack([frame.position(j) for j in chain], axis=1)  # (F, K, 3)
        lengths = np.linalg.norm(
            points[0, 1:] - points[0, :-1], axis=-1
        )  # FK: the same every frame
        target = self.fraction * lengths.sum()
        bone = min(int(np.searchsorted(np.cumsum(lengths), target)), len(lengths) - 1)
        along = (target - lengths[:bone].sum()) / max(lengths[bone], 1e-12)
        return points[:, bone] + along * (points[:, bone + 1] - points[:, bone])


@dataclass(frozen=True)
class OnBoneAxis:
    """A point fixed to ``joint``: ``ratio`` leg lengths from it along the direction that
    continues the bone from its parent (the joint's offset, in its own frame)."""

    joint: str
    ratio: float

    def needs(self) -> tuple[str, ...]:
        return (self.joint,)

    def locate(self, frame: _RigFrame) -> np.ndarray:
        index = frame.index(self.joint)
        offset = frame.motion.offsets[index]
        axis = offset / max(np.linalg.norm(offset), 1e-12)
        local = axis * self.ratio * frame.leg_length()
        return frame.positions[:, index] + np.einsum("fij,j->fi", frame.rotations[:, index], local)


@dataclass(frozen=True)
class FirstOf:
    """The first of several ways that the file has all the joints for."""

    options: tuple[Blend | AlongChain | OnBoneAxis, ...]

    def needs(self) -> tuple[str, ...]:
        return self.options[0].needs()

    def usable(self, names: set[str]) -> Blend | AlongChain | OnBoneAxis | None:
        return next((o for o in self.options if set(o.needs()) <= names), None)

    def locate(self, frame: _RigFrame) -> np.ndarray:
        option = self.usable(set(frame.names))
        assert option is not None, "RigMapping.missing() is checked first"
        return option.locate(frame)


BodyPoint = Blend | AlongChain | OnBoneAxis | FirstOf


def joint(name: str) -> Blend:
    return Blend((name,), (1.0,))


def mean(*names: str) -> Blend:
    return Blend(names, tuple(1.0 / len(names) for _ in names))


@dataclass(frozen=True)
class RigMapping:
    """How to make each H36M-17 joint from one rig's joints; ``leg`` names the hip, knee and
    ankle joints whose bones give the length unit of :class:`OnBoneAxis`."""

    name: str
    points: Mapping[str, BodyPoint]
    leg: tuple[str, str, str]

    def __post_init__(self) -> None:
        if set(self.points) != set(H36M17.joints):
            raise ValueError(
                f"rig {self.name}: expected a point for each of {H36M17.joints}, got {tuple(self.points)}"
            )

    def missing(self, names: Iterable[str]) -> list[str]:
        """Joint names this mapping needs that ``names`` lacks (empty when it fits)."""
        names = set(names)
        out = [n for n in self.leg if n not in names]
        for point in self.points.values():
            if isinstance(point, FirstOf):
                if point.usable(names) is None:
                    out.append(" or ".join("+".join(o.needs()) for o in point.options))
                continue
            out += [n for n in point.needs() if n not in names and n not in out]
        return out


RIGS: dict[str, RigMapping] = {}


def register_rig(mapping: RigMapping) -> RigMapping:
    RIGS[mapping.name] = mapping
    return mapping


def _sided(points: dict[str, Blend], left: str, right: str) -> dict[str, Blend]:
    """A table written once with ``{s}`` for the side, for both sides: H36M-17's ``R``/``L``
    in the keys, the rig's ``right``/``left`` tags in the joint names."""
    return {
        key.format(s=side): Blend(tuple(j.format(s=tag) for j in point.joints), point.weights)
        for key, point in points.items()
        for side, tag in (("R", right), ("L", left))
    }


def _limb_rig(
    name: str,
    limbs: tuple[str, str, str, str, str, str],
    sides: tuple[str, str],
    head: dict[str, Blend],
) -> RigMapping:
    """A rig whose limb joints are named by one pattern per segment, ``{s}`` standing for the
    side tag (``sides`` = left tag, right tag); limbs = (thigh, shin, foot, upper arm, forearm, hand).
    The spine point is halfway up the Hips-Neck chain and the thorax is the neck joint."""
    thigh, shin, foot, arm, fore_arm, hand = limbs
    left, right = sides
    return register_rig(
        RigMapping(
            name=name,
            points={
                "Hip": mean(thigh.format(s=left), thigh.format(s=right)),
                **_sided(
                    {"{s}Hip": joint(thigh), "{s}Knee": joint(shin), "{s}Foot": joint(foot)},
                    left,
                    right,
                ),
                "Spine": AlongChain("Hips", "Neck", 0.5),
                "Thorax": joint("Neck"),
                **head,
                **_sided(
                    {
                        "{s}Shoulder": joint(arm),
                        "{s}Elbow": joint(fore_arm),
                        "{s}Wrist": joint(hand),
                    },
                    left,
                    right,
                ),
            },
            leg=(thigh.format(s=left), shin.format(s=left), foot.format(s=left)),
        )
    )


CMU = _limb_rig(
    "cmu",
    ("{s}UpLeg", "{s}Leg", "{s}Foot", "{s}Arm", "{s}ForeArm", "{s}Hand"),
    ("Left", "Right"),
    {"Neck/Nose": joint("Head"), "Head": FirstOf((joint("HeadTop_End"), joint("Head_end")))},
)

BANDAI_NAMCO = _limb_rig(
    "bandai-namco",
    ("UpperLeg_{s}", "LowerLeg_{s}", "Foot_{s}", "UpperArm_{s}", "LowerArm_{s}", "Hand_{s}"),
    ("L", "R"),
    {"Neck/Nose": OnBoneAxis("Head", 0.06), "Head": OnBoneAxis("Head", 0.20)},
)

POSEMOE = register_rig(
    RigMapping(
        name="posemoe",
        points={j: joint(j.replace("/", "_")) for j in H36M17.joints},
        leg=("LHip", "LKnee", "LFoot"),
    )
)


# ----------------------------------------------------------------------------------------------
# From a BVH file to H36M-17 positions


class _RigFrame:
    """World positions and rotations of one file's joints, looked up by unprefixed name."""

    def __init__(
        self,
        motion: BvhMotion,
        positions: np.ndarray,
        rotations: np.ndarray,
        leg: tuple[str, str, str],
        where: str,
    ) -> None:
        self.motion = motion
        self.positions, self.rotations = positions, rotations  # (F, J, 3), (F, J, 3, 3)
        self.names = tuple(_bare(n) for n in motion.names)
        self.leg = leg
        self.where = where

    def index(self, name: str) -> int:
        return self.names.index(name)

    def position(self, name: str) -> np.ndarray:
        return self.positions[:, self.index(name)]

    def chain(self, start: str, end: str) -> list[str]:
        """Joint names from ``start`` down to ``end``."""
        path, joint = [], self.index(end)
        while joint >= 0 and self.names[joint] != start:
            path.append(self.names[joint])
            joint = int(self.motion.parents[joint])
        if joint < 0:
            raise UserError(
                f"{self.where}: expected {end!r} below {start!r} in the joint tree, found it elsewhere"
            )
        return [start] + path[::-1]

    def leg_length(self) -> float:
        hip, knee, ankle = (self.index(n) for n in self.leg)
        return float(
            np.linalg.norm(self.positions[0, knee] - self.positions[0, hip])
            + np.linalg.norm(self.positions[0, ankle] - self.positions[0, knee])
        )


def _bare(name: str) -> str:
    """A joint name without its namespace prefix (``mixamorig:Hips`` -> ``Hips``)."""
    return name.rsplit(":", 1)[-1]


def choose_rig(names: Iterable[str], where: str, rig: str | None = None) -> RigMapping:
    """The named rig mapping, or the first registered one whose joints the file has."""
    bare = [_bare(n) for n in names]
    if rig is not None:
        if rig not in RIGS:
            raise UserError(f"{where}: unknown rig {rig!r}; known: {', '.join(RIGS)}")
        candidates = [RIGS[rig]]
    else:
        candidates = list(RIGS.values())
    for mapping in candidates:
        if not mapping.missing(bare):
            return mapping
    report = "; ".join(f"{m.name} lacks {', '.join(m.missing(bare))}" for m in candidates)
    raise UserError(
        f"{where}: expected the joint names of a known rig, found none that fits ({report}); "
        f"the file has {', '.join(bare[:40])}"
    )


MAX_JOINT_FRAMES = 5_000_000  # joints x frames posed at once: rotations and transforms take ~1 GB


def _check_size(motion: BvhMotion, fps: float | None, where: str) -> None:
    """Refuse, before any rotation is computed, a motion whose joints x frames, as read or at
    ``fps``, exceed :data:`MAX_JOINT_FRAMES` (the frame count follows from the declared frames and
    frame time)."""
    frames, joints, rate = motion.num_frames, motion.skeleton.num_joints, file_fps(motion)
    resampled = (
        frames if fps is None else int(np.floor((frames - 1) / rate * fps + 1e-6)) + 1
    )  # as sample_times
    if max(frames, resampled) * joints > MAX_JOINT_FRAMES:
        at = f", {resampled:,} frames at {fps:g} fps" if fps is not None else ""
        raise UserError(
            f"{where}: {frames:,} frames of {joints} joints at {rate:g} fps{at}; expected at most "
            f"{MAX_JOINT_FRAMES:,} joints x frames (split the file into shorter takes)"
        )


def _rig_points(
    motion: BvhMotion, mapping: RigMapping, fps: float | None, where: str
) -> np.ndarray:
    """(F, 17, 3) H36M-17 positions in the file's units and axes, at ``fps`` (default: the file's)."""
    _check_size(motion, fps, where)
    rotations, translations = local_rotations(motion), local_translations(motion)
    if fps is not None:
        rotations, translations = resample_local(rotations, translations, file_fps(motion), fps)
    frame = _RigFrame(motion, *compose(motion.parents, rotations, translations), mapping.leg, where)
    return np.stack([mapping.points[name].locate(frame) for name in H36M17.joints], axis=1)


def standing_height(points: np.ndarray) -> float:
    """Stature estimated from the bone lengths of H36M-17 ``points`` (F, 17, 3): legs and
    trunk as if upright, plus the ankle height. Same unit as ``points``."""
    first = points[0]
    index = H36M17.index

    def path(*names: str) -> float:
        return float(
            sum(np.linalg.norm(first[index(a)] - first[index(b)]) for a, b in zip(names, names[1:]))
        )

    legs = (path("LFoot", "LKnee", "LHip") + path("RFoot", "RKnee", "RHip")) / 2
    trunk = path("Hip", "Spine", "Thorax", "Neck/Nose", "Head")
    return (legs + trunk) / (1 - _ANKLE_HEIGHT)


def guess_scale(points: np.ndarray, where: str) -> float:
    """Metres per file unit: the unit of :data:`UNITS_M` that makes the subject 1.4-2.0 m tall."""
    height = standing_height(points)
    low, high = HUMAN_HEIGHT_M
    fits = [scale for scale in UNITS_M.values() if low <= height * scale <= high]
    if len(fits) != 1:
        tried = ", ".join(f"{height * s:.3g} m if {u}" for u, s in UNITS_M.items())
        raise UserError(
            f"{where}: expected a skeleton {low}-{high} m tall in one of the known units, found a "
            f"height of {height:.4g} file units ({tried}); pass scale= (metres per file unit)"
        )
    return fits[0]


def _to_z_up(points: np.ndarray, up: str, where: str) -> np.ndarray:
    """(..., 3) y-up points -> z-up by +90 degrees about x; z-up points unchanged."""
    if up == "z":
        return points
    if up != "y":
        raise UserError(f"{where}: expected up='y' or up='z', found {up!r}")
    x, y, z = np.moveaxis(points, -1, 0)
    return np.stack([x, -z, y], axis=-1)


def bvh_to_h36m17(
    motion: BvhMotion,
    *,
    where: str,
    fps: float | None = None,
    rig: str | None = None,
    scale: float | None = None,
    up: str = "y",
) -> np.ndarray:
    """(T, 17, 3) float64 H36M-17 world positions of a parsed BVH file: metres, z up, at ``fps``
    (default: the file's rate). ``where`` names the file in errors."""
    mapping = choose_rig(motion.names, where, rig)
    points = _rig_points(motion, mapping, fps, where)
    if scale is None:
        scale = guess_scale(points, where)
    elif not (np.isfinite(scale) and scale > 0):
        raise UserError(
            f"{where}: expected a positive scale in metres per file unit, found {scale}"
        )
    points = _to_z_up(points * scale, up, where)
    _warn_if_not_upright(points, where)
    return points


def _warn_if_not_upright(points: np.ndarray, where: str) -> None:
    """The head is above the ankles in most frames of nearly any motion; if not, the up axis is
    probably wrong."""
    rise = points[:, H36M17.index("Head"), 2] - points[
        :, [H36M17.index("LFoot"), H36M17.index("RFoot")], 2
    ].mean(1)
    if np.median(rise) <= 0:
        warnings.warn(
            f"{where}: the head is below the feet in most frames; if the file is z-up, pass up='z'",
            stacklevel=3,
        )


def sample_times(frames: int, source_fps: float, target_fps: float) -> np.ndarray:
    """Where the frames at ``target_fps`` fall, in (fractional) source frames: from the first
    source frame to at most the last."""
    duration = (frames - 1) / source_fps
    # The small tolerance keeps the last frame when the duration is a whole number of new frames.
    times = np.arange(int(np.floor(duration * target_fps + 1e-6)) + 1) / target_fps
    return np.minimum(times * source_fps, frames - 1)


def resample_local(
    rotations: np.ndarray, translations: np.ndarray, source_fps: float, target_fps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Interpolate local joint rotations (F, J, 3, 3) along the shortest arc and translations
    (F, J, 3) linearly, from ``source_fps`` to ``target_fps``. Interpolating joint angles rather
    than positions keeps every bone its length on the new frames; between fast-moving 30 fps
    frames, straight-line positions would shorten limbs by up to about a tenth."""
    frames, joints = rotations.shape[:2]
    if source_fps == target_fps or frames < 2:
        return rotations, translations
    where = sample_times(frames, source_fps, target_fps)
    before = np.minimum(np.floor(where).astype(np.int64), frames - 2)
    weight = (where - before)[:, None, None]
    moved = translations[before] + weight * (translations[before + 1] - translations[before])
    start = rotations[before]
    step = Rotation.from_matrix(
        (start.transpose(0, 1, 3, 2) @ rotations[before + 1]).reshape(-1, 3, 3)
    )
    partial = Rotation.from_rotvec(step.as_rotvec().reshape(-1, joints, 3) * weight).as_matrix()
    return start @ partial.reshape(-1, joints, 3, 3), moved


def file_fps(motion: BvhMotion) -> float:
    """The file's frame rate; within 0.01 % of a whole number it is that number, since files
    write ``Frame Time`` with a few decimals (0.0333333 s is 30 fps, not 30.00003)."""
    fps = motion.fps
    return float(round(fps)) if abs(fps - round(fps)) <= 1e-4 * fps else fps


def _bvh_files(source: str | Path | Iterable[str | Path]) -> list[Path]:
    if isinstance(source, (str, Path)):
        source = Path(source)
        if source.is_dir():
            files = sorted(
                p for p in source.rglob("*") if p.suffix.lower() == ".bvh" and p.is_file()
            )
            if not files:
                raise UserError(f"expected .bvh files in {source}, found none")
            return files
        return [source]
    files = [Path(p) for p in source]
    if not files:
        raise UserError("expected at least one BVH file, found an empty list")
    return files


def load_bvh_motion(
    source: str | Path | Iterable[str | Path],
    *,
    fps: float | None = None,
    rig: str | None = None,
    scale: float | None = None,
    up: str = "y",
) -> list[MotionClip]:
    """H36M-17 world motion (metres, z up) from BVH files: a file, a list of files or a folder
    (searched recursively). ``fps`` resamples (default: the file's rate); ``rig`` names a
    mapping of :data:`RIGS` (default: chosen from the joint names); ``scale`` is metres per
    file unit (default: guessed from the skeleton's height)."""
    if fps is not None and not (np.isfinite(fps) and fps > 0):
        raise UserError(f"expected a positive fps, found {fps}")
    clips = []
    for path in _bvh_files(source):
        motion = read_bvh(path)
        points = bvh_to_h36m17(motion, where=str(path), fps=fps, rig=rig, scale=scale, up=up)
        rate = float(fps or file_fps(motion))
        clips.append(MotionClip(name=path.stem, fps=rate, positions=points.astype(np.float32)))
    return clips
