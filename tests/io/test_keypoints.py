import json

import numpy as np
import pytest

from posemoe.errors import UserError
from posemoe.io.keypoints import read_keypoints


def _people(rng, n, joints):
    kp = np.concatenate(
        [rng.uniform(0, 640, (n, joints, 2)), rng.uniform(0.3, 1, (n, joints, 1))], -1
    )
    return kp.round(3)


def test_coco_results_and_mmpose_frames(tmp_path):
    rng = np.random.default_rng(0)
    a, b = _people(rng, 2, 17), _people(rng, 1, 17)
    results = [
        {"image_id": 2, "category_id": 1, "keypoints": b[0].ravel().tolist(), "score": 0.9}
    ] + [
        {"image_id": 1, "category_id": 1, "keypoints": p.ravel().tolist(), "score": 0.8} for p in a
    ]
    (tmp_path / "coco.json").write_text(json.dumps(results))
    frames = read_keypoints(tmp_path / "coco.json")
    assert frames.layout.name == "coco17" and len(frames) == 2
    np.testing.assert_allclose(frames.people[0], a)  # image 1 comes first
    np.testing.assert_allclose(frames.people[1], b)
    mmpose = [
        {
            "frame_id": 0,
            "instances": [
                {"keypoints": a[0, :, :2].tolist(), "keypoint_scores": a[0, :, 2].tolist()}
            ],
        },
        {"frame_id": 1, "instances": []},
    ]
    (tmp_path / "mm.json").write_text(json.dumps(mmpose))
    frames = read_keypoints(tmp_path / "mm.json")
    np.testing.assert_allclose(frames.people[0][0], a[0])
    assert frames.people[1].shape == (0, 17, 3)


def test_openpose_alphapose_and_arrays(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "op"
    folder.mkdir()
    body = _people(rng, 3, 25)
    for t in range(3):
        people = [{"pose_keypoints_2d": body[t].ravel().tolist()}] if t != 1 else []
        (folder / f"video_{t:012d}_keypoints.json").write_text(
            json.dumps({"version": 1.3, "people": people})
        )
    frames = read_keypoints(folder)
    assert frames.layout.name == "openpose25" and [len(p) for p in frames.people] == [1, 0, 1]
    np.testing.assert_allclose(frames.people[2][0], body[2])

    halpe = _people(rng, 2, 26)
    (tmp_path / "ap.json").write_text(
        json.dumps(
            [
                {
                    "image_id": f"{t}.jpg",
                    "keypoints": halpe[t].ravel().tolist(),
                    "score": 1.0,
                    "idx": 0,
                }
                for t in (1, 0)
            ]
        )
    )
    frames = read_keypoints(tmp_path / "ap.json", layout="halpe26")
    np.testing.assert_allclose(frames.people[0][0], halpe[0])

    np.save(tmp_path / "k.npy", halpe[..., :2])
    frames = read_keypoints(tmp_path / "k.npy", layout="halpe26")
    assert frames.people[0].shape == (1, 26, 3) and (frames.people[0][..., 2] == 1).all()
    np.savez(tmp_path / "k.npz", keypoints=np.zeros((4, 17, 3)))
    assert len(read_keypoints(tmp_path / "k.npz", layout="h36m17")) == 4


@pytest.mark.parametrize(
    "name, content, layout, error",
    [
        ("a.json", "{oops", None, "not valid JSON"),
        ("b.json", "[]", None, "non-empty list"),
        ("c.json", json.dumps([{"image_id": 0, "keypoints": [1, 2, 3]}]), None, "expected 17 x 3"),
        ("d.txt", "x", None, "unsupported keypoint file"),
    ],
)
def test_bad_keypoint_files_say_why(tmp_path, name, content, layout, error):
    (tmp_path / name).write_text(content)
    with pytest.raises(ValueError, match=error):
        read_keypoints(tmp_path / name, layout=layout)


def test_bad_arrays_say_why(tmp_path):
    np.save(tmp_path / "k.npy", np.zeros((4, 12, 2)))
    with pytest.raises(ValueError, match="name the joint layout"):
        read_keypoints(tmp_path / "k.npy")
    with pytest.raises(ValueError, match=r"expected \(T, \[P,\] 17"):
        read_keypoints(tmp_path / "k.npy", layout="coco17")
    with pytest.raises(FileNotFoundError, match="no OpenPose"):
        read_keypoints(tmp_path)


def test_an_npz_may_record_its_layout_rate_and_frame_size(tmp_path):
    keypoints = np.random.default_rng(0).uniform(0, 100, (5, 2, 33, 3))
    np.savez(
        tmp_path / "k.npz",
        keypoints=keypoints,
        layout="blazepose33",
        fps=np.float32(12),
        image_size=np.array([1080, 1920], np.int32),
    )
    frames = read_keypoints(tmp_path / "k.npz")
    assert (
        frames.layout.name == "blazepose33"
        and frames.fps == 12
        and frames.image_size == (1080, 1920)
    )
    assert read_keypoints(tmp_path / "k.npz", layout="blazepose33").fps == 12
    with pytest.raises(ValueError, match="are blazepose33, not coco17"):
        read_keypoints(tmp_path / "k.npz", layout="coco17")
    np.savez(tmp_path / "plain.npz", keypoints=keypoints[:, :, :17])  # nothing recorded: as before
    plain = read_keypoints(tmp_path / "plain.npz", layout="coco17")
    assert plain.fps is None and plain.image_size is None
    np.savez(
        tmp_path / "floats.npz",
        keypoints=keypoints,
        layout="blazepose33",
        fps=np.array([29.97]),
        image_size=np.array([1080.0, 1920.0]),
    )  # whole-number floats, as OpenCV reports sizes
    floats = read_keypoints(tmp_path / "floats.npz")
    assert floats.fps == 29.97 and floats.image_size == (1080, 1920)
    for bad, error in [
        ({"fps": -1.0}, "'fps' as a positive"),
        ({"image_size": [1080.5, 3]}, "'image_size' as two"),
        ({"fps": [12, 24]}, "'fps' as a positive"),
        ({"layout": 3}, "'layout' as a layout name"),
    ]:
        np.savez(tmp_path / "bad.npz", keypoints=keypoints, **bad)
        with pytest.raises(ValueError, match=error):
            read_keypoints(tmp_path / "bad.npz", layout="blazepose33")


_COCO = [{"image_id": 0, "keypoints": [1.0, 2.0, 0.9] * 17}]


@pytest.mark.parametrize(
    "content, error",
    [
        (
            json.dumps([{"image_id": 0, "keypoints": {"x": 1}}]),
            r"entry 0\]: expected a list of numbers, got dict",
        ),
        (
            json.dumps([{"image_id": 0, "keypoints": ["a"] * 51}]),
            r"entry 0\]: expected a list of numbers, found other",
        ),
        (
            json.dumps([{"image_id": 0, "keypoints": [[1, 2], [3]]}]),
            r"entry 0\]: expected a list of numbers",
        ),
        (
            json.dumps([{"frame_id": 0, "instances": None}]),
            r"frame 0\]: expected an object with an 'instances' list",
        ),
        (
            json.dumps([{"instances": [None]}]),
            r"frame 0\] \[instance 0\]: expected an object with 'keypoints'",
        ),
        (
            json.dumps([{"instances": [{"keypoints": [[1, 2]] * 17, "keypoint_scores": "high"}]}]),
            "keypoint_scores",
        ),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("[" + "9" * 5000 + "]", "not valid JSON"),
    ],
)
def test_json_of_the_wrong_types_is_named_not_a_traceback(tmp_path, content, error):
    from posemoe.errors import UserError

    (tmp_path / "d.json").write_text(content)
    with pytest.raises(UserError, match=error) as info:
        read_keypoints(tmp_path / "d.json")
    assert "d.json" in str(info.value) and "\n" not in str(info.value)


def test_values_are_passed_on_as_found_and_the_source_is_kept(tmp_path):
    records = [dict(_COCO[0], keypoints=[float("inf"), 1e30, 0.9] + [1.0, 2.0, 0.9] * 16)]
    (tmp_path / "d.json").write_text(json.dumps(records))
    frames = read_keypoints(tmp_path / "d.json")
    assert frames.people[0][0, 0, 0] == np.inf and frames.people[0][0, 0, 1] == 1e30
    assert frames.source == str(tmp_path / "d.json")


def test_a_layout_that_does_not_apply_to_json_is_refused(tmp_path):
    (tmp_path / "d.json").write_text(json.dumps(_COCO))
    with pytest.raises(ValueError, match="--layout openpose25 does not apply"):
        read_keypoints(tmp_path / "d.json", layout="openpose25")


@pytest.mark.parametrize(
    "array, error",
    [
        (np.full((4, 17, 2), "ab"), "array of numbers, got a <U2 array"),
        (np.ones((4, 17, 2), complex), "array of numbers, got a complex128 array"),
    ],
)
def test_arrays_of_other_types_are_refused(tmp_path, array, error):
    np.save(tmp_path / "k.npy", array)
    with pytest.raises(ValueError, match=error):
        read_keypoints(tmp_path / "k.npy", layout="coco17")


def test_keypoints_normalised_to_the_unit_square_are_refused_not_lifted(tmp_path):
    from posemoe.inference.pipeline import infer_keypoints

    rng = np.random.default_rng(0)
    unit = np.concatenate([rng.uniform(0.3, 0.7, (5, 17, 2)), np.ones((5, 17, 1))], -1)
    np.save(tmp_path / "unit.npy", unit)
    with pytest.raises(
        UserError, match=r"look normalised to \[0, 1\]: pixels are x \* width and y \* height"
    ):
        infer_keypoints(tmp_path / "unit.npy", layout="coco17", image_size=(1920, 1080))
    np.save(tmp_path / "signed.npy", unit * [2, 2, 1] - [1, 1, 0])
    with pytest.raises(
        UserError, match=r"normalised to \[-1, 1\]: pixels are \(x \+ 1\) / 2 \* width"
    ):
        infer_keypoints(tmp_path / "signed.npy", layout="coco17", image_size=(1920, 1080))
    frames = read_keypoints(tmp_path / "unit.npy", "coco17")
    frames.check_pixels((16, 16))  # a thumbnail's pixels may all be small
    pixels = unit * [1920, 1080, 1]
    np.save(tmp_path / "pixels.npy", pixels)
    read_keypoints(tmp_path / "pixels.npy", "coco17").check_pixels((1920, 1080))
    with pytest.raises(
        UserError,
        match=r"100% of the keypoints lie far outside the 64x64 frame .* give the "
        r"frame size of the video they came from \(--image-size for keypoint files\)",
    ):
        read_keypoints(tmp_path / "pixels.npy", "coco17").check_pixels((64, 64))
    read_keypoints(tmp_path / "pixels.npy", "coco17").check_pixels(
        (1080, 1920)
    )  # the wrong orientation still fits


def test_the_python_lifter_refuses_normalised_keypoints_too(tiny_lifter):
    from posemoe.inference.lifter import load

    lifter = load(str(tiny_lifter))
    pixels = np.random.default_rng(0).uniform([500, 300], [700, 800], (30, 17, 2))
    assert lifter.lift(pixels, layout="h36m17", image_size=(1080, 1920)).shape == (30, 17, 3)
    with pytest.raises(
        UserError, match=r"keypoints: every keypoint coordinate .* normalised to \[0, 1\]"
    ):
        lifter.lift(pixels / [1080, 1920], layout="h36m17", image_size=(1080, 1920))


def test_joints_at_zero_are_not_found_and_a_person_of_none_is_no_person(tmp_path):
    rng = np.random.default_rng(1)
    pixels = rng.uniform(100, 500, (10, 17, 2))
    pixels[5:8] = 0  # frames where the tool found nobody
    pixels[2, 3] = 0  # one joint it did not find
    np.save(tmp_path / "gaps.npy", pixels)
    frames = read_keypoints(tmp_path / "gaps.npy", "coco17")
    assert [len(p) for p in frames.people] == [1] * 5 + [0] * 3 + [1] * 2
    assert frames.people[2][0, 3, 2] == 0 and frames.people[2][0, 4, 2] == 1
    scored = np.concatenate(
        [pixels, np.zeros((10, 17, 1))], -1
    )  # (0, 0) with confidence 0: not found either
    scored[:5, :, 2] = 0.9
    np.save(tmp_path / "scored.npy", scored)
    assert [len(p) for p in read_keypoints(tmp_path / "scored.npy", "coco17").people] == [1] * 5 + [
        0
    ] * 3 + [1] * 2
