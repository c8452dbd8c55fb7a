"""Named datasets for training and evaluation: ``get_dataset("h36m").load(data_dir, subjects, source)``.

A dataset is one module that writes a loader returning packed
:class:`~posemoe.datasets.sequences.PoseSequences` (2D normalised with the screen codec, or the
camera codec when asked with ``codec="camera"``; 3D in metres, camera frame, root-relative) and
calls :func:`register_dataset`. Names that are not registered are read as VideoPose3D-format
files of that name (``data_3d_<name>.npz``) with the Human3.6M cameras, which is what ``posemoe
synth`` writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from posemoe.datasets.sequences import PoseSequences

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
    from posemoe.datasets.h36m import load_h36m

    return Dataset(
        name,
        partial(load_h36m, dataset=name),
        description=f"VideoPose3D-format files data_*_{name}*.npz",
    )
