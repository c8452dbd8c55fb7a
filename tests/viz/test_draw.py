import numpy as np
import pytest

pytest.importorskip("cv2")

from posemoe.datasets.synthetic import synthesize_motion  # noqa: E402
from posemoe.io.video import open_frames  # noqa: E402
from posemoe.layouts import H36M17, H36M32, convert  # noqa: E402
from posemoe.viz.draw import (  # noqa: E402
    LEFT,
    RIGHT,
    draw_legend,
    draw_skeleton_2d,
    draw_skeleton_3d,
    legend_entries,
    render_mp4,
    render_outputs,
    side_by_side,
    unseen_joints,
    write_html,
)


def _poses(frames: int = 12) -> np.ndarray:
    """(T, 17, 3) camera-frame metres (x right, y down, z forward), root-relative."""
    world = convert(synthesize_motion(frames, np.random.default_rng(0)), H36M32, H36M17)
    cam = np.stack([world[..., 0], -world[..., 2], world[..., 1]], -1)
    return (cam - cam[:, :1]).astype(np.float32)


def _near(image: np.ndarray, colour: tuple[int, int, int], tol: int = 40) -> np.ndarray:
    return (np.abs(image.astype(int) - colour) < tol).all(-1)


def test_writers_are_importable_from_draw():
    assert (
        callable(render_mp4)
        and callable(write_html)
        and callable(render_outputs)
        and callable(unseen_joints)
    )


def test_2d_skeleton_is_drawn_where_the_joints_are():
    image = np.zeros((100, 120, 3), np.uint8)
    points = np.full((17, 3), 1.0, np.float32)
    points[:, 0], points[:, 1] = np.linspace(10, 110, 17), 50
    drawn = draw_skeleton_2d(image, points)
    assert image.sum() == 0  # the input is left alone
    assert drawn[50, 10:110].any(axis=-1).mean() > 0.9 and drawn[5:30].sum() == 0


def test_unseen_bones_are_dashed_and_thinner():
    image = np.zeros((300, 300, 3), np.uint8)
    angle = np.linspace(0, 2 * np.pi, 17, endpoint=False)
    points = np.stack(
        [150 + 120 * np.cos(angle), 150 + 120 * np.sin(angle), np.ones(17)], -1
    ).astype(np.float32)
    solid = draw_skeleton_2d(image, points, thickness=4)
    dashed = draw_skeleton_2d(image, points, thickness=4, unseen=np.ones(17, bool))
    # along the middle of the long bone from the pelvis (joint 0) to the spine (joint 7)
    along = np.linspace(points[0, :2], points[7, :2], 60)[10:-10].round().astype(int)

    def drawn(image: np.ndarray) -> float:
        return float((image[along[:, 1], along[:, 0]].max(-1) > 100).mean())

    assert drawn(solid) == 1.0 and 0.3 < drawn(dashed) < 0.8


def test_3d_panel_shows_prediction_and_truth():
    pose = _poses()[0]
    panel = draw_skeleton_3d(pose, (200, 160))
    assert panel.shape == (160, 200, 3)
    with_truth = draw_skeleton_3d(pose, (200, 160), truth=pose + [0.3, 0, 0])
    green = (with_truth[..., 1] > 150) & (with_truth[..., 0] < 100) & (with_truth[..., 2] < 120)
    assert (
        green.sum() > 50
        and not ((panel[..., 1] > 150) & (panel[..., 0] < 100) & (panel[..., 2] < 120)).any()
    )


def test_legend_says_which_colour_is_left_in_both_panels():
    frame = np.full((240, 320, 3), 30, np.uint8)
    keypoints = np.concatenate(
        [np.full((17, 2), 200.0), np.ones((17, 1))], -1
    )  # a skeleton away from the corner
    out = side_by_side(frame, keypoints, _poses(1)[0], legend=legend_entries())
    video, panel = out[:80, :100], out[:80, 320:420]
    for corner in (video, panel):
        assert _near(corner, LEFT).sum() > 10 and _near(corner, RIGHT).sum() > 10
    plain = side_by_side(frame, keypoints, _poses(1)[0], legend=[])
    assert not _near(plain[:80, :100], LEFT).any()
    assert [e.label for e in legend_entries(truth=True, unseen=True)] == [
        "person's left",
        "person's right",
        "unseen (off-frame / low conf.)",
        "truth",
    ]


def test_mp4_has_video_and_3d_side_by_side(tmp_path):
    poses = _poses(10)
    frames = [np.full((90, 160, 3), 40 * (t % 5), np.uint8) for t in range(10)]
    keypoints = np.concatenate([np.full((10, 17, 2), 45.0), np.ones((10, 17, 1))], -1)
    path = render_mp4(tmp_path / "out.mp4", frames, keypoints, poses, fps=10)
    with open_frames(path) as video:
        assert video.size == (160 + 90, 90) and len(list(video)) == 10
    assert side_by_side(frames[0], keypoints[0], poses[0]).shape == (90, 250, 3)


def test_render_outputs_finds_unseen_joints_in_the_frames_size(tmp_path, capsys):
    poses = _poses(6)
    frames = [np.full((90, 160, 3), 60, np.uint8) for _ in range(6)]
    keypoints = np.concatenate([np.full((6, 17, 2), 45.0), np.ones((6, 17, 1))], -1)
    keypoints[:, [3, 6], 1] = 130.0  # both feet below the 90-pixel frame
    pytest.importorskip("plotly")
    paths = render_outputs(
        tmp_path,
        "clip",
        None,
        keypoints,
        poses,
        fps=10,
        render=("mp4", "html"),
        frames=iter(frames),
    )
    assert [p.name for p in paths] == ["clip.mp4", "clip.html"]
    assert "RFoot, LFoot in most frames" in capsys.readouterr().out


@pytest.mark.parametrize("size", [(1280, 720), (1080, 1920), (360, 1280)])
def test_the_legend_fits_the_frame_landscape_or_portrait(size):
    width, height = size
    image = np.zeros((height, width, 3), np.uint8)
    draw_legend(image, legend_entries(truth=True, unseen=True))
    drawn = np.flatnonzero(image.any(-1).any(0))
    assert (
        drawn.max() < width - 2
    )  # the light box ends inside the frame: no label runs off its edge
    label_pixels = (image.max(-1) < 120) & image.any(-1)  # the dark text inside the light box
    assert label_pixels[:, : drawn.max()].sum() > 100
