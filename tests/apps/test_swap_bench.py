"""The left/right clean-up benchmark's parts, on procedural motion (no mocap files needed)."""

import numpy as np
import pytest

from posemoe.apps.swap_bench import (
    SWAPPED_SHARE,
    Tally,
    add_glitches,
    detections,
    find_clips,
    inject_swaps,
    motion_type,
    score_clip,
)
from posemoe.errors import UserError
from posemoe.inference.cleanup import fix_left_right_swaps
from posemoe.layouts import H36M17, H36M32, convert


def _world(frames: int = 300, seed: int = 0) -> np.ndarray:
    from posemoe.datasets.synthetic import synthesize_motion

    return convert(
        synthesize_motion(frames, np.random.default_rng(seed), "Walking"), H36M32, H36M17
    )


def test_motion_types_come_from_file_names(tmp_path):
    for name in (
        "dataset-1_dance-short_normal_001",
        "dataset-1_kick_normal_001",
        "dataset-1_walk-left_sad_002",
        "dataset-1_walk_happy_001",
        "dataset-1_unknown_x_001",
    ):
        (tmp_path / f"{name}.bvh").write_text("")
    assert motion_type(tmp_path / "dataset-1_walk-left_sad_002.bvh") == "turns"
    assert motion_type(tmp_path / "dataset-1_unknown_x_001.bvh") is None
    assert {k: [p.name for p in v] for k, v in find_clips(tmp_path, 2).items()} == {
        "dance": ["dataset-1_dance-short_normal_001.bvh"],
        "fight": ["dataset-1_kick_normal_001.bvh"],
        "turns": ["dataset-1_walk-left_sad_002.bvh"],
        "walk": ["dataset-1_walk_happy_001.bvh"],
    }
    with pytest.raises(UserError, match="expected BVH files"):
        find_clips(tmp_path / "nothing", 2)


def test_detections_are_noisy_pixels_with_confidence_and_swaps_are_runs():
    rng = np.random.default_rng(1)
    track = detections(_world(), rng)
    assert track.shape == (300, 17, 3) and np.isnan(track).any() and np.nanmax(track[..., 2]) <= 1.0
    swapped, mask = inject_swaps(track, rng)
    assert 0.3 * SWAPPED_SHARE < mask.mean() < 2 * SWAPPED_SHARE
    changed = ~np.all((swapped == track) | np.isnan(track), axis=(1, 2))
    assert not changed[~mask].any() and changed[mask].mean() > 0.9


def test_scores_count_restored_and_harmed_frames():
    world = _world(400, seed=2)
    untouched = score_clip(world, lambda track: track, np.random.default_rng(3))
    assert untouched.swapped > 0 and untouched.restored == 0 and untouched.changed == 0
    harmful = score_clip(
        world, lambda track: track[:, H36M17.flip_permutation()], np.random.default_rng(3)
    )
    assert harmful.changed > 0.9 * harmful.correct
    fixed = score_clip(
        world, lambda track: fix_left_right_swaps(track)[0], np.random.default_rng(3)
    )
    assert fixed.restored >= 0.95 * fixed.swapped and fixed.changed <= 0.005 * fixed.correct
    assert fixed.seconds > 0.0 and untouched.seconds >= 0.0  # the fixer is timed for the table
    total = Tally()
    total.add(fixed)
    assert total.row("walk").startswith(f"| walk | 0 | {fixed.frames} | {fixed.swapped} |")


@pytest.mark.filterwarnings("ignore:All-NaN slice")
def test_glitches_squeeze_whole_frames_and_are_not_scored(monkeypatch):
    rng = np.random.default_rng(4)
    truth = detections(_world(), rng)
    track, swapped = inject_swaps(truth, rng)
    monkeypatch.setattr("posemoe.apps.swap_bench.GLITCH_SHARE", 0.05)
    track, glitched = add_glitches(track, truth, swapped, np.random.default_rng(5))
    assert glitched.sum() > 5
    width = np.nanmax(track[..., 0], 1) - np.nanmin(track[..., 0], 1)
    truth_width = np.nanmax(truth[..., 0], 1) - np.nanmin(truth[..., 0], 1)
    seen = glitched & np.isfinite(truth_width)
    assert (width[seen] < 0.65 * truth_width[seen]).all()
    # Leaving every label as it is changes no correct frame: the glitched ones are not scored.
    tally = score_clip(_world(), lambda t: t, np.random.default_rng(6))
    assert tally.changed == 0 and tally.frames < 290
