"""The renderings the CLI and the demo ask for by name: "mp4" (side by side) and "html" (3D viewer),
of one person (:func:`render_outputs`) or of everyone in a pipeline's result (:func:`render_result`)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from posemoe.errors import UserError
from posemoe.inference.unseen import unseen_joints
from posemoe.viz.draw import Person, View3D, person_colour

if TYPE_CHECKING:
    from posemoe.inference.result import PersonResult, Result

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


SPACING = 1.0  # metres between root-relative people set side by side in the 3D views


def _check(out: Path, stem: str, render: Iterable[str], source: str | Path | int | None,
           inputs: Iterable[str | Path | None]) -> None:
    """Refuse unknown renderings and any that would replace ``source`` or one of ``inputs``."""
    from posemoe.export.results import refuse_inputs

    unknown = set(render) - set(RENDERINGS)
    if unknown:
        raise UserError(f"unknown rendering {sorted(unknown)}; choose from {', '.join(RENDERINGS)}")
    refuse_inputs([out / f"{stem}.{kind}" for kind in render], [source, *inputs])


def _write(out: Path, stem: str, source: str | Path | int | None, people: Sequence[Person], *, fps: float,
           render: tuple[str, ...], frames: Iterator[np.ndarray] | None, quiet: bool,
           view: View3D | None) -> list[Path]:
    """Write the renderings of ``people`` as ``out/stem.<kind>``; the .mp4 draws on ``frames`` or
    re-reads ``source``, its 3D panel framed by ``view`` (None: fitted to everyone)."""
    paths = []
    if "mp4" in render:
        from posemoe.io.video import open_frames
        from posemoe.viz.video import render_people_mp4

        if frames is not None:
            paths.append(render_people_mp4(out / f"{stem}.mp4", frames, people, fps=fps, view=view))
        else:
            with open_frames(source) as video:
                paths.append(render_people_mp4(out / f"{stem}.mp4", video, people, fps=fps, view=view))
    if "html" in render:
        from posemoe.viz.html import write_people_html

        paths.append(write_people_html(out / f"{stem}.html", people, fps=fps, title=f"posemoe: {stem}"))
    if not quiet and paths:
        print("rendered " + ", ".join(str(p) for p in paths))
    return paths


def render_outputs(out: Path, stem: str, source: str | Path | int | None, keypoints: np.ndarray, joints: np.ndarray, *,
                   fps: float, render: tuple[str, ...], truth: np.ndarray | None = None,
                   frames: Iterator[np.ndarray] | None = None, quiet: bool = False,
                   inputs: Iterable[str | Path | None] = (), image_size: tuple[int, int] | None = None,
                   unseen: np.ndarray | None = None) -> list[Path]:
    """Write the renderings named in ``render`` ("mp4", "html") of one person's ``keypoints``
    (T, 17, 3) pixels + confidence and ``joints`` (T, 17, 3) metres, root-relative, as
    ``out/stem.<kind>``. The .mp4 re-reads ``source`` (or draws on ``frames``) so that a long video
    is never held in memory. ``unseen`` (T, 17) bool defaults to :func:`unseen_joints` in
    ``image_size`` (default: the source's). No rendering may replace one of ``inputs`` (or ``source``)."""
    _check(out, stem, render, source, inputs)
    if unseen is None:
        size, frames = (image_size, frames) if image_size is not None else _source_size(source, frames)
        unseen, summary = unseen_joints(keypoints, size)
        if not quiet:
            print(summary)
    person = Person(joints, keypoints, unseen=unseen, truth=truth)
    return _write(out, stem, source, [person], fps=fps, render=render, frames=frames, quiet=quiet, view=View3D())


def placement(people: Sequence[PersonResult]) -> list[np.ndarray]:
    """Per person, the (T, 3) offset (metres, camera frame) that places its root-relative joints in
    the 3D views: its ``root`` when every person has one, else side by side, :data:`SPACING` apart
    along x, left to right in the order they stand in the video."""
    if all(p.root is not None for p in people):
        return [np.asarray(p.root, float) for p in people]

    def across(person: PersonResult) -> float:  # where the person stands in the image, on average
        x = np.asarray(person.keypoints, float)[np.asarray(person.visible, bool), :, 0]
        return float(np.nanmean(x)) if np.isfinite(x).any() else 0.0

    order = np.argsort([across(p) for p in people], kind="stable")
    slots = np.empty(len(people))
    slots[order] = np.arange(len(people)) - (len(people) - 1) / 2
    return [np.tile([SPACING * slot, 0.0, 0.0], (len(p.joints_3d), 1)) for p, slot in zip(people, slots)]


def result_people(result: Result, *, truth: np.ndarray | None = None, quiet: bool = True) -> list[Person]:
    """The people of ``result`` as drawn: joints placed by :func:`placement`, labelled "id <track>",
    each in its hue from :func:`person_colour` (a lone person: in the left/right colours), unseen
    joints from the result or else found in ``result.image_size``. ``truth`` (T, J, 3) metres,
    root-relative, is the first person's."""
    several = len(result.people) > 1
    people = []
    for i, (person, offset) in enumerate(zip(result.people, placement(result.people))):
        unseen = person.unseen
        if unseen is None:
            size = tuple(result.image_size) if result.image_size is not None else None
            unseen, summary = unseen_joints(person.keypoints, size)
            if not quiet:
                print(f"id {person.track}: {summary}")
        mine = truth if i == 0 else None
        people.append(Person(np.asarray(person.joints_3d, float) + offset[:, None], person.keypoints,
                             np.asarray(person.visible, bool), unseen,
                             None if mine is None else np.asarray(mine, float) + offset[:, None],
                             person_colour(i) if several else None, f"id {person.track}"))
    return people


def render_result(out: Path, result: Result, render: tuple[str, ...], *, frames: Iterator[np.ndarray] | None = None,
                  quiet: bool = False, inputs: Iterable[str | Path | None] = (),
                  truth: np.ndarray | None = None) -> list[Path]:
    """Write the renderings named in ``render`` ("mp4", "html") of every person of ``result`` as
    ``out/<name>.<kind>`` (:func:`result_people`; name: :func:`posemoe.export.output_name`): each
    in its own hue and labelled "id <track>", left out of the frames where it is not visible,
    placed in the 3D views at its root (or side by side). The .mp4 re-reads ``result.source`` unless ``frames`` are given.
    ``truth`` (T, J, 3) metres, root-relative, belongs to the first person. No rendering may
    replace ``result.source`` or one of ``inputs``."""
    from posemoe.export import output_name

    out, stem = Path(out), output_name(result)
    _check(out, stem, render, result.source, inputs)
    if not render:
        return []
    if not result.people:
        if not quiet:
            print("nobody to render: no person was tracked")
        return []
    people = result_people(result, truth=truth, quiet=quiet)
    lone = len(people) == 1 and result.people[0].root is None  # root-relative: today's view of one person
    return _write(out, stem, result.source, people, fps=result.fps, render=render, frames=frames,
                  quiet=quiet, view=View3D() if lone else None)
