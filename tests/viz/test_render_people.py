"""render_result: every person of a Result in the .mp4 and the .html, each in its hue, labelled by id."""

import numpy as np
import pytest

pytest.importorskip("cv2")

from posemoe.datasets.synthetic import synthesize_motion  # noqa: E402
from posemoe.errors import UserError  # noqa: E402
from posemoe.inference.result import PersonResult, Result  # noqa: E402
from posemoe.io.video import open_frames  # noqa: E402
from posemoe.layouts import H36M17, H36M32, convert  # noqa: E402
from posemoe.viz.draw import (  # noqa: E402
    LEFT,
    RIGHT,
    Pose,
    draw_scene_3d,
    fit_view,
    legend_entries,
    people_legend,
    person_colour,
    shades,
)
from posemoe.viz.render import (  # noqa: E402
    SPACING,
    level_from_camera,
    placement,
    render_result,
    result_people,
)

T, WIDTH, HEIGHT, FOCAL = 6, 720, 480, 400.0
ROOTS = (
    (-1.6, 0.3, 5.0),
    (0.0, 0.3, 5.0),
    (1.6, 0.3, 5.0),
)  # camera frame, metres: left, middle, right
HIDDEN = (1, 3)  # person 1 is not seen in frame 3


def _poses(seed: int) -> np.ndarray:
    """(T, 17, 3) camera-frame metres (x right, y down, z forward), root-relative."""
    world = convert(synthesize_motion(T, np.random.default_rng(seed)), H36M32, H36M17)
    cam = np.stack([world[..., 0], -world[..., 2], world[..., 1]], -1)
    return (cam - cam[:, :1]).astype(np.float32)


def _result(
    count: int = 3, *, roots: bool = True, name: str = "clip", source: str = "clip.mp4"
) -> Result:
    """``count`` people standing at :data:`ROOTS`, seen by a pinhole camera; person 1 hidden in one frame."""
    people = []
    for i, (x, y, z) in enumerate(ROOTS[:count]):
        joints = _poses(i)
        root = np.tile([x, y, z], (T, 1))
        cam = joints + root[:, None]
        pixels = cam[..., :2] / cam[..., 2:] * FOCAL + [WIDTH / 2, HEIGHT / 2]
        keypoints = np.concatenate([pixels, np.ones((T, 17, 1))], -1).astype(np.float32)
        visible = np.ones(T, bool)
        if i == HIDDEN[0]:
            visible[HIDDEN[1]] = False
        people.append(
            PersonResult(
                10 + i,
                keypoints,
                joints,
                visible,
                np.zeros((T, 17), bool),
                root=root if roots else None,
            )
        )
    return Result(name, source, "test", 10.0, (WIDTH, HEIGHT), H36M17, people)


def _frames() -> list[np.ndarray]:
    return [np.full((HEIGHT, WIDTH, 3), 40, np.uint8) for _ in range(T)]


def _near(image: np.ndarray, colour: tuple[int, int, int], tol: int = 60) -> np.ndarray:
    return (np.abs(image.astype(int) - colour) < tol).all(-1)


def _trunk_window(
    person: PersonResult, t: int, half: int = 30, scale: float = 1.0
) -> tuple[slice, slice]:
    """Rows and columns around the middle of the person's pelvis-to-thorax bone in frame ``t``
    (of a frame scaled by ``scale``)."""
    half = max(4, round(half * scale))
    x, y = np.rint(scale * (person.keypoints[t, 0, :2] + person.keypoints[t, 8, :2]) / 2).astype(
        int
    )
    return slice(y - half, y + half), slice(x - half, x + half)


def test_mp4_draws_every_person_in_its_hue_and_not_when_unseen(tmp_path):
    result = _result()
    paths = render_result(tmp_path, result, ("mp4",), frames=iter(_frames()), quiet=True)
    assert [p.name for p in paths] == ["clip.mp4"]
    with open_frames(paths[0]) as video:
        frames = list(video)
        assert video.size == (WIDTH + HEIGHT, HEIGHT)
    assert len(frames) == T
    for t, frame in enumerate(frames):
        for i, person in enumerate(result.people):
            rows, cols = _trunk_window(person, t)
            found = int(_near(frame[rows, cols], person_colour(i)).sum())
            if (i, t) == HIDDEN:
                assert found == 0, f"person {i} drawn in frame {t} where it is not visible"
            else:
                assert found > 20, f"person {i} missing in frame {t}"
    hidden_hue = person_colour(HIDDEN[0])
    panel = frames[HIDDEN[1]][:, WIDTH:]
    assert _near(panel, hidden_hue).sum() == 0  # nor in the 3D panel (bones and label)
    assert _near(frames[0][:, WIDTH:], hidden_hue).sum() > 20


def test_labels_are_written_above_the_heads():
    from posemoe.viz.draw import draw_poses_2d

    result = _result()
    frame = np.full((HEIGHT, WIDTH, 3), 40, np.uint8)
    poses = [
        Pose(p.keypoints[0], p.joints_3d[0], colour=person_colour(i))
        for i, p in enumerate(result.people)
    ]
    bare = draw_poses_2d(frame, poses, labels=False)
    labelled = draw_poses_2d(
        frame, [pose._replace(label=f"id {i}") for i, pose in enumerate(poses)]
    )
    for i, person in enumerate(result.people):
        top = int(np.nanmin(person.keypoints[0, :, 1]))
        x = int(person.keypoints[0, 10, 0])
        above = (slice(max(0, top - 40), top - 2), slice(x - 40, x + 40))
        changed = np.abs(labelled[above].astype(int) - bare[above]).max(-1) > 0
        assert changed.sum() > 30 and _near(labelled[above], person_colour(i)).sum() > 5


def test_html_has_one_legend_group_per_person(tmp_path):
    pytest.importorskip("plotly")
    from posemoe.viz.html import people_figure

    result = _result()
    paths = render_result(tmp_path, result, ("html",), quiet=True)
    text = paths[0].read_text()
    for person in result.people:
        assert (
            f'"name":"id {person.track}"' in text and f'"legendgroup":"id {person.track}"' in text
        )
    assert "person's left: lighter" in text and "person's right: darker" in text
    figure = people_figure(result_people(result), fps=result.fps)
    shown = [trace["name"] for trace in figure["data"] if trace.get("showlegend", True)]
    assert shown[:3] == ["id 10", "id 11", "id 12"]
    assert all(len(frame["data"]) == len(figure["data"]) for frame in figure["frames"])
    hidden = [
        trace
        for trace in figure["frames"][HIDDEN[1]]["data"]
        if trace.get("legendgroup") == "id 11"
    ]
    assert hidden and all(trace["x"] == [None] for trace in hidden)
    seen = [trace for trace in figure["frames"][0]["data"] if trace.get("legendgroup") == "id 11"]
    assert any(len(trace["x"]) > 1 for trace in seen)


def test_people_stand_at_their_roots_and_the_html_fits_them_all():
    pytest.importorskip("plotly")
    from posemoe.viz.html import people_figure

    result = _result()
    people = result_people(result)
    placed = [person.joints_3d + person.root[:, None] for person in result.people]
    level = level_from_camera(placed, [person.visible for person in result.people], result.fps)
    roots = np.array(ROOTS) @ level[:3, :3].T + level[:3, 3]  # in the ground's frame
    for person, drawn, joints, root in zip(result.people, people, placed, roots):
        np.testing.assert_allclose(drawn.joints, joints @ level[:3, :3].T + level[:3, 3], atol=1e-6)
        np.testing.assert_allclose(
            drawn.joints[:, 0], np.tile(root, (T, 1)), atol=1e-6
        )  # the pelvis at the root
    scene = people_figure(people, fps=10)["layout"]["scene"]
    lo, hi = scene["xaxis"]["range"]
    assert lo < roots[0][0] - 0.2 and roots[-1][0] + 0.2 < hi
    lo, hi = scene["yaxis"]["range"]  # plot y is the depth along the ground
    assert lo < roots[0][2] < hi
    assert (
        scene["camera"]["eye"]["y"] < 0 and scene["camera"]["eye"]["x"] == 0
    )  # from the video's camera


def test_without_roots_people_stand_side_by_side_in_image_order():
    result = _result(roots=False)
    result.people.reverse()  # listed right to left: still placed left to right
    offsets = placement(result.people)
    xs = [float(offset[0, 0]) for offset in offsets]
    assert xs == pytest.approx([SPACING, 0.0, -SPACING])
    assert all(np.all(offset[:, 1:] == 0) for offset in offsets)
    people = result_people(result)
    apart = (
        people[0].joints[:, 0] - people[1].joints[:, 0]
    )  # turned into the ground's frame, still SPACING apart
    np.testing.assert_allclose(np.linalg.norm(apart, axis=-1), SPACING, atol=1e-6)
    assert (apart[:, 0] > 0.95 * SPACING).all()
    assert placement(_result(1, roots=False).people)[0].tolist() == np.zeros((T, 3)).tolist()


def test_the_3d_panel_places_people_apart():
    result = _result()
    poses = [Pose(None, d.joints[0], colour=d.colour, label=d.label) for d in result_people(result)]
    view = fit_view(np.concatenate([d.joints.reshape(-1, 3) for d in result_people(result)]))
    panel = draw_scene_3d(poses, (300, 300), view=view)
    columns = [np.nonzero(_near(panel, person_colour(i)).any(0))[0] for i in range(3)]
    assert all(len(c) > 0 for c in columns)
    middles = [float(np.median(c)) for c in columns]
    assert middles[0] < middles[1] < middles[2] and middles[2] - middles[0] > 60


def test_a_lone_person_keeps_the_left_and_right_colours():
    result = _result(1)
    (person,) = result_people(result)
    assert person.colour is None and person.label == "id 10"
    assert people_legend([person]) == legend_entries()
    assert shades(None) == (LEFT, RIGHT, shades(None)[2])
    several = result_people(_result())
    assert [p.colour for p in several] == [person_colour(i) for i in range(3)]
    legend = people_legend(several)
    assert [e.label for e in legend] == ["person's left: lighter", "person's right: darker"]
    light, dark, hue = shades(person_colour(0))
    assert sum(light) > sum(hue) > sum(dark)


def test_renderings_may_not_replace_the_source(tmp_path):
    source = tmp_path / "clip.mp4"
    source.write_bytes(b"not really a video")
    result = _result(source=str(source))
    with pytest.raises(UserError, match="would overwrite an input"):
        render_result(tmp_path, result, ("mp4",), frames=iter(_frames()), quiet=True)
    assert source.read_bytes() == b"not really a video"
    with pytest.raises(UserError, match="unknown rendering"):
        render_result(tmp_path / "out", result, ("gif",), quiet=True)
    assert render_result(tmp_path / "out", result, (), quiet=True) == []


def test_unseen_joints_are_found_when_the_result_has_none(tmp_path, capsys):
    pytest.importorskip("plotly")
    result = _result(2)
    for person in result.people:
        person.unseen = None
    result.people[0].keypoints[:, 3, 1] = HEIGHT + 50  # a foot below the frame
    people = result_people(result, quiet=False)
    assert people[0].unseen[:, 3].all() and not people[1].unseen.any()
    assert "id 10: unseen" in capsys.readouterr().out
    text = render_result(tmp_path, result, ("html",), quiet=True)[0].read_text()
    assert '"dash":"dash"' in text and "unseen: outside the frame or low confidence" in text


def test_the_mp4_re_reads_the_source_video(tmp_path):
    from posemoe.viz.encode import write_mp4

    source = write_mp4(tmp_path / "source.mp4", _frames(), 10)
    result = _result(2, source=str(source))
    (path,) = render_result(tmp_path / "out", result, ("mp4",), quiet=True, inputs=[source])
    with open_frames(path) as video:
        frames = list(video)
    assert len(frames) == T and frames[0].shape == (HEIGHT, WIDTH + HEIGHT, 3)
    rows, cols = _trunk_window(result.people[1], 0)
    assert _near(frames[0][rows, cols], person_colour(1)).sum() > 20


def test_one_person_of_another_id_renders_under_that_ids_name(tmp_path):
    pytest.importorskip("plotly")
    result = _result(1)  # a lone person of id 10, as `--track 10` leaves: not id 0's `clip.html`
    paths = render_result(tmp_path, result, ("html",), quiet=True)
    assert [p.name for p in paths] == ["clip_person10.html"] and not (
        tmp_path / "clip.html"
    ).exists()


@pytest.mark.parametrize("height", [240, 960])
def test_mp4_takes_an_output_height_and_shows_progress(tmp_path, capsys, height):
    result = _result()
    paths = render_result(tmp_path, result, ("mp4",), frames=iter(_frames()), height=height)
    with open_frames(paths[0]) as video:
        frames = list(video)
        width = round(WIDTH * height / HEIGHT) // 2 * 2
        assert video.size == (
            width + height,
            height,
        )  # the video scaled to the height, beside a square panel
    assert len(frames) == T
    person = result.people[0]
    rows, cols = _trunk_window(person, 0, scale=height / HEIGHT)
    assert (
        _near(frames[0][rows, cols], person_colour(0)).sum() > 0
    )  # the 2D drawn where the person is, scaled
    err = capsys.readouterr().err
    assert "render" in err and f"{T}/{T}" in err  # the progress bar ran to the end


def test_render_height_is_checked(tmp_path):
    with pytest.raises(UserError, match="64..4320"):
        render_result(tmp_path, _result(), ("mp4",), frames=iter(_frames()), height=10, quiet=True)


def test_a_world_frame_is_not_applied_to_people_placed_side_by_side():
    """One person without a root path: everyone is placed side by side, root-relative, so the
    result's world frame (solved from the other's root) would put them metres off the floor."""
    result = _result(2)
    result.people[1].root = None
    world = np.eye(4)
    world[:3, 3] = [0.0, 5.0, 10.0]
    result.people[0].world_from_camera = world
    for person in result_people(result):
        assert np.abs(person.joints[:, 0]).max() < 3.0  # the pelvis near the origin, not 10 m away
