"""The person search's second scale: tile geometry, finds mapped from a tile to the frame, merging,
and people small in a wide frame found and followed (composites of the bundled walking clip)."""

import itertools

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
cv2 = pytest.importorskip("cv2")

from posemoe.inference.blazepose import PersonDetector, Roi  # noqa: E402
from posemoe.inference.detectors import BlazePose  # noqa: E402
from posemoe.inference.tiles import (  # noqa: E402
    FINE_OVERLAP,
    FINE_PER_LOOK,
    FINE_SLOW_PER_LOOK,
    MOTION_EVERY,
    SLOW_SWEEP,
    TILE_OVERLAP,
    FineSchedule,
    fine_per_look,
    fine_tiles,
    merge_finds,
    search_tiles,
    small_finds,
    square_tiles,
    sweep_every,
    tile_region,
)
from posemoe.io.video import open_frames  # noqa: E402


def covered(tiles, width, height):
    mask = np.zeros((height, width), bool)
    for x, y, side in tiles:
        mask[y : y + side, x : x + side] = True
    return mask.all()


@pytest.mark.parametrize(
    "width, height, side",
    [(1680, 720, 720), (1080, 1920, 1080), (1684, 720, 360), (3000, 400, 400)],
)
def test_tiles_cover_the_frame_evenly_and_overlap_by_at_least_the_set_fraction(width, height, side):
    tiles = square_tiles(width, height, side)
    assert covered(tiles, width, height)
    assert all(0 <= x <= width - side and 0 <= y <= height - side for x, y, _ in tiles)
    for axis, length in ((0, width), (1, height)):
        starts = sorted({t[axis] for t in tiles})
        assert starts[0] == 0 and starts[-1] == max(length - side, 0)
        steps = np.diff(starts)
        assert (steps <= side * (1 - TILE_OVERLAP) + 1).all() and (
            len(steps) == 0 or np.ptp(steps) <= 1
        )
        if len(starts) > 2:  # no more tiles than the overlap asks for
            assert (length - side) / (len(starts) - 2) > side * (1 - TILE_OVERLAP)


def test_the_tiles_of_wide_frames():
    assert square_tiles(1680, 720, 720) == [(0, 0, 720), (480, 0, 720), (960, 0, 720)]
    assert square_tiles(1080, 1920, 1080) == [(0, 0, 1080), (0, 840, 1080)]
    assert square_tiles(500, 300, 720) == [(0, 0, 720)]  # smaller than a tile: one, padded
    with pytest.raises(ValueError, match="expected side >= 1 and overlap"):
        square_tiles(100, 100, 0)


def test_the_search_tiles_wide_and_tall_frames_and_not_square_ones():
    assert search_tiles(1680, 720) == square_tiles(1680, 720, 720)
    assert search_tiles(1080, 1920) == square_tiles(1080, 1920, 1080)
    assert search_tiles(1280, 720) == [(0, 0, 720), (560, 0, 720)]  # overlap 160 (22 %)
    assert search_tiles(640, 480) == [] and search_tiles(720, 720) == []
    assert sweep_every(1680, 720) == sweep_every(720, 1684) == 1  # swept at every look
    assert sweep_every(1280, 720) == sweep_every(1080, 1920) == SLOW_SWEEP
    assert sweep_every(640, 480) is None


@pytest.mark.parametrize("width, every", [(1680, 1), (1280, SLOW_SWEEP), (900, None)])
def test_the_tiles_are_swept_at_their_cadence_and_in_every_image(width, every, monkeypatch):
    frame = np.full((720, width, 3), 90, np.uint8)
    for video in (True, False):
        with BlazePose(search_every=1, video=video) as detector:
            swept = []
            look_tiles = detector.backend.look_tiles
            monkeypatch.setattr(
                detector.backend, "look_tiles", lambda image: swept.append(1) or look_tiles(image)
            )
            looks = [len(swept) for _ in range(20) if detector(frame) is not None]
        if every is None:
            assert looks[-1] == 0
        elif not video:  # images: each looked at afresh, tiles included
            assert looks == list(range(1, 21))
        else:  # a sweep on the first look, then every ``every`` looks
            assert looks == [1 + k // every for k in range(20)]


def test_a_find_in_a_tile_is_where_the_same_find_in_the_tile_cut_out_is():
    """The detector on a tile of the frame, mapped to the frame, equals the detector on the tile
    cut out as an image of its own, shifted by the tile's corner."""
    from posemoe.assets import astronaut

    frame = np.full((600, 1400, 3), 90, np.uint8)
    frame[60:572, 800:1312] = astronaut()
    tile = (700, 0, 600)
    detector = PersonDetector()
    (alone, _), *_ = detector(frame[:, 700:1300].copy())
    (found, roi), *_ = detector(frame, tile_region(tile, 1400, 600))
    pixels = np.array([1400, 600])
    np.testing.assert_allclose(
        found.keypoints * pixels, alone.keypoints * 600 + [700, 0], atol=0.05
    )
    np.testing.assert_allclose(found.box[:2] * pixels, alone.box[:2] * 600 + [700, 0], atol=0.05)
    np.testing.assert_allclose(found.box[2:] * pixels, alone.box[2:] * 600, atol=0.05)
    assert 800 < roi.x * 1400 < 1312 and roi.width * 1400 > 200


def find(score: float, x: float, y: float, side: float) -> tuple[float, np.ndarray, Roi]:
    """A find whose body region is a ``side`` square centred on ``x``, ``y`` (normalized)."""
    box = np.array([x - 0.01, y - 0.02, 0.02, 0.04], np.float32)  # the detector's box: no help
    return score, box, Roi(x, y, side, side)


def test_merged_finds_keep_the_whole_frames_and_each_other_person_once():
    whole = [find(0.6, 0.1, 0.3, 0.4)]
    tiled = [
        find(0.9, 0.12, 0.3, 0.36),  # the whole frame's person, seen again: dropped
        find(0.7, 0.5, 0.5, 0.2),  # someone else, seen in two tiles ...
        find(0.8, 0.51, 0.5, 0.21),  # ... the surer kept
        find(0.6, 0.3, 0.3, 0.2),  # someone beside the first, overlapping their region a little
        find(0.9, 0.1, 0.3, 0.9),  # the first again, seen larger (cut by the frame's edge)
    ]
    merged = merge_finds(whole, tiled)
    assert [score for score, _, _ in merged] == pytest.approx([0.6, 0.8, 0.6])
    assert merged[2][2].x == 0.3
    assert merge_finds([], []) == [] and len(merge_finds([], tiled[1:2])) == 1


def walking_frames(count: int) -> list[np.ndarray]:
    from posemoe.assets import walking_clip

    with open_frames(walking_clip()) as video:  # 854x480, the walker about 270 pixels tall
        return [frame for frame in itertools.islice(video, count)]


def composite(frames: list[np.ndarray], scale: float, lefts: tuple[int, ...]) -> list[np.ndarray]:
    """1680x720 frames: the walking clip below the legs of the man standing at its top, scaled by
    ``scale``, once at each of ``lefts`` (pixels; every other copy mirrored and played backwards),
    at the bottom of a grey canvas."""
    out = []
    for k, _ in enumerate(frames):
        canvas = np.full((720, 1680, 3), 90, np.uint8)
        for n, left in enumerate(lefts):
            part = frames[-1 - k if n % 2 else k][100:, :: -1 if n % 2 else 1]
            part = cv2.resize(part, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            part = part[-720:, : 1680 - left]
            canvas[720 - part.shape[0] :, left : left + part.shape[1]] = part
        out.append(canvas)
    return out


@pytest.fixture(scope="module")
def small_walkers() -> list[np.ndarray]:
    return composite(walking_frames(24), 1.0, (0, 840))


def per_side(people: np.ndarray) -> list[int]:
    return [
        int(sum(p[:, 0].mean() < 840 for p in people)),
        int(sum(p[:, 0].mean() >= 840 for p in people)),
    ]


def test_two_small_walkers_side_by_side_are_found_and_followed(small_walkers):
    """The issue's case: two clips side by side in 1680x720, each walker about 270 pixels tall. The
    whole frame alone finds neither; with its tiles both are found on the first frame and
    followed."""
    with BlazePose() as detector:
        detector.backend.second_scale = False
        assert [len(detector(frame)) for frame in small_walkers[:8]] == [0] * 8
    with BlazePose() as detector:
        counts = [per_side(detector(frame)) for frame in small_walkers]
        people = detector(small_walkers[0])
    assert counts == [[1, 1]] * len(small_walkers)
    heights = [np.ptp(p[:, 1]) for p in people]
    assert all(230 < h < 320 for h in heights), heights  # whole bodies, not parts


def test_the_small_walkers_are_followed_between_looks(small_walkers, monkeypatch):
    """Found once, they are followed by the landmark model: with a single look on the first frame,
    every later frame still has both."""
    with BlazePose(search_every=1000) as detector:
        counts = [per_side(detector(frame)) for frame in small_walkers]
    assert counts == [[1, 1]] * len(small_walkers)


def test_a_large_person_is_found_once_in_the_whole_frame_and_its_tiles():
    """A walker about 460 pixels tall in the middle of a 1680x720 frame, found by the whole frame
    and by a tile: one find after the merge, and one person in every frame though the detector looks
    on every frame."""
    frames = composite(walking_frames(12), 1.7, (40,))
    with BlazePose(search_every=1) as detector:
        whole = detector.backend.look(frames[0])
        tiled = detector.backend.look_tiles(frames[0])
        assert len(whole) == 1 and len(tiled) >= 1
        assert len(merge_finds(whole, tiled)) == 1
        assert [len(detector(frame)) for frame in frames] == [1] * len(frames)
    found = []
    for second_scale in (True, False):
        with BlazePose(video=False) as detector:
            detector.backend.second_scale = second_scale
            found.append(detector(frames[0]))
    np.testing.assert_array_equal(*found)  # the tiles change nothing here


def test_the_fine_tiles_of_wide_and_tall_frames():
    tiles = fine_tiles(1680, 720)  # squares of 288 pixels, 8 x 3
    assert {side for _, _, side in tiles} == {288} and len(tiles) == 24
    assert covered(tiles, 1680, 720)
    assert sorted({y for _, y, _ in tiles}) == [0, 216, 432]  # overlap 72 = FINE_OVERLAP
    assert 72 == round(FINE_OVERLAP * 288)
    assert len(fine_tiles(1280, 720)) == 18 and len(fine_tiles(1080, 1920)) == 18
    # 4:3 and square frames too (no first level there) from 720 px on, smaller ones not
    assert len(fine_tiles(960, 720)) == 15 and len(fine_tiles(854, 480)) == 18
    assert fine_tiles(640, 480) == []
    assert fine_per_look(1680, 720) == FINE_PER_LOOK
    assert fine_per_look(1280, 720) == FINE_SLOW_PER_LOOK == fine_per_look(900, 720)
    assert fine_per_look(640, 480) == 0


def test_the_fine_schedule_sweeps_first_then_goes_round_skipping_tiles_where_people_are():
    schedule = FineSchedule()
    tiles = fine_tiles(1680, 720)
    assert schedule.take(1680, 720, []) == tiles  # the first look: every tile
    taken = [schedule.take(1680, 720, []) for _ in range(8)]
    assert [len(t) for t in taken] == [3] * 8 and sum(taken, []) == tiles  # one sweep, in order
    assert schedule.take(1680, 720, []) == tiles[:3]  # and round again
    big = np.array([0.0, 0.0, 1680.0, 400.0])  # someone covering the top rows: those skipped
    later = sum((schedule.take(1680, 720, [big]) for _ in range(6)), [])
    bottom = [t for t in tiles if t[1] == 432]
    assert later == bottom * 2 + bottom[:2]
    small = np.array([100.0, 600.0, 130.0, 690.0])  # a small person covers little: not skipped
    assert len(schedule.take(1680, 720, [small])) == 3
    everything = np.array([0.0, 0.0, 1680.0, 720.0])
    assert schedule.take(1680, 720, [everything]) == []  # nothing to look at: at most one cycle
    assert FineSchedule().take(640, 480, []) == []
    slow = FineSchedule()  # 16:9: after the first sweep, one tile every 16 looks
    assert len(slow.take(1280, 720, [])) == 18
    counts = [len(slow.take(1280, 720, [])) for _ in range(48)]
    assert counts == ([0] * 15 + [1]) * 3


def test_a_fine_tiles_find_larger_than_the_fine_level_is_dropped():
    """A body region over 0.75 of a 288-pixel tile (216 pixels) in 1680x720: part of someone
    larger, or a face seen as a body; the whole frame and the first level find those."""
    small, large = find(0.9, 0.5, 0.5, 200 / 720), find(0.9, 0.2, 0.5, 230 / 720)
    small = (small[0], small[1], Roi(0.5, 0.5, 200 / 1680, 200 / 720))
    large = (large[0], large[1], Roi(0.2, 0.5, 230 / 1680, 230 / 720))
    assert small_finds([small, large], 288, 1680, 720) == [small]


def test_the_fine_tiles_where_someone_was_lost_come_first():
    schedule = FineSchedule()
    tiles = fine_tiles(1680, 720)
    schedule.take(1680, 720, [])
    schedule.lost(1680, 720, [(1500.0, 600.0), (1490.0, 610.0), (150.0, 150.0)])
    # one tile each place, beside the round's three (tiles[0] not twice)
    assert schedule.take(1680, 720, []) == [tiles[-1], tiles[0]] + tiles[1:4]
    assert schedule.take(1680, 720, []) == tiles[4:7]  # then round as before
    slow = FineSchedule()
    slow.take(1280, 720, [])
    slow.lost(1280, 720, [(640.0, 360.0)])  # in a 16:9 frame too, beside its slow round
    assert [len(slow.take(1280, 720, [])) for _ in range(16)] == [1] + [0] * 14 + [1]
    assert FineSchedule().lost(1680, 720, [(1.0, 1.0)]) is None  # before any look: nothing


@pytest.mark.parametrize("width, every", [(1680, 2), (1280, 1), (900, 2)])
def test_the_fine_tiles_visited_by_a_running_detector(width, every, monkeypatch):
    """Counted on the detector at work: the first look visits every fine tile, each later one the
    next, round-robin, at the frame's rate; an image (``video=False``) all of them."""
    frame = np.full((720, width, 3), 90, np.uint8)
    tiles = fine_tiles(width, 720)
    for video in (True, False):
        with BlazePose(search_every=every, video=video) as detector:
            visited = []
            look_regions = detector.backend.look_regions

            def counted(image, regions, look_regions=look_regions):
                if regions and regions[0][2] < 720:  # the fine level's, not the first's
                    visited.append(list(regions))
                return look_regions(image, regions)

            monkeypatch.setattr(detector.backend, "look_regions", counted)
            for _ in range(32):
                detector(frame)
        if not video:
            assert visited == ([tiles] * 32 if tiles else [])
        elif width == 1680:  # 16 looks (every 2nd frame): all, then 3 tiles each, round
            rounds = [tiles[k : k + 3] for k in range(0, 24, 3)] * 2
            assert visited == [tiles] + rounds[:15]
        elif width == 1280:  # 32 looks: all, then one tile every 16 looks
            assert visited == [tiles, [tiles[0]]]
        else:  # 4:3-ish, 16 looks: all, then one tile every 16 looks
            assert tiles and visited == [tiles]


@pytest.fixture(scope="module")
def tiny_walkers() -> list[np.ndarray]:
    """Two walkers about 95 pixels tall (an eighth of the height) in 1680x720."""
    return composite(walking_frames(48), 0.35, (200, 1100))


def test_people_an_eighth_of_the_frame_high_are_found_and_followed(tiny_walkers):
    """The whole frame and the first level of tiles find neither walker; the fine tiles find both
    at the first look, and in every frame after they are followed; a newcomer is found within one
    round of the fine tiles (8 looks, 32 frames)."""
    with BlazePose() as detector:
        detector._fine.take = lambda width, height, busy, changed=None: []  # no fine level
        assert [per_side(detector(frame)) for frame in tiny_walkers[:24]] == [[0, 0]] * 24
    with BlazePose() as detector:
        counts = [per_side(detector(frame)) for frame in tiny_walkers]
        people = detector(tiny_walkers[-1])
    assert counts == [[1, 1]] * len(tiny_walkers)
    heights = [np.ptp(p[:, 1]) for p in people]
    assert all(80 < h < 115 for h in heights), heights  # whole bodies
    with BlazePose() as detector:  # the right one walks in after the first look
        blank = tiny_walkers[0].copy()
        blank[:, 840:] = 90
        detector(blank)
        counts = [per_side(detector(frame)) for frame in tiny_walkers[1:]]
    assert all(c[0] == 1 for c in counts), counts
    first = next(t for t, c in enumerate(counts) if c[1])
    assert first < 32 and all(c[1] == 1 for c in counts[first:]), counts
    with BlazePose(video=False) as detector:  # an image: every fine tile at once
        assert per_side(detector(tiny_walkers[0])) == [1, 1]


def test_a_person_an_eighth_of_a_4_3_frame_high_is_found_by_the_fine_tiles():
    """960x720 (no first level of tiles): the walker about 95 pixels tall; the whole frame alone
    does not find them, the fine tiles' first sweep does, and then they are followed."""
    frames = []
    for frame in walking_frames(12):
        canvas = np.full((720, 960, 3), 90, np.uint8)
        part = cv2.resize(frame[100:], None, fx=0.35, fy=0.35, interpolation=cv2.INTER_AREA)
        canvas[720 - part.shape[0] :, 400 : 400 + part.shape[1]] = part
        frames.append(canvas)
    with BlazePose() as detector:
        detector._fine.take = lambda width, height, busy, changed=None: []  # no fine level
        assert [len(detector(frame)) for frame in frames] == [0] * 12
    with BlazePose() as detector:
        assert [len(detector(frame)) for frame in frames] == [1] * 12


def test_a_small_newcomer_in_a_16_9_frame_is_looked_for_where_the_frame_changed():
    """1280x720, grey: after the first look's sweep, a walker an eighth of the height walks in at
    frame 24. The fine round reaches a tile of a 16:9 frame every 16 looks (the next one being the
    first tile, far from the walker); the tile where the frame changed since the last look is
    looked at within MOTION_EVERY looks, and found people are followed back."""
    frames = []
    for k, frame in enumerate(walking_frames(64)):
        canvas = np.full((720, 1280, 3), 90, np.uint8)
        if k >= 24:
            part = cv2.resize(frame[100:], None, fx=0.35, fy=0.35, interpolation=cv2.INTER_AREA)
            canvas[720 - part.shape[0] :, 900 : 900 + part.shape[1]] = part
        frames.append(canvas)
    counts = {}
    for motion in (False, True):
        with BlazePose() as detector:
            if not motion:
                take = detector._fine.take
                detector._fine.take = lambda width, height, busy, changed=None: take(
                    width, height, busy
                )
            found = []
            for frame in frames:
                found.append(len(detector(frame)))
                for ago, _ in detector.late:
                    found[-1 - ago] += 1
        counts[motion] = found
    assert counts[False][:24] == counts[True][:24] == [0] * 24
    assert sum(counts[False]) == 0  # the round does not reach the walker's tile in 64 frames
    first = counts[True].index(1)
    assert first <= 24 + 4 * MOTION_EVERY and counts[True][first:] == [1] * (64 - first)
