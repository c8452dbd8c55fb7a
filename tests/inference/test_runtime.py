"""Inference on ONNX Runtime: the shipped ONNX models are what the tool wrote and lift as torch
does; any weights export with their configs; inference imports no torch. The tests that compare
with torch skip without it (the video extra alone, as CI's lean venv runs them)."""

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest

from posemoe.errors import UserError
from posemoe.inference.lifter import load
from posemoe.inference.runtime import OnnxModel, load_runner
from posemoe.weights import DEFAULT_LIFTER, WEIGHTS_DIR

TOLERANCE_M = 1e-4  # 0.1 mm


def test_the_shipped_onnx_models_are_what_the_tool_recorded_writing(load_tool):
    tool = load_tool("export_onnx")
    assert DEFAULT_LIFTER in tool.SHIPPED and "aitepose-s-bodies" in tool.SHIPPED
    for name in tool.SHIPPED:
        digest = hashlib.sha256((WEIGHTS_DIR / f"{name}.onnx").read_bytes()).hexdigest()
        assert digest == tool.SHIPPED_SHA256[name], name


def test_the_shipped_onnx_models_carry_their_weights_configs():
    lifter = load()  # the default: the shipped ONNX model, no torch
    assert type(lifter.runner).__name__ == "OnnxModel"
    assert (
        lifter.num_frames == 27
        and lifter.pretrained.codec == "screen"
        and lifter.pretrained.fps == 50.0
    )
    assert "CC BY-NC 4.0" in lifter.pretrained.licence and any(
        "bvh" in s for s in lifter.pretrained.sources
    )
    image, pretrained = load_runner("aitepose-s-bodies")
    assert (image.task, image.config.image_size, pretrained.codec) == ("image", 128, "crop")
    assert image.predict(np.zeros((3, 3, 128, 128), np.float32))["confidence"].shape == (3, 17)


def _walk():
    from posemoe.apps.demo import virtual_camera_clip

    keypoints, truth, camera = virtual_camera_clip(120)
    return keypoints, truth, camera


def test_the_default_lifter_lifts_a_walk_as_it_was_trained_to():
    """Real-like input (a walk seen by a Human3.6M camera) through ONNX Runtime alone: the error
    is the demo's, not a broken graph's (an untrained lifter is hundreds of mm off)."""
    from posemoe.evaluation.metrics import mpjpe

    keypoints, truth, camera = _walk()
    pred = load().lift(
        keypoints,
        layout="h36m17",
        image_size=(camera.width, camera.height),
        intrinsics=camera.intrinsics,
    )
    assert pred.shape == truth.shape and np.isfinite(pred).all()
    assert float(mpjpe(pred, truth).mean()) < 0.08


def test_onnx_lifts_within_a_tenth_of_a_millimetre_of_torch():
    pytest.importorskip("torch")
    keypoints, _, camera = _walk()
    kwargs = dict(
        layout="h36m17", image_size=(camera.width, camera.height), intrinsics=camera.intrinsics
    )
    onnx, torch_ = load(runtime="onnx"), load(runtime="torch")
    assert type(torch_.runner).__name__ == "TorchModel"
    real = np.abs(onnx.lift(keypoints, **kwargs) - torch_.lift(keypoints, **kwargs)).max()
    noise = (
        np.random.default_rng(0).uniform(0, 1000, (40, 17, 3)).astype(np.float32)
    )  # random pixels, confidences
    random = np.abs(
        onnx.lift(noise, layout="h36m17", image_size=(1000, 1000), fps=30)
        - torch_.lift(noise, layout="h36m17", image_size=(1000, 1000), fps=30)
    ).max()
    assert real < TOLERANCE_M and random < TOLERANCE_M, (real, random)
    windows = np.random.default_rng(1).normal(0, 0.5, (5, 27, 17, 2)).astype(np.float32)
    assert np.abs(onnx.runner(windows) - torch_.runner(windows)).max() < TOLERANCE_M


def test_the_onnx_image_model_predicts_as_torch_does():
    pytest.importorskip("torch")
    from posemoe.assets import astronaut
    from posemoe.crops import crop, square_box
    from posemoe.inference.images import predict_images

    image = astronaut()
    h, w = image.shape[:2]
    crops = np.stack(
        [
            crop(image, square_box([0, 0, w, h], 1.0), 128),
            np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8),
        ]
    )
    onnx, _ = load_runner("aitepose-s-bodies", runtime="onnx")
    torch_, _ = load_runner("aitepose-s-bodies", runtime="torch")
    (pose_o, conf_o), (pose_t, conf_t) = predict_images(onnx, crops), predict_images(torch_, crops)
    assert np.abs(pose_o - pose_t).max() < TOLERANCE_M and np.abs(conf_o - conf_t).max() < 1e-5


def test_runtimes_and_files_that_do_not_go_together_are_refused(tmp_path):
    with pytest.raises(UserError, match="runs on ONNX Runtime"):
        load(WEIGHTS_DIR / f"{DEFAULT_LIFTER}.onnx", runtime="torch")
    with pytest.raises(UserError, match="posemoe export --onnx"):
        load("posemoe-t27-s-h36m", runtime="onnx")
    with pytest.raises(UserError, match="runtime must be one of"):
        load(runtime="tensorflow")
    with pytest.raises(UserError, match="runs on the CPU"):
        load(device="cuda")
    with pytest.raises(UserError, match="image model"):
        load("aitepose-s-bodies")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(UserError, match="not an ONNX model"):
        OnnxModel(broken)
    with pytest.raises(UserError, match=r"expected an input of shape \(B, 27, 17, 2\)"):
        load().runner(np.zeros((1, 9, 17, 2), np.float32))


def test_inference_imports_no_torch(tmp_path):
    """`posemoe infer` on a keypoint file and `posemoe.load()` / `infer_video`'s module with the
    default model: torch is never imported (it would cost a second of start-up and a gigabyte)."""
    keypoints, _, camera = _walk()
    path = tmp_path / "walk.npz"
    np.savez(
        path,
        keypoints=keypoints[:60, None],
        layout="h36m17",
        fps=np.float64(50),
        image_size=np.array([camera.width, camera.height]),
    )
    code = (
        "import sys, posemoe; from posemoe.cli import main; "
        f"main(['infer', {str(path)!r}, '--out', {str(tmp_path / 'out')!r}]); "
        "posemoe.load().lift(posemoe.load().runner(__import__('numpy').zeros((1, 27, 17, 2), 'f'))[0, :, :, :2] * 100 + 500, "
        "layout='h36m17', image_size=(1000, 1000)); posemoe.infer_video; import posemoe.inference.stream, posemoe.inference.images; "
        "assert 'torch' not in sys.modules, 'torch imported'; print('torch-free')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "torch-free" in result.stdout and (tmp_path / "out" / "walk.json").is_file()


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tiny_lifter):
    """The tiny lifter exported by `posemoe export --onnx`, and the torch model it came from."""
    pytest.importorskip("onnxscript")
    from posemoe.cli import main
    from posemoe.models.pretrained import load_pretrained

    out = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    main(["export", str(tiny_lifter), str(out), "--onnx", "--description", "a tiny test lifter"])
    return out, load_pretrained(tiny_lifter)[0]


def test_export_onnx_writes_the_configs_and_a_dynamic_batch(exported, capsys):
    import onnx

    path, model = exported
    proto = onnx.load(str(path))
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["model_config"]) == model.config.to_dict() and meta["task"] == "lifting"
    pretrained = json.loads(meta["pretrained_config"])
    assert pretrained["codec"] == "screen" and pretrained["description"] == "a tiny test lifter"
    assert pretrained["licence"] and pretrained["fps"] == 50.0
    runner = OnnxModel(path)
    x = np.random.default_rng(0).normal(0, 0.5, (7, 9, 17, 2)).astype(np.float32)
    assert runner(x).shape == (7, 9, 17, 3) and runner(x[:1]).shape == (1, 9, 17, 3)


def test_an_exported_lifter_runs_through_infer_as_torch_does(exported, tmp_path, tiny_lifter):
    from posemoe.cli import main

    path, _ = exported
    keypoints, _, camera = _walk()
    np.save(tmp_path / "walk.npy", keypoints[:50])
    common = [
        "--layout",
        "h36m17",
        "--image-size",
        str(camera.width),
        str(camera.height),
        "--format",
        "npz",
    ]
    main(
        [
            "infer",
            str(tmp_path / "walk.npy"),
            "--model",
            str(path),
            "--out",
            str(tmp_path / "onnx"),
            *common,
        ]
    )
    main(
        [
            "infer",
            str(tmp_path / "walk.npy"),
            "--model",
            str(tiny_lifter),
            "--out",
            str(tmp_path / "torch"),
            *common,
        ]
    )
    onnx, torch_ = (
        np.load(tmp_path / kind / "walk.npz")["joints_3d"] for kind in ("onnx", "torch")
    )
    assert np.abs(onnx - torch_).max() < TOLERANCE_M


def test_experts_that_no_token_chooses_export_and_run(tmp_path):
    """The router sends every frame to two of four experts: the other two run on empty batches."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnxscript")
    from posemoe.export.onnx import check_against_torch, to_onnx
    from posemoe.models import create_model
    from posemoe.models.posemoe import MoEFeedForward
    from posemoe.models.pretrained import PretrainedConfig

    model = create_model(
        "posemoe-t27-s",
        num_frames=9,
        dim=8,
        heads=2,
        expert_hidden=32,
        encoder_layers=1,
        decoder_layers=1,
    ).eval()
    with torch.no_grad():
        for moe in (m for m in model.modules() if isinstance(m, MoEFeedForward)):
            moe.router.weight.zero_()
            moe.router.bias.copy_(torch.tensor([0.0, 0.0, -50.0, -50.0]))
    data = to_onnx(model, PretrainedConfig()).SerializeToString()
    assert check_against_torch(data, model) < 1e-5


def test_export_onnx_refuses_what_it_cannot_write(tmp_path, tiny_lifter):
    from posemoe.cli import main

    with pytest.raises(SystemExit):
        main(["export", str(tiny_lifter), str(tmp_path / "x.safetensors"), "--onnx"])
    with pytest.raises(SystemExit):
        main(["export", str(tiny_lifter), str(tmp_path / "x.onnx"), "--onnx", "--raw-weights"])


def test_the_command_line_and_the_python_api_pick_a_device_by_one_rule(monkeypatch, tiny_lifter):
    """None (the default of `--device` and of posemoe.load, infer_video, ...): CUDA where torch
    sees one, else the CPU; the ONNX runtime runs on the CPU either way."""
    import inspect

    torch = pytest.importorskip("torch")
    from posemoe.cli.common import pick_device
    from posemoe.inference import pipeline, stream
    from posemoe.inference.runtime import default_device

    for api in (
        load,
        load_runner,
        pipeline.make_pipeline,
        pipeline.infer_keypoints,
        pipeline.infer_video,
        stream.infer_stream,
    ):
        assert inspect.signature(api).parameters["device"].default is None, api.__name__
    for cuda in (True, False):
        monkeypatch.setattr(torch.cuda, "is_available", lambda cuda=cuda: cuda)
        assert default_device() == pick_device(None) == ("cuda" if cuda else "cpu")
    assert default_device("cpu") == pick_device("cpu") == "cpu"
    lifter = load(tiny_lifter)  # torch weights, no CUDA here: the CPU
    assert lifter.runner.device == torch.device(default_device())
    with pytest.raises(UserError, match="runs on the CPU"):  # ONNX Runtime: the CPU, said so
        load(runtime="onnx", device="cuda")


def test_onnx_sessions_wait_asleep_instead_of_spinning(monkeypatch):
    """Every ONNX Runtime session posemoe makes (lifters with ONNX Runtime's thread count or a set
    one, BlazePose's two stages) has pool threads that sleep while they wait: a spinning pool holds a
    core that another process wants (docs/results/detector-threads.md)."""
    from posemoe.inference import runtime
    from posemoe.inference.blazepose import LandmarkModel, PersonDetector

    monkeypatch.setattr(runtime, "_threads", None)  # as no command line set it
    sessions = {"lifter, ONNX Runtime's threads": (load().runner.session, 0)}
    monkeypatch.setattr(runtime, "_threads", 2)
    sessions["lifter, 2 threads set"] = (load().runner.session, 2)
    sessions["person detector"] = (PersonDetector(threads=1)._session, 1)
    sessions["landmark model, 2 threads"] = (LandmarkModel(threads=2)._session, 2)
    for name, (session, threads) in sessions.items():
        options = session.get_session_options()
        for pool in ("intra_op", "inter_op"):
            assert options.get_session_config_entry(f"session.{pool}.allow_spinning") == "0", name
        assert options.intra_op_num_threads == threads and options.inter_op_num_threads == 1, name
