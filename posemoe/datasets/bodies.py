"""Image / 3D pairs from real 3D poses: articulated bodies drawn as shaded capsules.

No real images with 3D labels exist on this machine, so AITEPose is trained and tested on
renders of real motion (e.g. the Human3.6M poses): each limb is a capsule (a cylinder with
round ends) whose radius varies with body shape; clothing, skin and background colours,
lighting and camera distance are random; a z-buffer resolves occlusion. Rendering is plain
NumPy, each capsule vectorised over its bounding box (a 128 px crop takes a few milliseconds).

The crop is the square around the projected body, like a person detector's box, so the
network sees a centred person. Labels are the pose itself (root-relative, camera frame,
metres) and its 2D joints in crop coordinates ([-1, 1], left/top to right/bottom).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from posemoe.datasets.images import ImageSet
from posemoe.datasets.sequences import PoseSequences
from posemoe.errors import UserError
from posemoe.layouts import H36M17

# (joint a, joint b, radius in metres, clothing part); a == b draws a sphere.
_CAPSULES = (
    ("Hip", "Thorax", 0.13, "shirt"),
    ("LHip", "LShoulder", 0.07, "shirt"),
    ("RHip", "RShoulder", 0.07, "shirt"),
    ("LShoulder", "RShoulder", 0.065, "shirt"),
    ("LHip", "RHip", 0.09, "trousers"),
    ("Thorax", "Neck/Nose", 0.05, "skin"),
    ("Neck/Nose", "Head", 0.09, "skin"),
    ("LShoulder", "LElbow", 0.05, "shirt"),
    ("LElbow", "LWrist", 0.04, "skin"),
    ("RShoulder", "RElbow", 0.05, "shirt"),
    ("RElbow", "RWrist", 0.04, "skin"),
    ("LHip", "LKnee", 0.075, "trousers"),
    ("LKnee", "LFoot", 0.055, "trousers"),
    ("RHip", "RKnee", 0.075, "trousers"),
    ("RKnee", "RFoot", 0.055, "trousers"),
    ("LFoot", "LFoot", 0.06, "shoes"),
    ("RFoot", "RFoot", 0.06, "shoes"),
)
_HEAD = next(k for k, (a, b, _, _) in enumerate(_CAPSULES) if (a, b) == ("Neck/Nose", "Head"))
_SKIN = (
    np.array(
        [[255, 224, 196], [234, 192, 134], [198, 134, 66], [141, 85, 36], [92, 56, 30]], np.float32
    )
    / 255
)


@dataclass(frozen=True)
class RenderOptions:
    """Randomisation ranges of the renderer."""

    size: int = 128
    focal: tuple[float, float] = (900.0, 1300.0)  # pixels of a 1000-px-wide camera
    depth: tuple[float, float] = (3.5, 7.0)  # metres from camera to pelvis
    margin: tuple[float, float] = (1.15, 1.35)  # crop side / body extent
    shift: float = 0.05  # crop centre jitter, share of the side
    thickness: tuple[float, float] = (0.8, 1.25)  # body-shape scale of all radii
    noise: float = 3.0  # pixel noise std, 0-255 scale


def _capsule_table(layout=H36M17) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    a = np.array([layout.index(c[0]) for c in _CAPSULES])
    b = np.array([layout.index(c[1]) for c in _CAPSULES])
    return a, b, np.array([c[2] for c in _CAPSULES], np.float32), [c[3] for c in _CAPSULES]


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Vertical two-colour gradient with a few soft blobs: (S, S, 3) in [0, 1]."""
    top, bottom = rng.random(3), rng.random(3)
    ramp = np.linspace(0, 1, size)[:, None, None]
    image = np.broadcast_to(top * (1 - ramp) + bottom * ramp, (size, size, 3)).copy()
    yy, xx = np.mgrid[:size, :size] / size
    for _ in range(rng.integers(1, 5)):
        cx, cy, rx, ry = rng.random(4) * [1, 1, 0.4, 0.4] + [0, 0, 0.05, 0.05]
        mask = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 < 1
        image[mask] = image[mask] * 0.4 + rng.random(3) * 0.6
    return image


def _rasterize(
    a_px: np.ndarray,
    b_px: np.ndarray,
    ra_px: np.ndarray,
    rb_px: np.ndarray,
    za: np.ndarray,
    zb: np.ndarray,
    radius_m: np.ndarray,
    size: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Z-buffer K capsules (pixel endpoints (K, 2), pixel radii (K,), depths (K,), metre radii (K,))
    -> depth (S, S) (inf where empty), surface normal (S, S, 3), capsule index (S, S)."""
    # Capsule by capsule, each only over its own bounding box.
    zbuf = np.full((size, size), np.inf)
    normal = np.zeros((size, size, 3))
    index = np.zeros((size, size), int)
    for k in range(len(a_px)):
        lo = np.floor(np.minimum(a_px[k] - ra_px[k], b_px[k] - rb_px[k])).clip(0, size).astype(int)
        hi = np.ceil(np.maximum(a_px[k] + ra_px[k], b_px[k] + rb_px[k])).clip(0, size).astype(int)
        if (hi <= lo).any():
            continue
        ys, xs = np.mgrid[lo[1] : hi[1], lo[0] : hi[0]] + 0.5
        p = np.stack([xs, ys], -1)  # (h, w, 2) pixel centres
        ab = b_px[k] - a_px[k]
        t = np.clip(((p - a_px[k]) @ ab) / max(ab @ ab, 1e-9), 0, 1)
        off = p - (a_px[k] + t[..., None] * ab)
        r = np.maximum(ra_px[k] + t * (rb_px[k] - ra_px[k]), 1e-6)
        rel = np.linalg.norm(off, axis=-1) / r
        q = np.sqrt(np.clip(1 - rel**2, 0, 1))  # how far the surface faces the camera
        z = za[k] + t * (zb[k] - za[k]) - q * radius_m[k]
        win = (rel < 1) & (z < zbuf[lo[1] : hi[1], lo[0] : hi[0]])
        zbuf[lo[1] : hi[1], lo[0] : hi[0]][win] = z[win]
        index[lo[1] : hi[1], lo[0] : hi[0]][win] = k
        normal[lo[1] : hi[1], lo[0] : hi[0]][win] = np.concatenate(
            [off / r[..., None], -q[..., None]], -1
        )[win]
    return zbuf, normal, index


def render_body(
    pose: np.ndarray,
    rng: np.random.Generator,
    options: RenderOptions = RenderOptions(),
    *,
    with_mask: bool = False,
) -> tuple[np.ndarray, ...]:
    """Draw one person.

    pose: (17, 3) H36M-17, metres, camera frame (root-relative is fine; it is placed in front of
    the camera). Returns the crop (S, S, 3) uint8 and the joints' crop coordinates (17, 2) in [-1, 1]
    (and, with ``with_mask``, the (S, S) bool mask of body pixels).
    """
    size = options.size
    ja, jb, radius, parts = _capsule_table()
    root = np.array([rng.uniform(-0.3, 0.3), rng.uniform(-0.2, 0.2), rng.uniform(*options.depth)])
    points = pose - pose[0] + root
    focal = rng.uniform(*options.focal)
    uv = focal * points[:, :2] / points[:, 2:]  # (17, 2) pixels about the principal point
    extent = np.maximum(uv.max(0) - uv.min(0), focal * 0.3 / root[2])
    side = extent.max() * rng.uniform(*options.margin) + 2 * focal * 0.1 / root[2]
    centre = (uv.max(0) + uv.min(0)) / 2 + rng.uniform(-options.shift, options.shift, 2) * side
    scale = size / side
    pix = (uv - centre) * scale + size / 2  # (17, 2) crop pixels

    radius = radius * rng.uniform(*options.thickness) * rng.uniform(0.9, 1.1, len(radius))
    depth = points[:, 2]
    colours = {
        "shirt": rng.random(3),
        "trousers": rng.random(3) * 0.8,
        "skin": _SKIN[rng.integers(len(_SKIN))],
        "shoes": rng.random(3) * 0.3,
    }
    colour = np.stack([colours[p] for p in parts])  # (K, 3)
    # Left limbs a shade darker: a stand-in for the left/right cues (face, clothing) real people show.
    left = np.array(
        [
            H36M17.joints[a].startswith("L") or H36M17.joints[b].startswith("L")
            for a, b in zip(ja, jb)
        ]
    )
    colour[left] *= 0.8
    head, face = H36M17.index("Head"), H36M17.index("Neck/Nose")
    across = points[H36M17.index("LShoulder")] - points[H36M17.index("RShoulder")]
    up = points[head] - points[H36M17.index("Thorax")]
    forward = np.cross(across, up)
    forward /= max(np.linalg.norm(forward), 1e-6)

    # Capsule endpoints in pixels with per-end pixel radii; a nose sphere marks the face.
    a_px, b_px = pix[ja], pix[jb]
    za, zb = depth[ja], depth[jb]
    ra_px, rb_px = radius * focal * scale / za, radius * focal * scale / zb
    # The head is the capsule from "Neck/Nose" (face level) to "Head" (top of the head).
    nose = points[face] + 0.3 * (points[head] - points[face]) + forward * radius[_HEAD] * 0.95
    nose_px = (focal * nose[:2] / nose[2] - centre) * scale + size / 2
    nose_r = 0.03 * focal * scale / nose[2]
    a_px, b_px = np.vstack([a_px, nose_px]), np.vstack([b_px, nose_px])
    za, zb = np.append(za, nose[2]), np.append(zb, nose[2])
    ra_px, rb_px = np.append(ra_px, nose_r), np.append(rb_px, nose_r)
    radius_m = np.append(radius, 0.03)
    colour = np.vstack([colour, colours["skin"] * 0.75])

    zbuf, normal, index = _rasterize(a_px, b_px, ra_px, rb_px, za, zb, radius_m, size)
    covered = np.isfinite(zbuf).ravel()

    light = np.array([rng.uniform(-0.7, 0.7), rng.uniform(-0.8, 0.3), -1.0])
    light /= np.linalg.norm(light)
    ambient = rng.uniform(0.3, 0.55)
    shade = ambient + (1 - ambient) * np.clip(normal.reshape(-1, 3)[covered] @ light, 0, 1)
    k = index.ravel()[covered]

    image = _background(rng, size).reshape(-1, 3)
    image[covered] = colour[k] * shade[:, None]
    image = image.reshape(size, size, 3) * 255 + rng.normal(0, options.noise, (size, size, 3))
    out = np.clip(image, 0, 255).astype(np.uint8), (pix / size * 2 - 1).astype(np.float32)
    return (*out, covered.reshape(size, size)) if with_mask else out


def render_dataset(
    data: PoseSequences,
    count: int,
    *,
    seed: int = 0,
    options: RenderOptions = RenderOptions(),
    progress: bool = False,
) -> ImageSet:
    """Render about ``count`` crops of frames spread evenly over every sequence of ``data``."""
    if count <= 0:
        raise UserError(f"count must be positive, got {count}")
    stride = max(1, int(np.ceil(data.num_frames / count)))
    rng = np.random.default_rng(seed)
    frames, seqs = [], []
    for seq in data.sequences:
        rows = seq.start + np.arange(int(rng.integers(stride)) % seq.length, seq.length, stride)
        if len(rows):
            seqs.append(replace(seq, start=sum(len(f) for f in frames), length=len(rows)))
            frames.append(rows)
    rows = np.concatenate(frames)
    images = np.empty((len(rows), options.size, options.size, 3), np.uint8)
    keypoints = np.empty((len(rows), data.poses.shape[1], 2), np.float32)
    iterator = range(len(rows))
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, desc="rendering", unit="img")
    for i in iterator:
        images[i], keypoints[i] = render_body(data.poses[rows[i]], rng, options)
    labels = PoseSequences(
        keypoints=keypoints,
        poses=data.poses[rows].copy(),
        sequences=seqs,
        source=f"rendered {options.size}px",
    )
    return ImageSet(images, labels)
