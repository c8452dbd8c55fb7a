"""Results and weights out.

Result formats are registered by name: a format is a function ``(result, out_dir) -> {path: (write,
binary)}`` that says which files it writes and how; :func:`write_result` writes every file of every
asked format under a temporary name and renames them into place together. A new format is one
module here that calls :func:`~posemoe.export.formats.register_format`, imported below.
Weights: :mod:`posemoe.export.weights`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from posemoe.errors import UserError
from posemoe.export import angles as _angles  # noqa: F401  (registers "angles")
from posemoe.export import bvh as _bvh  # noqa: F401  (registers "bvh")
from posemoe.export import c3d as _c3d  # noqa: F401  (registers "c3d")
from posemoe.export import gltf as _gltf  # noqa: F401  (registers "glb")
from posemoe.export import trc as _trc  # noqa: F401  (registers "trc")
from posemoe.export.formats import (
    FORMATS,
    FileWriter,
    Format,
    output_name,
    per_person,
    person_name,
    register_format,
)
from posemoe.inference.result import PersonResult, Result
from posemoe.io.files import refuse_inputs, write_files
from posemoe.layouts import H36M17, JointLayout


def write_result(
    result: Result,
    out_dir: str | Path,
    formats: Iterable[str] = ("npz", "json", "csv"),
    *,
    inputs: Iterable[str | Path | None] = (),
) -> list[Path]:
    """Write ``result`` in each of ``formats`` (:data:`FORMATS`) into ``out_dir``, all files whole or
    none (one file per person and format when there are several, see :func:`per_person`), as
    ``posemoe infer`` does; nothing may replace the result's source or one of ``inputs``. Returns
    the paths written."""
    out_dir = Path(out_dir)
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise UserError(f"unknown output format(s) {unknown}; known: {', '.join(sorted(FORMATS))}")
    files: dict[Path, FileWriter] = {}
    for view in per_person(result):
        for name in formats:
            files |= FORMATS[name](view, out_dir)
    refuse_inputs(files, [result.source or None, *inputs])
    return write_files(
        {path: write for path, (write, _) in files.items()},
        binary=[path for path, (_, binary) in files.items() if binary],
    )


def write_outputs(
    out_dir: str | Path,
    stem: str,
    joints_3d: np.ndarray,
    keypoints_2d: np.ndarray,
    *,
    fps: float,
    layout: JointLayout = H36M17,
    extra: dict | None = None,
    inputs: Iterable[str | Path | None] = (),
) -> list[Path]:
    """Arrays -> ``<stem>.npz`` / ``.json`` / ``.csv``: the 3D joints (T, J, 3) metres, camera frame,
    root-relative, and the 2D keypoints used (T, J, 3) pixels + confidence."""
    if joints_3d.shape[:2] != keypoints_2d.shape[:2]:
        raise UserError(
            f"3D {joints_3d.shape} and 2D {keypoints_2d.shape} differ in frames or joints"
        )
    extra = dict(extra or {})
    visible = np.asarray(extra.pop("person_visible", np.ones(len(joints_3d), bool)))
    result = Result(
        stem,
        str(extra.pop("source", "")),
        str(extra.pop("model", "")),
        fps,
        (0, 0),
        layout,
        [PersonResult(0, keypoints_2d, joints_3d, visible)],
        list(extra.pop("report", [])),
        extra=extra,
    )
    return write_result(result, Path(out_dir), ("npz", "json", "csv"), inputs=inputs)


__all__ = [
    "FORMATS",
    "Format",
    "FileWriter",
    "output_name",
    "per_person",
    "person_name",
    "register_format",
    "write_outputs",
    "write_result",
    "write_files",
    "refuse_inputs",
]
