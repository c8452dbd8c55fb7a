import numpy as np
import pytest

pytest.importorskip(
    "torch"
)  # a test of training / torch inference; skipped where only inference is installed

import torch  # noqa: E402

from posemoe.inference.lifter import Lifter, OnlineLifter, load  # noqa: E402
from posemoe.layouts import COCO17, H36M17  # noqa: E402
from posemoe.models import create_model  # noqa: E402


def test_lifter_matches_evaluation_predictions(synthetic_dir):
    from posemoe.camera import load_h36m_cameras
    from posemoe.datasets.h36m import load_h36m
    from posemoe.evaluation.h36m import predict
    from posemoe.io.npz import load_npz

    torch.manual_seed(0)
    model = create_model("posemoe-t27-s", num_frames=9, dim=8, expert_hidden=32).eval()
    data = load_h36m(synthetic_dir, ["S8"], "gt")
    seq = data.sequences[0]
    expected, _ = predict(model, data)
    raw = load_npz(synthetic_dir / "data_2d_h36m_gt.npz")["positions_2d"]["S8"][seq.action][
        seq.camera
    ]
    cam = load_h36m_cameras()["S8"][seq.camera]
    lifter = Lifter(model)
    got = lifter.lift(raw[: seq.length], layout="h36m17", image_size=(cam.width, cam.height))
    np.testing.assert_allclose(got, expected[seq.start : seq.start + seq.length], atol=1e-5)
    short = lifter.lift(raw[:4], layout="h36m17", image_size=(cam.width, cam.height))
    assert short.shape == (4, 17, 3) and np.isfinite(short).all()
    assert lifter.lift(np.zeros((12, 17, 3)), layout=COCO17.name, image_size=(640, 480)).shape == (
        12,
        17,
        3,
    )
    with pytest.raises(ValueError, match="NaN"):
        lifter.lift(np.full((5, 17, 2), np.nan), image_size=(640, 480))
    with pytest.raises(ValueError, match="shape"):
        lifter.lift(np.zeros((5, 17)), image_size=(640, 480))


def test_online_lifting_is_the_causal_window_ending_on_each_frame():
    torch.manual_seed(0)
    lifter = Lifter(create_model("posemoe-t27-s", num_frames=9, dim=8, expert_hidden=32))
    rng = np.random.default_rng(0)
    track = np.concatenate([rng.uniform(100, 500, (30, 17, 2)), np.ones((30, 17, 1))], -1).astype(
        np.float32
    )
    online = OnlineLifter(lifter, layout="h36m17", image_size=(640, 480))
    assert online.push(None) is None  # nobody seen yet: nothing to say
    got = np.stack([online.push(frame) for frame in track])
    for t in (8, 20, 29):
        expected = lifter.lift(track[t - 8 : t + 1], layout="h36m17", image_size=(640, 480))[-1]
        np.testing.assert_allclose(got[t], expected, atol=1e-5)
    first = lifter.lift(np.repeat(track[:1], 9, axis=0), layout="h36m17", image_size=(640, 480))[-1]
    np.testing.assert_allclose(got[0], first, atol=1e-5)  # the first frame fills the window


def test_online_lifting_holds_missing_joints():
    lifter = Lifter(create_model("posemoe-t27-s", num_frames=9, dim=8, expert_hidden=32))
    online = OnlineLifter(lifter, layout=COCO17.name, image_size=(640, 480))
    rng = np.random.default_rng(1)
    frame = np.concatenate([rng.uniform(100, 500, (17, 2)), np.ones((17, 1))], -1)
    online.push(frame)
    dropped = frame.copy()
    dropped[5:9, 2] = 0.0  # low confidence: hold the previous positions
    dropped[5:9, :2] = 9999.0
    online.push(dropped)
    np.testing.assert_allclose(online.window[-1][:, :2], online.window[-2][:, :2])
    assert np.isfinite(online.push(None)).all()  # nobody in this frame: the last input is held


def test_shipped_lifter_loads_by_name_offline():
    lifter = load("posemoe-t27-s-h36m")
    assert lifter.model.config.num_frames == 27 and not lifter.model.training
    rng = np.random.default_rng(0)
    track = np.concatenate([rng.normal([500, 500], 30, (40, 17, 2)), np.ones((40, 17, 1))], -1)
    assert lifter.lift(track, layout="h36m17", image_size=(1000, 1000)).shape == (40, 17, 3)
    with pytest.raises(ValueError, match="posemoe-t27-s-h36m"):
        load("no-such-weights")


def test_load_without_a_name_gives_the_default_lifter():
    from posemoe.inference.pipeline import DEFAULT_LIFTER

    lifter = load()
    assert DEFAULT_LIFTER == "posemoe-t27-s-h36m-he-bvh-vcam-rt6k"
    assert "virtual cameras" in lifter.pretrained.training_data


def test_a_camera_codec_lifter_reads_the_intrinsics_it_is_given(synthetic_dir):
    """Lifting a sequence's pixels with its camera's intrinsics gives what evaluation gives on the
    same frames loaded with the camera codec; other intrinsics give another answer, and a
    screen-codec lifter ignores them."""
    from dataclasses import replace

    from posemoe.camera import Intrinsics, load_h36m_cameras
    from posemoe.datasets.h36m import load_h36m
    from posemoe.evaluation.h36m import predict
    from posemoe.io.npz import load_npz
    from posemoe.models.pretrained import PretrainedConfig

    torch.manual_seed(0)
    model = create_model("posemoe-t27-s", num_frames=9, dim=8, expert_hidden=32).eval()
    data = load_h36m(synthetic_dir, ["S8"], "gt", codec="camera")
    seq = data.sequences[0]
    expected, _ = predict(model, data, codec="camera")
    with pytest.raises(ValueError, match="load it with codec='screen'"):
        predict(model, data, codec="screen")
    raw = load_npz(synthetic_dir / "data_2d_h36m_gt.npz")["positions_2d"]["S8"][seq.action][
        seq.camera
    ][: seq.length]
    cam = load_h36m_cameras()["S8"][seq.camera]
    size, known = (cam.width, cam.height), cam.intrinsics
    rays = Lifter(model, replace(PretrainedConfig(), codec="camera"))
    got = rays.lift(raw, layout="h36m17", image_size=size, intrinsics=known)
    np.testing.assert_allclose(got, expected[seq.start : seq.start + seq.length], atol=1e-5)
    wide = Intrinsics((cam.f[0] / 2, cam.f[1] / 2), tuple(cam.c))
    assert (
        np.abs(rays.lift(raw, layout="h36m17", image_size=size, intrinsics=wide) - got).max() > 1e-4
    )
    screen = Lifter(model)
    np.testing.assert_array_equal(
        screen.lift(raw, layout="h36m17", image_size=size, intrinsics=wide),
        screen.lift(raw, layout="h36m17", image_size=size),
    )


def _camera_lifter() -> Lifter:
    from dataclasses import replace

    from posemoe.models.pretrained import PretrainedConfig

    torch.manual_seed(0)
    model = create_model("posemoe-t27-s", num_frames=9, dim=8, expert_hidden=32).eval()
    return Lifter(model, replace(PretrainedConfig(), codec="camera"))


def test_the_pipeline_gives_the_lifter_the_focal_length_it_is_told(monkeypatch):
    from posemoe.camera import Intrinsics
    from posemoe.inference.pipeline import CameraOptions, Pipeline
    from posemoe.io.keypoints import KeypointFrames

    lifter, size = _camera_lifter(), (1280, 720)
    track = np.random.default_rng(2).uniform(300, 700, (12, 17, 3)).astype(np.float32)
    track[..., 2] = 1.0
    frames = KeypointFrames([t[None] for t in track], H36M17)
    given = []
    lift = lifter.lift
    monkeypatch.setattr(
        lifter, "lift", lambda *a, intrinsics=None, **k: given.append(intrinsics) or lift(*a, **k)
    )
    for camera, focal in (
        (CameraOptions(focal_px=900.0), 900.0),
        (CameraOptions(fov_deg=90.0), 640.0),
        (None, Intrinsics.guess(size).focal[0]),
    ):
        Pipeline(lifter, camera=camera).lift_people(
            frames, image_size=size, fps=50.0, name="t", source="t"
        )
        told = given.pop()  # fov 90 degrees: 640 / tan(45 degrees), equal up to rounding
        np.testing.assert_allclose(
            [*told.focal, *told.centre], [focal, focal, 640.0, 360.0], rtol=1e-12
        )
    with pytest.raises(ValueError, match="1-170 degrees"):
        CameraOptions(fov_deg=175.0)


def test_online_lifting_reads_the_intrinsics():
    from posemoe.camera import Intrinsics

    lifter, known = _camera_lifter(), Intrinsics((700.0, 700.0), (300.0, 250.0))
    track = np.random.default_rng(3).uniform(100, 500, (12, 17, 2)).astype(np.float32)
    online = OnlineLifter(lifter, layout="h36m17", image_size=(640, 480), intrinsics=known)
    last = [online.push(points) for points in track][-1]
    np.testing.assert_allclose(
        last,
        lifter.lift(track[-9:], layout="h36m17", image_size=(640, 480), intrinsics=known)[-1],
        atol=1e-6,
    )
    guessed = OnlineLifter(lifter, layout="h36m17", image_size=(640, 480))
    assert np.abs([guessed.push(points) for points in track][-1] - last).max() > 1e-4


def test_keypoints_whose_joint_count_several_layouts_share_need_their_layout_named():
    torch.manual_seed(0)
    lifter = Lifter(create_model("posemoe-t27-s", num_frames=9, dim=8, expert_hidden=32))
    rng = np.random.default_rng(0)
    coco = np.concatenate([rng.uniform(100, 500, (12, 17, 2)), np.ones((12, 17, 1))], -1)
    with pytest.raises(ValueError, match="coco17, h36m17, mpi_inf_3dhp17.*pass layout="):
        lifter.lift(coco, image_size=(640, 480))
    as_coco = lifter.lift(coco, layout="coco17", image_size=(640, 480))
    assert np.abs(as_coco - lifter.lift(coco, layout="h36m17", image_size=(640, 480))).max() > 1e-3
    online = OnlineLifter(lifter, image_size=(640, 480))
    with pytest.raises(ValueError, match="pass layout="):
        online.push(coco[0])
    # a count only one layout has names it: BlazePose's 33 landmarks
    blazepose = np.concatenate([rng.uniform(100, 500, (12, 33, 2)), np.ones((12, 33, 1))], -1)
    np.testing.assert_array_equal(
        lifter.lift(blazepose, image_size=(640, 480)),
        lifter.lift(blazepose, layout="blazepose33", image_size=(640, 480)),
    )
