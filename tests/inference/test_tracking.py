import numpy as np
import pytest

from posemoe.inference.tracking import fill_gaps, main_track
from posemoe.io.keypoints import KeypointFrames
from posemoe.layouts import COCO17


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
    with pytest.raises(ValueError, match="there are 2 tracks"):
        main_track(KeypointFrames(people, COCO17), track=5)

    chosen[7, 3, 2] = 0.05  # one low-confidence joint
    filled, report = fill_gaps(chosen)
    np.testing.assert_allclose(filled[4, :, :2], (big + [12, 0, 0])[:, :2])  # halfway between frames 3 and 5
    np.testing.assert_allclose(filled[7, 3, :2], (big[3, :2] + [21, 0]))
    assert "filled 18 of 170" in report[0]
    with pytest.raises(ValueError, match="no joint"):
        fill_gaps(np.full((3, 17, 3), np.nan))
