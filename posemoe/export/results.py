"""3D out: temporal smoothing and writing results as .npz, .json and .csv."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from posemoe.layouts import H36M17, JointLayout


def write_outputs(out_dir: str | Path, stem: str, joints_3d: np.ndarray, keypoints_2d: np.ndarray, *,
                  fps: float, layout: JointLayout = H36M17, extra: dict | None = None) -> list[Path]:
    """Write ``<stem>.npz`` / ``.json`` / ``.csv``: per frame the 3D joints (T, J, 3) metres,
    camera frame, root-relative, and the 2D keypoints used (T, J, 3) pixels + confidence."""
    if joints_3d.shape[:2] != keypoints_2d.shape[:2]:
        raise ValueError(f"3D {joints_3d.shape} and 2D {keypoints_2d.shape} differ in frames or joints")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{stem}.npz", out / f"{stem}.json", out / f"{stem}.csv"]
    np.savez(paths[0], joints_3d=joints_3d.astype(np.float32), keypoints_2d=keypoints_2d.astype(np.float32),
             joints=np.array(layout.joints), fps=np.float32(fps))
    record = {"fps": fps, "layout": layout.name, "joints": list(layout.joints), "units": "metres, camera frame, root-relative",
              **(extra or {}),
              "frames": [{"frame": t, "joints_3d": joints_3d[t].round(5).tolist(),
                          "keypoints_2d": keypoints_2d[t].round(2).tolist()} for t in range(len(joints_3d))]}
    paths[1].write_text(json.dumps(record) + "\n")
    with paths[2].open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["frame"] + [f"{j}_{c}" for j in layout.joints for c in "xyz"])
        for t, pose in enumerate(joints_3d):
            writer.writerow([t] + [f"{v:.5f}" for v in pose.reshape(-1)])
    return paths
