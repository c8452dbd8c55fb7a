import json
import subprocess
import sys

import pytest

from posemoe.cli import main

TINY = {
    "num_frames": 9,
    "dim": 8,
    "heads": 2,
    "expert_hidden": 32,
    "encoder_layers": 1,
    "decoder_layers": 1,
}


def test_models_lists_names_fast_and_details_on_request(capsys):
    main(["models"])
    out = capsys.readouterr().out
    assert (
        "posemoe-t243-b" in out
        and "243 frames" in out
        and "shipped weights: " in out
        and "MMACs" not in out
    )
    from posemoe.weights import DEFAULT_LIFTER

    assert f"{DEFAULT_LIFTER} (the default lifter)" in out
    main(["models", "--details"])
    out = capsys.readouterr().out
    assert (
        "| posemoe-t243-b | 243 frames |" in out
        and "| aitepose-b | 256 px crop |" in out
        and "MMACs/frame" in out
    )


def test_version_and_documented_defaults(capsys):
    from posemoe import __version__

    with pytest.raises(SystemExit):
        main(["--version"])
    assert __version__ in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["infer", "--help"])
    text = capsys.readouterr().out
    assert "(default: posemoe-out)" in text and "(default: 1)" in text


def test_help_and_version_wait_for_neither_torch_nor_the_video_runtime():
    """Building the parser (every --help, --version, bad argument) and ``import posemoe`` stay light;
    the package's names load on first use."""
    code = (
        "import sys, posemoe; from posemoe.cli import build_parser; build_parser(); posemoe.layouts.H36M17; "
        "heavy = {'torch', 'onnxruntime', 'cv2', 'scipy'} & set(sys.modules); assert not heavy, heavy; "
        "assert {'infer_video', 'Lifter', 'write_result'} <= set(dir(posemoe)) and 'Any' not in dir(posemoe); "
        "posemoe.infer_video; posemoe.write_result; "
        "posemoe.models.pretrained.PretrainedConfig; assert 'torch' not in sys.modules; "
        "print(posemoe.__version__)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    import posemoe

    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        posemoe.nothing


def test_synth_then_prepare_2d(tmp_path, capsys):
    main(["synth", str(tmp_path), "--subjects", "S1", "--frames", "40"])
    (tmp_path / "data_2d_h36m_gt.npz").unlink()
    main(["prepare-2d", "--data-dir", str(tmp_path)])
    assert (tmp_path / "data_2d_h36m_gt.npz").exists()


def test_train_and_eval_commands(synthetic_dir, tmp_path, capsys):
    run = tmp_path / "run"
    main(
        [
            "train",
            "--data-dir",
            str(synthetic_dir),
            "--out",
            str(run),
            "--epochs",
            "1",
            "--threads",
            "1",
            "--set",
            "train_subjects=['S1']",
            "--set",
            "epoch_clips=16",
            "--set",
            "batch_size=8",
            "--set",
            f"model_overrides={TINY}",
            "--set",
            "loss_weights.velocity=0.5",
        ]
    )
    main(
        [
            "eval",
            str(run / "best.pt"),
            "--data-dir",
            str(synthetic_dir),
            "--subjects",
            "S9",
            "--out",
            str(tmp_path / "e"),
        ]
    )
    out = capsys.readouterr().out
    assert "subjects S9" in out and "| **all frames** |" in out
    assert (tmp_path / "e" / "eval.json").exists()

    def virtual(
        *options: str,
    ) -> float:  # the MPJPE of `posemoe eval --dataset h36m-virtual` with these options
        main(
            [
                "eval",
                str(run / "best.pt"),
                "--dataset",
                "h36m-virtual",
                "--data-dir",
                str(synthetic_dir),
                *options,
            ]
        )
        line = [
            row for row in capsys.readouterr().out.splitlines() if row.startswith("| **all** |")
        ][0]
        return float(line.split("|")[3].strip(" *"))

    upright = virtual("--upright", "0")
    assert virtual("--upright", "0", "--roll", "120") == pytest.approx(
        upright, abs=0.15
    )  # roll and upright reach the lifter
    assert abs(virtual("--no-upright", "--roll", "120") - upright) > 1.0
    main(
        [
            "eval",
            str(run / "best.pt"),
            "--dataset",
            "h36m-virtual",
            "--data-dir",
            str(synthetic_dir),
            "--roll",
            "30",
            "--out",
            str(tmp_path / "v"),
        ]
    )  # the settings behind the figures are printed and written with them
    header = (
        "h36m-virtual; upright turning past 15 degrees, windows blended, test-time flip on, intrinsics known, "
        "subjects S8, seed 0, roll 30 degrees"
    )
    assert header in capsys.readouterr().out and header in (tmp_path / "v" / "eval.md").read_text()
    written = json.loads((tmp_path / "v" / "eval.json").read_text())  # and as JSON
    assert header in written["settings"] and written["frames"] > 0 and written["mpjpe"] > 0


def test_verbose_lets_onnx_runtime_log_its_warnings(monkeypatch):
    pytest.importorskip("onnxruntime")
    from posemoe.cli import quiet_third_party
    from posemoe.inference import blazepose
    from posemoe.weights import WEIGHTS_DIR

    def levels() -> list[int]:
        from posemoe.inference.runtime import OnnxModel

        lifter = OnnxModel(next(WEIGHTS_DIR.glob("*.onnx")))
        detector = blazepose.session(blazepose.DETECTOR_ONNX, 1)
        return [s.get_session_options().log_severity_level for s in (lifter.session, detector)]

    monkeypatch.delenv("POSEMOE_VERBOSE", raising=False)
    quiet_third_party(False)
    assert levels() == [3, 3]  # errors only
    monkeypatch.setenv("POSEMOE_VERBOSE", "0")  # restored after the test
    quiet_third_party(True)
    assert levels() == [2, 2]  # warnings too


def test_bench_video_measures_one_and_three_people(tiny_lifter, capsys):
    pytest.importorskip("cv2")
    pytest.importorskip("torch")
    from posemoe.apps.bench import benchmark_video

    figures = benchmark_video(str(tiny_lifter), frames=6, size=(640, 360))
    printed = capsys.readouterr().out
    assert {
        "fps 1 people, 1 detect worker(s)",
        "fps 1 people, 2 detect worker(s)",
        "fps 3 people, 2 detect worker(s)",
    } <= set(figures) and all(v > 0 for v in figures.values())
    assert (
        "--detect-workers 2" in printed
        and "lift (flip-averaged)" in printed
        and "detect (BlazePose full, ONNX Runtime, 2 threads)" in printed
    )


def test_bench_prints_throughput(capsys):
    main(["bench", "posemoe-t27-s", "--seconds", "0.2", "--batch-size", "2", "--threads", "1"])
    out = capsys.readouterr().out
    assert "| posemoe-t27-s |" in out and "train clips/s" in out and "data share" in out


def test_errors_are_messages_not_tracebacks(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "posemoe.cli",
            "eval",
            str(tmp_path / "none.pt"),
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "error: no checkpoint at" in result.stderr and "Traceback" not in result.stderr
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "posemoe.cli",
            "train",
            "--data-dir",
            str(tmp_path),
            "--epochs",
            "1",
        ],
        capture_output=True,
        text=True,
    )
    assert (
        result.returncode == 2
        and "data_3d_h36m.npz" in result.stderr
        and "Traceback" not in result.stderr
    )


def test_training_demo_runs_offline(tmp_path, capsys):
    main(["demo", "--train", "--out", str(tmp_path / "demo"), "--seconds", "3"])
    out = capsys.readouterr().out
    assert "outputs:" in out and (tmp_path / "demo" / "eval.md").exists()


def test_demo_lifts_renders_and_prints_where(tmp_path, capsys, tiny_lifter):
    pytest.importorskip("cv2")
    main(["demo", "--out", str(tmp_path / "demo"), "--model", str(tiny_lifter)])
    out = capsys.readouterr().out
    assert (
        "MPJPE against the truth" in out
        and "frames/s" in out
        and "a real person walking (Sports2D" in out
    )
    assert "sports2d_walk.mp4: video, 854x480, 30 fps, 104 frames" in out
    assert "joint positions in" in out or "every joint seen" in out  # the unseen-joint summary
    for name in (
        "walk.npz",
        "walk.mp4",
        "walk.html",
        "sports2d_walk.npz",
        "sports2d_walk.mp4",
        "sports2d_walk.html",
    ):
        assert (
            str(tmp_path / "demo" / name) in out and (tmp_path / "demo" / name).stat().st_size > 0
        )
    import importlib.util

    if (
        importlib.util.find_spec("av") is not None
    ):  # the browser-playable codec, where PyAV wrote it
        from posemoe.viz.encode import video_codec

        assert video_codec(tmp_path / "demo" / "sports2d_walk.mp4") == "h264"


def test_infer_from_a_keypoint_file(tmp_path, capsys):
    import numpy as np
    import torch

    from posemoe.models import create_model

    model = create_model("posemoe-t27-s", **TINY)
    torch.save(
        {"model_config": model.config.to_dict(), "model": model.state_dict()},
        tmp_path / "lifter.pt",
    )
    rng = np.random.default_rng(0)
    base = np.concatenate([rng.uniform(200, 400, (17, 2)), np.ones((17, 1))], -1)
    results = [
        {"image_id": t, "keypoints": (base + [t, 0, 0]).ravel().tolist(), "score": 1.0}
        for t in range(20)
        if t != 7
    ]  # nobody detected in frame 7
    (tmp_path / "dets.json").write_text(json.dumps(results))
    main(
        [
            "infer",
            str(tmp_path / "dets.json"),
            "--model",
            str(tmp_path / "lifter.pt"),
            "--image-size",
            "640",
            "480",
            "--smooth",
            "--fps",
            "25",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    out = np.load(tmp_path / "out" / "dets.npz")
    assert out["joints_3d"].shape == (20, 17, 3) and np.isfinite(out["joints_3d"]).all()
    printed = capsys.readouterr().out
    assert "1 track(s) in 20 frames; lifting person 0 (19 frames)" in printed
    with pytest.raises(SystemExit):
        main(["infer", str(tmp_path / "dets.json"), "--model", str(tmp_path / "lifter.pt")])
    assert "--image-size" in capsys.readouterr().err


def test_bench_swaps_needs_bvh_files_and_no_swap_fix_is_refused_for_streams(tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "posemoe.cli", *args], capture_output=True, text=True
        )

    result = run("bench", "--swaps")
    assert (
        result.returncode == 2
        and "--swaps needs --data-dir" in result.stderr
        and "Traceback" not in result.stderr
    )
    result = run("bench", "--swaps", "--data-dir", str(tmp_path))
    assert result.returncode == 2 and "expected BVH files under" in result.stderr
    result = run(
        "infer", "rtsp://example.invalid/x", "--no-swap-fix", "--out", str(tmp_path / "out")
    )
    assert (
        result.returncode == 2
        and "--no-swap-fix applies to recorded videos and keypoint files" in result.stderr
    )


@pytest.mark.parametrize(
    "command",
    [
        ["demo"],
        ["train"],
        ["compare-aite", "--data-dir", "d", "--train-images", "a.npz", "--val-images", "b.npz"],
    ],
)
def test_out_dir_is_the_old_spelling_of_out(command, capsys):
    from posemoe.cli import build_parser

    assert build_parser().parse_args([*command, "--out", "here"]).out == "here"
    assert capsys.readouterr().err == ""
    assert build_parser().parse_args([*command, "--out-dir", "here"]).out == "here"
    assert capsys.readouterr().err.splitlines() == [
        f"posemoe {command[0]}: warning: --out-dir is deprecated, use --out"
    ]
