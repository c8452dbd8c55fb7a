"""A run's folder stays consistent: one run at a time, resume checks, a log without repeated steps."""

import csv
import threading

import pytest

from posemoe.errors import UserError
from posemoe.training.checkpoint import load_checkpoint, run_lock
from posemoe.training.loop import TrainConfig, train

TINY = {
    "num_frames": 9,
    "dim": 8,
    "heads": 2,
    "expert_hidden": 32,
    "encoder_layers": 1,
    "decoder_layers": 1,
}


def _config(data_dir, out_dir, **kw) -> TrainConfig:
    base = dict(
        model="posemoe-t27-s",
        model_overrides=TINY,
        data_dir=str(data_dir),
        out_dir=str(out_dir),
        train_subjects=["S1", "S5"],
        val_subjects=["S8"],
        epochs=2,
        epoch_clips=32,
        batch_size=8,
        warmup_steps=2,
        log_every=1,
    )
    return TrainConfig().override(base | kw)


def test_resume_needs_a_checkpoint_and_the_same_settings(synthetic_dir, tmp_path):
    with pytest.raises(UserError, match="no .*last.pt to continue"):
        train(_config(synthetic_dir, tmp_path), resume=True, quiet=True)
    train(_config(synthetic_dir, tmp_path), quiet=True)
    with pytest.raises(UserError, match=r"batch_size: 8 -> 16.*--allow-changes"):
        train(_config(synthetic_dir, tmp_path, batch_size=16, epochs=3), resume=True, quiet=True)
    with pytest.raises(UserError, match="train_subjects"):
        train(
            _config(synthetic_dir, tmp_path, train_subjects=["S8"], val_subjects=["S1"], epochs=3),
            resume=True,
            quiet=True,
        )
    summary = train(
        _config(synthetic_dir, tmp_path, epochs=3, source="det"),
        resume=True,
        allow_changes=True,
        quiet=True,
    )
    assert summary["epoch"] == 3


def test_a_new_run_never_silently_replaces_the_one_in_its_folder(synthetic_dir, tmp_path):
    train(_config(synthetic_dir, tmp_path, epochs=1), quiet=True)
    before = (tmp_path / "last.pt").read_bytes()
    with pytest.raises(
        UserError, match="holds a run .*--resume continues it, --restart replaces it"
    ):
        train(_config(synthetic_dir, tmp_path, epochs=1, seed=1), quiet=True)
    assert (tmp_path / "last.pt").read_bytes() == before  # untouched
    with pytest.raises(UserError, match="give one"):
        train(_config(synthetic_dir, tmp_path, epochs=1), resume=True, restart=True, quiet=True)
    train(_config(synthetic_dir, tmp_path, epochs=1, seed=1), restart=True, quiet=True)
    killed = (
        tmp_path / "killed"
    )  # a run killed before its first checkpoint leaves only its log: a fresh start
    killed.mkdir()
    (killed / "log.csv").write_text("kind,epoch,step\ntrain,0,50\n")
    train(_config(synthetic_dir, killed, epochs=1), quiet=True)
    lines = (killed / "log.csv").read_text().splitlines()
    assert (
        lines[0].startswith("kind,epoch,step,lr,") and "train,0,50" not in lines
    )  # the old log went
    assert load_checkpoint(tmp_path / "last.pt")["train_config"]["seed"] == 1
    with (tmp_path / "log.csv").open() as f:
        assert [r["kind"] for r in csv.DictReader(f)].count("val") == 1  # one run's rows, not two


@pytest.mark.parametrize(
    "device, error", [("tpu", "expected auto, cpu, cuda"), ("cuda", "no CUDA device")]
)
def test_a_device_that_cannot_be_used_is_refused_before_training(
    synthetic_dir, tmp_path, device, error
):
    import torch

    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(UserError, match=error):
        train(_config(synthetic_dir, tmp_path, device=device), quiet=True)


def test_log_has_no_repeated_steps_after_a_resume(synthetic_dir, tmp_path):
    train(_config(synthetic_dir, tmp_path, epochs=1), quiet=True)
    with (tmp_path / "log.csv").open() as f:
        first = [r for r in csv.DictReader(f)]
    (tmp_path / "log.csv").open("a").write(
        "train,1,999,0.1,1,1,1,1,1,1,,,,\n"
    )  # a row past the checkpoint
    train(_config(synthetic_dir, tmp_path, epochs=2), resume=True, quiet=True)
    with (tmp_path / "log.csv").open() as f:
        rows = list(csv.DictReader(f))
    steps = [(r["kind"], int(r["step"])) for r in rows]
    assert len(steps) == len(set(steps)) and ("train", 999) not in steps
    assert len(steps) > len(first)
    assert [int(r["epoch"]) for r in rows if r["kind"] == "val"] == [
        1,
        2,
    ]  # counted from 1, as the run prints them


def test_one_run_per_folder(tmp_path):
    entered = threading.Event()
    release = threading.Event()

    def hold():
        with run_lock(tmp_path):
            entered.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    entered.wait(10)
    try:
        with pytest.raises(UserError, match="another training run is using this folder"):
            with run_lock(tmp_path):
                pass
    finally:
        release.set()
        holder.join()
    with run_lock(tmp_path):  # free again once the first run ended
        pass


def test_best_is_never_behind_last(synthetic_dir, tmp_path):
    train(_config(synthetic_dir, tmp_path, epochs=3, val_every=1), quiet=True)
    last, best = load_checkpoint(tmp_path / "last.pt"), load_checkpoint(tmp_path / "best.pt")
    assert best["state"]["best"] == last["state"]["best"]
    assert last["pretrained_config"]["fps"] == 50.0 and last["pretrained_config"]["sources"] == [
        "gt"
    ]


def test_image_sets_of_test_subjects_are_refused(rendered_dir, tmp_path):
    from posemoe.datasets.images import ImageSet

    crops = ImageSet.load(rendered_dir / "val.npz")
    for s in crops.labels.sequences:
        object.__setattr__(s, "subject", "S9")
    crops.save(tmp_path / "s9.npz")
    cfg = TrainConfig().override(
        {
            "model": "aitepose-s",
            "model_overrides": {"image_size": 64},
            "train_images": str(tmp_path / "s9.npz"),
            "out_dir": str(tmp_path / "run"),
            "epochs": 1,
            "batch_size": 8,
        }
    )
    with pytest.raises(UserError, match="test subjects"):
        train(cfg, quiet=True)


def test_non_finite_loss_stops_training(synthetic_dir, tmp_path, monkeypatch):
    # A model whose output turns to infinity (as after a diverging step): the loss follows.
    from posemoe.training import tasks

    real = tasks.lifting_loss

    def diverged(pred, *args, **kwargs):
        return real(pred * float("inf"), *args, **kwargs)

    monkeypatch.setattr(tasks, "lifting_loss", diverged)
    with pytest.raises(UserError, match="training stopped: the loss is"):
        train(_config(synthetic_dir, tmp_path, warmup_steps=1, val_subjects=[]), quiet=True)


def test_a_checkpoint_older_than_a_setting_resumes_with_the_behaviour_before_it():
    from posemoe.training.config import resume_changes

    current = TrainConfig(bone_jitter=0.0)
    saved = {
        k: v for k, v in current.to_dict().items() if k != "bone_jitter"
    }  # written before the option
    assert resume_changes(saved, current) == []
    assert resume_changes(saved, TrainConfig(bone_jitter=0.1)) == ["bone_jitter: 0.0 -> 0.1"]


def test_a_run_refused_before_any_work_leaves_no_folder_behind(synthetic_dir, tmp_path):
    out = tmp_path / "new" / "run"
    with pytest.raises(FileNotFoundError, match="no such file"):
        train(
            _config(tmp_path / "no-data", out), quiet=True
        )  # the data is missing: nothing was written
    assert not (tmp_path / "new").exists()  # nor the folder made above it
    with run_lock(tmp_path):  # a folder that was there before stays, with its lock file
        pass
    (tmp_path / "file").write_text("")
    for out in (tmp_path / "file", tmp_path / "file" / "run"):
        with pytest.raises(
            UserError, match=rf"cannot be a run folder, {tmp_path / 'file'} is a file"
        ):
            train(_config(synthetic_dir, out), quiet=True)
    assert (tmp_path / ".lock").exists()
