"""Shared fixtures: a tiny synthetic dataset in the VideoPose3D formats, written per session."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from posemoe.datasets.synthetic import write_synthetic_dataset

SUBJECTS = ("S1", "S5", "S8", "S9")
TOOLS = Path(__file__).parents[1] / "tools"


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synthetic")
    write_synthetic_dataset(
        out, subjects=SUBJECTS, frames=90, actions=("Walking", "Sitting"), seed=1
    )
    return out


@pytest.fixture(scope="session")
def rendered_dir(synthetic_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """64 px capsule-body crops of the synthetic motion: train.npz (S1, S5) and val.npz (S8)."""
    from posemoe.datasets.bodies import RenderOptions, render_dataset
    from posemoe.datasets.h36m import load_h36m

    out = tmp_path_factory.mktemp("rendered")
    for name, subjects, count in (("train", ["S1", "S5"], 160), ("val", ["S8"], 48)):
        data = load_h36m(synthetic_dir, subjects, "gt")
        render_dataset(data, count, seed=len(name), options=RenderOptions(size=64)).save(
            out / f"{name}.npz"
        )
    return out


@pytest.fixture(autouse=True)
def _single_thread() -> None:
    if (
        importlib.util.find_spec("torch") is not None
    ):  # inference tests run without torch (the video extra alone)
        import torch

        torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_lifter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained 9-frame PoseMoE saved as a .pt checkpoint."""
    torch = pytest.importorskip("torch")
    from posemoe.models import create_model

    model = create_model(
        "posemoe-t27-s",
        num_frames=9,
        dim=8,
        heads=2,
        expert_hidden=32,
        encoder_layers=1,
        decoder_layers=1,
    )
    path = tmp_path_factory.mktemp("lifter") / "tiny.pt"
    torch.save({"model_config": model.config.to_dict(), "model": model.state_dict()}, path)
    return path


@pytest.fixture(scope="session")
def astronaut_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 640x360, 30 fps, 24-frame .mp4 of the bundled photo of a real person drifting over the frame."""
    pytest.importorskip("cv2")
    from posemoe.assets import astronaut
    from posemoe.io.video import moving_still, write_video

    return write_video(
        tmp_path_factory.mktemp("clip") / "astronaut.mp4",
        moving_still(astronaut(), 24, (640, 360)),
        30,
    )


@pytest.fixture(scope="session")
def load_tool() -> Callable[[str], ModuleType]:
    """``load_tool("export_onnx")``: the script ``tools/export_onnx.py`` as a module (the tools are
    scripts, not a package), loaded once per session."""
    loaded: dict[str, ModuleType] = {}

    def load(name: str) -> ModuleType:
        if name not in loaded:
            spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            loaded[name] = module
        return loaded[name]

    return load
