import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

pytest.importorskip(
    "torch"
)  # a test of training / torch inference; skipped where only inference is installed

import torch  # noqa: E402

from posemoe.models.posemoe import resample_frames  # noqa: E402
from posemoe.training.checkpoint import load_checkpoint, model_from_checkpoint  # noqa: E402
from posemoe.training.distributed import setup  # noqa: E402
from posemoe.training.loop import Run, TrainConfig, learning_rate, train  # noqa: E402

TINY = {
    "num_frames": 9,
    "dim": 8,
    "heads": 2,
    "expert_hidden": 32,
    "encoder_layers": 1,
    "decoder_layers": 1,
}


def _config(data_dir: Path, out_dir: Path, **kw) -> TrainConfig:
    base = dict(
        model="posemoe-t27-s",
        model_overrides=TINY,
        data_dir=str(data_dir),
        out_dir=str(out_dir),
        train_subjects=["S1", "S5"],
        val_subjects=["S8"],
        epochs=3,
        epoch_clips=64,
        batch_size=8,
        warmup_steps=5,
        threads=1,
        log_every=2,
    )
    return TrainConfig().override(base | kw)


def _write_toml(cfg: TrainConfig, path: Path) -> None:
    lines = []
    for key, value in cfg.to_dict().items():
        if value is None or isinstance(value, dict):
            continue
        lines.append(f"{key} = {json.dumps(value)}")
    lines.append("[model_overrides]")
    lines += [f"{k} = {json.dumps(v)}" for k, v in cfg.model_overrides.items()]
    path.write_text("\n".join(lines) + "\n")


def test_training_learns_and_writes_checkpoints(synthetic_dir, tmp_path):
    summary = train(_config(synthetic_dir, tmp_path, epochs=4, val_every=1, lr=3e-3), quiet=True)
    assert summary["done"] and summary["epoch"] == 4
    rows = (tmp_path / "log.csv").read_text().splitlines()
    losses = [float(r.split(",")[5]) for r in rows[1:] if r.startswith("train")]
    assert losses[-1] < losses[0]
    val = [float(r.split(",")[10]) for r in rows[1:] if r.startswith("val")]
    assert len(val) == 4 and math.isfinite(min(val))
    best = load_checkpoint(tmp_path / "best.pt")
    assert best["state"]["best"] == pytest.approx(min(val), abs=1e-3)
    model = model_from_checkpoint(tmp_path / "best.pt")
    assert model.config.num_frames == 9 and not model.training


def test_killed_run_resumes_to_the_same_weights(synthetic_dir, tmp_path):
    cfg_whole = _config(synthetic_dir, tmp_path / "whole", epochs=6, epoch_clips=256)
    train(cfg_whole, quiet=True)

    cfg_killed = _config(synthetic_dir, tmp_path / "killed", epochs=6, epoch_clips=256)
    toml = tmp_path / "killed.toml"
    _write_toml(cfg_killed, toml)
    proc = subprocess.Popen(
        [sys.executable, "-m", "posemoe.cli", "train", "--config", str(toml)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    last = tmp_path / "killed" / "last.pt"
    deadline = time.time() + 120
    while not last.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = load_checkpoint(last)["state"]
    assert 1 <= killed_at["epoch"] < 6, "the run should have been killed part-way"

    train(cfg_killed, resume=True, quiet=True)
    whole, resumed = load_checkpoint(tmp_path / "whole" / "last.pt"), load_checkpoint(last)
    assert resumed["state"]["step"] == whole["state"]["step"]
    for name, tensor in whole["model"].items():
        assert torch.equal(tensor, resumed["model"][name]), name


def test_time_budget_stops_training(synthetic_dir, tmp_path):
    summary = train(
        _config(synthetic_dir, tmp_path, epochs=1000, time_budget=2.0, val_every=0), quiet=True
    )
    assert summary["done"] and summary["epoch"] < 1000
    assert 2.0 <= summary["train_seconds"] < 10.0


def test_step_budget_stops_training_and_ends_the_schedule(synthetic_dir, tmp_path):
    same = dict(epochs=1000, val_every=0, log_every=1, warmup_steps=0, min_lr_ratio=0.0)
    summary = train(_config(synthetic_dir, tmp_path, step_budget=5, **same), quiet=True)
    assert summary["done"] and summary["step"] == 5
    rates = [
        float(r["lr"])
        for r in csv.DictReader((tmp_path / "log.csv").open())
        if r["kind"] == "train"
    ]
    assert (
        len(rates) == 5 and rates[0] > rates[-1] > 0
    )  # cosine over the 5 steps, not over 1000 epochs
    assert rates[-1] == pytest.approx(rates[0] * 0.5 * (1 + math.cos(math.pi * 4 / 5)))
    more = train(_config(synthetic_dir, tmp_path, step_budget=7, **same), resume=True, quiet=True)
    assert more["step"] == 7  # a larger budget resumes
    again = train(_config(synthetic_dir, tmp_path, step_budget=7, **same), resume=True, quiet=True)
    assert again["step"] == 7  # the same budget: nothing more to do


def test_epochs_end_the_schedule_before_a_larger_step_budget(synthetic_dir, tmp_path):
    summary = train(
        _config(
            synthetic_dir,
            tmp_path,
            epochs=2,
            step_budget=10**6,
            val_every=0,
            log_every=1,
            warmup_steps=0,
            min_lr_ratio=0.0,
        ),
        quiet=True,
    )
    rates = [
        float(r["lr"])
        for r in csv.DictReader((tmp_path / "log.csv").open())
        if r["kind"] == "train"
    ]
    assert (
        summary["step"] == len(rates) > 2 and rates[-1] < 0.1 * rates[0]
    )  # the cosine ran its course in 2 epochs


def test_test_subjects_are_refused(synthetic_dir, tmp_path):
    with pytest.raises(ValueError, match="test subjects"):
        train(_config(synthetic_dir, tmp_path, val_subjects=["S9"]), quiet=True)


def test_config_file_and_overrides(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('model = "posemoe-t81-s"\nlr = 5e-4\n[loss_weights]\nvelocity = 2.0\n')
    cfg = TrainConfig.from_toml(path)
    assert cfg.model == "posemoe-t81-s" and cfg.lr == 5e-4 and cfg.loss_weights.velocity == 2.0
    assert cfg.loss_weights.mpjpe == 1.0
    with pytest.raises(ValueError, match="training config: unknown options"):
        cfg.override({"learning_rate": 1.0})


@pytest.mark.parametrize(
    "values, error",
    [
        ({"loss_weights": {"velocity": "x"}}, r"loss_weights.velocity: expected a finite number"),
        (
            {"loss_weights": {"velocity": -1}},
            r"loss_weights.velocity: expected a finite number >= 0",
        ),
        ({"loss_weights": {"mpjpe": float("nan")}}, r"loss_weights.mpjpe"),
        ({"detector_noise": {"prob": 2}}, r"detector_noise.prob: a chance"),
        (
            {"aite_options": {"bogus": 1}},
            r"aite_options: unknown options \['bogus'\]; known: num_modules",
        ),
    ],
)
def test_nested_options_are_checked_like_the_others(values, error):
    with pytest.raises(ValueError, match=error):
        TrainConfig().override(values)


def test_unknown_model_and_camera_options_are_refused_by_name(synthetic_dir, tmp_path):
    with pytest.raises(
        ValueError, match=r"model_overrides of posemoe-t27-s: unknown options \['depth'\]"
    ):
        train(_config(synthetic_dir, tmp_path, model_overrides={"depth": 1}), quiet=True)
    cfg = _config(
        synthetic_dir,
        tmp_path / "v",
        virtual_share=0.5,
        virtual_cameras={"fov": 3},
        motion_sources=[{"kind": "h36m", "path": str(synthetic_dir), "subjects": ["S1"]}],
    )
    with pytest.raises(ValueError, match=r"virtual_cameras: unknown options \['fov'\]"):
        train(cfg, quiet=True)


def test_schedule_warms_up_then_decays():
    cfg = TrainConfig(lr=1e-3, warmup_steps=10, min_lr_ratio=0.1)
    assert learning_rate(cfg, 0, 0.0) == pytest.approx(1e-4)
    assert learning_rate(cfg, 10, 0.0) == pytest.approx(1e-3)
    assert learning_rate(cfg, 100, 1.0) == pytest.approx(1e-4)


@pytest.mark.parametrize("budget", [None, 1.5])
def test_ddp_under_torchrun(synthetic_dir, tmp_path, budget):
    cfg = _config(
        synthetic_dir,
        tmp_path / "ddp",
        epochs=2 if budget is None else 1000,
        time_budget=budget,
        val_every=0,
        aite=budget is None,
    )
    toml = tmp_path / "ddp.toml"
    _write_toml(cfg, toml)
    env = os.environ | {"OMP_NUM_THREADS": "1"}

    def torchrun(*flags: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "torch.distributed.run",
                "--standalone",
                "--nproc_per_node=2",
                "-m",
                "posemoe.cli",
                "train",
                "--config",
                str(toml),
                *flags,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )

    result = torchrun()
    assert result.returncode == 0, result.stderr[-2000:]
    state = load_checkpoint(tmp_path / "ddp" / "last.pt")["state"]
    assert state["done"]
    if (
        budget is None
    ):  # each rank takes half of every epoch's clips: 64 clips / 2 ranks / batch 8 = 4 steps
        assert state["step"] == 8
        held = (
            torchrun()
        )  # a second run into the folder: both ranks refuse alike (none waits for the other)
        assert (
            held.returncode != 0
            and "--resume continues it, --restart replaces it" in held.stdout + held.stderr
        )
        assert load_checkpoint(tmp_path / "ddp" / "last.pt")["state"] == state  # untouched
        again = torchrun("--restart")
        assert again.returncode == 0, again.stderr[-2000:]
        assert load_checkpoint(tmp_path / "ddp" / "last.pt")["state"]["step"] == 8
    else:  # the ranks agreed to stop once one of them had spent the budget, instead of hanging
        assert 0.5 * budget <= state["train_seconds"] < 10 * budget and state["epoch"] < 1000


def test_a_finished_run_goes_on_only_with_more_budget(synthetic_dir, tmp_path):
    first = train(
        _config(synthetic_dir, tmp_path, epochs=1000, time_budget=1.0, val_every=0), quiet=True
    )
    again = train(
        _config(synthetic_dir, tmp_path, epochs=1000, time_budget=1.0, val_every=0),
        resume=True,
        quiet=True,
    )
    assert again["step"] == first["step"]  # done: nothing more to do
    more = train(
        _config(synthetic_dir, tmp_path, epochs=1000, time_budget=2.0, val_every=0),
        resume=True,
        quiet=True,
    )
    assert more["done"] and more["step"] > first["step"] and more["train_seconds"] >= 2.0


@pytest.mark.filterwarnings(
    "ignore:ema_decay 0.75"
)  # a short run keeps much of its first step: it warns
def test_ema_weights_are_the_moving_average_and_resume_exactly(synthetic_dir, tmp_path):
    same = dict(
        epochs=1000, val_every=0, warmup_steps=0, min_lr_ratio=1.0, epoch_clips=16
    )  # 2 steps an epoch;
    # a constant rate, so that a run of 2 steps resumed to 6 follows the run of 6
    plain = {
        n: load_checkpoint(
            train(
                _config(synthetic_dir, tmp_path / f"plain{s}", step_budget=s, **same), quiet=True
            )["out_dir"]
            + "/last.pt"
        )["model"]
        for n, s in (("w1", 1), ("w2", 2))
    }
    with pytest.warns(UserWarning, match="keeps 56% of the weights after the first step"):
        run = train(
            _config(synthetic_dir, tmp_path / "ema", step_budget=2, ema_decay=0.75, **same),
            quiet=True,
        )
    averaged = load_checkpoint(run["out_dir"] + "/last.pt")
    assert averaged["ema_steps"] == 2
    for name, w2 in plain["w2"].items():
        assert torch.equal(averaged["train_model"][name], w2), (
            name
        )  # the average leaves training alone
        assert torch.allclose(
            averaged["model"][name], 0.75 * plain["w1"][name] + 0.25 * w2, atol=1e-6
        ), name
    assert any(not torch.equal(averaged["model"][n], w2) for n, w2 in plain["w2"].items())

    whole = load_checkpoint(
        train(
            _config(synthetic_dir, tmp_path / "whole", step_budget=6, ema_decay=0.75, **same),
            quiet=True,
        )["out_dir"]
        + "/last.pt"
    )
    part = _config(synthetic_dir, tmp_path / "part", ema_decay=0.75, **same)
    train(replace(part, step_budget=2), quiet=True)
    resumed = load_checkpoint(
        train(replace(part, step_budget=6), resume=True, quiet=True)["out_dir"] + "/last.pt"
    )
    for key in ("model", "train_model"):
        for name, tensor in whole[key].items():
            assert torch.equal(tensor, resumed[key][name]), (key, name)
    assert resumed["ema_steps"] == 6


def test_a_run_without_an_average_resumed_with_one_starts_it_from_its_weights(
    synthetic_dir, tmp_path
):
    plain = _config(synthetic_dir, tmp_path, epochs=1, val_every=0)
    train(plain, quiet=True)
    saved = load_checkpoint(tmp_path / "last.pt")["model"]
    run = Run.start(
        replace(plain, ema_decay=0.5, epochs=2),
        setup("cpu"),
        tmp_path,
        resume=True,
        allow_changes=True,
    )
    assert all(torch.equal(run.weights().state_dict()[k], v) for k, v in saved.items())
    assert int(run.ema.n_averaged) == 0  # the average restarts at the next step


def test_export_takes_the_average_or_the_raw_weights(synthetic_dir, tmp_path):
    from safetensors.torch import load_file

    from posemoe.errors import UserError
    from posemoe.export.weights import export_weights

    out = train(
        _config(synthetic_dir, tmp_path / "run", epochs=1, val_every=0, ema_decay=0.5), quiet=True
    )["out_dir"]
    ckpt = load_checkpoint(Path(out) / "last.pt")
    for raw, key in ((False, "model"), (True, "train_model")):
        written = load_file(
            str(export_weights(Path(out) / "last.pt", tmp_path / f"{key}.safetensors", raw=raw))
        )
        assert all(torch.equal(written[k], v) for k, v in ckpt[key].items())
    train(_config(synthetic_dir, tmp_path / "plain", epochs=1, val_every=0), quiet=True)
    with pytest.raises(UserError, match="no moving average"):
        export_weights(tmp_path / "plain" / "last.pt", tmp_path / "x.safetensors", raw=True)


def test_init_weights_of_another_window_length_start_a_longer_model(synthetic_dir, tmp_path):
    from posemoe.errors import UserError
    from posemoe.export.weights import export_weights

    out = train(_config(synthetic_dir, tmp_path / "short", epochs=1, val_every=0), quiet=True)[
        "out_dir"
    ]
    weights = export_weights(Path(out) / "last.pt", tmp_path / "short.safetensors")
    longer = _config(
        synthetic_dir,
        tmp_path / "long",
        epochs=1,
        val_every=0,
        init_weights=str(weights),
        model_overrides=TINY | {"num_frames": 15},
    )
    start = Run.start(
        longer, setup("cpu"), tmp_path / "long", resume=False, allow_changes=False
    ).model.state_dict()
    expected = resample_frames(load_checkpoint(Path(out) / "last.pt")["model"], 15)
    assert start.keys() == expected.keys() and start["pos_pose.0"].shape == (15, 1, 8)
    assert all(
        torch.allclose(start[k], expected[k]) for k in start
    )  # the weights, positions resampled
    model = model_from_checkpoint(Path(train(longer, quiet=True)["out_dir"]) / "last.pt")
    assert model.config.num_frames == 15
    wider = replace(
        longer, out_dir=str(tmp_path / "wide"), model_overrides=TINY | {"expert_hidden": 64}
    )
    with pytest.raises(UserError, match="not of the architecture"):
        train(wider, quiet=True)


def test_weights_record_the_terms_a_motion_source_states():
    from posemoe.datasets.motion import MotionSource
    from posemoe.errors import UserError

    """A BVH source's terms come from its config table; unstated, they are recorded as unknown, never
    as another dataset's (a studio's own mocap must not read as CC BY-NC, nor the reverse)."""
    from posemoe.cli.models import non_commercial
    from posemoe.models import get_config
    from posemoe.training.tasks import pretrained_config

    model_cfg = get_config("posemoe-t27-s")

    def terms(**source):
        cfg = TrainConfig().override(
            {"virtual_share": 1.0, "motion_sources": [{"kind": "bvh", "path": "mocap/", **source}]}
        )
        recorded = pretrained_config(cfg, model_cfg)
        return recorded["training_data"], recorded["licence"]

    data, licence = terms(licence="CC0 1.0 (our studio's capture)")
    assert "CC0 1.0" in licence and "Bandai" not in licence and "Human3.6M" not in licence
    assert not non_commercial(data, licence)
    data, licence = terms(licence="Bandai Namco Research Motion Dataset: CC BY-NC 4.0")
    assert non_commercial(data, licence)
    data, licence = terms()
    assert "not stated" in licence and "Bandai" not in licence
    with pytest.raises(UserError, match="licence must be text"):
        MotionSource.from_table({"kind": "bvh", "path": "mocap/", "licence": 4})
