"""OpenSim marker trajectories: result format ``"trc"``, ``<name>.trc`` per person.

The fitted skeleton's joints (constant bones) as markers, in the world frame of the BVH
(:mod:`posemoe.export.bvh`: metres, y up as OpenSim expects, the floor at y = 0, origin on the floor
under the first placed pelvis), one row per video frame at the video's rate. Joints that were
not seen are filled in by the pipeline (the npz's ``joint_unseen`` says which); TRC has no
per-sample validity flag.

Markers take the names Pose2Sim writes for the same points (its HALPE_26 / COCO body
markers: ``Hip``, ``RAnkle``, ``Neck`` for the mid-shoulder point, ...; :data:`MARKER_NAMES`), so
Pose2Sim's OpenSim models and set-ups find the ones they share; ``Spine`` has no Pose2Sim
counterpart and keeps its Human3.6M name, and ``Head`` is the mid-eye point here (Pose2Sim's
HALPE ``Head`` is the top of the head).

File layout (tab separated; OpenSim's TRCFileAdapter reads it): ``PathFileType 4 (X/Y/Z) <file>``;
the header names ``DataRate CameraRate NumFrames NumMarkers Units OrigDataRate
OrigDataStartFrame OrigNumFrames`` and their values; ``Frame# Time`` and the marker names (each
followed by two empty cells); ``X1 Y1 Z1 X2 ...``; an empty line; then ``frame time x y z ...``
rows, frames numbered from 1 and time in seconds from 0.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from posemoe.errors import UserError
from posemoe.export.formats import files_per_person, register_format
from posemoe.export.results import FileWriter
from posemoe.layouts import H36M17

if TYPE_CHECKING:
    from posemoe.inference.result import PersonResult, Result

MARKER_NAMES = {
    "Hip": "Hip",
    "RHip": "RHip",
    "RKnee": "RKnee",
    "RFoot": "RAnkle",
    "LHip": "LHip",
    "LKnee": "LKnee",
    "LFoot": "LAnkle",
    "Spine": "Spine",
    "Thorax": "Neck",
    "Neck/Nose": "Nose",
    "Head": "Head",
    "LShoulder": "LShoulder",
    "LElbow": "LElbow",
    "LWrist": "LWrist",
    "RShoulder": "RShoulder",
    "RElbow": "RElbow",
    "RWrist": "RWrist",
}
"""H36M-17 joint -> the marker name Pose2Sim gives the same point."""


def marker_names(joints: tuple[str, ...] = H36M17.joints) -> list[str]:
    """The markers' names for a layout's joints (:data:`MARKER_NAMES`)."""
    missing = [j for j in joints if j not in MARKER_NAMES]
    if missing:
        raise UserError(
            f"expected the {H36M17.name} joints for markers, found {missing} without a marker name"
        )
    return [MARKER_NAMES[j] for j in joints]


def world_markers(person: PersonResult, fps: float) -> np.ndarray:
    """(T, J, 3) the fitted joints in the BVH's world frame: metres, y up, floor at y = 0."""
    from posemoe.export.bvh import person_take

    return person_take(person, fps).positions


def trc_text(markers: np.ndarray, names: list[str], fps: float, file_name: str) -> str:
    """A TRC file of (T, M, 3) ``markers`` in metres at ``fps`` frames per second."""
    frames, count = markers.shape[:2]
    if len(names) != count:
        raise UserError(f"expected {count} marker names, got {len(names)}")
    lines = [
        f"PathFileType\t4\t(X/Y/Z)\t{file_name}",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        f"{fps:g}\t{fps:g}\t{frames}\t{count}\tm\t{fps:g}\t1\t{frames}",
        "Frame#\tTime\t" + "".join(f"{name}\t\t\t" for name in names).rstrip("\t"),
        "\t\t" + "\t".join(f"X{k}\tY{k}\tZ{k}" for k in range(1, count + 1)),
        "",
    ]
    for t in range(frames):
        values = "\t".join(f"{v:.6f}" for v in markers[t].reshape(-1))
        lines.append(f"{t + 1}\t{t / fps:.6f}\t{values}")
    return "\n".join(lines) + "\n"


def trc_files(result: Result, out: Path) -> dict[Path, FileWriter]:
    """``<name>.trc`` (one person) or ``<name>_person<id>.trc`` (several)."""
    names = marker_names(result.layout.joints)

    def writer(person: PersonResult, path: Path) -> FileWriter:
        text = trc_text(world_markers(person, result.fps), names, result.fps, path.name)
        return (lambda f: f.write(text)), False

    return files_per_person(result, out, "trc", "TRC markers", writer)


register_format("trc", trc_files)
