"""What docs/architecture.md promises: a dataset is one module plus a registration, a model one
file plus a registry entry, an output format one module in export/. Each is done here in a test."""

from dataclasses import asdict, dataclass

import numpy as np
import pytest

pytest.importorskip(
    "torch"
)  # a test of training / torch inference; skipped where only inference is installed

import torch  # noqa: E402
from torch import nn  # noqa: E402

from posemoe.datasets import DATASETS, Dataset, register_dataset  # noqa: E402
from posemoe.datasets.h36m import load_h36m  # noqa: E402
from posemoe.export import FORMATS, register_format, write_result  # noqa: E402
from posemoe.inference.lifter import Lifter  # noqa: E402
from posemoe.models import FAMILIES, MODEL_CONFIGS, create_model, register_family, register_model  # noqa: E402
from posemoe.training.checkpoint import model_from_checkpoint  # noqa: E402
from posemoe.training.loop import TrainConfig, train  # noqa: E402


@dataclass(frozen=True)
class FrameMLPConfig:
    """A per-frame MLP lifter: the smallest model the training loop and the Lifter accept."""

    family: str = "frame-mlp"  # the registered family this config builds
    num_frames: int = 5
    num_joints: int = 17
    in_channels: int = 2
    hidden: int = 64

    def to_dict(self) -> dict:
        return asdict(self)


class FrameMLP(nn.Module):
    """keypoints (B, T, J, C) -> (B, T, J, 3), each frame on its own."""

    def __init__(self, config: FrameMLPConfig) -> None:
        super().__init__()
        self.config = config
        j = config.num_joints
        self.net = nn.Sequential(
            nn.Linear(j * config.in_channels, config.hidden),
            nn.GELU(),
            nn.Linear(config.hidden, j * 3),
        )

    def forward(self, x: torch.Tensor, *, aux: bool = False):
        b, t, j, _ = x.shape
        y = self.net(x.reshape(b, t, -1)).reshape(b, t, j, 3)
        y = y - y[:, :, :1]
        return (y, {"balance": y.new_zeros(())}) if aux else y


@pytest.fixture
def registered():
    register_family("frame-mlp", FrameMLPConfig, FrameMLP, "lifting")
    register_model("frame-mlp-t5", FrameMLPConfig())

    def toy(data_dir, subjects, source):  # the loader signature docs/architecture.md gives
        return load_h36m(data_dir, subjects, source, dataset="h36m")

    register_dataset(Dataset("toy", toy, fps=25.0, test_subjects=("S9",)))
    register_format(
        "txt",
        lambda result, out: {
            out / f"{result.name}.txt": (
                lambda f: f.write(f"{result.frames} frames of {result.layout.name}\n"),
                False,
            )
        },
    )
    yield
    for table, key in (
        (FAMILIES, "frame-mlp"),
        (MODEL_CONFIGS, "frame-mlp-t5"),
        (DATASETS, "toy"),
        (FORMATS, "txt"),
    ):
        table.pop(key, None)


def test_a_new_model_and_dataset_train_evaluate_and_lift(registered, synthetic_dir, tmp_path):
    cfg = TrainConfig().override(
        {
            "model": "frame-mlp-t5",
            "dataset": "toy",
            "data_dir": str(synthetic_dir),
            "out_dir": str(tmp_path),
            "train_subjects": ["S1"],
            "val_subjects": ["S8"],
            "epochs": 2,
            "epoch_clips": 32,
            "batch_size": 8,
            "warmup_steps": 2,
        }
    )
    summary = train(cfg, quiet=True)
    assert summary["done"] and np.isfinite(summary["best"])
    model = model_from_checkpoint(tmp_path / "best.pt")
    assert isinstance(model, FrameMLP)
    from posemoe.models.pretrained import load_pretrained

    model, pretrained = load_pretrained(tmp_path / "best.pt")
    assert pretrained.fps == 25.0  # the dataset's rate, recorded for inference
    lifted = Lifter(model, pretrained).lift(
        np.random.default_rng(0).uniform(0, 500, (12, 17, 2)),
        layout="h36m17",
        image_size=(640, 480),
    )
    assert lifted.shape == (12, 17, 3)
    assert isinstance(create_model("frame-mlp-t5"), FrameMLP)


def test_a_new_output_format_is_written_with_the_others(registered, tmp_path):
    from posemoe.inference.result import PersonResult, Result
    from posemoe.layouts import H36M17

    person = PersonResult(
        0, np.zeros((4, 17, 3), np.float32), np.zeros((4, 17, 3), np.float32), np.ones(4, bool)
    )
    result = Result("clip", "nowhere", "model", 30.0, (640, 480), H36M17, [person])
    paths = write_result(result, tmp_path, ("npz", "txt"))
    assert [p.name for p in paths] == ["clip.npz", "clip.txt"]
    assert (tmp_path / "clip.txt").read_text() == "4 frames of h36m17\n"
    with pytest.raises(ValueError, match="unknown output format"):
        write_result(result, tmp_path, ("gif",))
