"""3D motion for training with virtual cameras: world-frame H36M-17 motion from every source,
resampled to one frame rate and packed back to back.

Sources (``MotionSource.kind``): ``h36m`` (``data_3d_h36m.npz``, the 32-joint mocap reduced to 17),
``humaneva`` (``data_3d_humaneva15.npz``, 15 joints; the spine and nose are approximated, see
:mod:`posemoe.layouts.humaneva`), ``bvh`` (a folder of BVH motion capture, mapped to H36M-17 by
:mod:`posemoe.datasets.bvh_motion`). All positions are metres in a z-up world frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from posemoe.datasets.bvh_motion import MotionClip, load_bvh_motion
from posemoe.errors import UserError, refuse_unknown
from posemoe.io.npz import load_npz, require_key
from posemoe.layouts import H36M17, H36M32, HUMANEVA15, convert


@dataclass(frozen=True)
class MotionSource:
    """One source of motion; ``subjects`` filters Human3.6M / HumanEva subjects (``"Train/S1"`` for
    HumanEva), ``exclude`` drops clips whose name contains any of the given strings (held out)."""

    kind: str
    path: str
    subjects: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    weight: float = 1.0  # share of training clips, relative to the other sources' frames x weight
    licence: str = (
        ""  # the motion's terms, recorded in the trained weights ("" = the kind's default)
    )

    @classmethod
    def from_table(cls, table: dict) -> MotionSource:
        """A config's ``[[motion_sources]]`` table (lists for the tuples) -> MotionSource, checked."""
        refuse_unknown("motion_sources", table, [f.name for f in fields(cls)])
        if "kind" not in table or "path" not in table:
            raise UserError(
                f"motion_sources: kind and path required, got {', '.join(sorted(table))}"
            )
        source = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in table.items()})
        if (
            not isinstance(source.weight, (int, float))
            or isinstance(source.weight, bool)
            or not 0 < source.weight < 1e6
        ):
            raise UserError(
                f"motion source {source.kind} {source.path}: expected a positive weight, got {source.weight!r}"
            )
        if not isinstance(source.licence, str):
            raise UserError(
                f"motion source {source.kind} {source.path}: licence must be text, got {source.licence!r}"
            )
        return source


@dataclass
class MotionBank:
    """positions: (N, 17, 3) metres, z-up world, at ``fps``; sequences: (name, source, start, length)."""

    positions: np.ndarray
    fps: float
    sequences: list[tuple[str, str, int, int]] = field(default_factory=list)
    clip_weight: np.ndarray = field(
        default_factory=lambda: np.zeros(0)
    )  # (S,) sampling weight per sequence

    @property
    def num_frames(self) -> int:
        return len(self.positions)


def h36m_motion(path: str | Path, subjects: tuple[str, ...]) -> list[MotionClip]:
    """Human3.6M world motion of ``subjects`` (50 fps) from ``data_3d_h36m.npz`` (file or its folder)."""
    path = Path(path)
    path = path / "data_3d_h36m.npz" if path.is_dir() else path
    data = require_key(load_npz(path), "positions_3d", path)
    clips = []
    for subject in subjects:
        if subject not in data:
            raise UserError(f"{path}: no subject {subject!r} (has {sorted(data)})")
        for action, world in sorted(data[subject].items()):
            world = np.asarray(world, np.float32)
            layout = H36M32 if world.shape[1] == H36M32.num_joints else H36M17
            clips.append(
                MotionClip(f"h36m {subject} {action}", 50.0, convert(world, layout, H36M17))
            )
    return clips


def humaneva_motion(
    path: str | Path, subjects: tuple[str, ...], *, hold_out_validation: bool = True
) -> list[MotionClip]:
    """HumanEva-I world motion (60 fps) from the folder of ``data_3d_humaneva15.npz``; with
    ``hold_out_validation`` the frames :func:`~posemoe.datasets.humaneva.split_validation` keeps
    for validation are left out, so `posemoe eval --dataset humaneva` scores unseen motion."""
    from posemoe.datasets.humaneva import load_humaneva, split_validation

    folder = Path(path)
    file = folder / "data_3d_humaneva15.npz"
    data = require_key(load_npz(file), "positions_3d", file)
    held: dict[tuple[str, str], int] = {}  # (subject, chunk) -> first held-out frame
    if hold_out_validation:
        for clip in split_validation(load_humaneva(folder))[1]:
            held[clip.subject, clip.chunk] = clip.start
    clips = []
    for subject in subjects or tuple(sorted(data)):
        if subject not in data:
            raise UserError(f"{file}: no subject {subject!r} (has {sorted(data)})")
        for key, world in sorted(data[subject].items()):
            world = np.asarray(world, np.float32)[: held.get((subject, key), None)]
            if len(world):
                clips.append(
                    MotionClip(
                        f"humaneva {subject} {key}", 60.0, convert(world, HUMANEVA15, H36M17)
                    )
                )
    return clips


def load_source(source: MotionSource, fps: float | None = None) -> list[MotionClip]:
    """A source's clips; BVH files are resampled to ``fps`` by their joint rotations (bones keep
    their lengths), the others at their own rate."""
    if source.kind == "h36m":
        if not source.subjects:
            raise UserError(
                f'motion source h36m {source.path}: name its subjects (e.g. subjects = ["S1", "S5", '
                f'"S6", "S7"])'
            )
        clips = h36m_motion(source.path, source.subjects)
    elif source.kind == "humaneva":
        clips = humaneva_motion(source.path, source.subjects)
    elif source.kind == "bvh":
        clips = load_bvh_motion(source.path, fps=fps)
    else:
        raise UserError(f"unknown motion source kind {source.kind!r}; known: h36m, humaneva, bvh")
    return [c for c in clips if not any(word in c.name for word in source.exclude)]


def resample_positions(positions: np.ndarray, fps: float, target_fps: float) -> np.ndarray:
    """(T, J, 3) at ``fps`` -> (T', J, 3) at ``target_fps`` by linear interpolation in time."""
    if abs(fps - target_fps) < 1e-6 or len(positions) < 2:
        return positions.astype(np.float32)
    times = np.arange(len(positions)) / fps
    new = np.arange(0.0, times[-1] + 1e-9, 1.0 / target_fps)
    flat = positions.reshape(len(positions), -1)
    out = np.stack([np.interp(new, times, flat[:, k]) for k in range(flat.shape[1])], -1)
    return out.reshape(len(new), *positions.shape[1:]).astype(np.float32)


def motion_bank(sources: list[MotionSource], fps: float, *, min_frames: int = 1) -> MotionBank:
    """Load every source, resample to ``fps``, pack; a sequence's sampling weight is its source's
    ``weight`` spread over that source's frames."""
    parts, sequences, weights, start = [], [], [], 0
    for source in sources:
        loaded = [
            (clip.name, resample_positions(clip.positions, clip.fps, fps))
            for clip in load_source(source, fps)
        ]
        kept = [(name, p) for name, p in loaded if len(p) >= min_frames]
        if not kept:
            raise UserError(
                f"motion source {source.kind} {source.path}: no clip of at least {min_frames} frames"
            )
        total = sum(len(p) for _, p in kept)
        for name, p in kept:
            parts.append(p)
            sequences.append((name, source.kind, start, len(p)))
            weights.append(source.weight * len(p) / total)
            start += len(p)
    if not parts:
        raise UserError("no motion sources given")
    weight = np.asarray(weights)
    return MotionBank(np.concatenate(parts), fps, sequences, weight / weight.sum())
