import csv
import json

import numpy as np
import pytest

from posemoe.export import write_outputs
from posemoe.inference.smoothing import one_euro


def test_one_euro_removes_jitter_and_settles_after_a_jump():
    rng = np.random.default_rng(0)
    still = np.zeros((200, 17, 3)) + rng.normal(
        0, 0.01, (200, 17, 3)
    )  # a joint at rest, 1 cm jitter
    smooth = one_euro(still, fps=30)
    assert np.abs(smooth[30:]).mean() < 0.5 * np.abs(still[30:]).mean()
    assert np.abs(np.diff(smooth, axis=0)).mean() < 0.3 * np.abs(np.diff(still, axis=0)).mean()
    step = np.where(np.arange(120) < 60, 0.0, 0.5)[:, None]  # the joint moves 50 cm at once
    follow = one_euro(step, fps=30)
    assert abs(follow[60 + 30, 0] - 0.5) < 0.02  # within 2 cm one second later
    with pytest.raises(ValueError, match="fps"):
        one_euro(still, fps=0)


def test_outputs_round_trip(tmp_path):
    joints = np.random.default_rng(1).normal(size=(4, 17, 3)).astype(np.float32)
    kp = np.random.default_rng(2).uniform(0, 100, (4, 17, 3)).astype(np.float32)
    npz, js, cs = write_outputs(tmp_path, "clip", joints, kp, fps=25.0)
    np.testing.assert_array_equal(np.load(npz)["joints_3d"], joints)
    record = json.loads(js.read_text())
    assert record["fps"] == 25.0 and len(record["frames"]) == 4
    np.testing.assert_allclose(record["frames"][2]["joints_3d"], joints[2], atol=1e-5)
    numbers = [
        repr(v)
        for frame in record["frames"]
        for joint in frame["joints_3d"] + frame["keypoints_2d"]
        for v in joint
    ]
    assert (
        max(len(n.split(".")[-1]) for n in numbers) <= 5
    )  # rounded, not float32 noise like -0.04019000008702278
    rows = list(csv.reader(cs.open()))
    assert (
        rows[0][:5] == ["frame", "visible", "Hip_x", "Hip_y", "Hip_z"]
        and len(rows) == 5
        and len(rows[1]) == 53
    )
    with pytest.raises(ValueError, match="differ"):
        write_outputs(tmp_path, "bad", joints, kp[:3], fps=25.0)
