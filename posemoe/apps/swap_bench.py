"""``posemoe bench --swaps``: how well the left/right clean-up undoes a detector's swaps, and how
rarely it harms a correct frame, on motion capture seen through virtual cameras.

Each BVH clip becomes H36M-17 world motion at its own frame rate, seen by virtual cameras
(:mod:`posemoe.training.virtual_camera`: any azimuth, chest height to overhead, tele to wide,
some moving). BlazePose-like errors are added: jitter proportional to the person's size in the
image (:data:`JITTER`; BlazePose's torso joints on the shared sports2d clip move by a median
0.6-0.9 % of the person's size in second differences, motion included, which bounds its jitter
near 0.3 %), three times larger and with low confidence on the joint of a pair that is further
from the camera (the occluded one), which now and then collapses onto its twin for a few frames,
joints dropped now and then, a frame missed now and then. Then runs of frames
get left and right swapped, of one kind each (:data:`SWAP_KINDS`), and single frames go wrong as a
whole (:func:`add_glitches`: the body squeezed across and often mirrored, with full confidence, as
BlazePose gives a frame when it passes from one labelling to the other); those frames are scored
neither way. A swapped frame counts as
restored when the clean-up gives every joint its true label back; a correct frame as changed when
it comes out with a label that differs from the truth. A pair whose joints lie within
:data:`COINCIDENT` of the person's size of each other needs no label to be right. Each fixer's
own time is reported per 1000 frames (wall clock: it depends on the machine and its load).
"""

from __future__ import annotations

import time
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posemoe.errors import UserError
from posemoe.layouts import H36M17

SWAP_KINDS = {  # left joints whose pairs each kind of detector error swaps
    "whole body": ("LHip", "LKnee", "LFoot", "LShoulder", "LElbow", "LWrist"),
    "leg chain": ("LHip", "LKnee", "LFoot"),
    "arm chain": ("LShoulder", "LElbow", "LWrist"),
    "feet only": ("LFoot",),
}
RUN_LENGTHS = (1, 2, 3, 5, 8, 12, 20, 30)  # frames a swap lasts
JITTER = (0.004, 0.012)  # standard deviation, of the person's size: seen joints, occluded ones
COLLAPSE_SHARE = 0.01  # frames where an occluded joint's collapse onto its twin starts
COLLAPSE_RUN = (2, 12)  # frames it lasts, from, to (not included)
SWAPPED_SHARE = 0.1  # of the frames, about
COINCIDENT = 0.03  # of the person's size in the image: closer twins need no label
GLITCH_SHARE = 0.005  # frames that go wrong as a whole, anywhere ...
GLITCH_AT_FLIP = 0.5  # ... and at each end of a whole-body swap, with this chance
GLITCH_WIDTH = (0.1, 0.6)  # a glitch's width, of the body's
MOTION_TYPES = {  # motion type -> the contents (file-name words) of the Bandai Namco set that show it
    "dance": ("dance-short", "dance-long"),
    "fight": ("punch", "kick", "slash"),
    "run": ("run", "dash"),
    "turns": ("walk-back", "walk-left", "walk-right"),
    "walk": ("walk",),
    "gestures": ("bow", "bye", "byebye", "guide", "call", "respond"),
}

Fixer = Callable[[np.ndarray], np.ndarray]
"""(T, J, 3) pixels + confidence -> the same with left/right swaps undone."""


@dataclass
class Tally:
    """Frames counted for one motion type."""

    clips: int = 0
    frames: int = 0
    swapped: int = 0
    restored: int = 0
    correct: int = 0
    changed: int = 0
    seconds: float = 0.0  # the fixer's time

    def add(self, other: Tally) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def row(self, name: str) -> str:
        return (
            f"| {name} | {self.clips} | {self.frames} | {self.swapped} | {self.restored / max(self.swapped, 1):.1%} "
            f"| {self.changed / max(self.correct, 1):.2%} | {1e6 * self.seconds / max(self.frames, 1):.1f} |"
        )


def motion_type(path: Path) -> str | None:
    """The :data:`MOTION_TYPES` name of a ``dataset-1_<content>_<style>_<id>.bvh`` file, or None."""
    parts = path.stem.split("_")
    content = parts[1] if len(parts) > 2 else ""
    return next((kind for kind, contents in MOTION_TYPES.items() if content in contents), None)


def find_clips(data_dir: str | Path, clips_per_type: int) -> dict[str, list[Path]]:
    """Up to ``clips_per_type`` BVH files per motion type, in name order (styles vary along it)."""
    files = sorted(Path(data_dir).rglob("*.bvh"))
    if not files:
        raise UserError(f"expected BVH files under {data_dir}, found none")
    found: dict[str, list[Path]] = {}
    for path in files:
        kind = motion_type(path)
        if kind is not None:
            found.setdefault(kind, []).append(path)
    if not found:
        raise UserError(
            f"{data_dir}: expected Bandai Namco file names dataset-1_<content>_<style>_<id>.bvh with a "
            f"content among {sorted(c for cs in MOTION_TYPES.values() for c in cs)}"
        )
    return {
        kind: paths[:: max(1, len(paths) // clips_per_type)][:clips_per_type]
        for kind, paths in found.items()
    }


def detections(world: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(T, 17, 3) world metres, z up -> (T, 17, 3) BlazePose-like pixels + confidence seen by one
    virtual camera (module doc); NaN for dropped joints and missed frames."""
    from posemoe.training.virtual_camera import VirtualCameraConfig, project, sample_cameras

    cameras = sample_cameras(VirtualCameraConfig(), rng, world[None].astype(np.float32))
    pixels, camera = project(world[None].astype(np.float32), cameras)
    pixels, depth = pixels[0].astype(np.float64), camera[0, ..., 2].astype(np.float64)
    size = np.linalg.norm(np.nanmax(pixels, 1) - np.nanmin(pixels, 1), axis=-1)[:, None]  # (T, 1)
    behind = np.zeros(depth.shape, bool)
    left, right = np.asarray(H36M17.left), np.asarray(H36M17.right)
    behind[:, left] = depth[:, left] > depth[:, right] + 0.1
    behind[:, right] = depth[:, right] > depth[:, left] + 0.1
    spread = np.where(behind, JITTER[1], JITTER[0]) * size
    noisy = pixels + rng.normal(size=pixels.shape) * spread[..., None]
    confidence = np.where(
        behind, rng.uniform(0.2, 0.5, behind.shape), rng.uniform(0.7, 1.0, behind.shape)
    )
    out = np.concatenate([noisy, confidence[..., None]], -1)
    _collapse(out, behind, size, rng)
    out[rng.random(behind.shape) < 0.01] = np.nan
    out[rng.random(len(out)) < 0.005] = np.nan
    return out


def _collapse(
    track: np.ndarray, behind: np.ndarray, size: np.ndarray, rng: np.random.Generator
) -> None:
    """In place: runs of :data:`COLLAPSE_RUN` frames, starting in about :data:`COLLAPSE_SHARE` of the
    frames, where an occluded joint is put on its twin (as BlazePose puts both knees on the
    visible leg), with low confidence."""
    twin = H36M17.flip_permutation()
    for start in np.flatnonzero(rng.random(len(track)) < COLLAPSE_SHARE):
        joint = rng.choice(np.asarray(H36M17.left + H36M17.right))
        rows = np.arange(start, min(start + rng.integers(*COLLAPSE_RUN), len(track)))
        rows = rows[behind[rows, joint]]
        jitter = rng.normal(size=(len(rows), 2)) * JITTER[1] * size[rows]
        track[rows, joint, :2] = track[rows, twin[joint], :2] + jitter
        track[rows, joint, 2] = rng.uniform(0.05, 0.3, len(rows))


def inject_swaps(track: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Runs of left/right swaps of random kinds and lengths over about :data:`SWAPPED_SHARE` of the
    frames, apart from each other, none longer than a third of the frames between runs (a detector
    that is wrong most of the time has no majority to go by) -> (swapped track, (T,) mask of the
    runs' frames)."""
    out, mask = track.copy(), np.zeros(len(track), bool)
    mean_run = float(np.mean(RUN_LENGTHS))
    runs = max(1, round(SWAPPED_SHARE * len(track) / mean_run))
    slot = len(track) // runs
    for i in range(runs):
        length = int(min(rng.choice(RUN_LENGTHS), max(1, slot // 3)))
        start = i * slot + int(rng.integers(5, max(6, slot - length - 4)))
        kind = SWAP_KINDS[rng.choice(list(SWAP_KINDS))]
        lefts = np.asarray([H36M17.index(n) for n in kind])
        rights = np.asarray([H36M17.right[H36M17.left.index(j)] for j in lefts])
        rows = np.arange(start, min(start + length, len(track)))[:, None]
        out[rows, lefts], out[rows, rights] = track[rows, rights], track[rows, lefts]
        mask[rows[:, 0]] = True
    return out, mask


def add_glitches(
    track: np.ndarray, truth: np.ndarray, swapped: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Frames the detector gets wrong as a whole (BlazePose on the shared clips: a frame with every
    joint drawn in towards the body's middle, the arms across the chest, often with the whole body
    mirrored, reported with full confidence), in about :data:`GLITCH_SHARE` of the frames and, with
    chance :data:`GLITCH_AT_FLIP`, next to each end of a run of whole-body swaps (the detector
    passing from one labelling to the other) -> (track, (T,) mask of the glitched frames)."""
    out = track.copy()
    mask = rng.random(len(track)) < GLITCH_SHARE
    for lo, hi in _whole_body_runs(track, truth, swapped):
        for at in (lo - 1, hi):
            if 0 <= at < len(track) and not swapped[at] and rng.random() < GLITCH_AT_FLIP:
                mask[at] = True
    flip = H36M17.flip_permutation()
    for t in np.flatnonzero(mask & ~np.isnan(track[:, :, 0]).all(1)):
        centre = np.nanmean(track[t, :, 0])
        frame = out[t, flip] if rng.random() < 0.5 else out[t].copy()
        frame[:, 0] = centre + rng.uniform(*GLITCH_WIDTH) * (frame[:, 0] - centre)
        out[t] = frame
    return out, mask


def _whole_body_runs(
    track: np.ndarray, truth: np.ndarray, swapped: np.ndarray
) -> list[tuple[int, int]]:
    """(start, end) of the runs of ``swapped`` frames in which hips and shoulders are swapped."""
    girdles = [H36M17.index(name) for name in ("LHip", "LShoulder")]
    twins = H36M17.flip_permutation()[girdles]
    edges = np.flatnonzero(np.diff(np.concatenate([[0], swapped.astype(np.int8), [0]])))
    return [
        (int(lo), int(hi))
        for lo, hi in zip(edges[::2], edges[1::2])
        if np.array_equal(track[lo:hi, girdles], truth[lo:hi, twins], equal_nan=True)
    ]


def wrong_labels(fixed: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(T,) frames where some joint is not where its true label puts it, apart from twins closer
    than :data:`COINCIDENT` of the person's size."""
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # missed frames: no size, nothing wrong
        size = np.linalg.norm(np.nanmax(truth[..., :2], 1) - np.nanmin(truth[..., :2], 1), axis=-1)
    off = np.nan_to_num(np.linalg.norm(fixed[..., :2] - truth[..., :2], axis=-1), nan=0.0)
    left, right = np.asarray(H36M17.left), np.asarray(H36M17.right)
    twins = np.nan_to_num(
        np.linalg.norm(truth[:, left, :2] - truth[:, right, :2], axis=-1), nan=0.0
    )
    close = twins <= COINCIDENT * np.nan_to_num(size, nan=0.0)[:, None]
    off[:, left] = np.where(close, 0.0, off[:, left])
    off[:, right] = np.where(close, 0.0, off[:, right])
    return (off > 0).any(1)


def score_clip(
    world: np.ndarray, fixer: Fixer, rng: np.random.Generator, glitches: bool = True
) -> Tally:
    """One view of one clip: the frames swapped and restored, correct and changed; ``glitches``:
    with the detector's whole-frame glitches (:func:`add_glitches`; drawn either way, so that the
    views and swaps are the same with and without)."""
    truth = detections(world, rng)
    track, swapped = inject_swaps(truth, rng)
    glitchy, glitched = add_glitches(track, truth, swapped, rng)
    if glitches:
        track = glitchy
    else:
        glitched = np.zeros_like(glitched)
    start = time.perf_counter()
    fixed = fixer(track)
    seconds = time.perf_counter() - start
    wrong = wrong_labels(fixed, truth)
    present = ~np.isnan(truth[..., :2]).all((1, 2)) & ~glitched
    swapped &= present & wrong_labels(track, truth)  # a swap of twins that coincide is no swap
    correct = present & ~wrong_labels(track, truth)
    return Tally(
        0,
        int(present.sum()),
        int(swapped.sum()),
        int((swapped & ~wrong).sum()),
        int(correct.sum()),
        int((correct & wrong).sum()),
        seconds,
    )


def swap_benchmark(
    data_dir: str | Path,
    fixers: dict[str, Fixer],
    *,
    clips_per_type: int = 4,
    views: int = 3,
    seed: int = 0,
    fps: float | None = None,
    glitches: bool = True,
) -> dict[str, dict[str, Tally]]:
    """Every fixer on the same views of the same clips -> fixer -> motion type (and "all") -> :class:`Tally`.
    ``fps``: resample the motion (default: each file's own rate); ``glitches``: the detector's
    whole-frame glitches added (:func:`score_clip`)."""
    from posemoe.datasets.bvh_motion import bvh_to_h36m17
    from posemoe.io.bvh import read_bvh

    results = {name: {} for name in fixers}
    for kind, paths in find_clips(data_dir, clips_per_type).items():
        for path in paths:
            world = bvh_to_h36m17(read_bvh(path), where=str(path), fps=fps)
            for name, fixer in fixers.items():
                rng = np.random.default_rng(
                    [seed, zlib.crc32(path.name.encode())]
                )  # same views for every fixer
                tally = Tally(clips=1)
                for _ in range(views):
                    tally.add(score_clip(world, fixer, rng, glitches))
                for key in (kind, "all"):
                    results[name].setdefault(key, Tally()).add(tally)
    return results


def swap_table(results: dict[str, dict[str, Tally]]) -> str:
    """Markdown: per fixer and motion type, swapped frames restored and correct frames changed."""
    lines = []
    for name, kinds in results.items():
        lines += [
            f"\n{name}\n",
            "| motion | clips | frames | swapped frames | restored | correct frames changed | ms / 1000 frames |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        lines += [tally.row(kind) for kind, tally in kinds.items() if kind != "all"]
        lines.append(kinds["all"].row("**all**"))
    return "\n".join(lines)


def run_swap_benchmark(
    data_dir: str | Path, *, clips_per_type: int = 4, views: int = 3, fps: float | None = None
) -> str:
    """``posemoe bench --swaps``: the detector's labels as they are beside the clean-up, as markdown."""
    from posemoe.inference.cleanup import fix_left_right_swaps

    fixers: dict[str, Fixer] = {
        "detector's labels (no clean-up)": lambda track: track,
        "clean-up (fix_left_right_swaps)": lambda track: fix_left_right_swaps(track)[0],
    }
    rate = f"{fps:g} fps" if fps else "the files' frame rate"
    head = f"left/right clean-up on {data_dir}, {clips_per_type} clips per motion type, {views} views each, {rate}"
    return head + swap_table(
        swap_benchmark(data_dir, fixers, clips_per_type=clips_per_type, views=views, fps=fps)
    )
