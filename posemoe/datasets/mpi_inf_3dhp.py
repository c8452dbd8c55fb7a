"""MPI-INF-3DHP test set: reading the official annotations and scoring H36M-17 predictions on them.

Files: ``<root>/TS<k>/annot_data.mat`` (MATLAB v7.3, i.e. HDF5; h5py returns MATLAB's axes
reversed, so ``univ_annot3`` reads as ``(N, 1, 17, 3)``) and, optionally, ``<root>/TS<k>/camera.json``
(``{"TS<k>": {"f": [fx, fy], "c": [cx, cy], "w": width, "h": height, "fps": ...}}``).

Protocol (as the field reports it): targets are ``univ_annot3`` (camera frame, rescaled to the
height of the Human3.6M skeleton) centred on the pelvis, on the frames with ``valid_frame == 1``;
inputs are the ground-truth 2D ``annot2``; metrics are PCK@150 mm, AUC over 0:5:150 mm (see
:mod:`posemoe.evaluation.pck`) and MPJPE, on all 17 joints and on the dataset's own 14 (without
pelvis, spine and head centre), frame-weighted over sequences.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from posemoe.camera import Intrinsics
from posemoe.errors import UserError
from posemoe.evaluation.pck import auc, pck
from posemoe.io.keypoints import MAX_ABS_PIXELS
from posemoe.layouts import H36M17, convert
from posemoe.layouts.mpi_inf_3dhp import H36M17_FROM_MPI, MPI_COMMON14, MPI_INF_3DHP17

ANNOT_FILE = "annot_data.mat"
MAX_FRAMES = 100_000
"""Largest frame count accepted from a file (the official sequences have at most about 6,200):
a crafted file cannot make the reader allocate more than ~7 MB per array."""

DEFAULT_VIDEO = {
    "TS1": (2048, 2048, 25.0),
    "TS2": (2048, 2048, 25.0),
    "TS3": (2048, 2048, 25.0),
    "TS4": (2048, 2048, 25.0),
    "TS5": (1920, 1080, 50.0),
    "TS6": (1920, 1080, 50.0),
}
"""(width, height, fps) used when a sequence has no ``camera.json``: TS1-TS4 were filmed in the
studio, TS5-TS6 outdoors with a GoPro."""

JOINT_SETS = {
    "all17": tuple(range(H36M17.num_joints)),
    "common14": tuple(
        H36M17.index(h36m) for h36m, mpi in H36M17_FROM_MPI.items() if mpi in MPI_COMMON14
    ),
}
"""H36M-17 indices scored in each joint set (``common14`` drops Hip, Spine and Neck/Nose)."""

ACTIVITIES = {
    1: "standing/walking",
    2: "exercising",
    3: "sitting",
    4: "reaching/crouching",
    5: "on the floor",
    6: "sports",
    7: "miscellaneous",
}
"""``activity_annotation`` ids of the test set, as the dataset's own evaluation names them (0: unannotated)."""

_SEQUENCE_NAME = re.compile(r"TS(\d+)")


@dataclass(frozen=True)
class MpiInf3dhpSequence:
    """One test sequence, valid frames only, in H36M-17 joint order."""

    name: str  # "TS5"
    keypoints_2d: np.ndarray  # (N, 17, 2) pixels (annot2)
    poses_3d: np.ndarray  # (N, 17, 3) metres, camera frame, root-relative (univ_annot3)
    root: np.ndarray  # (N, 3) metres, camera frame: the pelvis of univ_annot3
    activity: np.ndarray  # (N,) int activity id per frame
    valid: np.ndarray  # (F,) bool over every frame of the file; N = valid.sum()
    width: int
    height: int
    fps: float
    focal: np.ndarray | None  # (2,) pixels, from camera.json
    centre: np.ndarray | None  # (2,) principal point, pixels, from camera.json

    @property
    def intrinsics(self) -> Intrinsics | None:
        """The camera's, from camera.json; None when the folder has none."""
        return None if self.focal is None else Intrinsics(tuple(self.focal), tuple(self.centre))

    @property
    def frame_indices(self) -> np.ndarray:
        """``(N,)`` index in the file (0-based) of each kept frame."""
        return np.flatnonzero(self.valid)


def _checked_dataset(file: h5py.File, key: str, path: Path) -> h5py.Dataset:
    """The dataset ``key``, refused unless it is a plain numeric array stored in this file."""
    link = file.get(key, getlink=True)
    if link is None:
        raise UserError(f"{path}: missing key {key!r} (found {sorted(file.keys())})")
    if not isinstance(link, h5py.HardLink):
        raise UserError(
            f"{path}: {key!r} is a {type(link).__name__}, expected an array stored in the file"
        )
    dataset = file[key]
    if not isinstance(dataset, h5py.Dataset):
        raise UserError(f"{path}: {key!r} is a {type(dataset).__name__}, expected a numeric array")
    if dataset.is_virtual or dataset.external:
        raise UserError(
            f"{path}: {key!r} refers to data outside the file; expected an array stored in it"
        )
    if not (np.issubdtype(dataset.dtype, np.floating) or np.issubdtype(dataset.dtype, np.integer)):
        raise UserError(f"{path}: {key!r} has dtype {dataset.dtype}, expected numbers")
    return dataset


def _read_points(file: h5py.File, key: str, channels: int, path: Path) -> np.ndarray:
    """``(N, 1, 17, C)`` or ``(N, 17, C)`` on disk -> ``(N, 17, C)`` float64, shape checked before reading."""
    dataset = _checked_dataset(file, key, path)
    shape = dataset.shape
    tail = (MPI_INF_3DHP17.num_joints, channels)
    if not (len(shape) in (3, 4) and shape[-2:] == tail and (len(shape) == 3 or shape[1] == 1)):
        raise UserError(
            f"{path}: expected {key!r} of shape (N, 1, 17, {channels}) (MATLAB axes reversed), "
            f"got {shape}"
        )
    if shape[0] > MAX_FRAMES:
        raise UserError(
            f"{path}: {key!r} declares {shape[0]} frames, more than the {MAX_FRAMES} accepted"
        )
    return np.asarray(dataset[()], np.float64).reshape(shape[0], *tail)


def _read_per_frame(file: h5py.File, key: str, frames: int, path: Path) -> np.ndarray:
    """A per-frame vector stored as ``(N, 1)``, ``(1, N)`` or ``(N,)`` -> ``(N,)`` float64."""
    dataset = _checked_dataset(file, key, path)
    if dataset.size != frames or sum(d != 1 for d in dataset.shape) > 1:
        raise UserError(
            f"{path}: expected {key!r} with one value per frame ({frames}), got shape {dataset.shape}"
        )
    return np.asarray(dataset[()], np.float64).reshape(frames)


def read_annot_data(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of one ``annot_data.mat``, every frame, MPI-INF-3DHP joint order:
    ``annot2`` (F, 17, 2) pixels, ``univ_annot3`` (F, 17, 3) millimetres camera frame, ``valid``
    (F,) bool, ``activity`` (F,) int. Shapes are checked before anything is read."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"no such file: {path}")
    try:
        file = h5py.File(path, "r")
    except OSError as err:
        raise UserError(f"{path}: not a MATLAB v7.3 (HDF5) file ({err})") from None
    with file:
        annot2 = _read_points(file, "annot2", 2, path)
        univ = _read_points(file, "univ_annot3", 3, path)
        if len(annot2) != len(univ):
            raise UserError(
                f"{path}: 'annot2' has {len(annot2)} frames but 'univ_annot3' {len(univ)}"
            )
        valid = _read_per_frame(file, "valid_frame", len(univ), path)
        has_activity = file.get("activity_annotation", getlink=True) is not None
        activity = (
            _read_per_frame(file, "activity_annotation", len(univ), path)
            if has_activity
            else np.zeros(len(univ))
        )
    return {
        "annot2": annot2,
        "univ_annot3": univ,
        "valid": valid == 1,
        "activity": activity.astype(np.int64),
    }


def _video_info(
    directory: Path, name: str
) -> tuple[int, int, float, np.ndarray | None, np.ndarray | None]:
    """(width, height, fps, focal, centre) from ``camera.json`` when present, else :data:`DEFAULT_VIDEO`."""
    path = directory / "camera.json"
    default = DEFAULT_VIDEO.get(name)
    if not path.is_file():
        if default is None:
            raise UserError(
                f"{directory}: no camera.json and no default image size for sequence {name!r} "
                f"(defaults exist for {', '.join(DEFAULT_VIDEO)})"
            )
        return default[0], default[1], default[2], None, None
    try:
        entry = json.loads(path.read_text())[name]
        width, height = int(entry["w"]), int(entry["h"])
        fps = float(entry.get("fps", default[2] if default else 0.0))
        focal, centre = np.asarray(entry["f"], np.float64), np.asarray(entry["c"], np.float64)
    except (ValueError, KeyError, TypeError) as err:
        raise UserError(
            f"{path}: expected {{{name!r}: {{'f': [fx, fy], 'c': [cx, cy], 'w': ..., 'h': ...}}}} "
            f"({type(err).__name__}: {err})"
        ) from None
    if width <= 0 or height <= 0 or fps <= 0 or focal.shape != (2,) or centre.shape != (2,):
        raise UserError(
            f"{path}: expected positive w, h and fps and 2-vectors f and c, got w={width}, h={height}, "
            f"fps={fps} (give 'fps' for sequences without a default), f={focal.tolist()}, "
            f"c={centre.tolist()}"
        )
    return width, height, fps, focal, centre


def load_mpi_inf_3dhp_sequence(directory: str | Path) -> MpiInf3dhpSequence:
    """Read ``<directory>/annot_data.mat`` (the sequence is named after the directory, e.g. TS5)."""
    directory = Path(directory)
    raw = read_annot_data(directory / ANNOT_FILE)
    valid = raw["valid"]
    where = directory / ANNOT_FILE
    if not valid.any():
        raise UserError(f"{where}: no frame has valid_frame == 1")
    univ_m = convert(raw["univ_annot3"][valid] / 1000.0, MPI_INF_3DHP17, H36M17)
    annot2 = convert(raw["annot2"][valid], MPI_INF_3DHP17, H36M17)
    frames = np.nonzero(valid)[0]
    for key, array, limit, unit in (
        ("univ_annot3", univ_m, 100.0, "m"),
        ("annot2", annot2, MAX_ABS_PIXELS, "px"),
    ):
        bad = ~(np.abs(array) <= limit).all(axis=(1, 2))
        if bad.any():
            raise UserError(
                f"{where}: {key!r} has NaN, inf or values beyond {limit:g} {unit} on valid frames "
                f"(first: frame {int(frames[np.argmax(bad)])}, {int(bad.sum())} in all)"
            )
    width, height, fps, focal, centre = _video_info(directory, directory.name)
    root = univ_m[:, H36M17.root]
    return MpiInf3dhpSequence(
        name=directory.name,
        keypoints_2d=annot2.astype(np.float32),
        poses_3d=(univ_m - root[:, None]).astype(np.float32),
        root=root.astype(np.float32),
        activity=raw["activity"][valid],
        valid=valid,
        width=width,
        height=height,
        fps=fps,
        focal=focal,
        centre=centre,
    )


def _sequence_number(directory: Path) -> int:
    return int(_SEQUENCE_NAME.fullmatch(directory.name).group(1))  # type: ignore[union-attr]


def load_mpi_inf_3dhp(
    root: str | Path, sequences: Sequence[str] | None = None
) -> list[MpiInf3dhpSequence]:
    """Every ``<root>/TS*/annot_data.mat`` in sequence order, or only the named ``sequences``."""
    root = Path(root)
    found = sorted(
        (
            p.parent
            for p in root.glob(f"TS*/{ANNOT_FILE}")
            if _SEQUENCE_NAME.fullmatch(p.parent.name)
        ),
        key=_sequence_number,
    )
    if sequences is not None:
        missing = sorted(set(sequences) - {d.name for d in found})
        if missing:
            raise UserError(
                f"{root}: no {ANNOT_FILE} for {missing} (found {[d.name for d in found]})"
            )
        found = [d for d in found if d.name in sequences]
    if not found:
        raise UserError(f"{root}: expected TS<k>/{ANNOT_FILE} folders, found none")
    return [load_mpi_inf_3dhp_sequence(d) for d in found]


@dataclass(frozen=True)
class Scores:
    """Protocol figures over a set of poses: PCK and AUC as fractions, MPJPE in millimetres."""

    frames: int
    pck: float
    auc: float
    mpjpe_mm: float


def _scores(pred: np.ndarray, target: np.ndarray, joints: tuple[int, ...]) -> Scores:
    """Frame means over ``(N, 17, 3)`` metres, scored on the H36M-17 ``joints``."""
    pred, target = pred[:, joints], target[:, joints]
    mpjpe_mm = 1000.0 * np.linalg.norm(pred - target, axis=-1).mean()
    return Scores(
        frames=len(pred),
        pck=float(pck(pred, target).mean()),
        auc=float(auc(pred, target).mean()),
        mpjpe_mm=float(mpjpe_mm),
    )


@dataclass(frozen=True)
class MpiInf3dhpReport:
    """Per-sequence, per-activity and frame-weighted overall :class:`Scores`, each per joint set
    (``all17``, ``common14``), and the overall MPJPE of each H36M-17 joint in mm."""

    per_sequence: dict[str, dict[str, Scores]]
    overall: dict[str, Scores]
    per_activity: dict[str, dict[str, Scores]] = field(default_factory=dict)
    per_joint_mm: dict[str, float] = field(default_factory=dict)
    frames_in_file: dict[str, int] = field(default_factory=dict)  # per sequence, valid or not

    def to_markdown(self) -> str:
        """Tables: one row per sequence and one for all, then one row per activity (PCK and AUC in %,
        MPJPE in mm); then each joint's MPJPE."""
        sets = list(self.overall)
        header = ["frames"] + [f"{m} ({s})" for s in sets for m in ("PCK %", "AUC %", "MPJPE mm")]

        def table(first: str, rows) -> list[str]:
            lines = ["| " + " | ".join([first, *header]) + " |", "|" + " --- |" * (len(header) + 1)]
            for name, by_set in rows:
                cells = [name, str(by_set[sets[0]].frames)]
                for s in sets:
                    cells += [
                        f"{100 * by_set[s].pck:.1f}",
                        f"{100 * by_set[s].auc:.1f}",
                        f"{by_set[s].mpjpe_mm:.1f}",
                    ]
                lines.append("| " + " | ".join(cells) + " |")
            return lines

        lines = table(
            "sequence", [*self.per_sequence.items(), ("all (frame-weighted)", self.overall)]
        )
        left_out = {
            k: n - self.per_sequence[k][sets[0]].frames for k, n in self.frames_in_file.items()
        }
        if any(left_out.values()):
            lines += [
                "",
                "Left out as the protocol says (valid_frame 0): "
                + ", ".join(
                    f"{k} {n} of {self.frames_in_file[k]} frames" for k, n in left_out.items()
                )
                + ".",
            ]
        if self.per_activity:
            lines += [""] + table("activity", self.per_activity.items())
        if self.per_joint_mm:
            lines += [
                "",
                "| " + " | ".join(["MPJPE mm", *self.per_joint_mm]) + " |",
                "|" + " --- |" * (len(self.per_joint_mm) + 1),
                "| "
                + " | ".join(["all frames", *(f"{v:.1f}" for v in self.per_joint_mm.values())])
                + " |",
            ]
        return "\n".join(lines)


def _checked_prediction(
    predictions: Mapping[str, np.ndarray], sequence: MpiInf3dhpSequence
) -> np.ndarray:
    if sequence.name not in predictions:
        raise UserError(f"no prediction for sequence {sequence.name} (got {sorted(predictions)})")
    pred = np.asarray(predictions[sequence.name], np.float64)
    if pred.shape != sequence.poses_3d.shape:
        raise UserError(
            f"{sequence.name}: expected H36M-17 predictions of shape {sequence.poses_3d.shape} "
            f"(valid frames, 17 joints, metres), got {pred.shape}"
        )
    if not np.isfinite(pred).all():
        raise UserError(f"{sequence.name}: predictions contain NaN or inf")
    return pred - pred[:, H36M17.root : H36M17.root + 1]


def score_mpi_inf_3dhp(
    predictions: Mapping[str, np.ndarray], sequences: Sequence[MpiInf3dhpSequence]
) -> MpiInf3dhpReport:
    """Score ``{sequence name: (N, 17, 3)}`` H36M-17 predictions (metres, camera frame, one per valid
    frame) against ``univ_annot3``. Predictions are re-centred on their pelvis, so absolute ones work too."""
    if not sequences:
        raise UserError("expected at least one MPI-INF-3DHP sequence to score, got none")
    extra = sorted(set(predictions) - {s.name for s in sequences})
    if extra:
        raise UserError(
            f"predictions for unknown sequences {extra} (loaded: {[s.name for s in sequences]})"
        )
    preds = [_checked_prediction(predictions, s) for s in sequences]
    targets = [s.poses_3d.astype(np.float64) for s in sequences]
    per_sequence = {
        s.name: {name: _scores(p, t, joints) for name, joints in JOINT_SETS.items()}
        for s, p, t in zip(sequences, preds, targets)
    }
    all_pred, all_target = np.concatenate(preds), np.concatenate(targets)
    overall = {name: _scores(all_pred, all_target, joints) for name, joints in JOINT_SETS.items()}
    activity = np.concatenate([s.activity for s in sequences])
    per_activity = {
        f"{a} {ACTIVITIES.get(int(a), 'unannotated' if a == 0 else 'unknown')}": {
            name: _scores(all_pred[activity == a], all_target[activity == a], joints)
            for name, joints in JOINT_SETS.items()
        }
        for a in np.unique(activity)
    }
    joint_mm = 1000.0 * np.linalg.norm(all_pred - all_target, axis=-1).mean(0)
    return MpiInf3dhpReport(
        per_sequence=per_sequence,
        overall=overall,
        per_activity=per_activity,
        per_joint_mm=dict(zip(H36M17.joints, map(float, joint_mm))),
        frames_in_file={s.name: len(s.valid) for s in sequences},
    )
