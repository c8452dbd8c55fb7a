"""Frame numbers read from image ids: the last run of digits, and sparse ids are not expanded."""

import json

import pytest

from posemoe.io.keypoints import read_keypoints


def _results(ids):
    return [{"image_id": i, "keypoints": [1.0, 2.0, 0.9] * 17, "score": 1.0} for i in ids]


def test_the_frame_number_is_the_last_digit_run(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps(_results(["cam2_0005.jpg", "cam2_0007.jpg"])))
    frames = read_keypoints(path)
    assert len(frames) == 3 and [len(p) for p in frames.people] == [
        1,
        0,
        1,
    ]  # 5, (6 empty), 7 — not 20005


def test_sparse_ids_are_taken_in_order_not_expanded(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps(_results([0, 50_000_000])))
    assert len(read_keypoints(path)) == 2


def test_ids_of_the_wrong_type_are_named(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps(_results([[1, 2]])))
    with pytest.raises(ValueError, match=r"entry 0.*image_id must be a number or a file name"):
        read_keypoints(path)
