import subprocess
import sys

import pytest

from posemoe.cli import main
from posemoe.train import TrainConfig, train

TINY = {"num_frames": 9, "dim": 8, "heads": 2, "expert_hidden": 32, "encoder_layers": 1, "decoder_layers": 1}


def test_models_lists_params_and_macs(capsys):
    main(["models"])
    out = capsys.readouterr().out
    assert "| posemoe-t243-b | 243 frames |" in out and "| aitepose-b | 256 px crop |" in out and "MMACs/frame" in out


def test_synth_then_prepare_2d(tmp_path, capsys):
    main(["synth", str(tmp_path), "--subjects", "S1", "--frames", "40"])
    (tmp_path / "data_2d_h36m_gt.npz").unlink()
    main(["prepare-2d", "--data-dir", str(tmp_path)])
    assert (tmp_path / "data_2d_h36m_gt.npz").exists()


def test_train_and_eval_commands(synthetic_dir, tmp_path, capsys):
    run = tmp_path / "run"
    main(["train", "--data-dir", str(synthetic_dir), "--out-dir", str(run), "--epochs", "1", "--threads", "1",
          "--set", "train_subjects=['S1']", "--set", "epoch_clips=16", "--set", "batch_size=8",
          "--set", f"model_overrides={TINY}", "--set", "loss_weights.velocity=0.5"])
    main(["eval", str(run / "best.pt"), "--data-dir", str(synthetic_dir), "--subjects", "S9", "--out", str(tmp_path / "e")])
    out = capsys.readouterr().out
    assert "subjects S9" in out and "| **all frames** |" in out
    assert (tmp_path / "e" / "eval.json").exists()


def test_bench_prints_throughput(capsys):
    main(["bench", "posemoe-t27-s", "--seconds", "0.2", "--batch-size", "2", "--threads", "1"])
    out = capsys.readouterr().out
    assert "| posemoe-t27-s |" in out and "train clips/s" in out and "data share" in out


def test_errors_are_messages_not_tracebacks(tmp_path):
    result = subprocess.run([sys.executable, "-m", "posemoe.cli", "eval", str(tmp_path / "none.pt"), "--data-dir", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "error: no checkpoint at" in result.stderr and "Traceback" not in result.stderr
    result = subprocess.run([sys.executable, "-m", "posemoe.cli", "train", "--data-dir", str(tmp_path), "--epochs", "1"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "data_3d_h36m.npz" in result.stderr and "Traceback" not in result.stderr


def test_demo_runs_offline(tmp_path, capsys):
    main(["demo", "--out-dir", str(tmp_path / "demo"), "--seconds", "3"])
    out = capsys.readouterr().out
    assert "outputs:" in out and (tmp_path / "demo" / "eval.md").exists()
