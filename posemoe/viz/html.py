"""One self-contained .html with a rotatable 3D animation of the lifted skeletons.

plotly.js is embedded in the file, so it opens offline (no CDN). The renderers give the joints
in the ground's frame (:func:`posemoe.viz.render.level_from_camera`: the camera frame with its
pitch and roll taken out, y down along the floor's normal); the view starts where the video's
camera stood, looking along its heading, level, so the first picture matches the video with the
floor flat; the axes fit every skeleton's extent over the clip, in true proportions. Plot axes
are that frame re-labelled so that plotly's turntable rotates about the vertical: plot x = x
(right), plot y = z (depth), plot z = -y (up). A lone person's legend names its
sides; several people get a legend entry each ("id 3", in its hue: a click hides the person) and
a key saying that each person's left side is lighter and right side darker.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from posemoe.errors import MissingDependency
from posemoe.layouts import H36M17, JointLayout
from posemoe.viz.draw import TRUTH, Person, bone_sides, legend_entries, shades, unseen_bones

_NAMES = ("person's left", "person's right", "trunk and head")  # by side: left, right, trunk
_UNSEEN_NAME = "unseen: outside the frame or low confidence (dashed)"


def _as_plot(points: np.ndarray) -> np.ndarray:
    """(..., 3) camera frame (x right, y down, z forward) -> plot axes (x right, y depth, z up)."""
    return np.stack([points[..., 0], points[..., 2], -points[..., 1]], -1)


def _polyline(points: np.ndarray, bones: list[tuple[int, int]]) -> dict[str, list]:
    """x, y, z lists drawing ``bones`` of (J, 3) plot-axis ``points`` as one line with gaps;
    bones with a NaN end are left out."""
    xyz: list[list] = [[], [], []]
    for a, b in bones:
        if not np.isfinite(points[[a, b]]).all():
            continue
        for k in range(3):
            xyz[k] += [float(points[a, k]), float(points[b, k]), None]
    return {"x": xyz[0] or [None], "y": xyz[1] or [None], "z": xyz[2] or [None]}


def _legend(unseen: bool, side: int, colour: tuple[int, int, int] | None, label: str) -> dict:
    """Legend name, group and visibility of one trace: a lone person's (``colour`` None) by side,
    with one entry for all unseen bones; one of several people's in the group ``label``, shown once."""
    if colour is None:
        if unseen:
            return {"name": _UNSEEN_NAME, "legendgroup": "unseen", "showlegend": side == 2}
        return {
            "name": f"{label}: {_NAMES[side]}" if label else _NAMES[side],
            "legendgroup": _NAMES[side],
            "showlegend": True,
        }
    shown = side == 2 and not unseen
    name = label if shown else f"{label}: {_NAMES[side]}" + (", unseen" if unseen else "")
    return {"name": name, "legendgroup": label, "showlegend": shown}


def _traces(
    pose: np.ndarray,
    truth: np.ndarray | None,
    hidden: np.ndarray | None,
    layout: JointLayout,
    colour: tuple[int, int, int] | None = None,
    label: str = "",
) -> list[dict]:
    """The plotly traces of one person in one frame: per side, the seen bones (and the unseen
    ones, dashed, when ``hidden`` (B,) is given), then the truth. Always the same traces, in order;
    NaN (J, 3) ``pose`` and ``truth`` give empty ones (a frame where the person is not seen)."""
    p = _as_plot(np.asarray(pose, float))
    sides = bone_sides(layout)
    out = []
    for style in ("seen", "unseen") if hidden is not None else ("seen",):
        for side, rgb in enumerate(shades(colour)):
            bones = [
                bone
                for i, bone in enumerate(layout.bones)
                if sides[i] == side and (hidden is None or bool(hidden[i]) == (style == "unseen"))
            ]
            line = {
                "color": f"rgb{rgb}",
                "width": 7 if style == "seen" else 3,
                "dash": "solid" if style == "seen" else "dash",
            }
            marker = {
                "size": 2 if style == "seen" else 3,
                "color": f"rgb{rgb}",
                "symbol": "circle" if style == "seen" else "circle-open",
            }
            out.append(
                {
                    "type": "scatter3d",
                    "mode": "lines+markers",
                    **_polyline(p, bones),
                    "line": line,
                    "marker": marker,
                    **_legend(style == "unseen", side, colour, label),
                    "hoverinfo": "skip",
                }
            )
    if truth is not None:
        out.append(
            {
                "type": "scatter3d",
                "mode": "lines",
                **_polyline(_as_plot(np.asarray(truth, float)), layout.bones),
                "line": {"color": f"rgb{TRUTH}", "width": 4},
                "name": "truth",
                "hoverinfo": "skip",
            }
        )
    return out


def _key_traces(hue: tuple[int, int, int], unseen: bool) -> list[dict]:
    """Empty traces whose legend entries say what several people's shades (shown in ``hue``) and
    dashes mean."""
    entries = legend_entries(unseen=unseen, hue=hue)
    return [
        {
            "type": "scatter3d",
            "mode": "lines",
            "x": [None],
            "y": [None],
            "z": [None],
            "line": {
                "color": f"rgb{e.colour}",
                "width": 3 if e.dashed else 7,
                "dash": "dash" if e.dashed else "solid",
            },
            "name": _UNSEEN_NAME if e.dashed else e.label,
            "legendgroup": f"key {k}",
            "hoverinfo": "skip",
        }
        for k, e in enumerate(entries)
    ]


def fitted_scene(points: np.ndarray, *, pad: float = 0.15, min_span: float = 0.8) -> dict:
    """A plotly ``scene`` for (N, 3) plot-axis points (metres): each axis spans the points'
    extent plus ``pad`` (at least ``min_span``), in true proportions, and the camera starts behind
    the video's camera (-depth), looking along +depth, up = up."""
    finite = points[np.isfinite(points).all(-1)]
    lo, hi = (finite.min(0), finite.max(0)) if len(finite) else (np.full(3, -1.0), np.full(3, 1.0))
    centre = (lo + hi) / 2
    half = np.maximum((hi - lo) / 2 + pad, min_span / 2)
    ratio = half / half.max()
    names = {"x": "x, right (m)", "y": "depth (m)", "z": "up (m)"}
    scene = {
        f"{a}axis": {
            "range": [float(centre[k] - half[k]), float(centre[k] + half[k])],
            "title": {"text": names[a]},
        }
        for k, a in enumerate("xyz")
    }
    # plotly's eye is in units of the box (aspectratio); back off past the box's near face far
    # enough that the taller of its width and height fits the view (found by looking in Chromium)
    distance = 0.5 * float(ratio[1]) + 1.25 * float(max(ratio[0], ratio[2]))
    scene["camera"] = {
        "eye": {"x": 0.0, "y": -distance, "z": 0.0},
        "center": {"x": 0.0, "y": 0.0, "z": 0.0},
        "up": {"x": 0.0, "y": 0.0, "z": 1.0},
        "projection": {"type": "perspective"},
    }
    scene["aspectmode"] = "manual"
    scene["aspectratio"] = {a: float(ratio[k]) for k, a in enumerate("xyz")}
    return scene


def people_figure(
    people: Sequence[Person],
    *,
    fps: float,
    title: str = "posemoe 3D pose",
    max_frames: int = 600,
    layout: JointLayout = H36M17,
) -> dict:
    """The plotly figure (a dict) of :func:`write_people_html`: per kept frame, every person's
    traces (empty where the person is not visible), the scene fitted to all of them."""
    length = len(people[0].joints) if people else 0
    step = max(1, int(np.ceil(length / max_frames)))
    keep = [int(t) for t in np.arange(0, length, step)]
    hidden = [
        None
        if p.unseen is None or not np.any(p.unseen)
        else unseen_bones(np.asarray(p.unseen, bool), layout)
        for p in people
    ]
    hue = next((p.colour for p in people if p.colour is not None), None)
    keys = [] if hue is None else _key_traces(hue, any(h is not None for h in hidden))
    nothing = np.full((layout.num_joints, 3), np.nan)

    def traces(t: int) -> list[dict]:
        out = []
        for person, bones_hidden in zip(people, hidden):
            pose = person.pose(t)
            truth = None if person.truth is None else nothing if pose is None else pose.truth
            out += _traces(
                nothing if pose is None else pose.joints,
                truth,
                None if bones_hidden is None else bones_hidden[t],
                layout,
                person.colour,
                person.label,
            )
        return out + keys

    everything = np.concatenate([p.shown_points() for p in people]) if people else np.empty((0, 3))
    truth = any(p.truth is not None for p in people)
    duration = 1000.0 * step / fps
    play = {
        "frame": {"duration": duration, "redraw": True},
        "fromcurrent": True,
        "transition": {"duration": 0},
    }
    return {
        "data": traces(keep[0]) if keep else [],
        "frames": [{"data": traces(t), "name": str(t)} for t in keep],
        "layout": {
            "title": {
                "text": title
                + ("" if not truth else " (green: truth)")
                + "<br><sub>seen from the video's camera, level with the ground; drag to rotate, scroll to zoom</sub>"
            },
            "scene": fitted_scene(_as_plot(np.asarray(everything, float))),
            "legend": {"x": 0.01, "y": 0.99, "bgcolor": "rgba(255,255,255,0.7)"},
            "margin": {"l": 0, "r": 0, "t": 70, "b": 0},
            "updatemenus": [
                {
                    "type": "buttons",
                    "showactive": False,
                    "x": 0.05,
                    "y": 0.02,
                    "xanchor": "right",
                    "buttons": [
                        {"label": "play", "method": "animate", "args": [None, play]},
                        {
                            "label": "pause",
                            "method": "animate",
                            "args": [
                                [None],
                                {"frame": {"duration": 0, "redraw": False}, "mode": "immediate"},
                            ],
                        },
                    ],
                }
            ],
            "sliders": [
                {
                    "x": 0.08,
                    "len": 0.9,
                    "y": 0.02,
                    "currentvalue": {"prefix": "frame "},
                    "steps": [
                        {
                            "label": str(t),
                            "method": "animate",
                            "args": [
                                [str(t)],
                                {"frame": {"duration": 0, "redraw": True}, "mode": "immediate"},
                            ],
                        }
                        for t in keep
                    ],
                }
            ],
        },
    }


def write_people_html(
    path: str | Path,
    people: Sequence[Person],
    *,
    fps: float,
    title: str = "posemoe 3D pose",
    max_frames: int = 600,
    layout: JointLayout = H36M17,
) -> Path:
    """A single self-contained .html (plotly.js embedded, works offline) with the animation of
    ``people`` (:class:`~posemoe.viz.draw.Person`: (T, J, 3) metres, camera frame): drag to
    rotate, play/pause, a frame slider, a legend. Unseen joints are drawn dashed. Longer clips
    are subsampled to ``max_frames`` frames (the playback rate is kept)."""
    try:
        import plotly.io as pio
    except ImportError:
        raise MissingDependency(
            "the .html output needs plotly: pip install 'posemoe[video]'"
        ) from None
    figure = people_figure(people, fps=fps, title=title, max_frames=max_frames, layout=layout)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    pio.write_html(
        figure, out, validate=False, include_plotlyjs=True, full_html=True, auto_play=False
    )
    return out


def write_html(
    path: str | Path,
    joints_3d: np.ndarray,
    *,
    fps: float,
    truth: np.ndarray | None = None,
    unseen: np.ndarray | None = None,
    title: str = "posemoe 3D pose",
    max_frames: int = 600,
    layout: JointLayout = H36M17,
) -> Path:
    """A single self-contained .html (plotly.js embedded, works offline) with the (T, J, 3)
    animation (metres, camera frame) of one person (:func:`write_people_html`). ``unseen``
    (T, J) bool joints are drawn dashed. Longer clips are subsampled to ``max_frames`` frames."""
    return write_people_html(
        path,
        [Person(joints_3d, unseen=unseen, truth=truth)],
        fps=fps,
        title=title,
        max_frames=max_frames,
        layout=layout,
    )
