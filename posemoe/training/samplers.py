"""Training batches: clips cut from packed sequences, and person crops from an image set.

Each epoch's order and flips are a pure function of ``(seed, epoch)``, which makes resuming exact;
ranks take disjoint shares under DDP.
"""

from __future__ import annotations

import numpy as np

from posemoe.codecs import flip_horizontal, match_channels
from posemoe.crops import images_to_tensor_layout
from posemoe.datasets.images import ImageSet
from posemoe.datasets.sequences import PoseSequences
from posemoe.layouts import JointLayout


class ClipSampler:
    """Cuts training clips of ``num_frames`` from packed sequences, vectorised.

    Each epoch, every sequence is tiled with clips ``stride`` frames apart from a random
    offset; clips that would run past a sequence's end repeat its last frame. The epoch's
    order and flips are a pure function of ``(seed, epoch)``, which makes resuming exact.
    """

    def __init__(
        self,
        data: PoseSequences,
        num_frames: int,
        *,
        stride: int | None = None,
        flip: bool = True,
        channels: int = 2,
    ) -> None:
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

    def epoch(
        self,
        seed: int,
        epoch: int,
        batch_size: int,
        *,
        max_clips: int | None = None,
        rank: int = 0,
        world_size: int = 1,
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """The epoch's batches as ``(frame_index (B, T), flip (B,))``; ranks take disjoint shares."""
        rng = np.random.default_rng([seed, epoch])
        starts, last = self._clip_starts(rng)
        order = rng.permutation(len(starts))
        if max_clips is not None:
            order = order[:max_clips]
        flips = self.flip & (rng.random(len(order)) < 0.5)
        per_rank = len(order) // world_size
        order, flips = (
            order[rank * per_rank : (rank + 1) * per_rank],
            flips[rank * per_rank : (rank + 1) * per_rank],
        )
        frames = np.minimum(starts[order, None] + np.arange(self.num_frames), last[order, None])
        return [
            (frames[i : i + batch_size], flips[i : i + batch_size])
            for i in range(0, len(order) - batch_size + 1, batch_size)
        ]

    def gather(self, frame_index: np.ndarray, flip: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """-> keypoints (B, T, J, C) and poses (B, T, J, 3), flipped where ``flip`` is set."""
        keypoints = self.keypoints[frame_index]
        poses = self.data.poses[frame_index]
        if flip.any():
            keypoints[flip] = flip_horizontal(keypoints[flip], self.flip_perm)
            poses[flip] = flip_horizontal(poses[flip], self.flip_perm)
        return keypoints, poses


class ImageSampler:
    """Training batches from an :class:`ImageSet`: a shuffled order that is a pure function of
    ``(seed, epoch)`` (exact resume), disjoint shares per rank, random horizontal flips."""

    def __init__(self, data: ImageSet, layout: JointLayout, *, flip: bool = True) -> None:
        self.data, self.flip = data, flip
        self.flip_perm = layout.flip_permutation()
        labels = data.labels
        # 3D models learn poses; 2D models learn the crop keypoints (with visibility when known).
        self.targets = {3: labels.poses, 2: labels.keypoints}

    def epoch(
        self,
        seed: int,
        epoch: int,
        batch_size: int,
        *,
        max_clips: int | None = None,
        rank: int = 0,
        world_size: int = 1,
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """The epoch's batches as ``(image index (B,), flip (B,))``; ``max_clips`` caps the images
        (named as in :class:`~posemoe.data.ClipSampler`, so training treats both alike)."""
        rng = np.random.default_rng([seed, epoch])
        order = rng.permutation(len(self.data.images))[:max_clips]
        flips = self.flip & (rng.random(len(order)) < 0.5)
        per_rank = len(order) // world_size
        order, flips = (
            order[rank * per_rank : (rank + 1) * per_rank],
            flips[rank * per_rank : (rank + 1) * per_rank],
        )
        return [
            (order[i : i + batch_size], flips[i : i + batch_size])
            for i in range(0, len(order) - batch_size + 1, batch_size)
        ]

    def gather(
        self, index: np.ndarray, flip: np.ndarray, out_dims: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """-> images (B, 3, S, S) float32 in [0, 1] and targets (B, J, 3) poses or (B, J, 2|3) keypoints."""
        images = self.data.images[index]
        targets = self.targets[out_dims][index].copy()
        if flip.any():
            images[flip] = images[flip][:, :, ::-1]
            targets[flip] = flip_horizontal(targets[flip], self.flip_perm)
        return images_to_tensor_layout(images), targets
