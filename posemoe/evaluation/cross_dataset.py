"""A lifter judged beyond Human3.6M's four cameras, each through the same :class:`Lifter` that
inference uses (its layout, codec and frame rate):

- ``mpi-inf-3dhp``: the MPI-INF-3DHP test sequences, ground-truth 2D (``annot2``), valid frames lifted
  as one track per sequence, PCK@150 mm / AUC / MPJPE on 17 and 14 joints against ``univ_annot3``;
- ``humaneva``: HumanEva-I, ground-truth 2D at 60 fps: the standard protocol on the official
  Validate split (S1-S3, Walking and Jog, P-MPJPE by action and subject) beside the validation
  chunks of :func:`~posemoe.datasets.humaneva.split_validation` (Train split), scored on the joints
  both skeletons share (all 15 for HumanEva-15 lifters);
- ``h36m-virtual``: Human3.6M motion (S8 by default) seen by fixed, seeded virtual cameras
  (any azimuth, from below the hips to overhead, portrait and landscape frames), GT 2D.

Where the camera is known (MPI-INF-3DHP's camera.json, the virtual cameras) the lifter gets its
intrinsics, as a calibrated user's would; ``known_intrinsics=False`` makes it guess them as for an
unknown video. HumanEva-I's files carry no intrinsics: it always guesses.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from posemoe.errors import UserError
from posemoe.evaluation.metrics import mpjpe, p_mpjpe
from posemoe.inference.lifter import Lifter


def evaluate_mpi_inf_3dhp(
    lifter: Lifter,
    root: str | Path,
    sequences: list[str] | None = None,
    *,
    known_intrinsics: bool = True,
    quiet: bool = True,
):
    """-> :class:`~posemoe.datasets.mpi_inf_3dhp.MpiInf3dhpReport`. ``known_intrinsics``: give the lifter
    each sequence's camera (from camera.json), else let it guess as for an unknown video.
    ``quiet=False``: a progress bar of the sequences."""
    from tqdm import tqdm

    from posemoe.datasets.mpi_inf_3dhp import load_mpi_inf_3dhp, score_mpi_inf_3dhp

    data = load_mpi_inf_3dhp(root, sequences)
    unknown = [s.name for s in data if s.intrinsics is None]
    if (
        known_intrinsics and unknown and lifter.pretrained.codec == "camera"
    ):  # only that codec reads them
        warnings.warn(
            f"{', '.join(unknown)}: no camera.json, so a camera-codec lifter guesses the intrinsics there",
            stacklevel=2,
        )
    predictions = {
        s.name: lifter.lift(
            s.keypoints_2d,
            layout="h36m17",
            image_size=(s.width, s.height),
            fps=s.fps,
            intrinsics=s.intrinsics if known_intrinsics else None,
        )
        for s in tqdm(data, desc="mpi-inf-3dhp", unit="sequence", disable=quiet)
    }
    return score_mpi_inf_3dhp(predictions, data)


@dataclass
class HumanEvaEvaluation:
    """``eval --dataset humaneva``: the standard protocol on the official Validate split (where the
    files hold it) beside the held-out chunks of Train."""

    chunks: object  # HumanEvaReport: split_validation's chunks of Train
    standard: object | None  # HumanEvaReport: Validate/S1-S3, Walking and Jog; None without them
    note: str = ""

    def to_markdown(self) -> str:
        parts = []
        if self.standard is not None:
            parts.append(
                "Standard protocol: Validate/S1-S3, Walking and Jog, every chunk and camera\n\n"
                + self.standard.to_markdown()
            )
        elif self.note:
            parts.append(self.note)
        parts.append(
            "Held-out chunks of Train (this project's validation split)\n\n"
            + self.chunks.to_markdown()
        )
        return "\n\n".join(parts)


def evaluate_humaneva(
    lifter: Lifter, data_dir: str | Path, *, validation: bool = True, quiet: bool = True
) -> HumanEvaEvaluation:
    """The standard protocol (:data:`~posemoe.datasets.humaneva.PROTOCOL`: P-MPJPE per action and
    subject on Validate/S1-S3) when the 3D file holds the Validate split, and the held-out chunks of
    Train (all of Train's chunks with ``validation=False``). H36M-17 lifters are scored on the joints
    both skeletons share, HumanEva-15 lifters on all 15."""
    from posemoe.datasets.humaneva import PROTOCOL, load_humaneva, split_validation, subjects_in

    subjects = subjects_in(data_dir)
    chunks = load_humaneva(data_dir, [s for s in subjects if s.startswith("Train/")] or None)
    if validation:
        chunks = split_validation(chunks)[1]
    present = [s for s in PROTOCOL.test if s in subjects]
    standard, note = None, ""
    if present:
        standard = _score_humaneva(
            lifter, load_humaneva(data_dir, present, PROTOCOL.test_actions), "Validate", quiet
        )
        missing = sorted(set(PROTOCOL.test) - set(present))
        note = f"without {', '.join(missing)} (not in the files)" if missing else ""
    else:
        note = (
            f"{Path(data_dir) / 'data_3d_humaneva15.npz'}: no Validate/S1-S3 subjects, so the standard protocol "
            "was not run (VideoPose3D's prepare_data_humaneva.py writes them)"
        )
    return HumanEvaEvaluation(
        _score_humaneva(lifter, chunks, "Train chunks", quiet), standard, note
    )


def _score_humaneva(lifter: Lifter, clips: list, what: str, quiet: bool):
    from tqdm import tqdm

    from posemoe.datasets.humaneva import score_h36m_on_humaneva, score_humaneva
    from posemoe.layouts.humaneva import HUMANEVA15

    predictions = [
        lifter.lift(c.keypoints_2d, layout="humaneva15", image_size=(640, 480), fps=60.0)
        for c in tqdm(clips, desc=f"humaneva {what}", unit="clip", disable=quiet)
    ]
    return (score_humaneva if lifter.layout == HUMANEVA15 else score_h36m_on_humaneva)(
        predictions, clips
    )


@dataclass
class VirtualViewReport:
    """MPJPE / P-MPJPE in mm over every frame of every view, and per view kind."""

    frames: int
    mpjpe: float
    p_mpjpe: float
    per_kind: dict[str, tuple[int, float, float]] = field(default_factory=dict)

    def to_markdown(self) -> str:
        rows = [
            f"| {k} | {n} | {a:.1f} | {b:.1f} |" for k, (n, a, b) in sorted(self.per_kind.items())
        ]
        return "\n".join(
            [
                "| views | frames | MPJPE (mm) | P-MPJPE (mm) |",
                "|---|---:|---:|---:|",
                *rows,
                f"| **all** | {self.frames} | **{self.mpjpe:.1f}** | **{self.p_mpjpe:.1f}** |",
            ]
        )


def virtual_views(world: np.ndarray, views: int, seed: int):
    """``views`` fixed cameras on one sequence (T, 17, 3) world metres -> [(pixels (T, 17, 2),
    camera-frame 3D (T, 17, 3), image size, intrinsics, kind)] with kind "portrait" / "landscape" and
    "overhead" (elevation over 40 degrees) / "low" (below the hips) / "level"."""
    from posemoe.training.virtual_camera import VirtualCameraConfig, project, sample_cameras

    cfg = VirtualCameraConfig(moving=0.0, aim_offset=0.1)
    clips = np.broadcast_to(world, (views, *world.shape))
    cams = sample_cameras(cfg, np.random.default_rng(seed), clips)
    pixels, camera = project(clips, cams)
    out = []
    for v in range(views):
        w, h = cams.image_size[v]
        rel = cams.C[v, 0] - world[:, 0].mean(0)
        elevation = np.degrees(np.arcsin(rel[2] / np.linalg.norm(rel)))
        height = "overhead" if elevation > 40 else "low" if elevation < 0 else "level"
        out.append(
            (
                pixels[v],
                camera[v],
                (int(w), int(h)),
                cams.intrinsics(v),
                f"{'portrait' if h > w else 'landscape'}, {height}",
            )
        )
    return out


def evaluate_virtual_views(
    lifter: Lifter,
    data_dir: str | Path,
    subjects: list[str],
    *,
    views: int = 4,
    seed: int = 0,
    step: int = 2,
    known_intrinsics: bool = True,
    roll: float = 0.0,
    quiet: bool = True,
) -> VirtualViewReport:
    """Every sequence of ``subjects`` (every ``step``-th frame, 25 fps for step 2) seen by ``views``
    seeded cameras; the 2D is exact (no detector), the scores are against the camera-frame 3D.
    ``known_intrinsics``: the lifter is given each camera's focal length and principal point, else
    it guesses them as for an unknown video. ``roll``: degrees every camera is turned further about
    its optical axis (a camera held askew). ``quiet=False``: a progress bar of the clips."""
    from tqdm import tqdm

    from posemoe.datasets.motion import h36m_motion
    from posemoe.inference.upright import turn_back, turn_keypoints

    if not 0 <= seed < 2**31:
        raise UserError(f"expected a camera seed of 0 to {2**31 - 1}, got {seed}")
    sums: dict[str, list[float]] = {}
    clips = tqdm(
        h36m_motion(data_dir, tuple(subjects)), desc="h36m-virtual", unit="clip", disable=quiet
    )
    for k, clip in enumerate(clips):
        world = clip.positions[::step].astype(np.float64)
        for pixels, camera, size, intrinsics, kind in virtual_views(
            world, views, seed * 100_000 + k
        ):
            if roll:
                turn = np.full(len(pixels), np.radians(roll))
                pixels, camera = turn_keypoints(pixels, turn, intrinsics), turn_back(camera, -turn)
            pred = lifter.lift(
                pixels,
                layout="h36m17",
                image_size=size,
                fps=clip.fps / step,
                intrinsics=intrinsics if known_intrinsics else None,
            )
            truth = camera - camera[:, :1]
            acc = sums.setdefault(kind, [0, 0.0, 0.0])
            acc[0] += len(pred)
            acc[1] += float(mpjpe(pred, truth).sum() * 1000)
            acc[2] += float(p_mpjpe(pred, truth).sum() * 1000)
    if not sums:
        raise UserError(f"{data_dir}: no sequences of {subjects}")
    frames = sum(v[0] for v in sums.values())
    return VirtualViewReport(
        frames,
        sum(v[1] for v in sums.values()) / frames,
        sum(v[2] for v in sums.values()) / frames,
        {k: (int(n), a / n, b / n) for k, (n, a, b) in sums.items()},
    )
