import numpy as np
import pytest

from posemoe.inference import tracking
from posemoe.inference.tracking import (
    fill_gaps,
    join_fragments,
    main_track,
    select_tracks,
    track_people,
)
from posemoe.io.keypoints import KeypointFrames
from posemoe.layouts import COCO17, H36M17


def test_tracking_picks_the_big_persistent_person_and_gaps_are_filled():
    rng = np.random.default_rng(2)
    big = np.concatenate([rng.uniform(100, 400, (17, 2)), np.ones((17, 1))], -1)
    small = np.concatenate([rng.uniform(500, 560, (17, 2)), np.ones((17, 1))], -1)
    people = []
    for t in range(10):
        here = [big + [3 * t, 0, 0]] if t != 4 else []  # the main person is missed in frame 4
        here += [small + [0, 2 * t, 0]]
        people.append(np.stack(here[::-1]))
    chosen, report = main_track(KeypointFrames(people, COCO17))
    assert np.isnan(chosen[4]).all() and np.allclose(chosen[5], big + [15, 0, 0])
    assert "2 track(s)" in report[0]
    other, _ = main_track(KeypointFrames(people, COCO17), track=1)
    assert np.allclose(other[4], small + [0, 8, 0])
    with pytest.raises(ValueError, match="there are 2 tracks, ids 0-1"):
        main_track(KeypointFrames(people, COCO17), track=5)

    chosen[7, 3, 2] = 0.05  # one low-confidence joint
    filled, report = fill_gaps(chosen)
    np.testing.assert_allclose(
        filled[4, :, :2], (big + [12, 0, 0])[:, :2]
    )  # halfway between frames 3 and 5
    np.testing.assert_allclose(filled[7, 3, :2], (big[3, :2] + [21, 0]))
    assert "filled 18 of 170" in report[0]
    with pytest.raises(ValueError, match="no joint"):
        fill_gaps(np.full((3, 17, 3), np.nan))


def _walker(frames=30):
    rng = np.random.default_rng(4)
    body = np.concatenate([rng.uniform(200, 400, (17, 2)), np.full((17, 1), 0.9)], -1)
    return [body + [2 * t, 0, 0] for t in range(frames)]


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan, 1e30, -2e5])
def test_a_wild_coordinate_is_a_missing_joint_and_reported(value):
    walker = _walker()
    people = [p[None].copy() for p in walker]
    people[6][0, 4, 0] = value
    chosen, report = main_track(KeypointFrames(people, COCO17, "dets.json"))
    assert np.isnan(chosen[6, 4]).all() and np.allclose(chosen[7], walker[7])
    if not np.isnan(value):
        assert any(
            "1 joint position(s) in 1 frame(s) were not finite or beyond" in line for line in report
        ), report
    filled, _ = fill_gaps(chosen)
    assert np.isfinite(filled).all()
    np.testing.assert_allclose(
        filled[6, 4, :2], walker[6][4, :2], atol=1e-6
    )  # interpolated between its neighbours


def test_one_wild_value_cannot_pick_the_track():
    walker = _walker()
    people = []
    for t, body in enumerate(walker):
        ghost = np.full((17, 3), [5.0, 5.0, 1.0])
        ghost[0] = [
            1e30 if t == 3 else 9e4,
            1e30 if t == 3 else 9e4,
            1.0,
        ]  # a bystander with one absurd joint
        people.append(np.stack([ghost, body]))
    chosen, _ = main_track(KeypointFrames(people, COCO17))
    np.testing.assert_allclose(chosen[:, :, :2], np.stack(walker)[:, :, :2])


def test_confidences_outside_0_1_are_clipped_and_reported():
    people = [p[None].copy() for p in _walker()]
    people[2][0, 1, 2], people[3][0, 1, 2] = 7.0, -1.0
    chosen, report = main_track(KeypointFrames(people, COCO17))
    assert chosen[2, 1, 2] == 1.0 and chosen[3, 1, 2] == 0.0
    assert any("2 confidence value(s) outside [0, 1] were clipped" in line for line in report)


def test_errors_name_the_file_and_a_joint_never_confident_has_no_nan():
    with pytest.raises(ValueError, match="dets.json: no person found in any of its 2 frames"):
        main_track(
            KeypointFrames([np.full((1, 17, 3), np.inf), np.zeros((0, 17, 3))], COCO17, "dets.json")
        )
    track = np.stack(_walker(5))
    track[:, 3, 2] = 0.0  # never confident
    track[:, 3, :2] = np.nan  # and never guessed
    track[2, :, 2] = 0.0  # a frame with no good joint at all
    filled, _ = fill_gaps(track)
    assert np.isfinite(filled).all()


def _crossing(seed: int, frames: int = 80) -> tuple[list[np.ndarray], list[list[int]]]:
    """Two people walking towards each other and crossing (one in front of the other), a third
    standing; detections come shuffled, with jitter, and the one behind is missed for 6 frames
    while hidden. -> per-frame detections and, for each, the true person of every row."""
    rng = np.random.default_rng(seed)
    shape = np.concatenate([rng.uniform(-40, 40, (17, 2)) * [1, 3], np.ones((17, 1))], -1)
    starts, speeds = (
        np.array([[100.0, 300.0], [700.0, 310.0], [400.0, 120.0]]),
        np.array([[7.0, 0.3], [-7.0, -0.2], [0, 0]]),
    )
    people, truth = [], []
    for t in range(frames):
        rows, ids = [], []
        for k in range(3):
            if k == 1 and 40 <= t < 46:  # hidden behind person 0 while they cross
                continue
            body = shape * (1.0 if k != 2 else 0.7)
            rows.append(
                body
                + [*(starts[k] + speeds[k] * t), 0]
                + np.r_[rng.normal(0, 3, (17, 2)).T, [np.zeros(17)]].T
            )
            ids.append(k)
        order = rng.permutation(len(rows))
        people.append(np.stack(rows)[order])
        truth.append([ids[i] for i in order])
    return people, truth


@pytest.mark.parametrize("seed", range(5))
def test_crossing_people_keep_their_ids(seed):
    from posemoe.inference.tracking import drop_invalid, track_people

    people, truth = _crossing(seed)
    tracks = track_people(drop_invalid(KeypointFrames(people, COCO17))[0])
    switches, owners = 0, []
    for track in tracks:  # which true person each track holds, frame by frame
        holder = []
        for t, rows in enumerate(people):
            if np.isnan(track[t]).all():
                continue
            row = int(np.argmin([np.nanmean(np.abs(track[t] - r)) for r in rows]))
            holder.append(truth[t][row])
        switches += sum(a != b for a, b in zip(holder, holder[1:]))
        owners.append(holder[0])
    assert switches == 0 and sorted(owners) == [0, 1, 2], (switches, owners, len(tracks))


def test_every_person_seen_long_enough_is_chosen_and_max_people_caps():
    from posemoe.inference.tracking import select_tracks

    people, _ = _crossing(0)
    blip = people[0][:1] + [0, 900, 0]  # someone seen in 3 frames only
    people = [np.concatenate([p, blip]) if t < 3 else p for t, p in enumerate(people)]
    chosen, report = select_tracks(KeypointFrames(people, COCO17))
    assert [k for k, _ in chosen] == [0, 1, 2] and "4 track(s)" in report[0], report
    assert len(select_tracks(KeypointFrames(people, COCO17), max_people=2)[0]) == 2
    only, _ = select_tracks(KeypointFrames(people, COCO17), track=3)
    assert only[0][0] == 3 and (~np.isnan(only[0][1][:, 0, 0])).sum() == 3


def _projected_walk(frames: int, seed: int, speed_px: float = 14.0) -> np.ndarray:
    """(T, 17, 3) H36M-17 pixels + confidence of a procedural walk seen from the front by a
    portrait camera (about 800 px tall), carried across the frame at ``speed_px`` a frame."""
    from posemoe.datasets.synthetic import synthesize_motion
    from posemoe.layouts import H36M32, convert

    world = convert(
        synthesize_motion(frames, np.random.default_rng(seed), "Walking"), H36M32, H36M17
    )
    body = world - world[:, :1]  # root-relative, z up; seen from the front along -y
    pixels = np.stack([540 + 450 * body[..., 0], 1000 - 450 * body[..., 2]], -1)
    pixels[..., 0] += speed_px * np.arange(frames)[:, None] - speed_px * frames / 2
    return np.concatenate([pixels, np.full(pixels.shape[:2] + (1,), 0.9)], -1)


def test_a_left_right_flip_back_and_forth_does_not_split_the_track():
    """The issue's portrait clip: labels flip every other frame over frames 63-70 of a person
    walking across the frame, the legs' confidence low while it is unsure (so the box of the
    confident joints is the upper body's); one track, the detections kept as the detector gave
    them. (The tracker before this flip-proof scoring made 4 tracks of it.)"""
    walk = _projected_walk(100, seed=1)
    detections = walk.copy()
    flip = H36M17.flip_permutation()
    for t in range(63, 71, 2):
        detections[t] = walk[t, flip]
    legs = [H36M17.index(side + joint) for side in "LR" for joint in ("Hip", "Knee", "Foot")]
    detections[63:71, legs, 2] = 0.05
    tracks = track_people(KeypointFrames([d[None] for d in detections], H36M17))
    assert len(tracks) == 1
    np.testing.assert_array_equal(tracks[0], detections)


def test_crossing_people_keep_their_ids_through_a_flip():
    """Two walkers crossing, one of them flipped in the frames where they meet."""
    a, b = _projected_walk(60, seed=2, speed_px=12.0), _projected_walk(60, seed=3, speed_px=-12.0)
    b[:, :, 1] -= 60  # a little further away: not the same height in the image
    flip = H36M17.flip_permutation()
    people = [np.stack([a[t, flip] if 25 <= t < 35 else a[t], b[t]]) for t in range(60)]
    tracks = track_people(KeypointFrames(people, H36M17))
    assert len(tracks) == 2
    np.testing.assert_allclose(tracks[1][:, 0, :2], b[:, 0, :2])


def test_fragments_of_one_person_are_joined_and_reported_strangers_are_not():
    """A walker missed for 40 frames (beyond the tracker's 30) comes back 3 body sizes further on
    at the walk's pace: two tracks, joined into one. A stranger (another size) arriving where the
    first person left (within the joining's reach, beyond the tracker's) is not joined to them."""
    walk = _projected_walk(160, seed=4, speed_px=6.0)
    people = [walk[t][None] if not 60 <= t < 100 else np.zeros((0, 17, 3)) for t in range(160)]
    frames = KeypointFrames(people, H36M17)
    assert len(track_people(frames)) == 2
    chosen, report = select_tracks(frames)
    assert len(chosen) == 1 and np.isnan(chosen[0][1][60:100]).all()
    np.testing.assert_array_equal(chosen[0][1][100:], walk[100:])
    assert "joined 2 track fragments into one person (frames 0-59 + 100-159)" in report

    stranger = _projected_walk(160, seed=5, speed_px=6.0)
    centre = stranger[..., :2].mean(1, keepdims=True)
    stranger[..., :2] = centre + 0.6 * (stranger[..., :2] - centre) + [450.0, 0.0]
    people = [
        walk[t][None] if t < 60 else (stranger[t][None] if t >= 64 else np.zeros((0, 17, 3)))
        for t in range(160)
    ]
    tracks, joined = join_fragments(track_people(KeypointFrames(people, H36M17)), H36M17)
    assert len(tracks) == 2 and joined == []


def test_fragments_that_overlap_in_time_are_two_people():
    a, b = _projected_walk(80, seed=6), _projected_walk(80, seed=7)
    b[..., 0] += 500
    people = [np.stack([a[t]] + ([b[t]] if t >= 40 else [])) for t in range(80)]
    tracks, joined = join_fragments(track_people(KeypointFrames(people[:60], H36M17)), H36M17)
    assert len(tracks) == 2 and joined == []


def _crowd(count: int, seed: int = 0) -> list[np.ndarray]:
    """``count`` people 40 px tall on a jittered 60 px lattice (as dense for any count), each also
    detected a second time 2 px away: the duplicates to remove. Alternating, so order does not help."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(count)))
    body = np.concatenate([rng.uniform(0, 40, (17, 2)), np.full((17, 1), 0.9)], -1)
    people = []
    for k in range(count):
        at = np.array([60 * (k % side), 60 * (k // side)]) + rng.uniform(-10, 10, 2)
        person = body + [*at, 0]
        people += [person, person + [2, 0, -0.1]]
    return people


def test_duplicate_removal_compares_in_linear_time(monkeypatch):
    """The number of person-to-person comparisons grows with the people in the frame, not with
    their square: 10 times the crowd, about 10 times the comparisons (all pairs: 100 times)."""
    calls = []
    compare = tracking._mean_distance
    monkeypatch.setattr(tracking, "_mean_distance", lambda a, b: calls.append(1) or compare(a, b))
    counts = {}
    for n in (1000, 10000):
        calls.clear()
        people = _crowd(n)
        kept = tracking._without_duplicates(people)
        assert len(kept) == n and all(
            p[0, 2] == 0.9 for p in kept
        )  # one of each, the more confident
        counts[n] = len(calls)
    assert counts[1000] >= 1000  # each duplicate was found by a comparison
    assert counts[10000] / counts[1000] < 12, counts
    assert counts[10000] < 4 * 2 * 10000, counts


def test_fragments_that_saw_different_bones_are_still_joined():
    """The second fragment's legs are hidden: the fragments' sizes compare over the bones both saw."""
    walk = _projected_walk(160, seed=4, speed_px=6.0)
    legs = [H36M17.index(side + joint) for side in "LR" for joint in ("Hip", "Knee", "Foot")]
    later = walk.copy()
    later[:, legs] = np.nan
    people = [
        walk[t][None] if t < 60 else later[t][None] if t >= 100 else np.zeros((0, 17, 3))
        for t in range(160)
    ]
    chosen, report = select_tracks(KeypointFrames(people, H36M17))
    assert len(chosen) == 1 and any("joined 2 track fragments" in line for line in report)
