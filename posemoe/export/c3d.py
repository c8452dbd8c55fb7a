"""C3D motion files: result format ``"c3d"``, ``<name>.c3d`` per person, written with the ``c3d``
package (py-c3d; pure Python).

Points: the fitted skeleton's joints under the marker names of :mod:`posemoe.export.trc`, at the
video's rate (``POINT:RATE``), in millimetres (``POINT:UNITS`` "mm", the unit of lab C3D files) and
**z up**, as Vicon, Qualisys and Visual3D files are: the BVH/TRC world frame (y up) turned +90
degrees about x, ``(x, y, z) -> (x, -z, y)``; ``POINT:X_SCREEN`` +X and ``Y_SCREEN`` +Z tell viewers
(Mokka) which way is up. Stored as floats (``POINT:SCALE`` -1), every point valid (residual 0):
joints that were not seen are filled in by the pipeline, as in the TRC.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np

from posemoe.errors import UserError
from posemoe.export.formats import files_per_person, register_format
from posemoe.export.results import FileWriter
from posemoe.export.trc import marker_names, world_markers

if TYPE_CHECKING:
    from posemoe.inference.result import PersonResult, Result

Z_UP_FROM_Y_UP = np.array(
    [[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]]
)  # +90 degrees about x


def write_c3d(file: IO, points_mm: np.ndarray, labels: list[str], fps: float) -> None:
    """Write (T, M, 3) ``points_mm`` (millimetres, z up) labelled ``labels`` at ``fps`` into a binary file."""
    try:
        import c3d
    except ImportError:
        raise UserError(
            "C3D files need the c3d package: pip install c3d (the video extra brings it)"
        ) from None
    frames, count = points_mm.shape[:2]
    if len(labels) != count or frames == 0:
        raise UserError(
            f"expected (T >= 1, {len(labels)}, 3) points for {len(labels)} labels, got {points_mm.shape}"
        )
    writer = c3d.Writer(
        point_rate=float(fps), analog_rate=0.0, point_scale=-1.0, point_units="mm  "
    )
    writer.set_point_labels(labels)
    writer.set_screen_axis("+X", "+Z")
    rows = np.zeros((frames, count, 5), np.float32)  # x, y, z, residual (0: valid), camera mask
    rows[..., :3] = points_mm
    no_analog = np.zeros((0, 0), np.float32)
    writer.add_frames([(rows[t], no_analog) for t in range(frames)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no analog data": none is meant
        writer.write(file)


def c3d_files(result: Result, out: Path) -> dict[Path, FileWriter]:
    """``<name>.c3d`` (one person) or ``<name>_person<id>.c3d`` (several)."""
    labels = marker_names(result.layout.joints)

    def writer(person: PersonResult, path: Path) -> FileWriter:
        points = 1000.0 * world_markers(person, result.fps) @ Z_UP_FROM_Y_UP.T
        return (lambda f: write_c3d(f, points, labels, result.fps)), True

    return files_per_person(result, out, "c3d", "C3D points", writer)


register_format("c3d", c3d_files)
