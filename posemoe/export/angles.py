"""Joint angles per person and frame: result format ``"angles"``.

``<name>_angles.csv``: one row per frame: ``frame``, ``time_s``, ``visible`` (1 where the person was
detected), then one column per angle in degrees, empty where a joint it reads was not seen.
``<name>_angles.json``: the same as lists (null where not seen) with each angle's definition and
sign convention, and the angles that 17 joints cannot give, with the reason.
``<name>_angles.png``: the curves over time (:func:`posemoe.viz.angles.plot_angles`), where
matplotlib is installed (``posemoe[plots]``); without it the plot is skipped with a warning.
Definitions: :mod:`posemoe.inference.angles`. Several people: one set of files each.
"""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np

from posemoe.errors import UserError
from posemoe.export.formats import per_person, register_format
from posemoe.export.results import FileWriter
from posemoe.inference.angles import JointAngles, person_angles

if TYPE_CHECKING:
    from posemoe.inference.result import Result


def _csv(angles: JointAngles, visible: np.ndarray) -> FileWriter:
    def write(f: IO) -> None:
        writer = csv.writer(f)
        writer.writerow(["frame", "time_s", "visible", *angles.names])
        for t, row in enumerate(angles.degrees):
            writer.writerow(
                [t, f"{t / angles.fps:.4f}", int(visible[t])]
                + ["" if np.isnan(v) else f"{v:.2f}" for v in row]
            )

    return write, False


def _json(angles: JointAngles, result: Result) -> FileWriter:
    person = result.people[0]
    record = {
        "fps": angles.fps,
        "units": "degrees",
        "source": result.source,
        "person_id": person.track,
        "skeleton": "fitted (constant bones)"
        if getattr(person, "fitted", None) is not None
        else "lifted",
        "ground": getattr(person, "world_from_camera", None) is not None,
        "frames": len(angles.degrees),
        "person_visible": np.asarray(person.visible, bool).tolist(),
        "angles": {
            name: [None if np.isnan(v) else round(float(v), 2) for v in angles.degrees[:, k]]
            for k, name in enumerate(angles.names)
        },
        "definitions": {name: angles.definition(name) for name in angles.names},
        "not_measured": angles.not_measured(),
        "null": "a joint the angle reads was not seen in that frame (outside the image, hidden or barely "
        "seen), or the person was not detected",
    }
    return (lambda f: f.write(json.dumps(record) + "\n")), False


def _png(angles: JointAngles, title: str) -> FileWriter:
    from posemoe.viz.angles import plot_angles

    return (lambda f: plot_angles(angles, f, title=title)), True


def _can_plot() -> bool:
    """Whether matplotlib is there to draw the curves (an optional extra: ``posemoe[plots]``)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def angle_files(result: Result, out: Path) -> dict[Path, FileWriter]:
    """``<name>_angles.csv/.json/.png`` per person (``<name>_person<id>_angles.*`` for several; the
    .png only where matplotlib is installed)."""
    if not result.people:
        raise UserError(f"{result.name}: no person to measure joint angles of")
    plot = _can_plot()
    if not plot:
        warnings.warn(
            f"{result.name}: the joint-angle plot (.png) is skipped: it needs matplotlib "
            "(pip install 'posemoe[plots]'); the angles are in the .csv and .json",
            stacklevel=2,
        )
    files: dict[Path, FileWriter] = {}
    for view in per_person(result):
        person = view.people[0]
        angles = person_angles(person, result.fps, result.layout)
        files[out / f"{view.name}_angles.csv"] = _csv(angles, np.asarray(person.visible, bool))
        files[out / f"{view.name}_angles.json"] = _json(angles, view)
        if plot:
            files[out / f"{view.name}_angles.png"] = _png(
                angles, f"{view.name}: joint angles (degrees)"
            )
    return files


register_format("angles", angle_files)
