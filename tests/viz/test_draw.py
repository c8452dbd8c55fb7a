import re

import numpy as np
import pytest

pytest.importorskip("cv2")

from posemoe.datasets.synthetic import synthesize_motion  # noqa: E402
from posemoe.io.video import open_frames  # noqa: E402
from posemoe.layouts import (  # noqa: E402
    H36M17,  # noqa: E402
    H36M32,
    convert,
)
from posemoe.viz.draw import (  # noqa: E402
    draw_skeleton_2d,
    draw_skeleton_3d,
    render_mp4,
    side_by_side,
    write_html,
)


def _poses(frames: int = 12) -> np.ndarray:
    """(T, 17, 3) camera-frame metres (x right, y down, z forward), root-relative."""
    world = convert(synthesize_motion(frames, np.random.default_rng(0)), H36M32, H36M17)
    cam = np.stack([world[..., 0], -world[..., 2], world[..., 1]], -1)
    return (cam - cam[:, :1]).astype(np.float32)


def test_2d_skeleton_is_drawn_where_the_joints_are():
    image = np.zeros((100, 120, 3), np.uint8)
    points = np.full((17, 3), 1.0, np.float32)
    points[:, 0], points[:, 1] = np.linspace(10, 110, 17), 50
    drawn = draw_skeleton_2d(image, points)
    assert image.sum() == 0  # the input is left alone
    assert drawn[50, 10:110].any(axis=-1).mean() > 0.9 and drawn[5:30].sum() == 0


def test_3d_panel_shows_prediction_and_truth():
    pose = _poses()[0]
    panel = draw_skeleton_3d(pose, (200, 160))
    assert panel.shape == (160, 200, 3)
    with_truth = draw_skeleton_3d(pose, (200, 160), truth=pose + [0.3, 0, 0])
    green = (with_truth[..., 1] > 150) & (with_truth[..., 0] < 100) & (with_truth[..., 2] < 120)
    assert green.sum() > 50 and not ((panel[..., 1] > 150) & (panel[..., 0] < 100) & (panel[..., 2] < 120)).any()


def test_mp4_has_video_and_3d_side_by_side(tmp_path):
    poses = _poses(10)
    frames = [np.full((90, 160, 3), 40 * (t % 5), np.uint8) for t in range(10)]
    keypoints = np.concatenate([np.full((10, 17, 2), 45.0), np.ones((10, 17, 1))], -1)
    path = render_mp4(tmp_path / "out.mp4", frames, keypoints, poses, fps=10)
    with open_frames(path) as video:
        assert video.size == (160 + 90, 90) and len(list(video)) == 10
    assert side_by_side(frames[0], keypoints[0], poses[0]).shape == (90, 250, 3)


def test_html_is_one_offline_file_with_every_frame(tmp_path):
    pytest.importorskip("plotly")
    poses = _poses(30)
    path = write_html(tmp_path / "anim.html", poses, fps=30, truth=poses, max_frames=10)
    text = path.read_text()
    assert not re.search(r"<script[^>]*\bsrc=", text)  # no external script: plotly.js is inside the file
    assert len(text) > 1_000_000 and text.count('"name":"9"') >= 1 and '"name":"10"' not in text
