"""One PNG of a person's joint-angle curves (matplotlib), with the stretches where a joint was not
seen shaded and the curve broken there (the angle is NaN: :mod:`posemoe.inference.angles`)."""

from __future__ import annotations

from typing import IO

import numpy as np

from posemoe.errors import UserError
from posemoe.inference.angles import JointAngles

SIDE_COLOURS = {
    "left": "tab:red",
    "right": "tab:green",
}  # the clinical gait convention: left red, right green
PANELS = (
    ("Hip flexion (+) / extension", ("hip_flexion",)),
    ("Hip abduction (+) / adduction", ("hip_abduction",)),
    ("Knee flexion", ("knee_flexion",)),
    ("Shoulder flexion (+) / extension", ("shoulder_flexion",)),
    ("Shoulder abduction (+) / adduction", ("shoulder_abduction",)),
    ("Elbow flexion", ("elbow_flexion",)),
    (
        "Trunk and pelvis against the vertical",
        ("trunk_tilt", "trunk_lateral_tilt", "pelvis_tilt", "pelvis_obliquity"),
    ),
)
MIN_RANGE_DEG = 20.0
_TILT_COLOURS = {
    "trunk_tilt": "tab:blue",
    "trunk_lateral_tilt": "tab:cyan",
    "pelvis_tilt": "tab:purple",
    "pelvis_obliquity": "tab:pink",
}


def _at_least(ax, values: np.ndarray, span: float) -> None:
    """Widen the y axis to ``span`` degrees about the values' middle: a still joint's noise is not a motion."""
    if not np.isfinite(values).any():
        return
    low, high = np.nanmin(values), np.nanmax(values)
    if high - low < span:
        middle = 0.5 * (low + high)
        ax.set_ylim(middle - span / 2, middle + span / 2)


def _spans(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) frame ranges where ``mask`` (T,) is True."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[::2], edges[1::2]))


def _curves(angles: JointAngles, keys: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """(angle name, label, colour) of a panel's curves that were measured."""
    out = []
    for key in keys:
        if key in _TILT_COLOURS:
            if key in angles.names:
                out.append((key, key.replace("_", " "), _TILT_COLOURS[key]))
            continue
        out += [
            (f"{side}_{key}", side, colour)
            for side, colour in SIDE_COLOURS.items()
            if f"{side}_{key}" in angles.names
        ]
    return out


def plot_angles(angles: JointAngles, file: IO, *, title: str = "") -> None:
    """Draw every measured angle of ``angles`` over time (seconds) into ``file`` as a PNG."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise UserError(
            "the joint-angle plot needs matplotlib: pip install 'posemoe[plots]'"
        ) from None
    time = np.arange(len(angles.degrees)) / angles.fps
    figure = Figure(figsize=(11, 10), dpi=90, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(4, 2, sharex=True).ravel()
    for ax, (heading, keys) in zip(axes, PANELS):
        curves = _curves(angles, keys)
        ax.set_title(heading, fontsize=10)
        ax.set_ylabel("degrees")
        ax.grid(alpha=0.3)
        if not curves:
            ax.text(
                0.5,
                0.5,
                "not measured (no ground plane)",
                ha="center",
                va="center",
                transform=ax.transAxes,
            )
            continue
        hidden = np.stack(
            [angles.hidden[:, angles.names.index(name)] for name, _, _ in curves]
        ).any(axis=0)
        for k, (start, stop) in enumerate(_spans(hidden)):
            ax.axvspan(
                (start - 0.5) / angles.fps,
                (stop - 0.5) / angles.fps,
                color="0.85",
                lw=0,
                label="a joint not seen" if k == 0 else None,
            )
        for name, label, colour in curves:
            ax.plot(time, angles[name], color=colour, lw=1.4, label=label)
        _at_least(ax, np.stack([angles[name] for name, _, _ in curves]), MIN_RANGE_DEG)
        ax.legend(fontsize=8, loc="best")
    notes = angles.not_measured()
    axes[-1].axis("off")
    axes[-1].text(
        0,
        1,
        "Not measured from 17 joints:\n" + "\n".join(f"- {k.replace('_', ' ')}" for k in notes),
        va="top",
        fontsize=9,
        transform=axes[-1].transAxes,
    )
    for ax in axes[-3:-1]:
        ax.set_xlabel("time (s)")
    axes[-3].tick_params(labelbottom=True)
    if title:
        figure.suptitle(title)
    figure.savefig(file, format="png")
