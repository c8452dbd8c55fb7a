import re

import numpy as np
import pytest

from posemoe.datasets.synthetic import synthesize_motion
from posemoe.layouts import H36M17, H36M32, convert
from posemoe.viz.html import fitted_scene, write_html

pytest.importorskip("plotly")


def _poses(frames: int = 12) -> np.ndarray:
    """(T, 17, 3) camera-frame metres (x right, y down, z forward), root-relative."""
    world = convert(synthesize_motion(frames, np.random.default_rng(0)), H36M32, H36M17)
    cam = np.stack([world[..., 0], -world[..., 2], world[..., 1]], -1)
    return (cam - cam[:, :1]).astype(np.float32)


def test_html_is_one_offline_file_with_every_frame(tmp_path):
    poses = _poses(30)
    path = write_html(tmp_path / "anim.html", poses, fps=30, truth=poses, max_frames=10)
    text = path.read_text()
    assert not re.search(
        r"<script[^>]*\bsrc=", text
    )  # no external script: plotly.js is inside the file
    assert len(text) > 1_000_000 and text.count('"name":"9"') >= 1 and '"name":"10"' not in text
    assert "person's left" in text and "person's right" in text and '"name":"truth"' in text


def test_unseen_joints_are_dashed_and_in_the_legend(tmp_path):
    poses = _poses(4)
    unseen = np.zeros((4, 17), bool)
    unseen[:, 3] = True  # the right foot
    text = write_html(tmp_path / "anim.html", poses, fps=30, unseen=unseen).read_text()
    assert '"dash":"dash"' in text and "unseen: outside the frame or low confidence" in text
    plain = write_html(tmp_path / "plain.html", poses, fps=30).read_text()
    assert '"dash":"dash"' not in plain


def test_the_view_starts_behind_the_camera_and_fits_the_person():
    poses = _poses(20)
    plot = np.stack([poses[..., 0], poses[..., 2], -poses[..., 1]], -1).reshape(-1, 3)
    scene = fitted_scene(plot)
    eye, up = scene["camera"]["eye"], scene["camera"]["up"]
    assert (
        eye["x"] == 0 and eye["z"] == 0 and eye["y"] < -1
    )  # behind the camera (-depth), looking along +depth
    assert up == {"x": 0.0, "y": 0.0, "z": 1.0}  # image-up is up
    for k, axis in enumerate("xyz"):
        lo, hi = scene[f"{axis}axis"]["range"]
        assert (
            lo < plot[:, k].min() and plot[:, k].max() < hi and hi - lo < 2.2
        )  # around the body, not a 2 m cube
    spans = np.array([np.diff(scene[f"{a}axis"]["range"])[0] for a in "xyz"])
    ratio = np.array([scene["aspectratio"][a] for a in "xyz"])
    np.testing.assert_allclose(ratio, spans / spans.max())  # metres look the same along every axis
