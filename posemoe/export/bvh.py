"""BVH motion files of the fitted skeleton, one per person: result format ``"bvh"``.

``<name>.bvh`` for one person, ``<name>_person<track>.bvh`` for each of several. The hierarchy is
the Human3.6M-17 tree: ROOT ``Hip`` with 6 channels (``Xposition Yposition Zposition`` then
rotations), every other joint 3 rotation channels (``Zrotation Xrotation Yrotation``), and End
Sites past the head, the wrists (a hand's length on along the forearm) and the ankles (a foot's
length forward). ``Neck/Nose`` is written ``Neck_Nose``: some tools split names at ``/``.

Skeleton and motion come from :func:`posemoe.inference.skeleton.fit_skeleton`: offsets are the
fitted bone lengths in a T-pose facing +z, rotations the IK rotations. The frame time is
1 / the result's fps.

**Units and axes: metres, y up**, right-handed, the world frame of
:func:`posemoe.inference.trajectory.world_transform` (origin on the floor under the first frame's
pelvis, -z the camera's forward direction on the floor, so a person facing the camera faces +z).
Metres because Blender's unit is the metre: its BVH importer's defaults (File > Import > Motion
Capture (.bvh): Scale 1.0, Forward -Z, Up Y, Rotation "Euler (Native)") bring the file in upright
and life size, Y turned into Blender's Z. Tick "Update Scene FPS" to play it at the video's rate
(else each file frame is one frame of the scene's rate, 24 fps by default); "Update Scene Duration"
only ever lengthens the scene, so a take shorter than the scene's 250 frames needs its End frame
set to the file's frame count by hand (measured with Blender 3.4: README). Tools that expect centimetres (MotionBuilder, Maya) import it at scale 100.

The root's position channels hold the pelvis in the world frame: from a person's ``root`` (T, 3)
(camera frame metres, :func:`~posemoe.inference.trajectory.estimate_trajectory`) through their
``world_from_camera`` (4, 4) when the result has one, else through a ground fitted here. A
person without a ``root`` stays in place: the camera frame turned y-up (x, -y, -z), the pelvis
at its rest height above the floor (y = 0) at x = z = 0.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from posemoe.errors import UserError
from posemoe.export.formats import files_per_person, register_format
from posemoe.export.results import FileWriter
from posemoe.inference.skeleton import ANKLE_FRACTION, SkeletonFit, fit_skeleton
from posemoe.inference.trajectory import fit_ground, to_world, world_transform
from posemoe.io.bvh import BvhSkeleton, write_bvh

if TYPE_CHECKING:
    from posemoe.inference.result import PersonResult, Result

ROTATION_ORDER = "ZXY"
Y_UP_FROM_CAMERA = np.diag(
    [1.0, -1.0, -1.0]
)  # camera (y down, z forward) -> y up, facing the camera = +z

# End sites: leaf joint -> (rest direction, length as a fraction of the bone ending at the leaf).
END_SITES: dict[str, tuple[tuple[float, float, float], float]] = {
    "Head": ((0, 1, 0), 0.5),
    "LWrist": ((1, 0, 0), 0.4),
    "RWrist": ((-1, 0, 0), 0.4),
    "LFoot": ((0, 0, 1), 0.35),
    "RFoot": ((0, 0, 1), 0.35),
}


def bvh_name(joint: str) -> str:
    """The name a layout's joint takes in a BVH file (no '/', no spaces)."""
    return joint.replace("/", "_").replace(" ", "_")


@dataclass(frozen=True)
class BvhTake:
    """One person's BVH content: ``skeleton`` (the layout's joints, then one end site per entry of
    :data:`END_SITES`), local ``rotations`` (T, J + E, 3, 3), ``positions`` (T, J, 3) of the layout's
    joints in the file's world frame (metres, y up) that forward kinematics of the file gives back."""

    skeleton: BvhSkeleton
    rotations: np.ndarray
    positions: np.ndarray
    frame_time: float

    def write(self, path: str | Path) -> Path:
        """Write the take to ``path`` as a BVH file."""
        return write_bvh(
            path,
            self.skeleton,
            self.rotations,
            self.positions[:, 0],
            frame_time=self.frame_time,
            order=ROTATION_ORDER,
        )


def bvh_skeleton(fit: SkeletonFit) -> BvhSkeleton:
    """The fitted rest pose as a BVH joint tree: root offset 0, end sites after the layout's joints."""
    layout = fit.layout
    leaves = [layout.index(name) for name in END_SITES]
    ends = np.array(
        [
            np.asarray(d, np.float64) * fraction * fit.lengths[leaf]
            for leaf, (d, fraction) in zip(leaves, END_SITES.values())
        ]
    )
    offsets = np.concatenate([fit.offsets, ends])
    offsets[layout.root] = 0.0
    names = tuple(bvh_name(n) for n in layout.joints) + tuple(
        f"{bvh_name(n)}_end" for n in END_SITES
    )
    return BvhSkeleton(
        names=names,
        parents=np.array([*layout.parents, *leaves], np.int64),
        offsets=offsets,
        end_sites=np.array([False] * layout.num_joints + [True] * len(leaves)),
    )


def _world(fit: SkeletonFit, person: PersonResult, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """(3, 3) world-from-camera rotation and (T, J, 3) world joint positions, metres, y up."""
    root = getattr(person, "root", None)
    if root is None:
        rest = fit.rest_positions()[:, 1]
        height = -rest.min() + ANKLE_FRACTION * fit.stature
        return Y_UP_FROM_CAMERA, fit.fitted @ Y_UP_FROM_CAMERA.T + np.array([0.0, height, 0.0])
    root = np.asarray(root, np.float64)
    if root.shape != (len(fit.fitted), 3):
        raise UserError(
            f"expected the person's root of shape ({len(fit.fitted)}, 3), got {root.shape}"
        )
    camera = fit.fitted + root[:, None]
    transform = getattr(person, "world_from_camera", None)
    if transform is None:
        transform = world_transform(
            fit_ground(camera, fps, visible=person.visible, layout=fit.layout), root[0]
        )
    transform = np.asarray(transform, np.float64)
    return transform[:3, :3], to_world(camera, transform)


def person_take(person: PersonResult, fps: float) -> BvhTake:
    """A person of a result -> their :class:`BvhTake`: the skeleton fitted to their ``fitted`` joints
    when they have them (fitting is idempotent), else to ``joints_3d``; see the module doc for the root."""
    if fps <= 0:
        raise UserError(f"expected a positive fps for the BVH frame time, got {fps}")
    joints = getattr(person, "fitted", None)
    joints = person.joints_3d if joints is None else joints
    fit = fit_skeleton(joints, confidence=person.keypoints[..., 2], visible=person.visible)
    rotation, positions = _world(fit, person, fps)
    rotations = np.concatenate(
        [fit.rotations, np.broadcast_to(np.eye(3), (len(positions), len(END_SITES), 3, 3))], axis=1
    )
    rotations[:, fit.layout.root] = rotation @ rotations[:, fit.layout.root]
    return BvhTake(bvh_skeleton(fit), rotations, positions, 1.0 / fps)


def _bvh_text(take: BvhTake) -> str:
    with tempfile.TemporaryDirectory(prefix="posemoe-bvh-") as folder:
        return take.write(Path(folder) / "take.bvh").read_text(encoding="utf-8")


def bvh_files(result: Result, out: Path) -> dict[Path, FileWriter]:
    """``<name>.bvh`` (one person) or ``<name>_person<track>.bvh`` (several): the fitted skeleton's motion."""

    def writer(person: PersonResult, path: Path) -> FileWriter:
        take = person_take(person, result.fps)
        return (lambda f: f.write(_bvh_text(take))), False

    return files_per_person(result, out, "bvh", "BVH", writer)


register_format("bvh", bvh_files)
