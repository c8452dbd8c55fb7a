"""Weights carry what using them needs, and a file that does not fit its config is refused early."""

import json

import pytest

pytest.importorskip(
    "torch"
)  # a test of training / torch inference; skipped where only inference is installed

import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

from posemoe.errors import UserError  # noqa: E402
from posemoe.models import create_model  # noqa: E402
from posemoe.models.pretrained import (  # noqa: E402
    DEFAULT_WEIGHTS,
    PretrainedConfig,
    default_weights,
    load_pretrained,
)


def test_shipped_weights_carry_their_pretrained_config():
    model, pretrained = load_pretrained("posemoe-t27-s-h36m")
    assert (pretrained.layout, pretrained.codec, pretrained.fps, pretrained.in_channels) == (
        "h36m17",
        "screen",
        50.0,
        2,
    )
    assert "gt" in pretrained.sources and "non-commercial" in pretrained.licence
    assert default_weights("posemoe-t27-s") == "posemoe-t27-s-h36m-he-bvh-vcam-rt6k"
    same = create_model("posemoe-t27-s", pretrained="posemoe-t27-s-h36m")
    assert all(
        torch.equal(a, b) for a, b in zip(model.state_dict().values(), same.state_dict().values())
    )
    with pytest.raises(ValueError, match="not of architecture"):
        create_model("posemoe-t81-s", pretrained="posemoe-t27-s-h36m")


def test_the_default_lifter_records_every_source_and_its_licence():
    _, pretrained = load_pretrained(DEFAULT_WEIGHTS["posemoe-t27-s"])
    assert pretrained.codec == "screen" and pretrained.fps == 50.0
    assert (
        any("bvh motion" in s for s in pretrained.sources) and "CC BY-NC 4.0" in pretrained.licence
    )


def test_files_without_a_pretrained_config_get_the_documented_defaults(tmp_path):
    model = create_model("posemoe-t27-s", num_frames=9, dim=8, expert_hidden=32)
    path = tmp_path / "old.safetensors"
    save_file(
        model.state_dict(), str(path), metadata={"model_config": json.dumps(model.config.to_dict())}
    )
    _, pretrained = load_pretrained(path)
    assert pretrained == PretrainedConfig()


def _weights(tmp_path, config: dict, tensors: dict) -> str:
    path = tmp_path / "w.safetensors"
    save_file(tensors, str(path), metadata={"model_config": json.dumps(config)})
    return str(path)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c | {"dim": 32768}, "dim=32768"),
        (lambda c: c | {"surprise": 1}, "posemoe config: unknown options"),
        (lambda c: {"family": "aitepose", "image_size": 64}, "do not fit"),
        (lambda c: c | {"heads": 3}, "not divisible|do not describe"),
        (lambda c: "posemoe-t27-s", "must be a mapping"),
    ],
)
def test_weights_that_do_not_fit_their_config_are_refused(tmp_path, edit, message):
    model = create_model("posemoe-t27-s", num_frames=9, dim=8, expert_hidden=32)
    path = _weights(tmp_path, edit(model.config.to_dict()), model.state_dict())
    with pytest.raises(UserError, match=message):
        load_pretrained(path)


def test_tensors_of_the_wrong_shape_are_named(tmp_path):
    model = create_model("posemoe-t27-s", num_frames=9, dim=8, expert_hidden=32)
    tensors = model.state_dict()
    tensors["head.1.bias"] = torch.zeros(4)
    del tensors["depth_mean"]
    with pytest.raises(UserError, match=r"missing \['depth_mean'\].*head.1.bias \(4,\)"):
        load_pretrained(_weights(tmp_path, model.config.to_dict(), tensors))
