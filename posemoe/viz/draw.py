"""Drawing skeletons: 2D over a frame, a 3D panel, the legend, and the two side by side.

Poses are H36M-17: 2D in pixels (+ confidence), 3D in metres, camera frame (x right, y down,
z forward), root-relative. Joints the camera did not see (:func:`unseen_joints`) are drawn dashed
and thin. Drawing uses OpenCV (from ``posemoe[video]``). The writers live beside this module:
:mod:`posemoe.viz.video` (the side-by-side .mp4), :mod:`posemoe.viz.html` (the offline .html) and
:mod:`posemoe.viz.render` (both, as the CLI asks); their entry points can be imported from here.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from posemoe.io.video import require_cv2
from posemoe.layouts import H36M17, JointLayout
from posemoe.inference.unseen import unseen_joints

__all__ = ["CENTRE", "LEFT", "RIGHT", "TRUTH", "LegendEntry", "bone_colours", "draw_legend", "draw_skeleton_2d",
           "draw_skeleton_3d", "legend_entries", "side_by_side", "unseen_bones", "unseen_joints", "view_rotation"]

# RGB: the person's left side blue, right side orange, the trunk grey; the truth drawn in green.
LEFT, RIGHT, CENTRE, TRUTH = (40, 110, 230), (240, 120, 30), (120, 120, 120), (40, 170, 70)

_WRITERS = {"render_mp4": "posemoe.viz.video", "write_html": "posemoe.viz.html", "render_outputs": "posemoe.viz.render"}


def __getattr__(name: str) -> Any:
    # The writers import this module, so they are re-exported lazily rather than imported above.
    if name in _WRITERS:
        import importlib

        return getattr(importlib.import_module(_WRITERS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class LegendEntry(NamedTuple):
    label: str
    colour: tuple[int, int, int]
    dashed: bool = False


def bone_colours(layout: JointLayout = H36M17) -> list[tuple[int, int, int]]:
    """RGB per bone of ``layout.bones``: by the side of its child joint."""
    return [LEFT if child in layout.left else RIGHT if child in layout.right else CENTRE for _, child in layout.bones]


def unseen_bones(unseen: np.ndarray | None, layout: JointLayout = H36M17) -> np.ndarray:
    """(..., B) bool per bone of ``layout.bones`` from a (..., J) unseen-joint mask: a bone is
    unseen when either end is."""
    if unseen is None:
        return np.zeros(len(layout.bones), bool)
    parents, children = np.array(layout.bones).T
    return unseen[..., parents] | unseen[..., children]


def legend_entries(*, truth: bool = False, unseen: bool = False) -> list[LegendEntry]:
    """What the colours and line styles mean, for :func:`draw_legend` and the .html."""
    entries = [LegendEntry("person's left", LEFT), LegendEntry("person's right", RIGHT)]
    if unseen:
        entries.append(LegendEntry("unseen (off-frame / low conf.)", CENTRE, dashed=True))
    if truth:
        entries.append(LegendEntry("truth", TRUTH))
    return entries


def _px(point: np.ndarray) -> tuple[int, int]:
    """Integer pixel (x, y) for OpenCV."""
    x, y = np.rint(np.asarray(point, float)[:2]).astype(int)
    return int(x), int(y)


def _line(image: np.ndarray, a: np.ndarray, b: np.ndarray, colour: tuple[int, int, int], width: int,
          dashed: bool = False) -> None:
    """A solid or dashed anti-aliased line from pixel ``a`` to ``b``, drawn in place."""
    cv2 = require_cv2()
    a, b = np.asarray(a, float), np.asarray(b, float)
    if not dashed:
        cv2.line(image, _px(a), _px(b), colour, width, cv2.LINE_AA)
        return
    length = float(np.linalg.norm(b - a))
    dash = max(4.0, 3.0 * width)
    for start in np.arange(0.0, length, 2 * dash):
        p = a + (b - a) * start / max(length, 1e-9)
        q = a + (b - a) * min(start + dash, length) / max(length, 1e-9)
        cv2.line(image, _px(p), _px(q), colour, width, cv2.LINE_AA)


def draw_legend(image: np.ndarray, entries: list[LegendEntry], *, origin: tuple[int, int] = (8, 8)) -> np.ndarray:
    """Draw ``entries`` (a line sample and a label each) in a light box at ``origin`` (pixels,
    top-left), in place; returns ``image``."""
    cv2 = require_cv2()
    h = image.shape[0]
    scale = max(0.4, h / 1100)
    row = round(30 * scale / 0.6)
    sample = 2 * row
    widths = [cv2.getTextSize(e.label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] for e in entries]
    x0, y0 = origin
    x1, y1 = x0 + sample + max(widths) + row, y0 + row * len(entries) + row // 3
    x1, y1 = min(x1, image.shape[1] - 1), min(y1, h - 1)
    box = image[y0:y1, x0:x1]
    box[:] = (0.3 * box + 0.7 * 250).astype(np.uint8)
    line_width = max(2, round(h / 240))
    for i, entry in enumerate(entries):
        y = y0 + row * i + (2 * row) // 3
        _line(image, (x0 + row // 3, y - row // 6), (x0 + sample, y - row // 6), entry.colour,
              max(2, line_width - 1) if entry.dashed else line_width, entry.dashed)
        cv2.putText(image, entry.label, (x0 + sample + row // 3, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (40, 40, 40), 1,
                    cv2.LINE_AA)
    return image


def draw_skeleton_2d(image: np.ndarray, keypoints: np.ndarray, *, unseen: np.ndarray | None = None,
                     layout: JointLayout = H36M17, thickness: int | None = None) -> np.ndarray:
    """Draw (J, 2|3) pixel keypoints on a copy of an RGB (H, W, 3) image. Joints marked in the
    (J,) bool ``unseen`` are hollow and their bones thin and dashed."""
    cv2 = require_cv2()
    out = np.ascontiguousarray(image).copy()
    width = thickness or max(2, round(min(out.shape[:2]) / 180))
    unseen_joint = np.zeros(len(keypoints), bool) if unseen is None else np.asarray(unseen, bool)
    for (a, b), colour, hidden in zip(layout.bones, bone_colours(layout), unseen_bones(unseen_joint, layout)):
        if np.isnan(keypoints[[a, b], :2]).any():
            continue
        _line(out, keypoints[a, :2], keypoints[b, :2], colour, max(2, width - 1) if hidden else width, hidden)
    for j, point in enumerate(keypoints[:, :2]):
        if not np.isnan(point).any():
            cv2.circle(out, _px(point), width + 1, (255, 255, 255), 1 if unseen_joint[j] else -1, cv2.LINE_AA)
    return out


def view_rotation(azimuth_deg: float = 35.0, elevation_deg: float = 12.0) -> np.ndarray:
    """(3, 3) rotation that turns camera-frame points to a viewer walking ``azimuth`` degrees
    around the person and looking down by ``elevation`` degrees."""
    a, e = np.radians(azimuth_deg), np.radians(elevation_deg)
    around = np.array([[np.cos(a), 0, -np.sin(a)], [0, 1, 0], [np.sin(a), 0, np.cos(a)]])
    down = np.array([[1, 0, 0], [0, np.cos(e), np.sin(e)], [0, -np.sin(e), np.cos(e)]])
    return down @ around


def draw_skeleton_3d(pose: np.ndarray, size: tuple[int, int], *, truth: np.ndarray | None = None,
                     unseen: np.ndarray | None = None, rotation: np.ndarray | None = None,
                     metres_tall: float = 2.4, layout: JointLayout = H36M17) -> np.ndarray:
    """A (height, width, 3) RGB panel with the (J, 3) pose (metres) seen from ``rotation``
    (default :func:`view_rotation`) on a floor grid, the ``truth`` (J, 3) in green behind it;
    bones of (J,) ``unseen`` joints thin and dashed."""
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
            _line(panel, pa, pb, (215, 215, 215), 1)
    thick = max(2, round(height / 150))
    if truth is not None:
        px = to_px(np.asarray(truth, float))
        for a, b in layout.bones:
            _line(panel, px[a], px[b], TRUTH, max(1, thick - 1))
    px = to_px(np.asarray(pose, float))
    for (a, b), colour, hidden in zip(layout.bones, bone_colours(layout), unseen_bones(unseen, layout)):
        _line(panel, px[a], px[b], colour, max(2, thick - 1) if hidden else thick, bool(hidden))
    return panel


def side_by_side(frame: np.ndarray, keypoints: np.ndarray, pose: np.ndarray, *, truth: np.ndarray | None = None,
                 unseen: np.ndarray | None = None, label: str = "",
                 legend: list[LegendEntry] | None = None) -> np.ndarray:
    """One output frame: the (H, W, 3) video frame with its (J, 3) 2D skeleton, beside a square
    (H, H) 3D panel of the (J, 3) pose; ``legend`` (default: left/right, and unseen/truth when
    given) in both panels' top-left corner, ``label`` in the 3D panel's bottom-right."""
    cv2 = require_cv2()
    if legend is None:
        legend = legend_entries(truth=truth is not None, unseen=unseen is not None and bool(np.any(unseen)))
    left = draw_skeleton_2d(frame, keypoints, unseen=unseen)
    h = left.shape[0]
    right = draw_skeleton_3d(pose, (h, h), truth=truth, unseen=unseen)
    if legend:
        draw_legend(left, [entry for entry in legend if entry.colour != TRUTH])  # the truth is 3D only
        draw_legend(right, legend)
    if label:
        scale = max(0.4, h / 1100)
        (tw, _), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        cv2.putText(right, label, (h - tw - 10, h - 12), cv2.FONT_HERSHEY_SIMPLEX, scale, (90, 90, 90), 1, cv2.LINE_AA)
    return np.concatenate([left, right], axis=1)
