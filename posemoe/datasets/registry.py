"""Named datasets for training and evaluation: ``get_dataset("h36m").load(data_dir, subjects, source)``.

A dataset is one module that writes a loader returning packed
:class:`~posemoe.datasets.sequences.PoseSequences` (2D normalised with the screen codec, or the
camera codec when asked with ``codec="camera"``; 3D in metres, camera frame, root-relative) and
calls :func:`register_dataset` (Human3.6M is registered here). :func:`load_sources` loads one or
several 2D sources of a registered dataset. Names that are not registered are read as VideoPose3D-format
files of that name (``data_3d_<name>.npz``) with the Human3.6M cameras, which is what ``posemoe
synth`` writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from posemoe.codecs import match_channels
from posemoe.datasets.h36m import Protocol, load_h36m
from posemoe.datasets.sequences import PoseSequences, concat_sequences
from posemoe.errors import UserError

Loader = Callable[
    ..., PoseSequences
]  # (data_dir, subjects, 2D source, *, codec="screen") -> sequences


@dataclass(frozen=True)
class Dataset:
    name: str
    load: Loader  # (data_dir, subjects, 2D source, *, codec) -> packed sequences
    fps: float = 50.0
    test_subjects: tuple[str, ...] = ()  # read by `posemoe eval` only, refused by training
    description: str = ""


DATASETS: dict[str, Dataset] = {}


def register_dataset(dataset: Dataset) -> Dataset:
    DATASETS[dataset.name] = dataset
    return dataset


def get_dataset(name: str) -> Dataset:
    if name in DATASETS:
        return DATASETS[name]
    return Dataset(
        name,
        partial(load_h36m, dataset=name),
        description=f"VideoPose3D-format files data_*_{name}*.npz",
    )


def load_sources(
    data_dir: str | Path,
    subjects: tuple[str, ...] | list[str],
    source: str,
    *,
    dataset: str = "h36m",
    channels: int = 2,
    codec: str = "screen",
) -> PoseSequences:
    """Load ``subjects`` of a registered dataset, normalised with ``codec``; ``source`` may join
    several 2D sources with '+' (``"gt+sh"``): every frame then appears once per source, so training
    sees clean and detected 2D alike."""
    loader = get_dataset(dataset).load
    options = (
        {} if codec == "screen" else {"codec": codec}
    )  # loaders that know only the screen codec still work
    parts = [loader(data_dir, subjects, s, **options) for s in source.split("+")]
    wrong = sorted({p.codec for p in parts} - {codec})
    if wrong:
        raise UserError(
            f"dataset {dataset!r} returned {', '.join(wrong)}-codec keypoints when asked for {codec}: "
            f"its loader must honour codec={codec!r}"
        )
    if len(parts) == 1:
        return parts[0]
    for part in parts:
        part.keypoints = match_channels(part.keypoints, channels)
    return concat_sequences(parts)


register_dataset(  # built in
    Dataset(
        "h36m",
        load_h36m,
        fps=50.0,
        test_subjects=Protocol().test,
        description="Human3.6M in the VideoPose3D formats (data_3d_h36m.npz, data_2d_h36m_<source>.npz)",
    )
)
