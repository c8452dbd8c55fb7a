"""3D results as files: ``.npz``, ``.json`` and ``.csv``, written whole or not at all.

Every file is first written under a temporary name in the output folder and renamed into place
once all of a result's files are complete, so a run killed while writing leaves the previous
files whole. Outputs never replace an input: :func:`refuse_inputs` stops that before any work.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

import numpy as np

from posemoe.errors import UserError
from posemoe.layouts import H36M17, JointLayout


def refuse_inputs(outputs: Iterable[Path], inputs: Iterable[str | Path | None]) -> None:
    """Raise when an output path is one of the inputs (or inside an input folder that is read)."""
    protected = {Path(p).resolve() for p in inputs if p is not None and Path(str(p)).exists()}
    for out in outputs:
        resolved = Path(out).resolve()
        if resolved in protected:
            raise UserError(f"{out} would overwrite an input; choose another --out folder")


def write_files(writers: dict[Path, Callable[[IO], None]], binary: Iterable[Path] = ()) -> list[Path]:
    """Write each ``path`` with ``writer(file)`` to a temporary name, then rename them all into place."""
    binary = set(binary)
    done: list[tuple[Path, Path]] = []
    try:
        for path, writer in writers.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            done.append((tmp, path))
            with tmp.open("wb" if path in binary else "w", **({} if path in binary else {"newline": ""})) as f:
                writer(f)
                f.flush()
                os.fsync(f.fileno())
        for tmp, path in done:
            os.replace(tmp, path)
    except BaseException:
        for tmp, _ in done:
            tmp.unlink(missing_ok=True)
        raise
    return [path for _, path in done]


def write_outputs(out_dir: str | Path, stem: str, joints_3d: np.ndarray, keypoints_2d: np.ndarray, *,
                  fps: float, layout: JointLayout = H36M17, extra: dict | None = None,
                  inputs: Iterable[str | Path | None] = ()) -> list[Path]:
    """Write ``<stem>.npz`` / ``.json`` / ``.csv``: per frame the 3D joints (T, J, 3) metres,
    camera frame, root-relative, and the 2D keypoints used (T, J, 3) pixels + confidence."""
    if joints_3d.shape[:2] != keypoints_2d.shape[:2]:
        raise UserError(f"3D {joints_3d.shape} and 2D {keypoints_2d.shape} differ in frames or joints")
    out = Path(out_dir)
    paths = [out / f"{stem}.npz", out / f"{stem}.json", out / f"{stem}.csv"]
    refuse_inputs(paths, inputs)
    record = {"fps": fps, "layout": layout.name, "joints": list(layout.joints), "units": "metres, camera frame, root-relative",
              **(extra or {}),
              "frames": [{"frame": t, "joints_3d": joints_3d[t].round(5).tolist(),
                          "keypoints_2d": keypoints_2d[t].round(2).tolist()} for t in range(len(joints_3d))]}

    def npz(f: IO) -> None:
        np.savez(f, joints_3d=joints_3d.astype(np.float32), keypoints_2d=keypoints_2d.astype(np.float32),
                 joints=np.array(layout.joints), fps=np.float32(fps))

    def table(f: IO) -> None:
        writer = csv.writer(f)
        writer.writerow(["frame"] + [f"{j}_{c}" for j in layout.joints for c in "xyz"])
        for t, pose in enumerate(joints_3d):
            writer.writerow([t] + [f"{v:.5f}" for v in pose.reshape(-1)])

    return write_files({paths[0]: npz, paths[1]: lambda f: f.write(json.dumps(record) + "\n"), paths[2]: table},
                       binary=[paths[0]])
