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


def _source_size(
    source: str | Path | int | None, frames: Iterator[np.ndarray] | None
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


def _check(
    out: Path,
    stem: str,
    render: Iterable[str],
    source: str | Path | int | None,
    inputs: Iterable[str | Path | None],
) -> None:
    """Refuse unknown renderings and any that would replace ``source`` or one of ``inputs``."""
    from posemoe.io.files import refuse_inputs

    unknown = set(render) - set(RENDERINGS)
    if unknown:
        raise UserError(f"unknown rendering {sorted(unknown)}; choose from {', '.join(RENDERINGS)}")
    refuse_inputs([out / f"{stem}.{kind}" for kind in render], [source, *inputs])


def level_from_camera(
    joints: Sequence[np.ndarray],
    visible: Sequence[np.ndarray | None],
    fps: float,
    world_from_camera: np.ndarray | None = None,
) -> np.ndarray:
    """(4, 4) transform from camera-frame points (metres) to the frame the 3D views draw in, the
    ground's: y down along the floor's normal (0 on the floor), z the camera's forward direction
    on the floor, x its right; the origin on the floor under the first person's pelvis at first
    sight. It is the world frame of :func:`~posemoe.inference.trajectory.world_transform` with y
    and z turned to the drawing's convention (image y down): the camera's pitch and roll are taken
    out, its heading kept, so that an upright person filmed from above stands upright on the grid.
    ``world_from_camera`` is used when given; otherwise the ground is fitted to the feet of
    ``joints`` (per person (T, J, 3), camera frame; (T,) ``visible``), as ``--world`` fits it."""
    from posemoe.inference.trajectory import fit_ground, world_transform

    if world_from_camera is None:
        seen = [
            np.ones(len(j), bool) if v is None else np.asarray(v, bool)
            for j, v in zip(joints, visible)
        ]
        tracks = [np.asarray(j, float) for j in joints]
        if not any(s.any() for s in seen):
            return np.diag([1.0, 1.0, 1.0, 1.0])
        ground = fit_ground(tracks, fps, visible=seen)
        first = tracks[0][int(np.argmax(seen[0]))] if seen[0].any() else tracks[0][0]
        world_from_camera = world_transform(ground, first[0])
    return np.diag([1.0, -1.0, -1.0, 1.0]) @ np.asarray(world_from_camera, float)


def _levelled(points: np.ndarray | None, transform: np.ndarray) -> np.ndarray | None:
    return (
        None
        if points is None
        else np.asarray(points, float) @ transform[:3, :3].T + transform[:3, 3]
    )


def scene_view(people: Sequence[Person]) -> View3D:
    """The 3D panel's framing of ``people`` placed in the ground's frame (:func:`level_from_camera`):
    fitted to everyone where visible, the floor grid on the ground."""
    from posemoe.viz.draw import fit_view

    shown = [p.shown_points() for p in people]
    return fit_view(np.concatenate(shown) if shown else np.zeros((0, 3)), floor_y=0.0)


def _write(
    out: Path,
    stem: str,
    source: str | Path | int | None,
    people: Sequence[Person],
    *,
    fps: float,
    render: tuple[str, ...],
    frames: Iterator[np.ndarray] | None,
    quiet: bool,
    view: View3D | None,
    height: int | None = None,
) -> list[Path]:
    """Write the renderings of ``people`` as ``out/stem.<kind>``; the .mp4 draws on ``frames`` or
    re-reads ``source``, its 3D panel framed by ``view`` (None: fitted to everyone), ``height``
    pixels tall (None: the video's, at most 720), with a progress bar unless ``quiet``."""
    paths = []
    if "mp4" in render:
        from posemoe.io.video import open_frames
        from posemoe.viz.video import render_people_mp4

        options = {"fps": fps, "view": view, "height": height, "progress": not quiet}
        if frames is not None:
            paths.append(render_people_mp4(out / f"{stem}.mp4", frames, people, **options))
        else:
            with open_frames(source) as video:
                paths.append(render_people_mp4(out / f"{stem}.mp4", video, people, **options))
    if "html" in render:
        from posemoe.viz.html import write_people_html

        paths.append(
            write_people_html(out / f"{stem}.html", people, fps=fps, title=f"posemoe: {stem}")
        )
    if not quiet and paths:
        print("rendered " + ", ".join(str(p) for p in paths))
    return paths


def render_outputs(
    out: Path,
    stem: str,
    source: str | Path | int | None,
    keypoints: np.ndarray,
    joints: np.ndarray,
    *,
    fps: float,
    render: tuple[str, ...],
    truth: np.ndarray | None = None,
    frames: Iterator[np.ndarray] | None = None,
    quiet: bool = False,
    inputs: Iterable[str | Path | None] = (),
    image_size: tuple[int, int] | None = None,
    unseen: np.ndarray | None = None,
    height: int | None = None,
) -> list[Path]:
    """Write the renderings named in ``render`` ("mp4", "html") of one person's ``keypoints``
    (T, 17, 3) pixels + confidence and ``joints`` (T, 17, 3) metres, root-relative, as
    ``out/stem.<kind>``, the 3D in the ground's frame (:func:`level_from_camera`). The .mp4 re-reads
    ``source`` (or draws on ``frames``) so that a long video is never held in memory; it is
    ``height`` pixels tall (None: the video's, at most 720). ``unseen`` (T, 17) bool defaults to
    :func:`unseen_joints` in ``image_size`` (default: the source's). No rendering may replace one of
    ``inputs`` (or ``source``)."""
    _check(out, stem, render, source, inputs)
    if unseen is None:
        size, frames = (
            (image_size, frames) if image_size is not None else _source_size(source, frames)
        )
        unseen, summary = unseen_joints(keypoints, size)
        if not quiet:
            print(summary)
    level = level_from_camera([joints], [None], fps)
    person = Person(
        _levelled(joints, level), keypoints, unseen=unseen, truth=_levelled(truth, level)
    )
    return _write(
        out,
        stem,
        source,
        [person],
        fps=fps,
        render=render,
        frames=frames,
        quiet=quiet,
        view=scene_view([person]),
        height=height,
    )


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
    return [
        np.tile([SPACING * slot, 0.0, 0.0], (len(p.joints_3d), 1)) for p, slot in zip(people, slots)
    ]


def result_people(
    result: Result, *, truth: np.ndarray | None = None, quiet: bool = True
) -> list[Person]:
    """The people of ``result`` as drawn: joints placed by :func:`placement` (a lone person without
    a root path: root-relative) and turned into the ground's frame (:func:`level_from_camera`, from
    the result's ``world_from_camera`` when it has one), labelled "id <track>",
    each in its hue from :func:`person_colour` (a lone person: in the left/right colours), unseen
    joints from the result or else found in ``result.image_size``. ``truth`` (T, J, 3) metres,
    root-relative, is the first person's."""
    several = len(result.people) > 1
    offsets = placement(result.people)
    placed = [
        np.asarray(p.joints_3d, float) + offset[:, None]
        for p, offset in zip(result.people, offsets)
    ]
    roots = all(
        p.root is not None for p in result.people
    )  # else placed side by side, root-relative
    world = next(
        (
            p.world_from_camera
            for p in result.people
            if roots and getattr(p, "world_from_camera", None) is not None
        ),
        None,
    )
    level = level_from_camera(placed, [p.visible for p in result.people], result.fps, world)
    people = []
    for i, (person, offset, joints) in enumerate(zip(result.people, offsets, placed)):
        unseen = person.unseen
        if unseen is None:
            size = tuple(result.image_size) if result.image_size is not None else None
            unseen, summary = unseen_joints(person.keypoints, size)
            if not quiet:
                print(f"id {person.track}: {summary}")
        mine = truth if i == 0 else None
        people.append(
            Person(
                _levelled(joints, level),
                person.keypoints,
                np.asarray(person.visible, bool),
                unseen,
                None
                if mine is None
                else _levelled(np.asarray(mine, float) + offset[:, None], level),
                person_colour(i) if several else None,
                f"id {person.track}",
            )
        )
    return people


def render_result(
    out: Path,
    result: Result,
    render: tuple[str, ...],
    *,
    frames: Iterator[np.ndarray] | None = None,
    quiet: bool = False,
    inputs: Iterable[str | Path | None] = (),
    truth: np.ndarray | None = None,
    height: int | None = None,
) -> list[Path]:
    """Write the renderings named in ``render`` ("mp4", "html") of every person of ``result`` as
    ``out/<name>.<kind>`` (:func:`result_people`; name: :func:`posemoe.export.output_name`): each
    in its own hue and labelled "id <track>", left out of the frames where it is not visible,
    placed in the 3D views at its root (or side by side). The .mp4 re-reads ``result.source`` unless ``frames`` are given.
    ``truth`` (T, J, 3) metres, root-relative, belongs to the first person. No rendering may
    replace ``result.source`` or one of ``inputs``. The .mp4 is ``height`` pixels tall (None: the
    video's, at most 720)."""
    from posemoe.export.formats import output_name

    out, stem = Path(out), output_name(result)
    _check(out, stem, render, result.source, inputs)
    if not render:
        return []
    if not result.people:
        if not quiet:
            print("nobody to render: no person was tracked")
        return []
    people = result_people(result, truth=truth, quiet=quiet)
    return _write(
        out,
        stem,
        result.source,
        people,
        fps=result.fps,
        render=render,
        frames=frames,
        quiet=quiet,
        view=scene_view(people),
        height=height,
    )
