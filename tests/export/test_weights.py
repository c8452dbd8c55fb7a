"""Exported weights: a checkpoint's network as safetensors, optionally averaged with other weights."""

import pytest

pytest.importorskip(
    "torch"
)  # a test of training / torch inference; skipped where only inference is installed

import torch  # noqa: E402

from posemoe.errors import UserError  # noqa: E402
from posemoe.export.weights import export_weights  # noqa: E402
from posemoe.models import create_model  # noqa: E402
from posemoe.models.pretrained import load_pretrained  # noqa: E402


def _other(tmp_path, **overrides):
    """Weights of another draw of the tiny lifter's architecture (or another one), as a .pt."""
    torch.manual_seed(7)
    model = create_model(
        "posemoe-t27-s",
        **(
            {
                "num_frames": 9,
                "dim": 8,
                "heads": 2,
                "expert_hidden": 32,
                "encoder_layers": 1,
                "decoder_layers": 1,
            }
            | overrides
        ),
    )
    path = tmp_path / "other.pt"
    torch.save({"model_config": model.config.to_dict(), "model": model.state_dict()}, path)
    return path, model.state_dict()


def test_average_with_other_weights_is_the_weighted_mean(tiny_lifter, tmp_path):
    other, theirs = _other(tmp_path)
    mine = torch.load(tiny_lifter, weights_only=True)["model"]
    out = export_weights(
        tiny_lifter, tmp_path / "soup.safetensors", average_with=other, weight=0.25
    )
    soup = load_pretrained(out)[0].state_dict()
    for name, value in mine.items():
        if value.is_floating_point():
            torch.testing.assert_close(soup[name], 0.75 * value + 0.25 * theirs[name])
    plain = load_pretrained(export_weights(tiny_lifter, tmp_path / "plain.safetensors"))[
        0
    ].state_dict()
    assert any(not torch.equal(plain[k], soup[k]) for k in plain)


def test_average_needs_the_same_architecture_and_a_share_in_0_1(tiny_lifter, tmp_path):
    other, _ = _other(tmp_path, dim=16)
    with pytest.raises(UserError, match="not of the checkpoint's architecture"):
        export_weights(tiny_lifter, tmp_path / "x.safetensors", average_with=other)
    same, _ = _other(tmp_path)
    with pytest.raises(UserError, match=r"must be in \[0, 1\]"):
        export_weights(tiny_lifter, tmp_path / "x.safetensors", average_with=same, weight=1.5)
    assert not (tmp_path / "x.safetensors").exists()
