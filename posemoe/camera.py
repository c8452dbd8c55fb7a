"""Cameras: Human3.6M's (world <-> camera frames, projection with lens distortion) and the pinhole
intrinsics of any camera, known or guessed from a field of view (:class:`Intrinsics`).

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

DEFAULT_FOV_DEG = 60.0
"""Field of view across the longer image side assumed when a video's camera is not known: phones'
main cameras are 24-28 mm full-frame equivalents, 65-70 degrees across the sensor's long side, and
video crops (16:9 from a 4:3 sensor, electronic stabilisation) take a few degrees off; camcorders
and cameras with kit zooms sit between 40 and 70 degrees. Action cameras (90-120 degrees) need
their own value."""


FOV_RANGE_DEG = (1.0, 170.0)  # from a long telephoto to beyond a fisheye's pinhole equivalent


def focal_from_fov(image_size: tuple[int, int], fov_deg: float = DEFAULT_FOV_DEG) -> float:
    """Focal length in pixels of a pinhole camera seeing ``fov_deg`` degrees across the longer side
    of a (width, height) image."""
    if not FOV_RANGE_DEG[0] <= fov_deg <= FOV_RANGE_DEG[1]:
        raise UserError(
            f"expected a field of view of {FOV_RANGE_DEG[0]:g}-{FOV_RANGE_DEG[1]:g} degrees, got {fov_deg}"
        )
    return 0.5 * max(image_size) / np.tan(np.radians(fov_deg) / 2)


def check_focal(focal_px: float, image_size: tuple[int, int]) -> None:
    """Refuse a focal length (pixels) that no lens has at ``image_size``: one whose field of view
    across the longer side lies outside :data:`FOV_RANGE_DEG`."""
    shortest, longest = (focal_from_fov(image_size, fov) for fov in reversed(FOV_RANGE_DEG))
    if not shortest <= focal_px <= longest:
        fov = np.degrees(2 * np.arctan(0.5 * max(image_size) / focal_px))
        raise UserError(
            f"a focal length of {focal_px:g} px is a field of view of {fov:.3g} degrees across the "
            f"{max(image_size)} px side of {image_size[0]}x{image_size[1]} frames; expected "
            f"{shortest:.0f}-{longest:.0f} px ({FOV_RANGE_DEG[0]:g}-{FOV_RANGE_DEG[1]:g} degrees)"
        )


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics in pixels: focal lengths ``(fx, fy)`` and principal point ``(cx, cy)``."""

    focal: tuple[float, float]
    centre: tuple[float, float]

    def __post_init__(self) -> None:
        focal, centre = np.asarray(self.focal, np.float64), np.asarray(self.centre, np.float64)
        if (
            focal.shape != (2,)
            or centre.shape != (2,)
            or not (np.isfinite(focal).all() and np.isfinite(centre).all())
        ):
            raise UserError(
                f"intrinsics need two finite focal lengths and a finite principal point, "
                f"got focal={self.focal}, centre={self.centre}"
            )
        if (focal <= 0).any():
            raise UserError(f"focal lengths must be positive, got {focal.tolist()}")

    @classmethod
    def guess(
        cls,
        image_size: tuple[int, int],
        fov_deg: float = DEFAULT_FOV_DEG,
        focal_px: float | None = None,
    ) -> Intrinsics:
        """A camera whose intrinsics are unknown: focal ``focal_px`` (else from ``fov_deg`` across the
        longer side), principal point at the image centre."""
        f = float(focal_px) if focal_px is not None else focal_from_fov(image_size, fov_deg)
        return cls((f, f), (image_size[0] / 2.0, image_size[1] / 2.0))


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

    @property
    def intrinsics(self) -> Intrinsics:
        """Its focal lengths and principal point (the distortion left out)."""
        return Intrinsics(tuple(self.f), tuple(self.c))

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
            raise UserError(
                f"camera {self.id}: cannot project points at or behind the camera (z <= 0)"
            )
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
        raise UserError(
            f"{path or 'the shipped camera file'}: not a Human3.6M camera file in posemoe's layout "
            f"({{'subjects': {{S: {{id: {{index, R, T, f, c, k, p, res_w, res_h}}}}}}}}): "
            f"{type(err).__name__} {str(err)[:120]}"
        ) from None


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
    return Camera(
        id=cid,
        R=arrays["R"],
        T=arrays["T"] / 1000.0,
        f=arrays["f"],
        c=arrays["c"],
        k=arrays["k"],
        p=arrays["p"],
        width=width,
        height=height,
    )
