import csv
import json
import sys

import numpy as np
import pytest
from PIL import Image

from posemoe.export import write_result
from posemoe.inference.result import PersonResult, Result
from posemoe.layouts import H36M17

FPS = 25.0


def _body(frames: int) -> np.ndarray:
    """A standing H36M-17 body in the camera frame (y down), the right knee bending 0 -> 90 degrees."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "angle_bodies", Path(__file__).parents[1] / "inference" / "test_angles.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    body = module.synthetic_body({"right_knee_flexion": np.linspace(0, 90, frames)}, frames)
    return body * [1.0, -1.0, -1.0] + [
        0.0,
        0.0,
        4.0,
    ]  # body frame (x anterior, y up, z right) -> a camera's


def _result(people: list[PersonResult]) -> Result:
    return Result("clip", "clip.mp4", "test", FPS, (640, 480), H36M17, people)


def _person(frames: int, track: int = 0, world: bool = True) -> PersonResult:
    joints = _body(frames)
    unseen = np.zeros((frames, 17), bool)
    unseen[5:8, H36M17.index("RFoot")] = True
    person = PersonResult(
        track,
        np.ones((frames, 17, 3), np.float32),
        (joints - joints[:, :1]).astype(np.float32),
        np.ones(frames, bool),
        unseen,
    )
    person.fitted = joints - joints[:, :1]
    if world:
        person.world_from_camera = np.diag([1.0, -1.0, -1.0, 1.0])  # camera y down -> world y up
    return person


def test_angle_files_hold_the_angles_with_gaps_where_unseen(tmp_path):
    frames = 20
    paths = write_result(_result([_person(frames)]), tmp_path, ["angles"])
    assert sorted(p.name for p in paths) == [
        "clip_angles.csv",
        "clip_angles.json",
        "clip_angles.png",
    ]
    rows = list(csv.DictReader((tmp_path / "clip_angles.csv").open()))
    assert len(rows) == frames and rows[3]["time_s"] == "0.1200"
    knee = [r["right_knee_flexion"] for r in rows]
    assert knee[5:8] == ["", "", ""]  # the ankle was not seen
    expected = np.linspace(0, 90, frames)
    seen = [t for t in range(frames) if knee[t]]
    np.testing.assert_allclose([float(knee[t]) for t in seen], expected[seen], atol=0.01)
    record = json.loads((tmp_path / "clip_angles.json").read_text())
    assert record["units"] == "degrees" and record["fps"] == FPS and record["ground"] is True
    assert record["angles"]["right_knee_flexion"][5:8] == [None, None, None]
    assert np.allclose(record["angles"]["trunk_tilt"], 0.0, atol=0.01)
    assert "thigh and shank" in record["definitions"]["right_knee_flexion"]
    assert "ankle_flexion" in record["not_measured"] and "trunk_tilt" not in record["not_measured"]
    image = Image.open(tmp_path / "clip_angles.png")
    assert image.format == "PNG" and image.size[0] > 600 and image.size[1] > 600


def test_without_matplotlib_the_plot_is_skipped_with_a_warning_and_the_numbers_written(
    tmp_path, monkeypatch
):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    with pytest.warns(UserWarning, match=r"clip: the joint-angle plot .*'posemoe\[plots\]'"):
        paths = write_result(_result([_person(12)]), tmp_path, ["angles"])
    assert sorted(p.name for p in paths) == ["clip_angles.csv", "clip_angles.json"]
    assert not (tmp_path / "clip_angles.png").exists()


def test_without_a_ground_the_trunk_is_not_measured_and_each_person_has_files(tmp_path):
    people = [_person(12, track=1, world=False), _person(12, track=4, world=False)]
    paths = write_result(_result(people), tmp_path, ["angles"])
    assert sorted(p.name for p in paths) == sorted(
        f"clip_person{i}_angles.{ext}" for i in (1, 4) for ext in ("csv", "json", "png")
    )
    record = json.loads((tmp_path / "clip_person4_angles.json").read_text())
    assert record["person_id"] == 4 and "trunk_tilt" not in record["angles"]
    assert "no ground" in record["not_measured"]["trunk_tilt"]


def test_a_result_without_people_is_refused(tmp_path):
    from posemoe.errors import UserError

    with pytest.raises(UserError, match="no person"):
        write_result(_result([]), tmp_path, ["angles"])
