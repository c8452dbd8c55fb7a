import json

import numpy as np
import pytest

pytest.importorskip("cv2")
pytest.importorskip("onnxruntime")

from posemoe.assets import astronaut  # noqa: E402
from posemoe.cli import main  # noqa: E402
from posemoe.export import write_result  # noqa: E402
from posemoe.inference.pipeline import infer_video, write_detections  # noqa: E402
from posemoe.inference.stream import infer_stream  # noqa: E402
from posemoe.io.video import moving_still, write_video  # noqa: E402


@pytest.fixture(scope="module")
def clip_with_a_gap(tmp_path_factory):
    """20 frames of the real person with nobody in frames 8-11."""
    frames = list(moving_still(astronaut(), 20, (480, 270)))
    for t in range(8, 12):
        frames[t] = np.full_like(frames[t], 90)
    return write_video(tmp_path_factory.mktemp("gap") / "gap.mp4", frames, 25)


def test_video_to_3d_for_every_frame_with_renderings(
    clip_with_a_gap, tiny_lifter, tmp_path, capsys
):
    main(
        [
            "infer",
            str(clip_with_a_gap),
            "--model",
            str(tiny_lifter),
            "--out",
            str(tmp_path),
            "--render",
            "mp4",
            "html",
            "--smooth",
        ]
    )
    out = np.load(tmp_path / "gap.npz")
    assert out["joints_3d"].shape == (20, 17, 3) and np.isfinite(out["joints_3d"]).all()
    assert np.allclose(out["joints_3d"][:, 0], 0)  # root-relative
    record = json.loads((tmp_path / "gap.json").read_text())
    assert (
        record["person_visible"] == [t not in range(8, 12) for t in range(20)]
        and record["fps"] == 25
    )
    raw = np.load(tmp_path / "gap_blazepose33.npz")
    assert raw["keypoints"].shape == (20, 1, 33, 3) and np.isnan(raw["keypoints"][9]).all()
    assert (tmp_path / "gap.mp4").stat().st_size > 0 and (tmp_path / "gap.html").stat().st_size > 0
    printed = capsys.readouterr().out
    assert "someone seen in 16" in printed and "frames/s" in printed and "detect" in printed
    # the unseen-joint line counts the frames the person is in, not the 4 without anyone
    assert (
        "of 16 frames (counted over the 16 frames the person is detected in)" in printed
        or "every joint seen in all 16 frames the person is detected in" in printed
    )


def test_python_api_returns_the_result_the_cli_writes(clip_with_a_gap, tiny_lifter, tmp_path):
    result = infer_video(clip_with_a_gap, str(tiny_lifter))
    person = result.people[0]
    assert result.frames == 20 and person.visible.tolist() == [
        t not in range(8, 12) for t in range(20)
    ]
    paths = write_result(result, tmp_path) + [write_detections(result, tmp_path)]
    assert [p.name for p in paths] == ["gap.npz", "gap.json", "gap.csv", "gap_blazepose33.npz"]
    np.testing.assert_allclose(np.load(paths[0])["joints_3d"], person.joints_3d)
    record = json.loads(paths[1].read_text())  # the json and csv carry what the npz does, per frame
    np.testing.assert_allclose(
        record["frames"][3]["joints_fitted"], np.load(paths[0])["joints_fitted"][3], atol=1e-5
    )
    header, *rows = [line.split(",") for line in paths[2].read_text().splitlines()]
    assert (
        header[:2] == ["frame", "visible"]
        and [int(r[1]) for r in rows] == person.visible.astype(int).tolist()
    )
    if (
        getattr(person, "root", None) is None
    ):  # a tiny lifter's 3D is not always placeable: then no root columns
        assert header[-1] == "RWrist_z"
    else:
        assert header[-3:] == ["root_x", "root_y", "root_z"]
        np.testing.assert_allclose(
            [[float(v) for v in r[-3:]] for r in rows], person.root, atol=1e-5
        )
        assert (
            np.load(paths[0])["focal_px"] == pytest.approx(person.focal_px)
            and record["focal_px"] > 0
        )
    assert np.load(paths[0])["image_size"].tolist() == record["image_size"] == [480, 270]


def test_cli_video_and_raw_detections_read_back(clip_with_a_gap, tiny_lifter, tmp_path, capsys):
    main(
        [
            "infer",
            str(clip_with_a_gap),
            "--model",
            str(tiny_lifter),
            "--out",
            str(tmp_path),
            "--max-frames",
            "6",
        ]
    )
    assert np.load(tmp_path / "gap.npz")["joints_3d"].shape == (6, 17, 3)
    # the raw BlazePose-33 detections are a keypoint file in their own right, with their layout, rate and size
    main(
        [
            "infer",
            str(tmp_path / "gap_blazepose33.npz"),
            "--model",
            str(tiny_lifter),
            "--out",
            str(tmp_path / "again"),
        ]
    )
    again = np.load(tmp_path / "again" / "gap_blazepose33.npz")
    assert again["joints_3d"].shape == (6, 17, 3) and float(again["fps"]) == 25
    np.testing.assert_allclose(
        again["joints_3d"], np.load(tmp_path / "gap.npz")["joints_3d"], atol=1e-5
    )  # the same run
    main(
        [
            "infer",
            str(tmp_path / "gap_blazepose33.npz"),
            "--model",
            str(tiny_lifter),
            "--out",
            str(tmp_path / "four"),
            "--max-frames",
            "4",
        ]
    )
    assert np.load(tmp_path / "four" / "gap_blazepose33.npz")["joints_3d"].shape == (4, 17, 3)


def test_two_people_are_both_lifted_with_their_ids(tiny_lifter, tmp_path):
    photo = astronaut()
    two = np.concatenate([photo, photo[:, ::-1]], 1)  # the person and a mirror image beside her
    clip = write_video(tmp_path / "two.mp4", list(moving_still(two, 24, (640, 270))), 12)
    result = infer_video(
        clip, str(tiny_lifter)
    )  # people are looked for every 10 frames: both are by frame 10
    assert [p.track for p in result.people] == [0, 1] and all(
        p.visible.sum() >= 12 for p in result.people
    )
    left = [float(np.mean(p.keypoints[p.visible, :, 0])) for p in result.people]
    assert abs(left[0] - left[1]) > 100  # two different people, not one found twice
    names = sorted(p.name for p in write_result(result, tmp_path / "out"))
    assert names == [f"two_person{k}.{ext}" for k in (0, 1) for ext in ("csv", "json", "npz")]
    record = json.loads((tmp_path / "out" / "two_person1.json").read_text())
    assert record["person_id"] == 1 and record["people"] == [0, 1]
    assert int(np.load(tmp_path / "out" / "two_person1.npz")["person_id"]) == 1
    assert len(infer_video(clip, str(tiny_lifter), max_people=1).people) == 1
    one = infer_video(clip, str(tiny_lifter), track=1)
    only = one.people
    assert [p.track for p in only] == [1] and abs(
        float(np.mean(only[0].keypoints[only[0].visible, :, 0])) - left[1]
    ) < 20
    assert [p.name for p in write_result(one, tmp_path / "one")][
        0
    ] == "two_person1.npz"  # not two.npz: id 0's name


def test_stream_mode_follows_two_people_online(tiny_lifter, tmp_path):
    photo = astronaut()
    clip = write_video(
        tmp_path / "two.mp4",
        list(moving_still(np.concatenate([photo, photo[:, ::-1]], 1), 24, (640, 270))),
        12,
    )
    result = infer_stream(str(clip), str(tiny_lifter))
    assert len(result.people) == 2 and result.frames == 24
    for person in result.people:
        assert person.joints_3d.shape == (24, 17, 3) and np.isfinite(person.joints_3d).all()
        assert person.visible.sum() >= 12
    assert len(infer_stream(str(clip), str(tiny_lifter), max_people=1).people) == 1


def test_cli_errors_are_messages(tmp_path, tiny_lifter, capsys):
    (tmp_path / "broken.mp4").write_bytes(b"\x00" * 500)
    for argv in (
        ["infer", str(tmp_path / "broken.mp4"), "--model", str(tiny_lifter)],
        ["infer", str(tmp_path / "nothing.mp4")],
    ):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "could not open" in err or "no frame" in err
    assert "no such file" in err


def test_no_person_at_all_is_an_error(tmp_path, tiny_lifter):
    empty = write_video(tmp_path / "empty.mp4", [np.full((120, 160, 3), 90, np.uint8)] * 3, 10)
    with pytest.raises(ValueError, match="no person found in any of its 3 frames"):
        infer_video(empty, str(tiny_lifter))


def test_stream_mode_lifts_online(clip_with_a_gap, tiny_lifter, tmp_path):
    result = infer_stream(str(clip_with_a_gap), str(tiny_lifter))
    write_result(result, tmp_path)
    out = np.load(tmp_path / "gap.npz")
    assert result.frames == 20 and out["joints_3d"].shape == (20, 17, 3)
    # frames without a person hold the last pose's input, so their 3D stays finite
    assert np.isfinite(out["joints_3d"]).all() and np.isnan(out["keypoints_2d"][9]).all()


def test_shipped_lifter_on_a_real_person_keeps_bones_steady(astronaut_clip, tmp_path):
    pytest.importorskip("torch")  # posemoe-t27-s-h36m ships as safetensors only
    from posemoe.layouts import H36M17

    result = infer_video(astronaut_clip, "posemoe-t27-s-h36m")
    person = result.people[0]
    assert person.visible.all()
    joints, confidence = person.joints_3d, person.keypoints[..., 2]
    feet = [H36M17.index("LFoot"), H36M17.index("RFoot")]
    assert (
        person.unseen[:, feet].mean() > 0.2
    )  # a waist-up photo: the invented legs are flagged (often)
    assert any("unseen" in line or "partial" in line for line in result.report), result.report
    assert joints.shape == (24, 17, 3) and np.isfinite(joints).all()
    # bones whose two joints BlazePose sees confidently in every frame (the photo ends at the waist)
    seen = [i for i, (p, c) in enumerate(H36M17.bones) if confidence[:, [p, c]].min() >= 0.5]
    assert len(seen) >= 6
    bones = np.stack(
        [np.linalg.norm(joints[:, c] - joints[:, p], axis=-1) for p, c in H36M17.bones], 1
    )[:, seen]
    variation = bones.std(0) / bones.mean(0)
    assert variation.max() < 0.1, variation  # each bone's length varies by under 10% over the clip
    assert 0.05 < bones.mean() < 0.5  # and bones are of human size (metres)


def test_a_truncated_video_is_lifted_as_far_as_it_decodes_with_a_warning(tiny_lifter, tmp_path):
    av = pytest.importorskip("av")
    path = tmp_path / "whole.mp4"
    with av.open(
        str(path), "w", options={"movflags": "faststart"}
    ) as container:  # index first: readable when cut
        stream = container.add_stream("libx264", rate=20)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        for frame in moving_still(astronaut(), 40, (320, 180)):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    for max_frames in (None, 100, 30):
        with pytest.warns(
            UserWarning,
            match=rf"decoded \d+ of the {min(max_frames or 40, 40)} frames its "
            "container's count promised; the file may be truncated",
        ):
            result = infer_video(cut, str(tiny_lifter), max_frames=max_frames)
        assert 0 < result.frames < 24


def test_the_left_right_clean_up_can_be_turned_off(tiny_lifter, tmp_path, capsys):
    """A keypoint file with the legs swapped for 10 frames: by default they are put back; with
    ``swap_fix=False`` (``--no-swap-fix``) the detector's labels are kept."""
    from posemoe.datasets.synthetic import synthesize_motion
    from posemoe.inference.pipeline import infer_keypoints
    from posemoe.layouts import H36M17, H36M32, convert

    world = convert(synthesize_motion(120, np.random.default_rng(0), "Walking"), H36M32, H36M17)
    body = world - world[:, :1]
    pixels = np.stack(
        [320 + 250 * body[..., 0] + 2.0 * np.arange(120)[:, None], 400 - 250 * body[..., 2]], -1
    )
    truth = np.concatenate([pixels, np.full((120, 17, 1), 0.9)], -1)
    track = truth.copy()
    legs = [H36M17.index(n) for n in ("LHip", "LKnee", "LFoot")]
    twins = [H36M17.flip_permutation()[j] for j in legs]
    track[50:60, legs + twins] = truth[50:60, twins + legs]
    path = tmp_path / "swapped.npz"
    np.savez(
        path,
        keypoints=track[:, None],
        layout="h36m17",
        fps=np.float64(25),
        image_size=np.array([640, 480]),
    )
    fixed = infer_keypoints(path, str(tiny_lifter)).people[0].keypoints
    kept = infer_keypoints(path, str(tiny_lifter), swap_fix=False).people[0].keypoints
    np.testing.assert_allclose(fixed[50:60, :, :2], truth[50:60, :, :2], atol=1e-3)
    np.testing.assert_allclose(kept[50:60, :, :2], track[50:60, :, :2], atol=1e-3)
    main(
        [
            "infer",
            str(path),
            "--model",
            str(tiny_lifter),
            "--out",
            str(tmp_path / "out"),
            "--no-swap-fix",
        ]
    )
    assert "left/right clean-up off: the detector's labels are kept" in capsys.readouterr().out
