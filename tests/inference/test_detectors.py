import itertools

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("cv2")

from posemoe.inference import detectors  # noqa: E402
from posemoe.inference.detectors import (  # noqa: E402
    PATIENCE,
    SEARCH_EVERY,
    BlazePose,
    _head,
    _same_person,
)
from posemoe.io.video import open_frames  # noqa: E402
from posemoe.layouts import BLAZEPOSE33  # noqa: E402


def test_blazepose_finds_the_real_person_and_nobody_in_a_blank_frame(astronaut_clip):
    with open_frames(astronaut_clip) as video, BlazePose() as detector:
        frame = next(iter(video))
        people = detector(frame)
    assert people.shape == (1, 33, 3)
    points = people[0]
    nose, shoulders = (
        points[BLAZEPOSE33.index("Nose")],
        points[[BLAZEPOSE33.index(j) for j in ("LShoulder", "RShoulder")]],
    )
    assert nose[2] > 0.9 and (shoulders[:, 2] > 0.9).all()
    assert (shoulders[:, 1] > nose[1]).all()  # shoulders below the nose, in pixels
    assert 0 <= nose[0] < 640 and 0 <= nose[1] < 360
    with BlazePose(video=False) as detector:
        assert detector(np.full((360, 640, 3), 128, np.uint8)).shape == (0, 33, 3)
        with pytest.raises(ValueError, match="RGB uint8"):
            detector(np.zeros((10, 10), np.float32))


def test_with_room_for_fewer_people_than_are_there_the_largest_are_followed():
    import cv2

    from posemoe.assets import astronaut

    frame = np.full((720, 1280, 3), 90, np.uint8)
    frame[100:612, 68:580] = astronaut()  # near, left
    frame[200:580, 800:1180] = cv2.resize(
        astronaut()[:, ::-1], (380, 380), interpolation=cv2.INTER_AREA
    )  # far, right,
    # and the person detector's surer find here (so the order of its scores would follow the wrong one)
    with BlazePose(video=False) as detector:
        assert len(detector(frame)) == 2
    for video in (False, True):
        with BlazePose(max_people=1, video=video) as detector:
            people = detector(frame)
        assert len(people) == 1 and people[0][:, 0].mean() < 640


def test_a_missing_landmark_model_is_named(tmp_path):
    with pytest.raises(ValueError, match="no landmark model at"):
        BlazePose(landmark_model=tmp_path / "none.onnx")


def test_the_number_of_people_and_threads_are_bounded():
    with pytest.raises(ValueError, match="max_people must be 1..64"):
        BlazePose(max_people=0)
    with pytest.raises(ValueError, match="search_every and threads must be >= 1"):
        BlazePose(threads=0)


def test_heads_tell_people_apart():
    face = np.zeros((33, 3))
    face[:11, :2] = np.random.default_rng(0).uniform(0, 40, (11, 2))  # a 40-pixel head
    shifted = face.copy()
    shifted[:, 0] += 15  # the same head, seen again a little to the side
    beside = face.copy()
    beside[:, 0] += 120  # a shoulder width away: someone else
    assert _same_person(_head(face), _head(shifted)) and not _same_person(
        _head(face), _head(beside)
    )


def test_a_follower_that_slid_onto_someones_legs_is_the_same_body():
    body = np.zeros((33, 3))
    body[:, 0] = np.linspace(100, 200, 33)
    body[:, 1] = np.linspace(0, 400, 33)  # 100 x 400 pixels, head at the top
    legs = body.copy()
    legs[:, 1] = np.linspace(200, 400, 33)  # a small "person" on the lower half, head at the hips
    beside = body.copy()
    beside[:, 0] += 90  # someone standing close by: boxes overlap by a tenth
    assert detectors._one_body(body, legs) and not detectors._one_body(body, beside)


@pytest.fixture(scope="module")
def three_people() -> list[np.ndarray]:
    """The first six 1280x720 frames of a 5-second clip of three copies of the bundled photo side by
    side, drifting."""
    from posemoe.apps.bench import crowd
    from posemoe.assets import astronaut
    from posemoe.io.video import moving_still

    return list(itertools.islice(moving_still(crowd(astronaut(), 3), 150, (1280, 720)), 6))


def test_two_threads_find_what_one_finds_in_the_same_order(three_people):
    with BlazePose(threads=1) as detector:
        one = [detector(frame) for frame in three_people]
    with BlazePose(threads=2) as detector:
        two = [detector(frame) for frame in three_people]
    assert [len(p) for p in one] == [3] * len(three_people)
    for a, b in zip(one, two):
        assert a.shape == b.shape and np.abs(a - b).max() < 1e-3


def test_at_most_max_people_are_followed(three_people):
    with BlazePose(max_people=2) as detector:
        assert [len(detector(frame)) for frame in three_people] == [2] * len(three_people)


def test_one_person_is_found_once_however_often_the_detector_looks(astronaut_clip):
    """The landmark model's guesses at a half-seen person differ from the detector's box; heads,
    not boxes, tell that they are one person, so nobody is counted twice."""
    with open_frames(astronaut_clip) as video, BlazePose(search_every=1) as detector:
        assert [len(detector(frame)) for frame in video] == [1] * 24


def test_newcomers_are_found_and_the_gone_let_go(astronaut_clip):
    with open_frames(astronaut_clip) as video:
        frames = [frame for _, frame in zip(range(8), video)]
    blank = np.full_like(frames[0], 90)
    clip = [blank] * 4 + frames + [blank] * (PATIENCE + 4)
    with BlazePose() as detector:
        counts = [len(detector(frame)) for frame in clip]
    arrived = counts.index(1)
    assert 4 <= arrived < 4 + SEARCH_EVERY and counts[arrived:12] == [1] * (12 - arrived)
    assert counts[:4] == [0] * 4 and counts[12:] == [0] * (PATIENCE + 4)
    assert detector._people == []  # let go after PATIENCE doubtful frames


def test_a_newcomer_is_followed_back_into_the_frames_before_the_look(astronaut_clip):
    """The person walks in at frame 2; the detector looks at frames 0 and 4 (SEARCH_EVERY) and
    finds them at 4; following them back gives frames 2 and 3, and stops at the blank frame 1."""
    with open_frames(astronaut_clip) as video:
        frames = [frame for _, frame in zip(range(8), video)]
    blank = np.full_like(frames[0], 90)
    with BlazePose() as detector:
        counts, late = [], []
        for frame in [blank] * 2 + frames:
            counts.append(len(detector(frame)))
            late += [(len(counts) - 1 - ago, points.shape) for ago, points in detector.late]
    assert SEARCH_EVERY == 4 and counts == [0] * 4 + [1] * 6
    assert late == [(3, (33, 3)), (2, (33, 3))]
    with BlazePose(follow_back=False) as detector:  # a live stream: those frames are gone
        for frame in [blank] * 2 + frames:
            detector(frame)
            assert detector.late == []


def test_detect_video_puts_people_found_late_into_their_frames(astronaut_clip, tmp_path):
    from posemoe.inference.pipeline import detect_video
    from posemoe.io.video import write_video

    with open_frames(astronaut_clip) as video:
        frames = [frame for _, frame in zip(range(8), video)]
    clip = write_video(tmp_path / "late.mp4", [np.full_like(frames[0], 90)] * 2 + frames, 30)
    people, _ = detect_video(clip, quiet=True)
    assert [len(p) for p in people.people] == [0, 0] + [1] * 8


def test_the_detector_looks_every_search_every_frames_and_threads_fit_the_cores(
    astronaut_clip, monkeypatch
):
    with open_frames(astronaut_clip) as video:
        frames = [frame for _, frame in zip(range(7), video)]
    for every, expected in ((1, list(range(7))), (3, [0, 3, 6])):
        with BlazePose(search_every=every, max_people=2) as detector:
            looked, frame = [], [0]
            look = detector._look
            monkeypatch.setattr(detector, "_look", lambda *a: looked.append(frame[0]) or look(*a))
            for frame[0], image in enumerate(frames):
                detector(image)
        assert looked == expected
    monkeypatch.setattr(detectors, "usable_cores", lambda: 1)
    with BlazePose(threads=2) as detector:  # one core: XNNPACK on two threads would crawl
        assert detector._pool is None and len(detector._follow) == 1


def test_of_two_followers_on_one_person_the_surer_is_kept(astronaut_clip, monkeypatch):
    with open_frames(astronaut_clip) as video, BlazePose() as detector:
        frame = next(iter(video))
        person = detector(frame)[0]
        doubted = detectors._Followed(detector._people[0].roi, person + 3, misses=1)
        sure = detectors._Followed(detector._people[0].roi, person, misses=0)
        monkeypatch.setattr(detector, "_follow_and_look", lambda *a: ([doubted, sure], []))
        found = detector(frame)
    assert len(found) == 1 and np.abs(found[0] - person).max() < 1e-4
