"""Undoing a detector's left/right swaps: projected procedural walks with injected swaps."""

from __future__ import annotations

import numpy as np
import pytest

from posemoe.errors import UserError
from posemoe.inference.cleanup import (
    _body_states,
    _gait_costs,
    _pair_indices,
    _part_costs,
    fix_left_right_swaps,
    limb_groups,
)
from posemoe.layouts import BLAZEPOSE33, COCO17, H36M17, H36M32, convert

# (azimuth from the person's facing, elevation), degrees; azimuth 90 = on the person's left.
VIEWS = {"front": (0.0, 5.0), "side": (90.0, 5.0), "back": (180.0, 5.0), "above": (40.0, 60.0)}
FOCAL, CENTRE = 1000.0, np.array([640.0, 360.0])
KINDS = {  # left joints whose pairs each kind of detector error swaps: whole chains, or their ends
    "whole body": ("LHip", "LKnee", "LFoot", "LShoulder", "LElbow", "LWrist"),
    "legs": ("LHip", "LKnee", "LFoot"),
    "feet": ("LFoot",),
    "arms": ("LShoulder", "LElbow", "LWrist"),
    "wrists": ("LWrist",),
}
TOLERANCE = 8.0  # pixels; left and right that coincide in the image need no label to be right


def walk(frames: int, seed: int, action: str = "Walking") -> np.ndarray:
    """(T, 17, 3) world metres, z up, 50 fps."""
    try:
        from posemoe.datasets.synthetic import synthesize_motion
    except ImportError:
        from posemoe.synthetic import synthesize_motion
    return convert(synthesize_motion(frames, np.random.default_rng(seed), action), H36M32, H36M17)


def project(
    world: np.ndarray, azimuth: float, elevation: float, distance: float = 5.0
) -> np.ndarray:
    """(T, 17, 3) world -> (T, 17, 2) pixels of a fixed pinhole camera aimed at the mean pelvis,
    placed by azimuth/elevation (degrees) around the person's mean facing."""
    left = (world[:, H36M17.index("LHip")] - world[:, H36M17.index("RHip")]).mean(0)
    yaw = np.arctan2(left[1], left[0]) - np.pi / 2  # facing = left turned 90 deg clockwise
    az, el = np.radians(azimuth) + yaw, np.radians(elevation)
    aim = world[:, 0].mean(0)
    eye = aim + distance * np.array([-np.sin(az) * np.cos(el), np.cos(az) * np.cos(el), np.sin(el)])
    forward = (aim - eye) / np.linalg.norm(aim - eye)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    rotation = np.stack([right, np.cross(forward, right), forward])
    cam = (world - eye) @ rotation.T
    return FOCAL * cam[..., :2] / cam[..., 2:] + CENTRE


def detected(world: np.ndarray, view: str, rng: np.random.Generator, fps: int = 50) -> np.ndarray:
    """(T', 17, 3) pixels with 1-3 px jitter + confidence, 50 fps subsampled to ``fps``."""
    pixels = project(world[:: 50 // fps], *VIEWS[view])
    jitter = rng.normal(0.0, rng.uniform(1.0, 3.0), pixels.shape)
    confidence = rng.uniform(0.5, 1.0, pixels.shape[:2] + (1,))
    return np.concatenate([pixels + jitter, confidence], -1)


def swap(track: np.ndarray, frames: np.ndarray, left_names: tuple[str, ...]) -> None:
    """Exchange the rows of the named left joints and their right twins in ``frames``, in place."""
    left = [H36M17.index(n) for n in left_names]
    right = [H36M17.right[H36M17.left.index(j)] for j in left]
    rows = np.asarray(frames)[:, None]
    track[rows, left], track[rows, right] = track[rows, right], track[rows, left]


def inject_swaps(
    track: np.ndarray, rng: np.random.Generator, runs: int
) -> tuple[np.ndarray, np.ndarray]:
    """Swap left and right in ``runs`` separated runs of 1-30 frames, each of a random kind.
    Returns the corrupted track and the (T,) mask of corrupted frames."""
    out, mask = track.copy(), np.zeros(len(track), bool)
    slot = len(track) // runs
    for i, length in enumerate(rng.choice([1, 1, 2, 3, 5, 8, 12, 20, 30], size=runs)):
        start = i * slot + int(rng.integers(5, max(6, slot - length - 5)))
        swap(out, np.arange(start, start + length), KINDS[rng.choice(list(KINDS))])
        mask[start : start + length] = True
    return out, mask


def joint_error(fixed: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(T,) largest distance of a joint from its correctly labelled position, pixels (0 if missing)."""
    return np.nan_to_num(np.linalg.norm(fixed[..., :2] - truth[..., :2], axis=-1), nan=0.0).max(-1)


def test_limb_groups_come_from_joint_names():
    assert limb_groups(H36M17) == {
        "legs": (("LHip",), ("LKnee",), ("LFoot",)),
        "arms": (("LShoulder",), ("LElbow",), ("LWrist",)),
    }
    assert limb_groups(COCO17)["head"] == (("LEye", "LEar"),)
    assert limb_groups(BLAZEPOSE33)["legs"][2] == ("LAnkle", "LHeel", "LFootIndex")
    assert list(limb_groups(H36M32)) == ["legs", "arms"]


def test_swaps_are_undone_and_clean_frames_kept():
    rng = np.random.default_rng(0)
    swapped = restored = exact = clean = changed = 0
    for case, (view, fps) in enumerate([(v, f) for v in VIEWS for f in (50, 25)]):
        truth = detected(walk(1000, seed=case), view, rng, fps)
        track, mask = inject_swaps(truth, rng, runs=10 if fps == 50 else 5)
        fixed, _, report = fix_left_right_swaps(track)
        error = joint_error(fixed, truth)
        swapped += mask.sum()
        restored += (error[mask] <= TOLERANCE).sum()
        exact += (error[mask] == 0).sum()
        clean += (~mask).sum()
        changed += (error[~mask] > 0).sum()
        assert report[0].startswith("undid left/right swaps in"), report
    print(
        f"\nswapped frames {swapped}: restored {restored / swapped:.1%} (every label {exact / swapped:.1%}); "
        f"clean frames {clean}: changed {changed / clean:.2%}"
    )
    assert swapped > 300
    assert restored >= 0.95 * swapped
    assert changed < 0.01 * clean


@pytest.mark.parametrize("view", list(VIEWS))
def test_clean_tracks_come_back_unchanged(view):
    rng = np.random.default_rng(1)
    for seed, fps in ((10, 50), (11, 25)):
        track = detected(walk(600, seed=seed), view, rng, fps)
        fixed, swapped, report = fix_left_right_swaps(track)
        assert not swapped.any() and np.array_equal(fixed, track), (view, fps, report)
        assert report == [f"no left/right swaps found in {len(track)} frames"]


def test_turning_around_fast_limbs_and_other_actions_are_not_swaps():
    rng = np.random.default_rng(2)
    world = walk(400, seed=3)
    hip_axis = world[:, H36M17.index("LHip"), :2] - world[:, H36M17.index("RHip"), :2]
    # Keep the body facing one way, then turn it around in one second.
    turn = np.pi * np.clip((np.arange(len(world)) - 150) / 50, 0, 1) - np.arctan2(
        hip_axis[:, 1], hip_axis[:, 0]
    )
    c, s = np.cos(turn)[:, None], np.sin(turn)[:, None]
    offset = world - world[:, :1]
    turned = world[:, :1] + np.stack(
        [
            c * offset[..., 0] - s * offset[..., 1],
            s * offset[..., 0] + c * offset[..., 1],
            offset[..., 2],
        ],
        -1,
    )
    turning = detected(turned, "side", rng)
    hips = np.sign(turning[:, H36M17.index("LHip"), 0] - turning[:, H36M17.index("RHip"), 0])
    assert hips[0] == -hips[-1]  # the hips really change sides in the image
    # Every third frame of the 50 fps walk shown as 50 fps: limbs swing three times as fast.
    tracks = [
        turning,
        detected(walk(1200, seed=4)[::3], "side", rng),
        detected(walk(1200, seed=5)[::3], "front", rng),
        detected(walk(400, seed=6, action="Directions"), "front", rng, 25),
        detected(walk(400, seed=7, action="Eating"), "side", rng, 25),
    ]
    for track in tracks:
        _, swapped, report = fix_left_right_swaps(track)
        assert not swapped.any(), report


def test_a_track_that_starts_swapped_follows_the_majority():
    rng = np.random.default_rng(3)
    truth = detected(walk(300, seed=6), "front", rng)
    track = truth.copy()
    track[:40] = truth[:40, H36M17.flip_permutation()]
    track[260:] = truth[260:, H36M17.flip_permutation()]
    fixed, swapped, _ = fix_left_right_swaps(track)
    assert swapped[:40].all() and swapped[260:].all() and not swapped[40:260].any()
    np.testing.assert_array_equal(fixed, truth)


def test_missing_joints_and_no_confidence():
    rng = np.random.default_rng(4)
    truth = detected(walk(300, seed=7), "front", rng)[..., :2]
    truth[rng.random(truth.shape[:2]) < 0.05] = np.nan
    track, mask = inject_swaps(truth, rng, runs=3)
    fixed, swapped, _ = fix_left_right_swaps(track)
    np.testing.assert_array_equal(fixed, truth)
    assert swapped[mask].any(1).all() and not swapped[~mask].any()


def test_unconfident_joints_count_less():
    rng = np.random.default_rng(5)
    truth = detected(walk(300, seed=8), "front", rng)
    track = truth.copy()
    swap(track, np.arange(100, 110), KINDS["wrists"])
    assert fix_left_right_swaps(track)[1][100:110, 1].all()
    track[:, [H36M17.index("LWrist"), H36M17.index("RWrist")], 2] = 0.01
    assert not fix_left_right_swaps(track)[1].any()


def test_other_layouts_swap_the_head_too():
    rng = np.random.default_rng(6)
    h36m = detected(walk(300, seed=9), "front", rng)
    coco = np.zeros((len(h36m), COCO17.num_joints, 3))
    for name in (
        "LShoulder",
        "RShoulder",
        "LElbow",
        "RElbow",
        "LWrist",
        "RWrist",
        "LHip",
        "RHip",
        "LKnee",
        "RKnee",
    ):
        coco[:, COCO17.index(name)] = h36m[:, H36M17.index(name)]
    for side in "LR":
        coco[:, COCO17.index(side + "Ankle")] = h36m[:, H36M17.index(side + "Foot")]
    across = h36m[:, H36M17.index("LShoulder"), :2] - h36m[:, H36M17.index("RShoulder"), :2]
    head = h36m[:, H36M17.index("Head")]
    coco[:, COCO17.index("Nose")] = head
    for side, sign in (("L", 1), ("R", -1)):
        coco[:, COCO17.index(side + "Eye")] = head + np.pad(sign * 0.15 * across, ((0, 0), (0, 1)))
        coco[:, COCO17.index(side + "Ear")] = head + np.pad(sign * 0.3 * across, ((0, 0), (0, 1)))
    track = coco.copy()
    track[120:135] = coco[120:135, COCO17.flip_permutation()]
    fixed, _, report = fix_left_right_swaps(track, COCO17)
    np.testing.assert_array_equal(fixed, coco)
    assert report == ["undid left/right swaps in 15 of 300 frames (legs 15, arms 15, head 15)"]


def test_short_tracks_and_bad_input():
    _, swapped, _ = fix_left_right_swaps(np.zeros((2, 17, 3)))
    assert swapped.shape == (2, 2) and not swapped.any()
    with pytest.raises(UserError, match=r"expected keypoints of shape \(T, 17, 2\)"):
        fix_left_right_swaps(np.zeros((10, 33, 3)))
    with pytest.raises(UserError, match="limb 'feet'"):
        fix_left_right_swaps(np.zeros((10, 17, 2)), groups={"feet": (("LToe",),)})
    with pytest.raises(UserError, match="at most 3 parts"):
        fix_left_right_swaps(
            np.zeros((10, 17, 2)), groups={"legs": (("LHip",), ("LKnee",), ("LFoot",), ("LWrist",))}
        )


def test_the_work_is_linear_in_the_frames(monkeypatch):
    """A bound on the work, not a timing (that is ``posemoe bench --swaps``): the decoding builds
    each triple of frames' costs once, a bounded chunk at a time, and holding back runs looks up
    a bounded number of terms per frame, so twice the frames is twice the work."""
    from posemoe.inference import cleanup

    def count(frames: int) -> tuple[int, int, int]:
        built, largest, looked_up = [0], [0], [0]
        chunk, at = cleanup._MotionCosts.chunk, cleanup._MotionCosts.at

        def counted_chunk(self, lo, hi):
            built[0] += hi - lo
            largest[0] = max(largest[0], hi - lo)
            return chunk(self, lo, hi)

        def counted_at(self, n, a, b, c):
            looked_up[0] += len(n)
            return at(self, n, a, b, c)

        monkeypatch.setattr(cleanup._MotionCosts, "chunk", counted_chunk)
        monkeypatch.setattr(cleanup._MotionCosts, "at", counted_at)
        rng = np.random.default_rng(5)
        truth = detected(walk(frames, seed=8), "side", rng)
        track, _ = inject_swaps(truth, rng, runs=frames // 100)
        fix_left_right_swaps(track)
        monkeypatch.undo()
        return built[0], largest[0], looked_up[0]

    small, large = count(1000), count(2000)
    assert small[0] == 1000 - 2 and large[0] == 2000 - 2  # each triple built once
    assert max(small[1], large[1]) <= 256  # memory bounded by the chunk, not by the frames
    assert 0 < small[2] <= 10 * 1000 and large[2] <= 2.5 * small[2]


def test_legs_labelled_against_the_arms_throughout_are_put_right_by_the_torso():
    """No frame's motion tells a swap that lasts the whole track; hips pointing against the
    shoulders do: afterwards legs and arms agree (which way the body faces, a front view cannot say)."""
    rng = np.random.default_rng(7)
    truth = detected(walk(200, seed=12), "front", rng)
    track = truth.copy()
    swap(track, np.arange(len(track)), KINDS["legs"])
    fixed, swapped, _ = fix_left_right_swaps(track)
    assert swapped.any(1).all()
    mirrored = truth[:, H36M17.flip_permutation()]
    assert np.array_equal(fixed, truth) or np.array_equal(fixed, mirrored)


def test_a_middle_joint_is_never_swapped_without_its_chain():
    """Knees and feet swapped together (a labelling the clean-up does not make) are either left or
    relabelled as a whole chain or feet only: the hips and knees are never crossed apart from the feet."""
    rng = np.random.default_rng(8)
    for view in VIEWS:
        track = detected(walk(300, seed=13), view, rng, 25)
        swap(track, np.arange(100, 110), ("LKnee", "LFoot"))
        fixed, _, _ = fix_left_right_swaps(track)
        moved = ~np.all((fixed == track) | np.isnan(track), axis=-1)  # (T, J) joints relabelled
        hips, knees = moved[:, H36M17.index("LHip")], moved[:, H36M17.index("LKnee")]
        assert not (knees & ~hips).any(), view


def test_weak_runs_are_left_as_detected():
    """A relabelled run whose evidence is under the margin goes back; a strong one stays."""
    from posemoe.inference.cleanup import _leave_weak_runs, _MotionCosts

    frames = 12
    part_costs = np.zeros((2, 2, 2, frames - 2, 1), np.float32)  # one part: states 0 and 1
    unary = np.zeros((frames, 2), np.float32)
    transition = np.array([[0.0, 1.0], [1.0, 0.0]], np.float32)
    path = np.zeros(frames, np.intp)
    path[3:5] = path[8:10] = 1
    part_costs[0, 0, 0, 1:3] = (
        0.5  # the detector's labels cost a little more over the first run ...
    )
    part_costs[0, 0, 0, 6:8] = 5.0  # ... and much more over the second
    motion = _MotionCosts(part_costs, np.array([[False], [True]]))
    states = np.array([[0], [1]])
    left, went_back = _leave_weak_runs(path, motion, unary, transition, states, margin=2.0)
    assert went_back == 1 and not left[3:5].any() and left[8:10].all()


def test_a_run_needs_the_motion_to_break_at_both_its_ends():
    """A detector's glitch (a foot on the other foot for a frame) is explained away by relabelling
    everything on one side of it: such a run has support at one end and a triple at its other
    end that prefers the detector's labels; it goes back. Per limb: in a run relabelling both
    limbs, the one whose motion does not back it goes back alone."""
    from posemoe.inference.cleanup import _leave_weak_runs, _MotionCosts

    frames = 14
    unary = np.zeros((frames, 2), np.float32)
    transition = np.array([[0.0, 1.0], [1.0, 0.0]], np.float32)
    states = np.array([[0], [1]])
    path = np.zeros(frames, np.intp)
    path[4:8] = 1
    part_costs = np.zeros((2, 2, 2, frames - 2, 1), np.float32)
    part_costs[0, 0, 0, 7] = 20.0  # the glitch at frame 8, which the run's exit explains ...
    part_costs[1, 1, 0, 6] = 4.0  # ... while the other triple there prefers the detector's labels
    motion = _MotionCosts(part_costs, np.array([[False], [True]]))
    left, went_back = _leave_weak_runs(path, motion, unary, transition, states, margin=2.0)
    assert went_back == 1 and not left.any()
    part_costs[0, 0, 0, 2:4] = part_costs[0, 0, 0, 6:8] = 20.0  # a swap: both ends break
    part_costs[1, 1, 0, 6] = 0.0
    motion = _MotionCosts(part_costs, np.array([[False], [True]]))
    left, went_back = _leave_weak_runs(path, motion, unary, transition, states, margin=2.0)
    assert went_back == 0 and np.array_equal(left, path)

    states = np.array([[0, 0], [1, 0], [0, 1], [1, 1]])  # two limbs of one part each
    bits = states.astype(bool)
    part_costs = np.zeros((2, 2, 2, frames - 2, 2), np.float32)
    part_costs[0, 0, 0, 2:4, 0] = part_costs[0, 0, 0, 6:8, 0] = 20.0  # limb 0 swapped, limb 1 not
    transition = np.where(states[:, None] != states[None], 1.0, 0.0).sum(-1).astype(np.float32)
    path[4:8] = 3  # both relabelled
    left, went_back = _leave_weak_runs(
        path,
        _MotionCosts(part_costs, bits),
        np.zeros((frames, 4), np.float32),
        transition,
        states,
        margin=2.0,
    )
    assert went_back == 1 and np.array_equal(left[4:8], [1] * 4) and not left[:4].any()


def test_a_glitch_beside_a_hidden_twin_is_not_relabelled_away():
    """The near hand seen (confident) and the far one guessed (confidence 0.1), the near hand's
    detection jumping for two frames now and then: relabelling those frames runs each hand through
    a confident and an unconfident detection, which lowers a confidence-weighted cost by that
    alone. Runs are judged with each pair weighted alike under every labelling, so nothing is
    relabelled (the previous rule relabelled 30 frames of these tracks)."""
    relabelled = 0
    for seed in range(12):
        rng = np.random.default_rng(seed)
        track = detected(walk(600, seed=seed), "side", rng, 25)
        size = np.nanmax(track[..., 1]) - np.nanmin(track[..., 1])
        near, far = H36M17.index("LWrist"), H36M17.index("RWrist")
        track[:, far, 2] = rng.uniform(0.05, 0.15, len(track))
        for t in range(20, len(track) - 20, 30):
            track[t : t + 2, near, :2] += rng.normal(0, 1, 2) / np.sqrt(2) * 0.08 * size
        relabelled += int(fix_left_right_swaps(track)[1].any(1).sum())
    assert relabelled == 0


def _jumping_jacks(seed: int) -> np.ndarray:
    """A front view whose legs open and close at 2 Hz, feet 0-25 % of the height apart."""
    track = detected(
        walk(300, seed=seed, action="Directions"), "front", np.random.default_rng(seed), 25
    )
    size = np.nanmax(track[..., 1]) - np.nanmin(track[..., 1])
    spread = 0.25 * size * (1 - np.cos(2 * np.pi * np.arange(len(track)) / 12)) / 2
    outward = np.sign(
        np.median(track[:, H36M17.index("LHip"), 0] - track[:, H36M17.index("RHip"), 0])
    )
    for side, sign in (("L", 1.0), ("R", -1.0)):
        track[:, H36M17.index(side + "Knee"), 0] += 0.5 * sign * outward * spread
        track[:, H36M17.index(side + "Foot"), 0] += sign * outward * spread
    return track


def test_jumping_jacks_keep_their_feet():
    """Legs opening and closing fast (a jumping jack, as on the shared sports2d clip): no swap."""
    _, swapped, report = fix_left_right_swaps(_jumping_jacks(14))
    assert not swapped[:, 0].any(), report


def test_a_foot_relabelled_alone_must_keep_the_shins_length():
    """The bone cue: with the legs apart, relabelling the feet alone stretches each shin across the
    body, beyond its longest: that costs; where the detector crossed them, relabelling costs
    nothing; whole chains cost nothing either way."""
    from posemoe.inference.cleanup import _body_states, _bone_costs, _pair_indices, _state_bits

    track = _jumping_jacks(16)
    swap(track, [54], KINDS["feet"])  # legs wide apart
    groups = limb_groups(H36M17)
    pairs = [_pair_indices(H36M17, name, part) for name, parts in groups.items() for part in parts]
    states = _body_states([len(parts) for parts in groups.values()])
    costs = _bone_costs(track, H36M17, pairs, _state_bits(states, [3, 3]))
    feet_only = states.tolist().index([1, 0])
    legs = states.tolist().index([7, 0])
    assert costs[53, feet_only] > 10 and costs[54, feet_only] == 0
    assert not costs[:, legs].any() and not costs[:, 0].any()


def test_without_a_clear_majority_a_limb_keeps_the_detectors_labels():
    """Legs relabelled in 40 % of the frames: motion says where they jumped, not which side of the
    jumps is right, and with hips and shoulders seen edge-on the torso cannot say either; they are
    left as detected, and the report says why. A fifth of the frames is a clear majority: undone."""
    rng = np.random.default_rng(11)
    truth = detected(walk(600, seed=17), "side", rng, 25)  # 300 frames
    for girdle in (("LHip", "RHip"), ("LShoulder", "RShoulder")):
        pair = [H36M17.index(name) for name in girdle]
        truth[:, pair, :2] = truth[:, pair, :2].mean(1, keepdims=True)  # exactly edge-on
    track = truth.copy()
    swap(track, np.arange(100, 220), KINDS["legs"])
    fixed, swapped, report = fix_left_right_swaps(track)
    assert not swapped[:, 0].any() and np.array_equal(fixed, track)
    assert (
        "legs: relabelling would change 40% of the frames it is seen in, no clear majority"
        in report[1]
    )
    track = truth.copy()
    swap(track, np.arange(100, 160), KINDS["legs"])
    fixed, swapped, report = fix_left_right_swaps(track)
    assert swapped[100:160, 0].all() and len(report) == 1


def _glitch(track: np.ndarray, t: int, squeeze: float, mirror: bool) -> None:
    """In place: frame ``t`` as BlazePose gets a frame wrong as a whole, every joint drawn in
    towards the body's middle across the image (and the labels mirrored), at full confidence."""
    frame = track[t, H36M17.flip_permutation()] if mirror else track[t].copy()
    centre = np.nanmean(frame[:, 0])
    frame[:, 0] = centre + squeeze * (frame[:, 0] - centre)
    track[t] = frame


@pytest.mark.parametrize("seed", [20, 21, 22, 23])
def test_glitch_frames_do_not_make_a_stretch_look_swapped(seed):
    """The shared sports2d clip: a man doing jumping jacks faces the camera; BlazePose squeezes
    and mirrors one frame, later mirrors the whole body for six frames and squeezes the frame after
    (there 17, 67-72 and 73; here with the arms wide). Constant velocity reads each glitch as every
    limb sweeping across to its twin's place, and the clean-up used to mirror the correct stretch
    between them (there 17-66)."""
    truth = _jumping_jacks(seed)
    size = np.nanmax(truth[..., 1]) - np.nanmin(truth[..., 1])
    arms = 0.3 * size * (1 - np.cos(2 * np.pi * np.arange(len(truth)) / 12)) / 2
    outward = np.sign(
        np.median(truth[:, H36M17.index("LHip"), 0] - truth[:, H36M17.index("RHip"), 0])
    )
    for side, sign in (("L", 1.0), ("R", -1.0)):
        truth[:, H36M17.index(side + "Elbow"), 0] += 0.5 * sign * outward * arms
        truth[:, H36M17.index(side + "Wrist"), 0] += sign * outward * arms
    track = truth.copy()
    _glitch(track, 17, 0.2, mirror=True)
    swap(track, np.arange(61, 67), KINDS["whole body"])
    _glitch(track, 67, 0.3, mirror=False)
    fixed, swapped, report = fix_left_right_swaps(track)
    frames = np.arange(len(track))
    assert not swapped[~np.isin(frames, [17, *range(61, 68)])].any(), report
    assert (joint_error(fixed[61:67], truth[61:67]) <= TOLERANCE).all(), report
    groups = limb_groups(H36M17)
    pairs = [_pair_indices(H36M17, name, part) for name, parts in groups.items() for part in parts]
    glitches = _part_costs(track, pairs)[2]
    assert np.flatnonzero(glitches).tolist() == [17, 67]


def _gait(frames: int, contralateral: bool) -> np.ndarray:
    """(T, 17, 3) a side view of a walk: feet and hands swinging along the image's x axis, each
    hand against its own foot (``contralateral``) or with it."""
    t = np.arange(frames)
    track = np.zeros((frames, 17, 3))
    track[..., 2] = 0.9
    base = {"Hip": (0, 200), "Knee": (0, 300), "Foot": (0, 400), "Shoulder": (0, 60)}
    base.update({"Elbow": (0, 130), "Wrist": (0, 190), "Spine": (0, 130), "Thorax": (0, 60)})
    base.update({"Neck": (0, 40), "Head": (0, 10)})
    for name, (x, y) in base.items():
        for side in ("L", "R", ""):
            if side + name in H36M17.joints:
                track[:, H36M17.index(side + name), :2] = (300 + x + 3 * t[:, None] * [1, 0]) + [
                    0,
                    y,
                ]
    swing = 60 * np.sin(2 * np.pi * t / 30)
    arm = -swing if contralateral else swing
    for side, sign in (("L", 1), ("R", -1)):
        track[:, H36M17.index(side + "Knee"), 0] += 0.5 * sign * swing
        track[:, H36M17.index(side + "Foot"), 0] += sign * swing
        track[:, H36M17.index(side + "Elbow"), 0] += 0.5 * sign * arm
        track[:, H36M17.index(side + "Wrist"), 0] += sign * arm
    return track


def test_a_walks_gait_prices_relabelling_the_feet_without_the_hands():
    """Walking, each hand swings against its own foot: a state that relabels the feet and not the
    hands breaks that where they swing wide, one that relabels both keeps it. Hands swinging with
    their feet (no walk, or a front view): no price at all."""
    groups = limb_groups(H36M17)
    limbs = {
        name: [_pair_indices(H36M17, name, part) for part in parts]
        for name, parts in groups.items()
    }
    states = _body_states([3, 3])
    feet_only = int(np.flatnonzero((states == [1, 0]).all(1))[0])
    legs_only = int(np.flatnonzero((states == [7, 0]).all(1))[0])
    both = int(np.flatnonzero((states == [7, 7]).all(1))[0])
    costs = _gait_costs(_gait(90, contralateral=True), limbs, states)
    wide = np.abs(np.sin(2 * np.pi * np.arange(90) / 30)) > 0.9
    assert (costs[wide, feet_only] > 0).all() and (costs[wide, legs_only] > 0).all()
    assert not costs[:, 0].any() and not costs[:, both].any()
    assert not _gait_costs(_gait(90, contralateral=False), limbs, states).any()


def test_a_side_view_walkers_legs_are_not_relabelled_against_her_arms():
    """The bundled clip (the shared sports2d walker, side view): her hips and shoulders, seen edge
    on, point opposite ways in most frames as BlazePose labels them, which alone argued for
    relabelling her legs throughout; her arms swing against her legs as labelled, so they stay."""
    pytest.importorskip("onnxruntime")
    from posemoe.assets import walking_clip
    from posemoe.inference.pipeline import detect_video
    from posemoe.inference.tracking import select_tracks

    people, _ = detect_video(walking_clip(), quiet=True)
    (_, track), *_ = select_tracks(people)[0]
    _, swapped, report = fix_left_right_swaps(track, BLAZEPOSE33)
    legs = list(limb_groups(BLAZEPOSE33)).index("legs")
    assert swapped[:, legs].mean() < 0.1, report
