"""Pictures of results: 2D skeletons over frames, a 3D skeleton panel, side-by-side .mp4, and a
single offline .html with a rotatable 3D animation.

Drawing uses OpenCV (from ``posemoe[video]``); the .html uses plotly with its JavaScript embedded
in the file, so it opens offline (no CDN). Poses are H36M-17: 2D in pixels (+ confidence), 3D in
metres, camera frame (x right, y down, z forward), root-relative.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from posemoe.errors import MissingDependency, UserError
from posemoe.io.video import require_cv2, write_video
from posemoe.layouts import H36M17, JointLayout

# RGB: the person's left side blue, right side orange, the trunk grey; the truth drawn in green.
LEFT, RIGHT, CENTRE, TRUTH = (40, 110, 230), (240, 120, 30), (120, 120, 120), (40, 170, 70)


def _bone_colours(layout: JointLayout) -> list[tuple[int, int, int]]:
    colours = []
    for _, child in layout.bones:
        colours.append(LEFT if child in layout.left else RIGHT if child in layout.right else CENTRE)
    return colours


def draw_skeleton_2d(image: np.ndarray, keypoints: np.ndarray, *, layout: JointLayout = H36M17,
                     min_confidence: float = 0.0, thickness: int | None = None) -> np.ndarray:
    """Draw (J, 2|3) pixel keypoints on a copy of an RGB image; bones of a joint whose confidence
    is below ``min_confidence`` are drawn thin (they were filled in over time)."""
    cv2 = require_cv2()
    out = np.ascontiguousarray(image).copy()
    width = thickness or max(2, round(min(out.shape[:2]) / 180))
    conf = keypoints[:, 2] if keypoints.shape[1] > 2 else np.ones(len(keypoints))
    for (a, b), colour in zip(layout.bones, _bone_colours(layout)):
        if np.isnan(keypoints[[a, b], :2]).any():
            continue
        sure = min(conf[a], conf[b]) >= min_confidence
        pa, pb = (tuple(int(round(v)) for v in keypoints[j, :2]) for j in (a, b))
        cv2.line(out, pa, pb, colour, width if sure else max(1, width // 2), cv2.LINE_AA)
    for j, point in enumerate(keypoints[:, :2]):
        if not np.isnan(point).any():
            cv2.circle(out, (int(round(point[0])), int(round(point[1]))), width + 1, (255, 255, 255), -1, cv2.LINE_AA)
    return out


def view_rotation(azimuth_deg: float = 35.0, elevation_deg: float = 12.0) -> np.ndarray:
    """(3, 3) rotation that turns camera-frame points to a viewer walking ``azimuth`` degrees
    around the person and looking down by ``elevation`` degrees."""
    a, e = np.radians(azimuth_deg), np.radians(elevation_deg)
    around = np.array([[np.cos(a), 0, -np.sin(a)], [0, 1, 0], [np.sin(a), 0, np.cos(a)]])
    down = np.array([[1, 0, 0], [0, np.cos(e), np.sin(e)], [0, -np.sin(e), np.cos(e)]])
    return down @ around


def draw_skeleton_3d(pose: np.ndarray, size: tuple[int, int], *, truth: np.ndarray | None = None,
                     rotation: np.ndarray | None = None, metres_tall: float = 2.4,
                     layout: JointLayout = H36M17) -> np.ndarray:
    """A (height, width, 3) RGB panel with the (J, 3) pose seen from ``rotation`` (default
    :func:`view_rotation`), on a floor grid, the ``truth`` (J, 3) in green behind it."""
    cv2 = require_cv2()
    width, height = size
    panel = np.full((height, width, 3), 250, np.uint8)
    rot = view_rotation() if rotation is None else rotation
    scale = height / metres_tall
    centre = np.array([width / 2, height * 0.47])

    def to_px(points: np.ndarray) -> np.ndarray:
        return (points @ rot.T)[..., :2] * scale + centre

    floor_y = 0.95  # metres below the pelvis
    for k in np.linspace(-1, 1, 5):
        for a, b in (([k, floor_y, -1], [k, floor_y, 1]), ([-1, floor_y, k], [1, floor_y, k])):
            pa, pb = to_px(np.array([a, b], float))
            cv2.line(panel, tuple(pa.astype(int)), tuple(pb.astype(int)), (215, 215, 215), 1, cv2.LINE_AA)
    thick = max(2, round(height / 150))
    for skeleton, colours in ((truth, None), (pose, _bone_colours(layout))):
        if skeleton is None:
            continue
        px = to_px(np.asarray(skeleton, float))
        for i, (a, b) in enumerate(layout.bones):
            colour = TRUTH if colours is None else colours[i]
            cv2.line(panel, tuple(px[a].astype(int)), tuple(px[b].astype(int)), colour,
                     thick if colours is not None else max(1, thick - 1), cv2.LINE_AA)
    return panel


def side_by_side(frame: np.ndarray, keypoints: np.ndarray, pose: np.ndarray, *,
                 truth: np.ndarray | None = None, label: str = "") -> np.ndarray:
    """One output frame: the video frame with its 2D skeleton, beside a square 3D panel."""
    cv2 = require_cv2()
    left = draw_skeleton_2d(frame, keypoints, min_confidence=0.3)
    h = left.shape[0]
    right = draw_skeleton_3d(pose, (h, h), truth=truth)
    if label:
        cv2.putText(right, label, (10, 30), cv2.FONT_HERSHEY_SIMPLEX, max(0.5, h / 900), (60, 60, 60), 1, cv2.LINE_AA)
    return np.concatenate([left, right], axis=1)


def render_mp4(path: str | Path, frames: Iterable[np.ndarray], keypoints: np.ndarray, joints_3d: np.ndarray, *,
               fps: float, truth: np.ndarray | None = None, max_height: int = 720) -> Path:
    """Write the side-by-side video: ``frames`` (RGB) with ``keypoints`` (T, 17, 3) beside
    ``joints_3d`` (T, 17, 3) (and ``truth``); frames taller than ``max_height`` are scaled down."""
    cv2 = require_cv2()

    def composed() -> Iterator[np.ndarray]:
        for t, frame in enumerate(frames):
            if t >= len(joints_3d):
                break
            kp = keypoints[t]
            if frame.shape[0] > max_height:
                s = max_height / frame.shape[0]
                frame = cv2.resize(frame, (round(frame.shape[1] * s) // 2 * 2, max_height), interpolation=cv2.INTER_AREA)
                kp = kp.copy()
                kp[:, :2] *= s
            yield side_by_side(frame, kp, joints_3d[t], truth=None if truth is None else truth[t], label=f"frame {t}")

    return write_video(path, composed(), fps)


def write_html(path: str | Path, joints_3d: np.ndarray, *, fps: float, truth: np.ndarray | None = None,
               title: str = "posemoe 3D pose", max_frames: int = 600, layout: JointLayout = H36M17) -> Path:
    """A single self-contained .html (plotly.js embedded, works offline) with the (T, J, 3)
    animation: drag to rotate, play/pause, a frame slider. Longer clips are subsampled to
    ``max_frames`` frames (the playback rate is kept)."""
    try:
        import plotly.graph_objects as go
    except ImportError:
        raise MissingDependency("the .html output needs plotly: pip install 'posemoe[video]'") from None
    step = max(1, int(np.ceil(len(joints_3d) / max_frames)))
    keep = np.arange(0, len(joints_3d), step)

    def as_plot(points: np.ndarray) -> np.ndarray:  # camera frame -> plot axes: x right, y depth, z up
        return np.stack([points[..., 0], points[..., 2], -points[..., 1]], -1)

    def traces(t: int) -> list:
        out = []
        sets = [("prediction", joints_3d[t], None)] + ([("truth", truth[t], TRUTH)] if truth is not None else [])
        for name, pose, colour in sets:
            p = as_plot(np.asarray(pose, float))
            groups: dict[tuple[int, int, int], list[float | None]] = {}
            for (a, b), c in zip(layout.bones, _bone_colours(layout)):
                groups.setdefault(colour or c, []).extend([a, b, None])
            for c, idx in groups.items():
                xs = [None if i is None else p[i, 0] for i in idx]
                ys = [None if i is None else p[i, 1] for i in idx]
                zs = [None if i is None else p[i, 2] for i in idx]
                out.append(go.Scatter3d(x=xs, y=ys, z=zs, mode="lines+markers", name=name, showlegend=False,
                                        line={"color": f"rgb{c}", "width": 7 if colour is None else 4},
                                        marker={"size": 2, "color": f"rgb{c}"}))
        return out

    everything = as_plot(np.concatenate([joints_3d] + ([truth] if truth is not None else [])).reshape(-1, 3))
    everything = everything[np.isfinite(everything).all(-1)]
    centre = (everything.max(0) + everything.min(0)) / 2
    half = max(float((everything.max(0) - everything.min(0)).max()) / 2, 0.5) * 1.1
    axis = {i: [float(centre[k] - half), float(centre[k] + half)] for k, i in enumerate("xyz")}
    frames = [go.Frame(data=traces(t), name=str(t)) for t in keep]
    duration = 1000.0 * step / fps
    fig = go.Figure(data=traces(int(keep[0])), frames=frames)
    fig.update_layout(
        title=title + ("" if truth is None else " (green: truth)"),
        scene={"xaxis": {"range": axis["x"], "title": "x (m)"}, "yaxis": {"range": axis["y"], "title": "depth (m)"},
               "zaxis": {"range": axis["z"], "title": "up (m)"}, "aspectmode": "cube"},
        updatemenus=[{"type": "buttons", "showactive": False, "buttons": [
            {"label": "play", "method": "animate",
             "args": [None, {"frame": {"duration": duration, "redraw": True}, "fromcurrent": True, "transition": {"duration": 0}}]},
            {"label": "pause", "method": "animate",
             "args": [[None], {"frame": {"duration": 0, "redraw": False}, "mode": "immediate"}]}]}],
        sliders=[{"steps": [{"label": str(t), "method": "animate",
                             "args": [[str(t)], {"frame": {"duration": 0, "redraw": True}, "mode": "immediate"}]}
                            for t in keep]}],
    )
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.write_html(out, include_plotlyjs=True, full_html=True, auto_play=False)
    return out


def render_outputs(out: Path, stem: str, source: str | Path | int | None, keypoints: np.ndarray, joints: np.ndarray, *,
                   fps: float, render: tuple[str, ...], truth: np.ndarray | None = None,
                   frames: Iterator[np.ndarray] | None = None, quiet: bool = False,
                   inputs: Iterable[str | Path | None] = ()) -> list[Path]:
    """Write the renderings named in ``render`` ("mp4", "html"). The .mp4 re-reads ``source``
    (or draws on ``frames``) so that a long video is never held in memory. No rendering may
    replace one of ``inputs`` (or ``source``)."""
    from posemoe.export.results import refuse_inputs

    refuse_inputs([out / f"{stem}.{kind}" for kind in render], [source, *inputs])
    from posemoe.io.video import open_frames

    unknown = set(render) - {"mp4", "html"}
    if unknown:
        raise UserError(f"unknown rendering {sorted(unknown)}; choose from mp4, html")
    paths = []
    if "mp4" in render:
        if frames is not None:
            paths.append(render_mp4(out / f"{stem}.mp4", frames, keypoints, joints, fps=fps, truth=truth))
        else:
            with open_frames(source) as video:
                paths.append(render_mp4(out / f"{stem}.mp4", video, keypoints, joints, fps=fps, truth=truth))
    if "html" in render:
        paths.append(write_html(out / f"{stem}.html", joints, fps=fps, truth=truth, title=f"posemoe: {stem}"))
    if not quiet and paths:
        print("rendered " + ", ".join(str(p) for p in paths))
    return paths
