"""Hooks keep the right tensors of each stream, layer by layer; the command runs on synthetic data."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip(
    "torch"
)  # a test of training / torch inference; skipped where only inference is installed

import torch  # noqa: E402

from posemoe.analysis.streams import collect_features, layer_dependence, stream_report  # noqa: E402
from posemoe.cli import main  # noqa: E402
from posemoe.datasets.h36m import load_h36m  # noqa: E402
from posemoe.errors import UserError  # noqa: E402
from posemoe.models import create_model  # noqa: E402

SMALL = dict(num_frames=9, dim=8, heads=2, expert_hidden=32, encoder_layers=2, decoder_layers=1)


def windows(count: int = 40, frames: int = 9, seed: int = 0) -> np.ndarray:
    return (0.3 * np.random.default_rng(seed).standard_normal((count, frames, 17, 2))).astype(
        np.float32
    )


def test_disentangled_model_gives_both_streams_after_every_layer() -> None:
    torch.manual_seed(0)
    model = create_model("posemoe-t27-s", **SMALL)
    x = windows()
    features = collect_features(model, x, batch_size=16)
    cfg = model.config
    assert features.layers == ["encoder 1", "encoder 2", "decoder 1"]
    assert features.stages == ["encoder"] * cfg.encoder_layers + ["decoder"] * cfg.decoder_layers
    for name in features.layers:
        assert (
            features.pose[name].shape == features.depth[name].shape == (40, cfg.num_joints, cfg.dim)
        )
        assert features.readout[name].shape == (40, cfg.num_joints, 3)
    model.eval()
    with torch.no_grad():
        pose, depth, _ = model.encode(torch.from_numpy(x))
        out = model(torch.from_numpy(x)).numpy()
    centre = cfg.num_frames // 2
    assert np.allclose(features.pose["encoder 2"], pose[:, centre].numpy(), atol=1e-5)
    assert np.allclose(features.depth["encoder 2"], depth[:, centre].numpy(), atol=1e-5)
    assert np.allclose(
        features.readout["decoder 1"], out[:, centre], atol=1e-5
    )  # the last layer read is the output
    assert not np.allclose(features.pose["encoder 1"], features.pose["encoder 2"])


def test_hooks_are_removed_and_the_mode_restored() -> None:
    model = create_model("posemoe-t27-s", **SMALL).train()
    collect_features(model, windows(8))
    assert model.training
    assert not any(module._forward_hooks for module in model.modules())


def test_entangled_model_has_one_stream_and_is_compared_by_its_read_out() -> None:
    model = create_model("posemoe-entangled-t27-s", **SMALL)
    x = windows()
    features = collect_features(model, x)
    assert features.layers == [
        "encoder 1",
        "encoder 2",
        "encoder 3",
        "encoder 4",
        "decoder 1",
        "decoder 2",
    ]
    assert features.pose == {} and features.depth == {}
    model.eval()
    with torch.no_grad():
        out = model(torch.from_numpy(x)).numpy()
    assert np.allclose(features.readout["decoder 2"], out[:, 4], atol=1e-5)
    layers = layer_dependence(features, dims=4, seeds=2)
    assert [layer.streams for layer in layers] == [None] * 6
    assert all(
        np.isfinite(layer.readout["mi"]["value"]) and 0 <= layer.readout["cka"] <= 1
        for layer in layers
    )


def test_refusals() -> None:
    with pytest.raises(UserError, match="shape"):
        collect_features(create_model("posemoe-t27-s", **SMALL), windows(frames=27))
    with pytest.raises(UserError, match="reads PoseMoE lifters"):
        collect_features(create_model("aitepose-s"), windows())
    with pytest.raises(UserError, match="too few"):
        stream_report(create_model("posemoe-t27-s", **SMALL), windows(10), label="x")
    model = create_model("posemoe-t27-s", **SMALL)
    with pytest.raises(
        UserError, match="at least 20"
    ):  # halves of 8 samples cannot hold 4 + 4 dimensions
        stream_report(model, windows(16), label="x", dims=4, seeds=2)
    assert (
        len(stream_report(model, windows(20), label="x", dims=4, seeds=2).layers) == 3
    )  # the least accepted runs


def test_command_on_a_small_synthetic_dataset(synthetic_dir, tmp_path, capsys) -> None:
    paths = []
    for name in ("posemoe-t27-s", "posemoe-entangled-t27-s"):
        torch.manual_seed(1)
        model = create_model(name, **SMALL)
        paths.append(tmp_path / f"{name}.pt")
        torch.save({"model_config": model.config.to_dict(), "model": model.state_dict()}, paths[-1])
    out = tmp_path / "out"
    main(
        [
            "analyze",
            "mi",
            *map(str, paths),
            "--data-dir",
            str(synthetic_dir),
            "--subjects",
            "S8",
            "--dims",
            "4",
            "--seeds",
            "2",
            "--labels",
            "moe",
            "ent",
            "--out",
            str(out),
            "--threads",
            "1",
        ]
    )
    printed = capsys.readouterr().out
    assert "| encoder 1 |" in printed and "wrote" in printed
    moe, ent = (json.loads((out / f"{label}.mi.json").read_text()) for label in ("moe", "ent"))
    assert [layer["name"] for layer in moe["layers"]] == ["encoder 1", "encoder 2", "decoder 1"]
    assert len(ent["layers"]) == 6 and all(layer["streams"] is None for layer in ent["layers"])
    assert all(layer["streams"]["mi"]["std"] >= 0 for layer in moe["layers"])
    s8 = load_h36m(synthetic_dir, ["S8"], "gt").sequences
    assert moe["samples"] == sum(-(-seq.length // 9) for seq in s8)  # windows of 9 laid end to end
    assert moe["dims"] == 4 and moe["units"] == "nats"
    assert (out / "mi.png").stat().st_size > 10_000


def test_command_refuses_shared_labels(tiny_lifter, synthetic_dir, tmp_path) -> None:
    with pytest.raises(SystemExit) as stop:
        main(
            [
                "analyze",
                "mi",
                str(tiny_lifter),
                str(tiny_lifter),
                "--data-dir",
                str(synthetic_dir),
                "--out",
                str(tmp_path),
            ]
        )
    assert stop.value.code == 2
