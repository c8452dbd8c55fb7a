"""Shared fixtures: a tiny synthetic dataset in the VideoPose3D formats, written per session."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from posemoe.synthetic import write_synthetic_dataset

SUBJECTS = ("S1", "S5", "S8", "S9")


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synthetic")
    write_synthetic_dataset(out, subjects=SUBJECTS, frames=90, actions=("Walking", "Sitting"), seed=1)
    return out


@pytest.fixture(autouse=True)
def _single_thread() -> None:
    torch.set_num_threads(1)
