"""Pose sequences in memory: every sequence of a split packed back to back in two arrays, so a
batch of clips is cut with one fancy-indexing operation (``keypoints[frame_index]``, ``frame_index``
of shape ``(B, T)``)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from posemoe.errors import UserError
from posemoe.layouts import H36M17, JointLayout


@dataclass(frozen=True)
class SequenceInfo:
    subject: str
    action: str
    camera: int
    start: int  # first row in the packed arrays
    length: int

    @property
    def action_group(self) -> str:
        """Action name without the take number ('Walking 1' -> 'Walking'), as VideoPose3D groups them."""
        return self.action.split(" ")[0]


@dataclass
class PoseSequences:
    """Packed sequences of one split.

    keypoints: (N, J, C) normalised with ``codec`` (C = 2, or 3 with confidence): "screen"
    coordinates, or the "camera" codec's scaled rays (:mod:`posemoe.codecs`).
    poses: (N, J, 3) metres, camera frame, root-relative.
    """

    keypoints: np.ndarray
    poses: np.ndarray
    sequences: list[SequenceInfo]
    source: str
    layout: JointLayout = H36M17
    report: list[str] = field(default_factory=list)
    codec: str = "screen"

    @property
    def num_frames(self) -> int:
        return len(self.keypoints)

    def sequence_ids(self) -> np.ndarray:
        """(N,) index of the sequence each packed frame belongs to."""
        return np.repeat(np.arange(len(self.sequences)), [s.length for s in self.sequences])


def concat_sequences(parts: list[PoseSequences]) -> PoseSequences:
    """Stack splits back to back (e.g. the same frames with GT and detected 2D) into one."""
    if not parts:
        raise UserError("nothing to concatenate")
    if len({p.keypoints.shape[-1] for p in parts}) > 1:
        raise UserError("cannot mix 2- and 3-channel keypoints; convert with match_channels first")
    if len({p.codec for p in parts}) > 1:
        raise UserError(
            f"cannot mix keypoints normalised with different codecs ({sorted({p.codec for p in parts})})"
        )
    infos, offset = [], 0
    for part in parts:
        infos += [replace(s, start=s.start + offset) for s in part.sequences]
        offset += part.num_frames
    return PoseSequences(
        keypoints=np.concatenate([p.keypoints for p in parts]),
        poses=np.concatenate([p.poses for p in parts]),
        sequences=infos,
        source="+".join(p.source for p in parts),
        layout=parts[0].layout,
        report=[line for p in parts for line in p.report],
        codec=parts[0].codec,
    )
