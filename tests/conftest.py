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


@pytest.fixture(scope="session")
def rendered_dir(synthetic_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """64 px capsule-body crops of the synthetic motion: train.npz (S1, S5) and val.npz (S8)."""
    from posemoe.bodies import RenderOptions, render_dataset
    from posemoe.data import load_h36m

    out = tmp_path_factory.mktemp("rendered")
    for name, subjects, count in (("train", ["S1", "S5"], 160), ("val", ["S8"], 48)):
        data = load_h36m(synthetic_dir, subjects, "gt")
        render_dataset(data, count, seed=len(name), options=RenderOptions(size=64)).save(out / f"{name}.npz")
    return out


@pytest.fixture(autouse=True)
def _single_thread() -> None:
    torch.set_num_threads(1)
