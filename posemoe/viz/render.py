"""The renderings the CLI and the demo ask for by name: "mp4" (side by side) and "html" (3D viewer)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from posemoe.errors import UserError
from posemoe.inference.unseen import unseen_joints

RENDERINGS = ("mp4", "html")


def _source_size(source: str | Path | int | None, frames: Iterator[np.ndarray] | None
                 ) -> tuple[tuple[int, int] | None, Iterator[np.ndarray] | None]:
    """The (width, height) of the images the keypoints were found in, from the first of ``frames``
    (which are handed back whole) or by opening a ``source`` file; None for anything else."""
    if frames is not None:
        iterator = iter(frames)
        first = next(iterator, None)
        if first is None:
            return None, iter(())
        return (first.shape[1], first.shape[0]), itertools.chain([first], iterator)
    if source is None or isinstance(source, int) or not Path(str(source)).exists():
        return None, None
    from posemoe.io.video import open_frames

    with open_frames(source) as video:
        return video.size, None


def render_outputs(out: Path, stem: str, source: str | Path | int | None, keypoints: np.ndarray, joints: np.ndarray, *,
                   fps: float, render: tuple[str, ...], truth: np.ndarray | None = None,
                   frames: Iterator[np.ndarray] | None = None, quiet: bool = False,
                   inputs: Iterable[str | Path | None] = (), image_size: tuple[int, int] | None = None,
                   unseen: np.ndarray | None = None) -> list[Path]:
    """Write the renderings named in ``render`` ("mp4", "html") of ``keypoints`` (T, 17, 3)
    pixels + confidence and ``joints`` (T, 17, 3) metres as ``out/stem.<kind>``. The .mp4 re-reads
    ``source`` (or draws on ``frames``) so that a long video is never held in memory. ``unseen``
    (T, 17) bool defaults to :func:`unseen_joints` in ``image_size`` (default: the source's).
    No rendering may replace one of ``inputs`` (or ``source``)."""
    from posemoe.export.results import refuse_inputs

    unknown = set(render) - set(RENDERINGS)
    if unknown:
        raise UserError(f"unknown rendering {sorted(unknown)}; choose from {', '.join(RENDERINGS)}")
    refuse_inputs([out / f"{stem}.{kind}" for kind in render], [source, *inputs])
    if unseen is None:
        size, frames = (image_size, frames) if image_size is not None else _source_size(source, frames)
        unseen, summary = unseen_joints(keypoints, size)
        if not quiet:
            print(summary)
    paths = []
    if "mp4" in render:
        from posemoe.io.video import open_frames
        from posemoe.viz.video import render_mp4

        if frames is not None:
            paths.append(render_mp4(out / f"{stem}.mp4", frames, keypoints, joints, fps=fps, truth=truth,
                                    unseen=unseen))
        else:
            with open_frames(source) as video:
                paths.append(render_mp4(out / f"{stem}.mp4", video, keypoints, joints, fps=fps, truth=truth,
                                        unseen=unseen))
    if "html" in render:
        from posemoe.viz.html import write_html

        paths.append(write_html(out / f"{stem}.html", joints, fps=fps, truth=truth, unseen=unseen,
                                title=f"posemoe: {stem}"))
    if not quiet and paths:
        print("rendered " + ", ".join(str(p) for p in paths))
    return paths
