"""Human3.6M-style datasets in memory: loading, subject splits, clip sampling, evaluation windows.

All sequences of a split are stored back to back in two arrays, so a batch of clips is cut
with one fancy-indexing operation: ``keypoints[frame_index]`` with ``frame_index`` of shape
``(B, T)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator

import numpy as np

from posemoe.camera import Camera, load_h36m_cameras
from posemoe.io import load_npz, require_key
from posemoe.layouts import H36M17, H36M32, JointLayout, convert
from posemoe.normalize import ScreenCodec, flip_horizontal, root_relative


@dataclass(frozen=True)
class Protocol:
    """Which subjects play which role. Test subjects are only ever read by ``posemoe eval``."""

    train: tuple[str, ...] = ("S1", "S5", "S6", "S7")
    val: tuple[str, ...] = ("S8",)
    test: tuple[str, ...] = ("S9", "S11")

    def check_no_test_leak(self) -> None:
        leaked = sorted(set(self.test) & (set(self.train) | set(self.val)))
        if leaked:
            raise ValueError(
                f"test subjects {leaked} appear in the training/validation split; choose "
                "checkpoints on a validation subject (e.g. S8) and keep test subjects for `posemoe eval`"
            )


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

    keypoints: (N, J, C) normalised screen coordinates (C = 2, or 3 with confidence).
    poses: (N, J, 3) metres, camera frame, root-relative.
    """

    keypoints: np.ndarray
    poses: np.ndarray
    sequences: list[SequenceInfo]
    source: str
    layout: JointLayout = H36M17
    report: list[str] = field(default_factory=list)

    @property
    def num_frames(self) -> int:
        return len(self.keypoints)

    def sequence_ids(self) -> np.ndarray:
        """(N,) index of the sequence each packed frame belongs to."""
        return np.repeat(np.arange(len(self.sequences)), [s.length for s in self.sequences])


def data_file(data_dir: str | Path, kind: str, dataset: str = "h36m", source: str | None = None) -> Path:
    name = f"data_{kind}_{dataset}" + (f"_{source}" if source else "") + ".npz"
    return Path(data_dir) / name


def _check_finite(array: np.ndarray, where: str) -> None:
    if not np.all(np.isfinite(array)):
        bad = int(np.sum(~np.isfinite(array).all(axis=tuple(range(1, array.ndim)))))
        raise ValueError(f"{where}: {bad} frame(s) contain NaN or inf")


def _poses_17(array: np.ndarray, where: str) -> np.ndarray:
    if array.ndim != 3 or array.shape[-1] != 3 or array.shape[1] not in (H36M32.num_joints, H36M17.num_joints):
        raise ValueError(f"{where}: expected 3D poses of shape (T, 32, 3) or (T, 17, 3), got {array.shape}")
    layout = H36M32 if array.shape[1] == H36M32.num_joints else H36M17
    return convert(array.astype(np.float32), layout, H36M17)


def load_h36m(
    data_dir: str | Path,
    subjects: tuple[str, ...] | list[str],
    source: str = "gt",
    *,
    dataset: str = "h36m",
    cameras: dict[str, list[Camera]] | None = None,
    actions: tuple[str, ...] | None = None,
    skip_incomplete: bool = False,
) -> PoseSequences:
    """Load subjects from ``data_3d_<dataset>.npz`` and ``data_2d_<dataset>_<source>.npz``.

    A sequence whose 2D is missing or shorter than its 3D raises an error naming it, unless
    ``skip_incomplete`` is set; skipped sequences are listed in ``report``. A 2D sequence
    longer than the 3D one is trimmed to it (as VideoPose3D does) and also reported.
    """
    path3d = data_file(data_dir, "3d", dataset)
    path2d = data_file(data_dir, "2d", dataset, source)
    positions_3d = require_key(load_npz(path3d), "positions_3d", path3d)
    positions_2d = require_key(load_npz(path2d), "positions_2d", path2d)
    for path, value in ((path3d, positions_3d), (path2d, positions_2d)):
        if not isinstance(value, dict):
            raise ValueError(f"{path}: expected a dict of subjects, got {type(value).__name__}")
    cameras = load_h36m_cameras() if cameras is None else cameras

    keypoints, poses, infos, report = [], [], [], []
    offset = 0
    for subject in subjects:
        for path, value in ((path3d, positions_3d), (path2d, positions_2d)):
            if subject not in value:
                raise KeyError(f"{path}: subject {subject!r} not found (has {sorted(value)})")
        if subject not in cameras:
            raise KeyError(f"no camera parameters for subject {subject!r}")
        subject_cams = cameras[subject]
        for action in sorted(positions_3d[subject]):
            if actions is not None and action.split(" ")[0] not in actions:
                continue
            where3d = f"{path3d} [{subject} / {action}]"
            world = _poses_17(np.asarray(positions_3d[subject][action]), where3d)
            _check_finite(world, where3d)
            views = positions_2d[subject].get(action)
            if views is None:
                if skip_incomplete:
                    report.append(f"skipped {subject} / {action}: no 2D in {path2d.name}")
                    continue
                raise KeyError(f"{path2d}: no 2D keypoints for {subject} / {action}, which the 3D file has")
            if len(views) != len(subject_cams):
                raise ValueError(
                    f"{path2d} [{subject} / {action}]: {len(views)} camera views, expected {len(subject_cams)}"
                )
            for cam_index, (view, cam) in enumerate(zip(views, subject_cams)):
                where2d = f"{path2d} [{subject} / {action} / camera {cam.id}]"
                view = np.asarray(view, dtype=np.float32)
                if view.ndim != 3 or view.shape[1] != H36M17.num_joints or view.shape[2] not in (2, 3):
                    raise ValueError(f"{where2d}: expected keypoints of shape (T, 17, 2|3), got {view.shape}")
                if len(view) < len(world):
                    if skip_incomplete:
                        report.append(f"skipped {subject} / {action} / camera {cam.id}: 2D has {len(view)} frames, 3D {len(world)}")
                        continue
                    raise ValueError(f"{where2d}: {len(view)} frames of 2D but {len(world)} of 3D")
                if len(view) > len(world):
                    report.append(f"trimmed {subject} / {action} / camera {cam.id}: 2D {len(view)} -> {len(world)} frames")
                    view = view[: len(world)]
                _check_finite(view, where2d)
                codec = ScreenCodec(cam.width, cam.height)
                normalized = view.copy()
                normalized[..., :2] = codec.encode(view[..., :2])
                keypoints.append(normalized)
                poses.append(root_relative(cam.world_to_camera(world)).astype(np.float32))
                infos.append(SequenceInfo(subject, action, cam_index, offset, len(world)))
                offset += len(world)
    if not infos:
        raise ValueError(f"{path3d}: no sequences found for subjects {list(subjects)}")
    channels = {k.shape[-1] for k in keypoints}
    if len(channels) > 1:
        raise ValueError(f"{path2d}: sequences mix 2- and 3-channel keypoints")
    return PoseSequences(
        keypoints=np.concatenate(keypoints), poses=np.concatenate(poses), sequences=infos,
        source=source, report=report,
    )


def concat_sequences(parts: list[PoseSequences]) -> PoseSequences:
    """Stack splits back to back (e.g. the same frames with GT and detected 2D) into one."""
    if not parts:
        raise ValueError("nothing to concatenate")
    if len({p.keypoints.shape[-1] for p in parts}) > 1:
        raise ValueError("cannot mix 2- and 3-channel keypoints; convert with match_channels first")
    infos, offset = [], 0
    for part in parts:
        infos += [replace(s, start=s.start + offset) for s in part.sequences]
        offset += part.num_frames
    return PoseSequences(
        keypoints=np.concatenate([p.keypoints for p in parts]), poses=np.concatenate([p.poses for p in parts]),
        sequences=infos, source="+".join(p.source for p in parts), layout=parts[0].layout,
        report=[line for p in parts for line in p.report],
    )


def load_sources(data_dir: str | Path, subjects: tuple[str, ...] | list[str], source: str, *,
                 dataset: str = "h36m", channels: int = 2) -> PoseSequences:
    """Like :func:`load_h36m`, but ``source`` may join several with '+' (``"gt+sh"``): every
    frame then appears once per source, so training sees clean and detected 2D alike."""
    parts = [load_h36m(data_dir, subjects, s, dataset=dataset) for s in source.split("+")]
    if len(parts) == 1:
        return parts[0]
    for part in parts:
        part.keypoints = match_channels(part.keypoints, channels)
    return concat_sequences(parts)


def match_channels(keypoints: np.ndarray, channels: int) -> np.ndarray:
    """Give ``(..., C)`` keypoints the model's channel count: add confidence 1 or drop it."""
    have = keypoints.shape[-1]
    if have == channels:
        return keypoints
    if have == 2 and channels == 3:
        return np.concatenate([keypoints, np.ones_like(keypoints[..., :1])], axis=-1)
    if have == 3 and channels == 2:
        return keypoints[..., :2]
    raise ValueError(f"cannot turn {have}-channel keypoints into {channels} channels")


class ClipSampler:
    """Cuts training clips of ``num_frames`` from packed sequences, vectorised.

    Each epoch, every sequence is tiled with clips ``stride`` frames apart from a random
    offset; clips that would run past a sequence's end repeat its last frame. The epoch's
    order and flips are a pure function of ``(seed, epoch)``, which makes resuming exact.
    """

    def __init__(self, data: PoseSequences, num_frames: int, *, stride: int | None = None, flip: bool = True,
                 channels: int = 2) -> None:
        self.data = data
        self.num_frames = num_frames
        self.stride = stride or num_frames
        self.flip = flip
        self.keypoints = match_channels(data.keypoints, channels)
        self.flip_perm = data.layout.flip_permutation()
        self.seq_start = np.array([s.start for s in data.sequences])
        self.seq_len = np.array([s.length for s in data.sequences])

    def _clip_starts(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        room = np.maximum(self.seq_len - self.num_frames, 0)
        offset = rng.integers(0, self.stride, size=len(self.seq_len)) % (room + 1)
        counts = (room - offset) // self.stride + 1
        seq = np.repeat(np.arange(len(self.seq_len)), counts)
        k = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        starts = self.seq_start[seq] + offset[seq] + k * self.stride
        return starts, self.seq_start[seq] + self.seq_len[seq] - 1

    def epoch(self, seed: int, epoch: int, batch_size: int, *, max_clips: int | None = None,
              rank: int = 0, world_size: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
        """The epoch's batches as ``(frame_index (B, T), flip (B,))``; ranks take disjoint shares."""
        rng = np.random.default_rng([seed, epoch])
        starts, last = self._clip_starts(rng)
        order = rng.permutation(len(starts))
        if max_clips is not None:
            order = order[:max_clips]
        flips = self.flip & (rng.random(len(order)) < 0.5)
        per_rank = len(order) // world_size
        order, flips = order[rank * per_rank:(rank + 1) * per_rank], flips[rank * per_rank:(rank + 1) * per_rank]
        frames = np.minimum(starts[order, None] + np.arange(self.num_frames), last[order, None])
        return [(frames[i:i + batch_size], flips[i:i + batch_size])
                for i in range(0, len(order) - batch_size + 1, batch_size)]

    def gather(self, frame_index: np.ndarray, flip: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """-> keypoints (B, T, J, C) and poses (B, T, J, 3), flipped where ``flip`` is set."""
        keypoints = self.keypoints[frame_index]
        poses = self.data.poses[frame_index]
        if flip.any():
            keypoints[flip] = flip_horizontal(keypoints[flip], self.flip_perm)
            poses[flip] = flip_horizontal(poses[flip], self.flip_perm)
        return keypoints, poses


def sequence_windows(start: int, length: int, num_frames: int) -> np.ndarray:
    """Windows that cover the ``length`` frames from packed row ``start``: ``(W, T)`` row indices.

    Windows are laid end to end; the last one is moved back to end on the last frame (so it
    overlaps its neighbour) and a sequence shorter than ``T`` repeats its last frame. Writing
    predictions window by window, in order, gives each frame one prediction.
    """
    if length >= num_frames:
        starts = list(range(0, length - num_frames + 1, num_frames))
        if starts[-1] != length - num_frames:
            starts.append(length - num_frames)
        return start + np.asarray(starts)[:, None] + np.arange(num_frames)
    return start + np.minimum(np.arange(num_frames), length - 1)[None]


def evaluation_windows(data: PoseSequences, num_frames: int) -> np.ndarray:
    """:func:`sequence_windows` of every sequence of ``data``, stacked: ``(W, T)``."""
    return np.concatenate([sequence_windows(seq.start, seq.length, num_frames) for seq in data.sequences])


def iterate_windows(windows: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    for i in range(0, len(windows), batch_size):
        yield windows[i:i + batch_size]
