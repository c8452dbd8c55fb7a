import pytest

pytest.importorskip(
    "torch"
)  # a test of training / torch inference; skipped where only inference is installed

import torch  # noqa: E402

from posemoe.models import (  # noqa: E402
    MODEL_CONFIGS,
    PoseMoE,
    build_model,
    count_parameters,
    create_model,
    get_config,
    list_models,
    macs_per_frame,
)
from posemoe.models.posemoe import MoEFeedForward, resample_frames  # noqa: E402

TINY = dict(num_frames=9, dim=8, heads=2, expert_hidden=32, encoder_layers=1, decoder_layers=1)


def test_registry_has_the_named_configs():
    for frames in (27, 81, 243):
        for size in ("s", "b"):
            assert f"posemoe-t{frames}-{size}" in MODEL_CONFIGS
            assert f"posemoe-entangled-t{frames}-{size}" in MODEL_CONFIGS
    with pytest.raises(ValueError, match="posemoe-t27-s"):
        create_model("posemoe-t28-x")


@pytest.mark.parametrize("name", ["posemoe-t27-s", "posemoe-entangled-t27-s"])
def test_forward_shapes_and_root_relative_output(name):
    model = create_model(name, **TINY)
    y = model(torch.randn(3, 9, 17, 2))
    assert y.shape == (3, 9, 17, 3)
    assert torch.all(y[:, :, 0] == 0)
    y_aux, aux = model(torch.randn(3, 9, 17, 2), aux=True)
    assert y_aux.shape == y.shape and aux["balance"].ndim == 0


def test_confidence_input_and_shape_errors():
    model = create_model("posemoe-t27-s", **TINY, in_channels=3)
    assert model(torch.randn(1, 9, 17, 3)).shape == (1, 9, 17, 3)
    with pytest.raises(
        ValueError, match=r"expected keypoints of shape \(B, 9, 17, 3\), got \(1, 9, 17, 2\)"
    ):
        model(torch.randn(1, 9, 17, 2))


def test_entangled_variant_has_the_same_size():
    for frames in (27, 243):
        for size in ("s", "b"):
            a = create_model(f"posemoe-t{frames}-{size}")
            b = create_model(f"posemoe-entangled-t{frames}-{size}")
            assert abs(count_parameters(a) - count_parameters(b)) / count_parameters(a) < 0.02
            assert abs(macs_per_frame(a) - macs_per_frame(b)) / macs_per_frame(a) < 0.02


def test_base_t243_costs_less_than_ktpformer_per_frame():
    model = create_model("posemoe-t243-b")
    assert macs_per_frame(model) < 286e6


def test_mac_count_includes_attention():
    short, long = (
        create_model("posemoe-t27-s", **TINY),
        create_model("posemoe-t27-s", **(TINY | {"num_frames": 90})),
    )
    # linear layers cost the same per frame; only temporal attention grows with T
    assert macs_per_frame(long) > macs_per_frame(short)


def test_streams_are_disentangled_in_the_encoder():
    torch.manual_seed(0)
    model = create_model("posemoe-t27-s", **TINY).eval()
    x = torch.randn(2, 9, 17, 2)
    pose, _, _ = model.encode(x)
    with torch.no_grad():
        for p in model.depth_encoder.parameters():
            p.add_(torch.randn_like(p))
    pose_again, _, _ = model.encode(x)
    assert torch.equal(pose, pose_again)


def test_moe_runs_only_top_k_experts_and_balance_is_one_when_uniform():
    moe = MoEFeedForward(width=6, hidden=4, num_experts=4, top_k=1, dropout=0.0)
    calls = []
    for e, expert in enumerate(moe.experts):
        expert.register_forward_hook(lambda m, i, o, e=e: calls.append((e, i[0].shape[0])))
    moe(torch.randn(50, 6))
    assert sum(n for _, n in calls) == 50  # each token went to exactly one expert
    torch.nn.init.zeros_(moe.router.weight)
    torch.nn.init.zeros_(moe.router.bias)
    _, balance = moe(torch.randn(10, 6))
    assert float(balance.detach()) == pytest.approx(1.0)


def test_depth_prior_is_sampled_in_training_only():
    model = create_model("posemoe-t27-s", **TINY)
    x = torch.randn(1, 9, 17, 2)
    model.train()
    assert not torch.equal(model.depth_prior(x), model.depth_prior(x))
    model.eval()
    assert torch.equal(model.depth_prior(x), model.depth_prior(x))


def test_config_roundtrip_rebuilds_the_same_architecture():
    cfg = get_config("posemoe-t81-s", **TINY)
    model = build_model(cfg)
    assert isinstance(model, PoseMoE)
    clone = build_model(type(cfg)(**cfg.to_dict()))
    clone.load_state_dict(model.state_dict())
    assert sorted(list_models()) == list_models()


@pytest.mark.parametrize("name", ["posemoe-t27-s", "posemoe-entangled-t27-s"])
def test_frame_positions_resample_to_another_window_length(name):
    short = create_model(name, **TINY)
    state = short.state_dict()
    positions = [k for k in state if k.endswith(".0") and k.split(".")[-2].startswith("pos")]
    assert positions and all(state[k].shape == (9, 1, 8) for k in positions)
    ramp = torch.linspace(0, 1, 9).view(9, 1, 1) * torch.arange(8.0)  # a linear ramp along T
    state = {k: ramp if k in positions else v for k, v in state.items()}
    longer = create_model(name, **TINY | {"num_frames": 25})
    longer.load_state_dict(resample_frames(state, 25))  # every tensor of the right shape
    for k, v in longer.state_dict().items():
        if k in positions:
            torch.testing.assert_close(
                v, torch.linspace(0, 1, 25).view(25, 1, 1) * torch.arange(8.0)
            )
        else:
            assert torch.equal(v, state[k]), k
    assert longer(torch.randn(1, 25, 17, 2)).shape == (1, 25, 17, 3)
