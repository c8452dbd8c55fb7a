"""Drawing skeletons: 2D over a frame, a 3D panel, the legend, and the two side by side.

Poses are H36M-17: 2D in pixels (+ confidence), 3D in metres, camera frame (x right, y down,
z forward), root-relative for a lone person or placed in the camera's scene (:class:`View3D`
frames them). A lone person's left side is blue and right side orange; several people get a hue
each (:data:`PEOPLE`), their left side lighter and right side darker, and a label ("id 3") above
the head. Joints the camera did not see (:func:`unseen_joints`) are drawn dashed and thin.
Drawing uses OpenCV (from ``posemoe[video]``). The writers live beside this module:
:mod:`posemoe.viz.video` (the side-by-side .mp4), :mod:`posemoe.viz.html` (the offline .html) and
:mod:`posemoe.viz.render` (both, as the CLI asks); their entry points can be imported from here.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from posemoe.inference.unseen import unseen_joints
from posemoe.io.video import require_cv2
from posemoe.layouts import H36M17, JointLayout

__all__ = [
    "CENTRE",
    "LEFT",
    "PEOPLE",
    "RIGHT",
    "TRUTH",
    "LegendEntry",
    "Person",
    "Pose",
    "View3D",
    "bone_colours",
    "bone_sides",
    "draw_legend",
    "draw_poses_2d",
    "draw_scene_3d",
    "draw_skeleton_2d",
    "draw_skeleton_3d",
    "fit_view",
    "legend_entries",
    "people_legend",
    "person_colour",
    "shades",
    "side_by_side",
    "side_by_side_poses",
    "unseen_bones",
    "unseen_joints",
    "view_rotation",
]

RGB = tuple[int, int, int]

# RGB: the person's left side blue, right side orange, the trunk grey; the truth drawn in green.
LEFT, RIGHT, CENTRE, TRUTH = (40, 110, 230), (240, 120, 30), (120, 120, 120), (40, 170, 70)
# RGB hues that tell several people apart (none of them the truth's green), in the order people are listed.
PEOPLE: tuple[RGB, ...] = (
    (230, 50, 50),
    (30, 140, 230),
    (245, 170, 20),
    (170, 80, 220),
    (20, 190, 190),
    (235, 90, 170),
    (150, 190, 40),
    (150, 105, 60),
)

_WRITERS = {
    "render_mp4": "posemoe.viz.video",
    "render_people_mp4": "posemoe.viz.video",
    "write_html": "posemoe.viz.html",
    "write_people_html": "posemoe.viz.html",
    "render_outputs": "posemoe.viz.render",
    "render_result": "posemoe.viz.render",
}


def __getattr__(name: str) -> Any:
    # The writers import this module, so they are re-exported lazily rather than imported above.
    if name in _WRITERS:
        import importlib

        return getattr(importlib.import_module(_WRITERS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class LegendEntry(NamedTuple):
    label: str
    colour: RGB
    dashed: bool = False


class Pose(NamedTuple):
    """One person in one frame, as drawn: ``keypoints`` (J, 2|3) pixels (+ confidence), ``joints``
    (J, 3) metres where the 3D panel puts them, ``unseen`` (J,) bool (dashed), ``truth`` (J, 3)
    metres placed like ``joints`` (each may be None); ``colour`` None for a lone person's left/right
    colours, else the person's hue (:func:`shades`); ``label`` written above the head."""

    keypoints: np.ndarray | None
    joints: np.ndarray | None
    unseen: np.ndarray | None = None
    truth: np.ndarray | None = None
    colour: RGB | None = None
    label: str = ""


@dataclass
class Person:
    """One person over a clip, as drawn: ``joints`` (T, J, 3) metres placed in the 3D scene,
    ``keypoints`` (T, J, 3) pixels + confidence, ``visible`` (T,) bool (None: in every frame),
    ``unseen`` (T, J) bool, ``truth`` (T, J, 3) placed like ``joints``; ``colour`` and ``label``
    as in :class:`Pose`."""

    joints: np.ndarray
    keypoints: np.ndarray | None = None
    visible: np.ndarray | None = None
    unseen: np.ndarray | None = None
    truth: np.ndarray | None = None
    colour: RGB | None = None
    label: str = ""

    def pose(self, t: int) -> Pose | None:
        """Frame ``t``, or None where the person is not visible."""
        if self.visible is not None and not self.visible[t]:
            return None
        return Pose(
            *(
                None if a is None else a[t]
                for a in (self.keypoints, self.joints, self.unseen, self.truth)
            ),
            self.colour,
            self.label,
        )

    def shown_points(self) -> np.ndarray:
        """(N, 3) metres: the joints (and truth) of the frames where the person is visible."""
        arrays = [
            a if self.visible is None else a[np.asarray(self.visible, bool)]
            for a in (self.joints, self.truth)
            if a is not None
        ]
        return np.concatenate(arrays).reshape(-1, 3)


def person_colour(index: int) -> RGB:
    """The hue of the ``index``-th of several people (:data:`PEOPLE`, repeating)."""
    return PEOPLE[index % len(PEOPLE)]


def shades(colour: RGB | None = None) -> tuple[RGB, RGB, RGB]:
    """The (left side, right side, trunk) RGB of a person drawn in ``colour``: lighter, darker, the
    colour itself; for None (a lone person) :data:`LEFT`, :data:`RIGHT`, :data:`CENTRE`."""
    if colour is None:
        return LEFT, RIGHT, CENTRE
    c = np.asarray(colour, float)
    light, dark = np.rint(c + 0.5 * (255 - c)).astype(int), np.rint(0.55 * c).astype(int)
    return tuple(map(int, light)), tuple(map(int, dark)), tuple(map(int, colour))


def bone_sides(layout: JointLayout) -> list[int]:
    """Per bone of ``layout.bones``: 0 on the left, 1 on the right, 2 the trunk (by its child joint)."""
    return [
        0 if child in layout.left else 1 if child in layout.right else 2
        for _, child in layout.bones
    ]


def bone_colours(layout: JointLayout = H36M17, colour: RGB | None = None) -> list[RGB]:
    """RGB per bone of ``layout.bones``: by the side of its child joint, in :func:`shades` of ``colour``."""
    palette = shades(colour)
    return [palette[side] for side in bone_sides(layout)]


def unseen_bones(unseen: np.ndarray | None, layout: JointLayout = H36M17) -> np.ndarray:
    """(..., B) bool per bone of ``layout.bones`` from a (..., J) unseen-joint mask: a bone is
    unseen when either end is."""
    if unseen is None:
        return np.zeros(len(layout.bones), bool)
    parents, children = np.array(layout.bones).T
    return unseen[..., parents] | unseen[..., children]


def legend_entries(
    *, truth: bool = False, unseen: bool = False, hue: RGB | None = None
) -> list[LegendEntry]:
    """What the colours and line styles mean, for :func:`draw_legend` and the .html: the left and
    right colours, or for several people, each in a hue, that left is lighter and right darker
    (shown in :func:`shades` of ``hue``)."""
    if hue is not None:
        light, dark, _ = shades(hue)
        entries = [
            LegendEntry("person's left: lighter", light),
            LegendEntry("person's right: darker", dark),
        ]
    else:
        entries = [LegendEntry("person's left", LEFT), LegendEntry("person's right", RIGHT)]
    if unseen:
        entries.append(LegendEntry("unseen (off-frame / low conf.)", CENTRE, dashed=True))
    if truth:
        entries.append(LegendEntry("truth", TRUTH))
    return entries


def people_legend(people: Sequence[Person | Pose]) -> list[LegendEntry]:
    """:func:`legend_entries` for ``people`` (or poses): shades when any has a hue (shown in the
    first one's), unseen and truth when any has some. People are labelled where they are drawn."""
    return legend_entries(
        truth=any(p.truth is not None for p in people),
        unseen=any(p.unseen is not None and bool(np.any(p.unseen)) for p in people),
        hue=next((p.colour for p in people if p.colour is not None), None),
    )


def _px(point: np.ndarray) -> tuple[int, int]:
    """Integer pixel (x, y) for OpenCV."""
    x, y = np.rint(np.asarray(point, float)[:2]).astype(int)
    return int(x), int(y)


def _line(
    image: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    colour: tuple[int, int, int],
    width: int,
    dashed: bool = False,
) -> None:
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


def draw_legend(
    image: np.ndarray, entries: list[LegendEntry], *, origin: tuple[int, int] = (8, 8)
) -> np.ndarray:
    """Draw ``entries`` (a line sample and a label each) in a light box at ``origin`` (pixels,
    top-left), in place; returns ``image``."""
    cv2 = require_cv2()
    h, w = image.shape[:2]
    x0, y0 = origin

    def size(scale: float) -> tuple[int, int, int]:  # row height, line sample length, box width
        row = round(30 * scale / 0.6)
        text = max(
            cv2.getTextSize(e.label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] for e in entries
        )
        return row, 2 * row, 3 * row + text

    scale = max(
        0.4, h / 1100
    )  # sized by the height, narrowed (about in proportion) to fit the width
    if x0 + size(scale)[2] >= w:
        scale = max(0.3, scale * (w - 1 - x0) / size(scale)[2] * 0.97)
    row, sample, box_width = size(scale)
    x1, y1 = x0 + box_width, y0 + row * len(entries) + row // 3
    x1, y1 = min(x1, image.shape[1] - 1), min(y1, h - 1)
    box = image[y0:y1, x0:x1]
    box[:] = (0.3 * box + 0.7 * 250).astype(np.uint8)
    line_width = max(2, round(row * 0.092))  # h / 240 at the height's scale
    for i, entry in enumerate(entries):
        y = y0 + row * i + (2 * row) // 3
        _line(
            image,
            (x0 + row // 3, y - row // 6),
            (x0 + sample, y - row // 6),
            entry.colour,
            max(2, line_width - 1) if entry.dashed else line_width,
            entry.dashed,
        )
        cv2.putText(
            image,
            entry.label,
            (x0 + sample + row // 3, y),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (40, 40, 40),
            1,
            cv2.LINE_AA,
        )
    return image


def _bones(
    image: np.ndarray,
    px: np.ndarray,
    unseen: np.ndarray | None,
    colour: RGB | None,
    width: int,
    layout: JointLayout,
) -> None:
    """Draw the bones of (J, 2) pixel points ``px`` in place, in :func:`bone_colours` of ``colour``;
    those of (J,) ``unseen`` joints thinner and dashed; bones with a NaN end are left out."""
    for (a, b), colour, hidden in zip(
        layout.bones, bone_colours(layout, colour), unseen_bones(unseen, layout)
    ):
        if not np.isfinite(px[[a, b]]).all():
            continue
        _line(image, px[a], px[b], colour, max(2, width - 1) if hidden else width, bool(hidden))


def _label(image: np.ndarray, text: str, px: np.ndarray, colour: RGB | None) -> None:
    """Write ``text`` centred above the top-most finite of (J, 2) pixel points ``px``, in place, in
    ``colour`` (None: white) on a dark outline."""
    cv2 = require_cv2()
    finite = px[np.isfinite(px).all(-1)]
    if not text or not len(finite):
        return
    top = finite[np.argmin(finite[:, 1])]
    scale = max(0.45, image.shape[0] / 900)
    thick = max(1, round(1.5 * scale))
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    h, w = image.shape[:2]
    x = int(np.clip(top[0] - tw / 2, 2, max(2, w - tw - 2)))
    y = int(np.clip(top[1] - th, th + 2, max(th + 2, h - 4)))
    cv2.putText(
        image, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (20, 20, 20), thick + 2, cv2.LINE_AA
    )
    cv2.putText(
        image,
        text,
        (x, y),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        colour or (255, 255, 255),
        thick,
        cv2.LINE_AA,
    )


def draw_poses_2d(
    image: np.ndarray,
    poses: Sequence[Pose],
    *,
    layout: JointLayout = H36M17,
    thickness: int | None = None,
    labels: bool = True,
) -> np.ndarray:
    """A copy of the RGB (H, W, 3) image with each pose's (J, 2|3) pixel keypoints drawn in its
    colours (:func:`bone_colours`) and (with ``labels``) its label above the head. Joints marked
    in a pose's (J,) ``unseen`` are hollow and their bones thin and dashed."""
    cv2 = require_cv2()
    out = np.ascontiguousarray(image).copy()
    width = thickness or max(2, round(min(out.shape[:2]) / 180))
    drawn = [pose for pose in poses if pose.keypoints is not None]
    for pose in drawn:
        points = np.asarray(pose.keypoints)[:, :2]
        unseen_joint = (
            np.zeros(len(points), bool) if pose.unseen is None else np.asarray(pose.unseen, bool)
        )
        _bones(out, points, unseen_joint, pose.colour, width, layout)
        for j, point in enumerate(points):
            if not np.isnan(point).any():
                cv2.circle(
                    out,
                    _px(point),
                    width + 1,
                    (255, 255, 255),
                    1 if unseen_joint[j] else -1,
                    cv2.LINE_AA,
                )
    if labels:
        _labels_2d(out, drawn)
    return out


def _labels_2d(image: np.ndarray, poses: Sequence[Pose]) -> None:
    """Each pose's label above its head in the video frame, in place."""
    for pose in poses:
        if pose.keypoints is not None:
            _label(image, pose.label, np.asarray(pose.keypoints, float)[:, :2], pose.colour)


def draw_skeleton_2d(
    image: np.ndarray,
    keypoints: np.ndarray,
    *,
    unseen: np.ndarray | None = None,
    layout: JointLayout = H36M17,
    thickness: int | None = None,
    colour: RGB | None = None,
    label: str = "",
) -> np.ndarray:
    """Draw (J, 2|3) pixel keypoints on a copy of an RGB (H, W, 3) image (:func:`draw_poses_2d`).
    Joints marked in the (J,) bool ``unseen`` are hollow and their bones thin and dashed."""
    return draw_poses_2d(
        image,
        [Pose(keypoints, None, unseen, colour=colour, label=label)],
        layout=layout,
        thickness=thickness,
    )


def view_rotation(azimuth_deg: float = 35.0, elevation_deg: float = 12.0) -> np.ndarray:
    """(3, 3) rotation that turns camera-frame points to a viewer walking ``azimuth`` degrees
    around the person and looking down by ``elevation`` degrees."""
    a, e = np.radians(azimuth_deg), np.radians(elevation_deg)
    around = np.array([[np.cos(a), 0, -np.sin(a)], [0, 1, 0], [np.sin(a), 0, np.cos(a)]])
    down = np.array([[1, 0, 0], [0, np.cos(e), np.sin(e)], [0, -np.sin(e), np.cos(e)]])
    return down @ around


@dataclass
class View3D:
    """How the 3D panel frames the scene: ``rotation`` (3, 3) camera frame -> viewer (None:
    :func:`view_rotation`); the camera-frame point ``centre`` (metres) is drawn at ``anchor``
    (fractions of the panel's width, height); the panel's height spans ``metres_tall``. The floor
    grid lies at camera y = ``floor_y`` over x in ``floor_x``, z in ``floor_z``, a line every
    ``step`` metres. The defaults frame a lone root-relative person."""

    rotation: np.ndarray | None = None
    centre: tuple[float, float, float] = (0.0, 0.0, 0.0)
    anchor: tuple[float, float] = (0.5, 0.47)
    metres_tall: float = 2.4
    floor_y: float = 0.95  # metres below the pelvis
    floor_x: tuple[float, float] = (-1.0, 1.0)
    floor_z: tuple[float, float] = (-1.0, 1.0)
    step: float = 0.5

    def projection(self, size: tuple[int, int]) -> Callable[[np.ndarray], np.ndarray]:
        """(..., 3) camera-frame metres -> (..., 2) pixels of a (width, height) panel."""
        rot = view_rotation() if self.rotation is None else np.asarray(self.rotation, float)
        width, height = size
        scale = height / self.metres_tall
        anchor = np.array([width * self.anchor[0], height * self.anchor[1]])
        centre = (np.asarray(self.centre, float) @ rot.T)[:2]

        def to_px(points: np.ndarray) -> np.ndarray:
            return ((np.asarray(points, float) @ rot.T)[..., :2] - centre) * scale + anchor

        return to_px


def fit_view(
    points: np.ndarray,
    *,
    rotation: np.ndarray | None = None,
    pad: float = 0.3,
    min_tall: float = 2.4,
    top: float = 0.15,
    floor_y: float | None = None,
) -> View3D:
    """A :class:`View3D` that frames (N, 3) camera-frame ``points`` (metres, NaN ignored) with
    ``pad`` metres around them below the ``top`` fraction of the panel (the legend's), on a floor
    grid at y = ``floor_y`` (None: at their lowest). The outer 1 % of the points on each side may
    fall outside, so that a few bad frames do not shrink everyone."""
    rot = view_rotation() if rotation is None else np.asarray(rotation, float)
    finite = np.asarray(points, float).reshape(-1, 3)
    finite = finite[np.isfinite(finite).all(-1)]
    if not len(finite):
        return View3D(rotation=rot)
    low, high = np.percentile(finite, [1, 99], axis=0)
    seen_low, seen_high = np.percentile(finite @ rot.T, [1, 99], axis=0)
    tall = max(min_tall, float(np.max(seen_high[:2] - seen_low[:2])) + 2 * pad) / (1 - top)
    margin = 0.5
    span = float(max(high[0] - low[0], high[2] - low[2])) + 2 * margin
    step = next((s for s in (0.5, 1.0, 2.0, 5.0) if span / s <= 12), 10.0)

    def grid(lo: float, hi: float) -> tuple[float, float]:
        return float(np.floor((lo - margin) / step) * step), float(
            np.ceil((hi + margin) / step) * step
        )

    centre = rot.T @ ((seen_low + seen_high) / 2)
    return View3D(
        rotation=rot,
        centre=tuple(map(float, centre)),
        anchor=(0.5, 0.5 + top / 2),
        metres_tall=tall,
        floor_y=float(high[1] if floor_y is None else floor_y),
        floor_x=grid(low[0], high[0]),
        floor_z=grid(low[2], high[2]),
        step=step,
    )


def _floor(panel: np.ndarray, view: View3D, to_px: Callable[[np.ndarray], np.ndarray]) -> None:
    """The view's floor grid, light grey, in place."""
    (x0, x1), (z0, z1), y = view.floor_x, view.floor_z, view.floor_y
    along_z = [[[x, y, z0], [x, y, z1]] for x in np.arange(x0, x1 + 1e-9, view.step)]
    along_x = [[[x0, y, z], [x1, y, z]] for z in np.arange(z0, z1 + 1e-9, view.step)]
    for ends in itertools.chain(*itertools.zip_longest(along_z, along_x)):
        if ends is not None:
            _line(panel, *to_px(np.array(ends, float)), (215, 215, 215), 1)


def _finite_mean(values: np.ndarray) -> float:
    """The mean of the finite ``values``, 0 when there are none."""
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else 0.0


def draw_scene_3d(
    poses: Sequence[Pose],
    size: tuple[int, int],
    *,
    view: View3D | None = None,
    layout: JointLayout = H36M17,
    labels: bool = True,
) -> np.ndarray:
    """A (height, width, 3) RGB panel of each pose's (J, 3) joints (metres, camera frame) framed
    by ``view`` (default: a lone root-relative person) on a floor grid: the truths in green behind,
    then the poses far to near in their colours, bones of unseen joints thin and dashed, and (with
    ``labels``) the labels above the heads."""
    view = View3D() if view is None else view
    width, height = size
    panel = np.full((height, width, 3), 250, np.uint8)
    rot = view_rotation() if view.rotation is None else np.asarray(view.rotation, float)
    to_px = view.projection(size)
    _floor(panel, view, to_px)
    thick = max(2, round(height / 150))
    drawn = [pose for pose in poses if pose.joints is not None]
    for pose in drawn:
        if pose.truth is not None:
            px = to_px(pose.truth)
            for a, b in layout.bones:
                if np.isfinite(px[[a, b]]).all():
                    _line(panel, px[a], px[b], TRUTH, max(1, thick - 1))
    depth = [
        _finite_mean(np.asarray(pose.joints, float) @ rot[2]) for pose in drawn
    ]  # away from the viewer
    for k in np.argsort(depth, kind="stable")[::-1]:  # the farthest first
        _bones(panel, to_px(drawn[k].joints), drawn[k].unseen, drawn[k].colour, thick, layout)
    if labels:
        _labels_3d(panel, drawn, to_px)
    return panel


def _labels_3d(
    panel: np.ndarray, poses: Sequence[Pose], to_px: Callable[[np.ndarray], np.ndarray]
) -> None:
    """Each pose's label above its head in the 3D panel, in place."""
    for pose in poses:
        if pose.joints is not None:
            _label(panel, pose.label, to_px(pose.joints), pose.colour)


def draw_skeleton_3d(
    pose: np.ndarray,
    size: tuple[int, int],
    *,
    truth: np.ndarray | None = None,
    unseen: np.ndarray | None = None,
    rotation: np.ndarray | None = None,
    metres_tall: float = 2.4,
    layout: JointLayout = H36M17,
) -> np.ndarray:
    """A (height, width, 3) RGB panel with the (J, 3) root-relative pose (metres) seen from
    ``rotation`` (default :func:`view_rotation`) on a floor grid, the ``truth`` (J, 3) in green
    behind it; bones of (J,) ``unseen`` joints thin and dashed (:func:`draw_scene_3d`)."""
    return draw_scene_3d(
        [Pose(None, pose, unseen, truth)],
        size,
        view=View3D(rotation=rotation, metres_tall=metres_tall),
        layout=layout,
    )


def side_by_side_poses(
    frame: np.ndarray,
    poses: Sequence[Pose],
    *,
    view: View3D | None = None,
    label: str = "",
    legend: list[LegendEntry] | None = None,
) -> np.ndarray:
    """One output frame: the (H, W, 3) video frame with each pose's 2D skeleton, beside a square
    (H, H) 3D panel of their joints framed by ``view`` (:func:`draw_scene_3d`); ``legend``
    (default :func:`people_legend`) in both panels' top-left corner, the poses' labels over it,
    ``label`` in the 3D panel's bottom-right."""
    cv2 = require_cv2()
    if legend is None:
        legend = people_legend(poses)
    left = draw_poses_2d(frame, poses, labels=False)
    h = left.shape[0]
    view = View3D() if view is None else view
    right = draw_scene_3d(poses, (h, h), view=view, labels=False)
    if legend:
        draw_legend(
            left, [entry for entry in legend if entry.colour != TRUTH]
        )  # the truth is 3D only
        draw_legend(right, legend)
    _labels_2d(left, poses)  # over the legend, which must not hide them
    _labels_3d(right, poses, view.projection((h, h)))
    if label:
        scale = max(0.4, h / 1100)
        (tw, _), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        cv2.putText(
            right,
            label,
            (h - tw - 10, h - 12),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (90, 90, 90),
            1,
            cv2.LINE_AA,
        )
    return np.concatenate([left, right], axis=1)


def side_by_side(
    frame: np.ndarray,
    keypoints: np.ndarray,
    pose: np.ndarray,
    *,
    truth: np.ndarray | None = None,
    unseen: np.ndarray | None = None,
    label: str = "",
    legend: list[LegendEntry] | None = None,
) -> np.ndarray:
    """One output frame: the (H, W, 3) video frame with its (J, 3) 2D skeleton, beside a square
    (H, H) 3D panel of the (J, 3) root-relative pose; ``legend`` (default: left/right, and
    unseen/truth when given) in both panels' top-left corner, ``label`` in the 3D panel's
    bottom-right (:func:`side_by_side_poses`)."""
    return side_by_side_poses(
        frame, [Pose(keypoints, pose, unseen, truth)], label=label, legend=legend
    )
