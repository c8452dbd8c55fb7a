"""Camera model of Human3.6M: world <-> camera frames and projection with lens distortion.

Conventions: metres; camera axes x right, y down, z forward; ``X_cam = R (X_world - T)``
with ``T`` the camera centre in world coordinates. Pixels: u right, v down, origin top-left.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from posemoe.errors import UserError

H36M_CAMERA_IDS = ("54138969", "55011271", "58860488", "60457274")


@dataclass(frozen=True)
class Camera:
    """Intrinsics and extrinsics of one camera (``T`` in metres)."""

    id: str
    R: np.ndarray  # (3, 3) world -> camera rotation
    T: np.ndarray  # (3,) camera centre, world frame, metres
    f: np.ndarray  # (2,) focal lengths, pixels
    c: np.ndarray  # (2,) principal point, pixels
    k: np.ndarray  # (3,) radial distortion
    p: np.ndarray  # (2,) tangential distortion (VideoPose3D order)
    width: int
    height: int

    def world_to_camera(self, points_world: np.ndarray) -> np.ndarray:
        """``(..., 3)`` world metres -> ``(..., 3)`` camera metres."""
        return (points_world - self.T) @ self.R.T

    def camera_to_world(self, points_cam: np.ndarray) -> np.ndarray:
        """``(..., 3)`` camera metres -> ``(..., 3)`` world metres."""
        return points_cam @ self.R + self.T

    def project(self, points_cam: np.ndarray) -> np.ndarray:
        """``(..., 3)`` camera metres -> ``(..., 2)`` pixels, with radial + tangential distortion.

        The normalised image coordinates are clamped to [-1, 1] before distortion, as the
        standard ``data_2d_h36m_gt.npz`` was made; this only affects points far outside the view.
        """
        if np.any(points_cam[..., 2] <= 0):
            raise UserError(f"camera {self.id}: cannot project points at or behind the camera (z <= 0)")
        xy = np.clip(points_cam[..., :2] / points_cam[..., 2:3], -1.0, 1.0)
        r2 = np.sum(xy**2, axis=-1, keepdims=True)
        radial = 1.0 + self.k[0] * r2 + self.k[1] * r2**2 + self.k[2] * r2**3
        tangential = np.sum(self.p * xy, axis=-1, keepdims=True)
        distorted = xy * (radial + tangential) + self.p * r2
        return distorted * self.f + self.c


def load_h36m_cameras(path: str | Path | None = None) -> dict[str, list[Camera]]:
    """Cameras per subject, in the standard camera order. Default: the copy shipped with posemoe."""
    if path is None:
        text = resources.files("posemoe.assets").joinpath("h36m_camera_params.json").read_text()
    else:
        try:
            text = Path(path).read_text()
        except (OSError, UnicodeDecodeError) as err:
            raise UserError(f"{path}: cannot read the camera file ({err})") from None
    try:
        return _parse_h36m_cameras(json.loads(text))
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise UserError(f"{path or 'the shipped camera file'}: not a Human3.6M camera file in posemoe's layout "
                        f"({{'subjects': {{S: {{id: {{index, R, T, f, c, k, p, res_w, res_h}}}}}}}}): "
                        f"{type(err).__name__} {str(err)[:120]}") from None


def _parse_h36m_cameras(data: dict) -> dict[str, list[Camera]]:
    out: dict[str, list[Camera]] = {}
    for subject, cams in data["subjects"].items():
        ordered = sorted(cams, key=lambda k: int(cams[k]["index"]))
        out[subject] = [_camera(str(cid), cams[cid]) for cid in ordered]
    return out


def _camera(cid: str, c: dict) -> Camera:
    shapes = {"R": (3, 3), "T": (3,), "f": (2,), "c": (2,), "k": (3,), "p": (2,)}
    arrays = {}
    for name, shape in shapes.items():
        arrays[name] = np.asarray(c[name], dtype=np.float64).reshape(-1)
        if arrays[name].size != int(np.prod(shape)) or not np.isfinite(arrays[name]).all():
            raise ValueError(f"camera {cid}: {name} must be {shape} finite numbers")
        arrays[name] = arrays[name].reshape(shape)
    width, height = int(c["res_w"]), int(c["res_h"])
    if not (0 < width <= 100_000 and 0 < height <= 100_000):
        raise ValueError(f"camera {cid}: image size {width}x{height}")
    return Camera(id=cid, R=arrays["R"], T=arrays["T"] / 1000.0, f=arrays["f"], c=arrays["c"], k=arrays["k"],
                  p=arrays["p"], width=width, height=height)
