"""One self-contained .html with a rotatable 3D animation of the lifted skeleton.

plotly.js is embedded in the file, so it opens offline (no CDN). The view starts where the video's
camera was: behind it, looking along +z with image-up as up, so the first picture matches the
video; the axes fit the skeleton's extent over the clip, in true proportions. Plot axes are the
camera frame re-labelled so that plotly's turntable rotates about the vertical: plot x = camera x
(right), plot y = camera z (depth), plot z = -camera y (up).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from posemoe.errors import MissingDependency
from posemoe.layouts import H36M17, JointLayout
from posemoe.viz.draw import CENTRE, LEFT, RIGHT, TRUTH, bone_colours, unseen_bones

_NAMES = {LEFT: "person's left", RIGHT: "person's right", CENTRE: "trunk and head"}
_UNSEEN_NAME = "unseen: outside the frame or low confidence (dashed)"


def _as_plot(points: np.ndarray) -> np.ndarray:
    """(..., 3) camera frame (x right, y down, z forward) -> plot axes (x right, y depth, z up)."""
    return np.stack([points[..., 0], points[..., 2], -points[..., 1]], -1)


def _polyline(points: np.ndarray, bones: list[tuple[int, int]]) -> dict[str, list]:
    """x, y, z lists drawing ``bones`` of (J, 3) plot-axis ``points`` as one line with gaps."""
    xyz: list[list] = [[], [], []]
    for a, b in bones:
        for k in range(3):
            xyz[k] += [float(points[a, k]), float(points[b, k]), None]
    return {"x": xyz[0] or [None], "y": xyz[1] or [None], "z": xyz[2] or [None]}


def _traces(pose: np.ndarray, truth: np.ndarray | None, hidden: np.ndarray | None, layout: JointLayout) -> list[dict]:
    """The plotly traces of one frame: per side colour, the seen bones (and the unseen ones,
    dashed, when ``hidden`` (B,) is given), then the truth. Always the same traces, in order."""
    p = _as_plot(np.asarray(pose, float))
    colours = bone_colours(layout)
    out = []
    for style in ("seen", "unseen") if hidden is not None else ("seen",):
        for colour in (LEFT, RIGHT, CENTRE):
            bones = [bone for i, bone in enumerate(layout.bones) if colours[i] == colour
                     and (hidden is None or bool(hidden[i]) == (style == "unseen"))]
            line = {"color": f"rgb{colour}", "width": 7 if style == "seen" else 3,
                    "dash": "solid" if style == "seen" else "dash"}
            marker = {"size": 2 if style == "seen" else 3, "color": f"rgb{colour}",
                      "symbol": "circle" if style == "seen" else "circle-open"}
            shown = style == "seen" or colour == CENTRE
            out.append({"type": "scatter3d", "mode": "lines+markers", **_polyline(p, bones), "line": line,
                        "marker": marker, "name": _NAMES[colour] if style == "seen" else _UNSEEN_NAME,
                        "legendgroup": style if style == "unseen" else _NAMES[colour], "showlegend": shown,
                        "hoverinfo": "skip"})
    if truth is not None:
        out.append({"type": "scatter3d", "mode": "lines", **_polyline(_as_plot(np.asarray(truth, float)), layout.bones),
                    "line": {"color": f"rgb{TRUTH}", "width": 4}, "name": "truth", "hoverinfo": "skip"})
    return out


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
    scene = {f"{a}axis": {"range": [float(centre[k] - half[k]), float(centre[k] + half[k])],
                          "title": {"text": names[a]}} for k, a in enumerate("xyz")}
    # plotly's eye is in units of the box (aspectratio); back off past the box's near face far
    # enough that the taller of its width and height fits the view (found by looking in Chromium)
    distance = 0.5 * float(ratio[1]) + 1.25 * float(max(ratio[0], ratio[2]))
    scene["camera"] = {"eye": {"x": 0.0, "y": -distance, "z": 0.0},
                       "center": {"x": 0.0, "y": 0.0, "z": 0.0}, "up": {"x": 0.0, "y": 0.0, "z": 1.0},
                       "projection": {"type": "perspective"}}
    scene["aspectmode"] = "manual"
    scene["aspectratio"] = {a: float(ratio[k]) for k, a in enumerate("xyz")}
    return scene


def write_html(path: str | Path, joints_3d: np.ndarray, *, fps: float, truth: np.ndarray | None = None,
               unseen: np.ndarray | None = None, title: str = "posemoe 3D pose", max_frames: int = 600,
               layout: JointLayout = H36M17) -> Path:
    """A single self-contained .html (plotly.js embedded, works offline) with the (T, J, 3)
    animation (metres, camera frame): drag to rotate, play/pause, a frame slider, a legend.
    ``unseen`` (T, J) bool joints are drawn dashed. Longer clips are subsampled to
    ``max_frames`` frames (the playback rate is kept)."""
    try:
        import plotly.io as pio
    except ImportError:
        raise MissingDependency("the .html output needs plotly: pip install 'posemoe[video]'") from None
    step = max(1, int(np.ceil(len(joints_3d) / max_frames)))
    keep = [int(t) for t in np.arange(0, len(joints_3d), step)]
    hidden = None if unseen is None or not np.any(unseen) else unseen_bones(np.asarray(unseen, bool), layout)

    def traces(t: int) -> list[dict]:
        return _traces(joints_3d[t], None if truth is None else truth[t], None if hidden is None else hidden[t], layout)

    everything = np.concatenate([joints_3d] + ([truth] if truth is not None else [])).reshape(-1, 3)
    duration = 1000.0 * step / fps
    play = {"frame": {"duration": duration, "redraw": True}, "fromcurrent": True, "transition": {"duration": 0}}
    figure = {
        "data": traces(keep[0]),
        "frames": [{"data": traces(t), "name": str(t)} for t in keep],
        "layout": {
            "title": {"text": title + ("" if truth is None else " (green: truth)")
                      + "<br><sub>seen from the video's camera; drag to rotate, scroll to zoom</sub>"},
            "scene": fitted_scene(_as_plot(np.asarray(everything, float))),
            "legend": {"x": 0.01, "y": 0.99, "bgcolor": "rgba(255,255,255,0.7)"},
            "margin": {"l": 0, "r": 0, "t": 70, "b": 0},
            "updatemenus": [{"type": "buttons", "showactive": False, "x": 0.05, "y": 0.02, "xanchor": "right",
                             "buttons": [{"label": "play", "method": "animate", "args": [None, play]},
                                         {"label": "pause", "method": "animate",
                                          "args": [[None], {"frame": {"duration": 0, "redraw": False},
                                                            "mode": "immediate"}]}]}],
            "sliders": [{"x": 0.08, "len": 0.9, "y": 0.02, "currentvalue": {"prefix": "frame "},
                         "steps": [{"label": str(t), "method": "animate",
                                    "args": [[str(t)], {"frame": {"duration": 0, "redraw": True}, "mode": "immediate"}]}
                                   for t in keep]}],
        },
    }
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    pio.write_html(figure, out, validate=False, include_plotlyjs=True, full_html=True, auto_play=False)
    return out
