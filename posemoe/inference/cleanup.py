"""Clean-up of a 2D detector track before lifting: undoing left/right swaps, and doing no harm.

Detectors (BlazePose especially) sometimes label a person's left as right for a run of frames:
the whole body, when they believe the person faces the other way, one limb's whole chain (hip,
knee and ankle; shoulder, elbow and wrist), or only its end (the feet, the hands) where the limbs
cross. Those are the only relabellings made: each limb is as labelled, swapped as a chain or
swapped at its end, so a correct leg can never come out with its hip and knee crossed over its
ankle. The limbs are decoded together (Viterbi over the body's states) so that a whole-body swap
is one event. Evidence over time: how badly each labelling breaks a constant-velocity motion
(three frames at a time, Pseudo-Huber, weighted by confidence) and a price per change of state.
Frames the detector got wrong as a whole (every pair drawn in together, as BlazePose gives them
when it hesitates between two mirror readings) are skipped rather than read as every limb sweeping
across. Evidence in each frame: a torso twists less than 90 degrees, so hips, shoulders (and the
head's pairs) point the same way across the image; and a walk keeps each hand swinging against its
own foot. Each limb's run that the decoding would relabel is
left as the detector gave it unless its evidence clears a margin and neither of its ends speaks
against it (a swap is an event with two ends; a glitch explained away has one), judged with each
pair weighted alike under every labelling (weighting by the detections' confidence favours
labellings that mix a confident detection with an unconfident one). Constant velocity rather than
constant position: legs that cross in a side view keep moving the way they were moving, whereas a
swap there reverses both velocities."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from posemoe.errors import UserError
from posemoe.layouts import H36M17, JointLayout

Parts = tuple[tuple[str, ...], ...]
"""A limb's left/right pairs, named by their left joint, in parts from the torso outwards."""

# Limb and part of a left/right pair, from words in its joint name; the first match wins, so
# "UpLeg" (the H36M-32 hip) is the legs' girdle and "FootIndex" (BlazePose) is not a finger.
_LIMB_WORDS: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("legs", 0, ("upleg", "hip")),
    ("legs", 1, ("knee",)),
    ("legs", 2, ("ankle", "foot", "heel", "toe")),
    ("legs", 1, ("leg",)),
    ("arms", 0, ("shoulder",)),
    ("arms", 1, ("elbow", "forearm")),
    ("arms", 2, ("wrist", "hand", "thumb", "pinky", "index")),
    ("arms", 1, ("arm",)),
    ("head", 0, ("eye", "ear", "mouth")),
)
_MAX_PARTS = 3  # parts of a limb's chain: girdle, middle, end
_EXTRA_LIMB = 0.1  # price of each further limb changing at once, in changes of state
_UNIT_FLOOR = 0.01  # least motion unit, as a fraction of the person's size in the image
SWITCH_COST = 3.0  # a change of state, in motion units (see fix_left_right_swaps)
SWAP_COST = 0.1  # a frame a limb spends swapped
TWIST_WEIGHT = 1.0  # price of girdles facing opposite ways, per motion unit of the shorter girdle
BONE_WEIGHT = 1.0  # price of a bone beyond its longest, per motion unit (Pseudo-Huber)
BONE_WINDOW = (
    121  # frames over which a bone's longest is its 90th percentile: several times a swap's run
)
GAIT_WEIGHT = 1.0  # price of an arm swinging with its own leg, per motion unit of the lesser swing
GAIT_SWING = 0.1  # feet, hands this far apart (of the person's height) show the gait ...
GAIT_SHARE = 0.8  # ... and a track walks or runs when they swing against each other this often ...
GAIT_FRAMES = 10  # ... in at least this many frames
MARGIN = 2.0  # a swapped run must explain the motion this much better than the detector's labels
END_MARGIN = -1.0  # ... and not be explained worse by either triple across each of its ends
GLITCH_SQUEEZE = 0.8  # a glitch's twins are this close at most, of their closest in a neighbour ...
GLITCH_MARGIN = 4.0  # ... and skipping it saves this many of each part's typical residuals more
MAX_RELABELLED = (
    1 / 3
)  # of the frames a limb is seen in: relabelling more has no clear majority behind it ...
CUE_SUPPORT = 0.25  # ... unless the per-frame cues back it by this much a frame, in motion units


def limb_groups(layout: JointLayout = H36M17) -> dict[str, Parts]:
    """``layout``'s left/right pairs by limb (legs, arms, head, then "other"), each limb's pairs
    in parts from the torso outwards: girdle (hips, shoulders), middle (knees, elbows), end
    (feet, hands).

    Detectors swap a whole limb when they mistake which way the person faces, but often only
    the feet where the legs cross; hence one part per joint of the chain, of which the clean-up
    relabels the whole chain or its end.
    """
    found: dict[tuple[str, int], list[str]] = {}
    for left in layout.left:
        name = layout.joints[left]
        limb, part = next(
            ((g, p) for g, p, words in _LIMB_WORDS if any(w in name.lower() for w in words)),
            ("other", 0),
        )
        found.setdefault((limb, part), []).append(name)
    order = [g for g, _, _ in _LIMB_WORDS] + ["other"]
    return {
        limb: tuple(tuple(found[limb, p]) for p in sorted(p for g, p in found if g == limb))
        for limb in dict.fromkeys(order)
        if any(g == limb for g, _ in found)
    }


def fix_left_right_swaps(
    keypoints: np.ndarray,
    layout: JointLayout = H36M17,
    *,
    groups: Mapping[str, Parts] | None = None,
    switch_cost: float = SWITCH_COST,
    swap_cost: float = SWAP_COST,
    margin: float = MARGIN,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Relabel the frames where a detector swapped the person's left and right.

    ``keypoints``: ``(T, J, 2)`` pixels or ``(T, J, 3)`` pixels + confidence of one person's
    track; NaN marks a missing joint. ``groups``: limb -> parts -> joints (either side of a
    pair), default :func:`limb_groups`; at most 3 parts a limb. Each frame, each limb is either
    as labelled, swapped as a whole chain, or (limbs of 2 or more parts) swapped at its end only
    (feet, hands) -- never at the girdle or the middle alone, which would cross a correct limb.
    The limbs are decoded together, so that a swap of the whole body is one event; frames the
    detector got wrong as a whole are skipped in the motion (:func:`_skip_glitches`, named in the
    report). Each frame also prices girdles left pointing opposite ways (:func:`_twist_costs`),
    bones stretched beyond their longest by relabelling a part alone (:func:`_bone_costs`) and, in
    a walk, a hand relabelled to swing with its own foot (:func:`_gait_costs`). ``switch_cost`` is the price
    of a change of state, ``swap_cost`` of each frame a limb spends swapped, and a run of swapped
    frames whose evidence (how much more the detector's labels cost over the run than the
    relabelling) is under ``margin``, or whose ends are not both backed by the motion
    (:func:`_leave_weak_runs`, with each pair weighted alike under every labelling), is left as
    the detector gave it, limb by limb; all in units of the track's typical deviation from
    constant velocity.

    Returns ``fixed`` (same shape, whole joint rows swapped back), ``swapped`` ``(T, G)`` bool
    (the frames in which some part of each limb, seen there, was swapped back, columns in the
    order of ``groups``) and a report (human-readable lines).
    """
    _check_keypoints(keypoints, layout)
    groups = limb_groups(layout) if groups is None else groups
    limbs = [
        [_pair_indices(layout, name, part) for part in parts] for name, parts in groups.items()
    ]
    sizes = [len(limb) for limb in limbs]
    if max(sizes, default=0) > _MAX_PARTS:
        raise UserError(
            f"expected at most {_MAX_PARTS} parts a limb, got {dict(zip(groups, sizes))}"
        )
    seen = _limbs_seen(keypoints, limbs)  # (T, G)
    pairs = [pair for limb in limbs for pair in limb]
    states = _body_states(sizes)  # (S, G) each limb's bit set
    bits = _state_bits(states, sizes)  # (S, P)
    kept, notes = 0, []
    if len(keypoints) < 3 or not pairs:
        path = np.zeros(len(keypoints), np.intp)
    else:
        by_detection, alike, glitches = _part_costs(keypoints, pairs)
        motion = _MotionCosts(by_detection, bits)
        cues = (
            _twist_costs(keypoints, limbs, states)
            + _bone_costs(keypoints, layout, pairs, bits)
            + _gait_costs(keypoints, dict(zip(groups, limbs)), states)
        )  # (T, S)
        unary = swap_cost * (states > 0).sum(1, dtype=np.float32) + cues
        transition = _transition_costs(states, switch_cost)
        path = _decode(motion, unary, transition)
        path, undecided = _leave_undecided_limbs(path, states, cues, seen)
        path, kept = _leave_weak_runs(
            path, _MotionCosts(alike, bits), unary, transition, states, margin
        )
        if glitches.any():
            notes.append(
                f"{int(glitches.sum())} frame(s) the detector got wrong as a whole (left and right "
                f"drawn in together), not read as motion: {_frames(glitches)}"
            )
        notes += [
            f"{name}: relabelling would change {share:.0%} of the frames it is seen in, no clear majority; "
            "its labels are kept as detected"
            for name, share in zip(groups, undecided)
            if share
        ]
    fixed = keypoints.copy()
    for p, (left, right) in enumerate(pairs):
        rows = np.flatnonzero(bits[path, p])[:, None]
        fixed[rows, left] = keypoints[rows, right]
        fixed[rows, right] = keypoints[rows, left]
    swapped = (states[path] > 0) & seen  # where a limb is not seen, nothing changed
    return fixed, swapped, [_report_line(swapped, list(groups), kept), *notes]


def _check_keypoints(keypoints: np.ndarray, layout: JointLayout) -> None:
    if (
        not isinstance(keypoints, np.ndarray)
        or keypoints.ndim != 3
        or keypoints.shape[1:] not in ((layout.num_joints, 2), (layout.num_joints, 3))
    ):
        shape = getattr(keypoints, "shape", type(keypoints).__name__)
        raise UserError(
            f"expected keypoints of shape (T, {layout.num_joints}, 2) or (T, {layout.num_joints}, 3) "
            f"for layout {layout.name}, got {shape}"
        )


def _pair_indices(
    layout: JointLayout, limb: str, names: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Left and right joint indices of a part's pairs, named by either side."""
    side_of = {layout.joints[j]: i for i, j in enumerate(layout.left)}
    side_of.update({layout.joints[j]: i for i, j in enumerate(layout.right)})
    if isinstance(names, str) or not names or any(n not in side_of for n in names):
        raise UserError(
            f"limb {limb!r}: expected parts made of {layout.name}'s left/right joints "
            f"({', '.join(layout.joints[j] for j in layout.left)} or their right twins), got {names!r}"
        )
    pair = sorted({side_of[n] for n in names})
    return np.asarray(layout.left)[pair], np.asarray(layout.right)[pair]


def _part_costs(
    keypoints: np.ndarray, pairs: list[tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cost of each part being swapped or not at frames (t-2, t-1, t): ``(2, 2, 2, T-2, P)``
    indexed ``[swapped t-2, swapped t-1, swapped t, t-2, part]``, in two weightings of the same
    residuals, and the frames skipped as glitches -> ``(by_detection, alike, (T,) bool)``.
    ``by_detection``: each joint's residual weighted by the least confidence of the three
    detections it runs through, so that a hidden joint's noise counts less (the decoding finds
    swaps by it). ``alike``: each pair weighted the same under every labelling (the geometric mean
    of its two joints' least confidences), since a labelling that runs a joint through a confident
    and an unconfident detection lowers its weighted cost by that alone; runs are held back by it
    (:func:`_leave_weak_runs`). Frames the detector got wrong as a whole are skipped
    (:func:`_skip_glitches`)."""
    xy = keypoints[..., :2].astype(np.float64)
    conf = (
        np.clip(keypoints[..., 2], 0.0, 1.0) if keypoints.shape[-1] == 3 else np.ones(xy.shape[:2])
    )
    valid = np.isfinite(xy).all(-1) & np.isfinite(conf)
    xy = np.where(valid[..., None], xy, 0.0)
    conf = np.where(valid, conf, 0.0)
    # Confidence relative to the track's typical one: detectors' scores are not calibrated alike.
    typical = np.median(conf[valid]) if valid.any() else 1.0
    conf = np.minimum(conf / max(typical, 1e-6), 1.0)
    own = np.concatenate([np.concatenate([left, right]) for left, right in pairs])
    twin = np.concatenate([np.concatenate([right, left]) for left, right in pairs])
    starts = np.cumsum([0] + [2 * len(left) for left, _ in pairs[:-1]])
    # Points as complex numbers in units of the typical motion residual, centred so that
    # single precision (twice as fast here) loses nothing.
    unit = _motion_unit(xy, valid)
    centre = xy[valid].mean(0) if valid.any() else np.zeros(2)
    z = ((xy[..., 0] - centre[0]) + 1j * (xy[..., 1] - centre[1])) / unit
    pos = np.stack([z[:, own], z[:, twin]]).astype(np.complex64)  # (swapped, T, K)
    weight = np.stack([conf[:, own], conf[:, twin]]).astype(np.float32)
    # Second difference x[t] - 2 x[t-1] + x[t-2]: zero for constant velocity.
    residual = pos[None, None, :, 2:] - 2.0 * pos[None, :, None, 1:-1] + pos[:, None, None, :-2]
    # Pseudo-Huber: quadratic near the noise level, linear beyond, so one wild joint cannot
    # outvote the rest of its part.
    huber = np.sqrt(1.0 + residual.real**2 + residual.imag**2) - 1.0
    del residual
    least = np.minimum(np.minimum(weight[:, 2:], weight[:, 1:-1]), weight[:, :-2])  # (2, T-2, K)
    by_detection = np.minimum(
        np.minimum(weight[None, None, :, 2:], weight[None, :, None, 1:-1]),
        weight[:, None, None, :-2],
    )
    tables = (
        np.add.reduceat(by_detection * huber, starts, axis=-1),
        np.add.reduceat(np.sqrt(least[0] * least[1]) * huber, starts, axis=-1),
    )
    glitches = _skip_glitches(tables, huber, pos, np.minimum(weight[0], weight[1]), starts)
    return (*tables, glitches)


def _skip_glitches(
    tables: tuple[np.ndarray, ...],
    huber: np.ndarray,
    pos: np.ndarray,
    weight: np.ndarray,
    starts: np.ndarray,
) -> np.ndarray:
    """In place: the frames the detector got wrong as a whole are skipped in the part cost
    ``tables`` (``(2, 2, 2, T-2, P)`` each) -> ``(T,)`` bool, those frames.

    A detector now and then gets one frame wrong as a whole: BlazePose, hesitating between a
    person's two mirror labellings, gives something like their average, every pair's twins drawn
    in towards the body's middle (the arms onto the chest), at full confidence, often as it passes
    from one labelling to the other. Constant velocity reads such a frame as a sweep, every limb
    crossing over to its twin's place within two frames, which it prices at half of what it prices
    the glitch: a glitch on each side of a run of frames makes the run look swapped. Frame ``g`` is
    a glitch when its twins are, summed over the pairs, closer than :data:`GLITCH_SQUEEZE` of what
    they are in either neighbour, and skipping it (frame ``g + 1`` predicted from ``g - 2`` and
    ``g - 1``) explains the motion better than the best labelling of frames ``g - 2`` to ``g + 2``
    does with it, by :data:`GLITCH_MARGIN` of each part's typical residual (three residuals with
    the frame against one without it: on a clean track that margin is never met, measured over the
    test suite's walks); its three triples are then replaced by the skip, which keeps the evidence
    of whether the labels changed across it. ``huber``: ``(2, 2, 2, T-2, K)`` per joint, ``pos``:
    ``(2, T, K)`` positions as given and twinned, ``weight``: ``(T, K)`` the lesser confidence of
    each joint and its twin, ``starts``: the parts' first joints."""
    frames = huber.shape[3] + 2
    glitch = np.zeros(frames, bool)
    if frames < 5:
        return glitch
    g = np.arange(2, frames - 2)  # frames that can be skipped: two before, two after
    # Drawn in: the frame's twins, over the pairs seen in it and its neighbours, closer together
    # than in either neighbour, by far.
    seen = (weight[g - 1] > 0) & (weight[g] > 0) & (weight[g + 1] > 0)
    apart = [np.where(seen, np.abs(pos[0, g + d] - pos[1, g + d]), 0.0).sum(1) for d in (-1, 0, 1)]
    g = g[apart[1] < GLITCH_SQUEEZE * np.minimum(apart[0], apart[2])]
    if not len(g):
        return glitch
    w = np.minimum.reduce([weight[g + d] for d in (-2, -1, 0, 1, 2)])  # (G, K)
    with_g = np.stack(
        [
            np.add.reduceat(
                w * (huber[l0, l1, l2, g - 2] + huber[l1, l2, l3, g - 1] + huber[l2, l3, l4, g]),
                starts,
                axis=-1,
            )
            for l0, l1, l2, l3, l4 in itertools.product((0, 1), repeat=5)
        ]
    ).min(0)  # (G, P): each part's best labelling of frames g - 2 to g + 2
    # Constant velocity over the gap: x[g+1] = x[g-1] + 2 (x[g-1] - x[g-2]); this residual's noise
    # is sqrt(14 / 6) that of a second difference.
    scale = np.float32(np.sqrt(6.0 / 14.0))
    skip = np.empty((2, 2, 2, len(g), huber.shape[-1]), np.float32)  # [g - 2, g - 1, g + 1]
    for l0, l1, l3 in itertools.product((0, 1), repeat=3):
        r = scale * (pos[l3, g + 1] - 3.0 * pos[l1, g - 1] + 2.0 * pos[l0, g - 2])
        skip[l0, l1, l3] = np.sqrt(1.0 + r.real**2 + r.imag**2) - 1.0
    skipped = np.add.reduceat(w * skip, starts, axis=-1)  # (2, 2, 2, G, P)
    # Three residuals with the frame against one without it: two more of the track's typical
    # residual (each part's median at its best labelling) are what the frame costs by being there.
    typical = np.median(tables[1].reshape(8, *tables[1].shape[3:]).min(0), axis=0)  # (P,)
    gain = (with_g - skipped.reshape(8, len(g), -1).min(0) - GLITCH_MARGIN * typical).sum(1)
    taken: list[int] = []
    for n in np.argsort(-gain):  # of glitches close together, the one that explains most
        if gain[n] > 0 and all(abs(g[n] - g[m]) > 2 for m in taken):
            taken.append(int(n))  # a skip needs its two frames before and after
    for n in taken:
        at = int(g[n])
        glitch[at] = True
        for table in tables:
            table[:, :, :, at - 2] = 0.0
            table[:, :, :, at] = 0.0
            table[:, :, :, at - 1] = skipped[:, :, :, n].min(0)[:, None]  # frame g - 2 at its best
    return glitch


def _track_points(keypoints: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """``(T, J, 2|3)`` keypoints -> pixels ``(T, J, 2)``, confidence ``(T, J)`` in [0, 1] (1 where
    none is given), valid ``(T, J)``, the track's motion unit (:func:`_motion_unit`) and its
    typical confidence (the median of the valid joints')."""
    xy = keypoints[..., :2].astype(np.float64)
    conf = (
        np.clip(keypoints[..., 2], 0.0, 1.0) if keypoints.shape[-1] == 3 else np.ones(xy.shape[:2])
    )
    valid = np.isfinite(xy).all(-1) & np.isfinite(conf)
    unit = _motion_unit(np.where(valid[..., None], xy, 0.0), valid)
    typical = float(np.median(conf[valid])) if valid.any() else 1.0
    return xy, conf, valid, unit, typical


def _twist_costs(
    keypoints: np.ndarray, limbs: list[list[tuple[np.ndarray, np.ndarray]]], states: np.ndarray
) -> np.ndarray:
    """``(T, S)`` per-frame price of each body state for the girdles (hips, shoulders, the head's
    pairs) it leaves pointing opposite ways in the image: a torso twists less than 90 degrees, so
    left-to-right across the hips and across the shoulders agree in sign. Each pair of limbs costs
    ``TWIST_WEIGHT`` x how far past perpendicular they are (0 to 1) x the shorter girdle, in motion
    units, weighted by the girdles' confidence: seen edge-on, a girdle is short and says little."""
    xy, conf, valid, unit, typical = _track_points(keypoints)
    girdles, weights = [], []
    for limb in limbs:
        left, right = limb[0] if limb else (np.zeros(0, np.intp), np.zeros(0, np.intp))
        across = (
            (xy[:, left] - xy[:, right]).mean(1) if len(left) else np.full((len(xy), 2), np.nan)
        )
        girdles.append(across)
        both = np.minimum(conf[:, left], conf[:, right]).min(1) if len(left) else np.zeros(len(xy))
        weights.append(np.minimum(np.nan_to_num(both) / max(typical, 1e-6), 1.0))
    out = np.zeros((len(xy), len(states)), np.float32)
    for g, h in itertools.combinations(range(len(limbs)), 2):
        a, b = girdles[g], girdles[h]
        length = np.minimum(np.linalg.norm(a, axis=-1), np.linalg.norm(b, axis=-1))
        with np.errstate(invalid="ignore", divide="ignore"):
            cosine = np.sum(a * b, -1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
        past = np.nan_to_num(np.clip(-cosine, 0.0, 1.0))  # as labelled; relabelled, the sign flips
        opposite = np.nan_to_num(np.clip(cosine, 0.0, 1.0))
        price = TWIST_WEIGHT * np.nan_to_num(length) / unit * np.minimum(weights[g], weights[h])
        flips = ((states[:, g] >> _girdle_bit(limbs[g])) & 1) ^ (
            (states[:, h] >> _girdle_bit(limbs[h])) & 1
        )
        out += np.where(
            flips[None, :] == 1, (price * opposite)[:, None], (price * past)[:, None]
        ).astype(np.float32)
    return out


def _gait_costs(
    keypoints: np.ndarray, limbs: dict[str, list[tuple[np.ndarray, np.ndarray]]], states: np.ndarray
) -> np.ndarray:
    """``(T, S)`` per-frame price of each body state for the gait it breaks: walking and running,
    each arm swings against its own leg, so seen from the side the hands' left-to-right points
    against the feet's. A track walks or runs when, as labelled, they point against each other in at
    least :data:`GAIT_SHARE` of the frames (at least :data:`GAIT_FRAMES`) where feet and hands are
    both :data:`GAIT_SWING` of the person's height apart; then, in each such frame, the states
    that relabel the feet and not the hands (or the hands and not the feet) pay
    :data:`GAIT_WEIGHT` x the lesser of the two swings in motion units, weighted by confidence,
    where the labels as given keep the gait, and the other states pay it where they break it. Seen
    from the front, or in other motions, hands and feet do not keep to it: no price. (Motion alone
    cannot tell a side-view walker's legs from each other where they pass, and their short
    girdles make the torso's twist a poor guide there: the shared clips' walker.)"""
    out = np.zeros((len(keypoints), len(states)), np.float32)
    names = list(limbs)
    if "legs" not in limbs or "arms" not in limbs or not limbs["legs"] or not limbs["arms"]:
        return out
    xy, conf, valid, unit, typical = _track_points(keypoints)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames without the person
        height = np.nanmax(xy[..., 1], 1) - np.nanmin(xy[..., 1], 1)
        feet, hands = (
            (xy[:, limbs[name][-1][0]] - xy[:, limbs[name][-1][1]]).mean(1)
            for name in ("legs", "arms")
        )
        weight = np.minimum(
            *(
                np.minimum(conf[:, limbs[name][-1][0]], conf[:, limbs[name][-1][1]]).min(1)
                for name in ("legs", "arms")
            )
        )
    swing = np.minimum(np.linalg.norm(feet, axis=-1), np.linalg.norm(hands, axis=-1))
    shown = np.nan_to_num(swing) > GAIT_SWING * np.nan_to_num(height)
    against = np.sum(feet * hands, -1) < 0
    if shown.sum() < GAIT_FRAMES or (against & shown).sum() < GAIT_SHARE * shown.sum():
        return out
    price = np.where(
        shown,
        GAIT_WEIGHT
        * np.nan_to_num(swing)
        / unit
        * np.minimum(np.nan_to_num(weight) / max(typical, 1e-6), 1.0),
        0.0,
    )
    legs, arms = names.index("legs"), names.index("arms")
    crossed = (states[:, legs] & 1) ^ (
        states[:, arms] & 1
    )  # feet relabelled and not hands, or back
    breaks = np.where(against[:, None], crossed[None, :] == 1, crossed[None, :] == 0)
    out += np.where(breaks, price[:, None], 0.0).astype(np.float32)
    return out


def _bone_costs(
    keypoints: np.ndarray,
    layout: JointLayout,
    pairs: list[tuple[np.ndarray, np.ndarray]],
    bits: np.ndarray,
) -> np.ndarray:
    """``(T, S)`` per-frame price of each body state for the bones it would cut between a swapped
    part and an unswapped one (a shin whose foot alone is relabelled, BlazePose's shoulder-to-hip
    side when the legs alone are): each such bone costs ``BONE_WEIGHT`` x how much further beyond
    its longest it reaches than as labelled (Pseudo-Huber, motion units; its longest is the 90th
    percentile over ``BONE_WINDOW`` frames of it and its twin as labelled, which the frames that
    are right outvote: seen at an angle a bone only looks shorter), weighted by the confidence of
    its ends. Whole chains keep every bone's length, so they cost nothing here."""
    xy, conf, valid, unit, typical = _track_points(keypoints)
    weight = np.where(valid, np.minimum(conf / max(typical, 1e-6), 1.0), 0.0)
    part_of = np.full(layout.num_joints, -1)
    for p, (left, right) in enumerate(pairs):
        part_of[left], part_of[right] = p, p
    flip = layout.flip_permutation()
    out = np.zeros((len(xy), len(bits)), np.float32)
    for parent, child in layout.bones:
        swapped_parent = (
            bits[:, part_of[parent]] if part_of[parent] >= 0 else np.zeros(len(bits), bool)
        )
        swapped_child = (
            bits[:, part_of[child]] if part_of[child] >= 0 else np.zeros(len(bits), bool)
        )
        cut = swapped_parent != swapped_child
        if part_of[parent] < 0 or part_of[child] < 0 or not cut.any():
            continue  # a bone from a middle joint (the pelvis) is symmetric: no state cuts it
        as_given = np.linalg.norm(xy[:, parent] - xy[:, child], axis=-1)
        crossed = np.linalg.norm(xy[:, parent] - xy[:, flip[child]], axis=-1)
        twin = np.linalg.norm(xy[:, flip[parent]] - xy[:, flip[child]], axis=-1)
        longest = _rolling_quantile(
            np.where(valid[:, parent] & valid[:, child], 0.5 * (as_given + twin), np.nan)
        )
        w = np.minimum(weight[:, parent], np.minimum(weight[:, child], weight[:, flip[child]]))
        # Only a penalty, and only beyond the bone's longest: seen at an angle a bone looks shorter,
        # never longer, so a shorter one is no evidence either way.
        beyond = [np.maximum(length - longest, 0.0) / unit for length in (crossed, as_given)]
        excess = np.nan_to_num(
            w * BONE_WEIGHT * (np.sqrt(1.0 + beyond[0] ** 2) - np.sqrt(1.0 + beyond[1] ** 2))
        )
        out += np.where(cut[None, :], np.maximum(excess, 0.0)[:, None], 0.0).astype(np.float32)
    return out


def _rolling_quantile(
    values: np.ndarray, quantile: float = 0.9, window: int = BONE_WINDOW
) -> np.ndarray:
    """(T,) the ``quantile`` of the finite values within ``window`` frames centred on each frame
    (NaN if none)."""
    from numpy.lib.stride_tricks import sliding_window_view

    half = window // 2
    rows = np.sort(
        sliding_window_view(np.pad(values, half, constant_values=np.nan), window), axis=-1
    )  # NaN last
    count = np.isfinite(rows).sum(-1)
    at = quantile * np.maximum(count - 1, 0)  # linear interpolation between the order statistics
    low = np.floor(at).astype(np.intp)
    high = np.minimum(low + 1, np.maximum(count - 1, 0))
    pick = np.arange(len(rows))
    value = rows[pick, low] + (at - low) * (rows[pick, high] - rows[pick, low])
    return np.where(count > 0, value, np.nan)


def _girdle_bit(limb: list) -> int:
    """The bit of a limb's first part in its state (the first part is the highest bit)."""
    return max(len(limb) - 1, 0)


def _motion_unit(xy: np.ndarray, valid: np.ndarray) -> float:
    """Typical deviation of the track from constant velocity, pixels: the median second
    difference, but at least ``_UNIT_FLOOR`` of the person's size, since a detector that snaps to
    a heatmap grid sits still for frames and jumps between them (its median is far below its
    jitter), and a noise-free track needs a scale too."""
    ok = valid[2:] & valid[1:-1] & valid[:-2]
    second = np.linalg.norm(xy[2:] - 2.0 * xy[1:-1] + xy[:-2], axis=-1)[ok]
    seen = valid.any(1)
    high = np.where(valid[..., None], xy, -np.inf).max(1)[seen]
    low = np.where(valid[..., None], xy, np.inf).min(1)[seen]
    size = float(np.median((high - low).max(-1))) if seen.any() else 0.0
    typical = float(np.median(second)) if second.size else 0.0
    return max(typical, _UNIT_FLOOR * size, 1e-6)


def _body_states(sizes: list[int]) -> np.ndarray:
    """``(S, G)`` the body's states: per limb of ``sizes[g]`` parts, a bit set of its swapped parts
    (the first part the highest bit), one of: none, the whole chain, the end part only. State 0
    swaps nothing."""
    per_limb = [list(dict.fromkeys((0, 2**n - 1, 1))) if n else [0] for n in sizes]
    return np.array(list(itertools.product(*per_limb)), np.intp).reshape(-1, len(sizes))


def _state_bits(states: np.ndarray, sizes: list[int]) -> np.ndarray:
    """``(S, P)`` bool: whether state s swaps part p (parts of all limbs in order)."""
    columns = [(states[:, g] >> (n - 1 - q)) & 1 for g, n in enumerate(sizes) for q in range(n)]
    return np.stack(columns, 1).astype(bool) if columns else np.zeros((len(states), 0), bool)


class _MotionCosts:
    """The motion cost of body states (a, b, c) at frames (n, n+1, n+2), the sum of its parts'
    costs, from the per-part table ``(2, 2, 2, N, P)`` and the states' ``bits`` ``(S, P)``: built
    a chunk of frames at a time (:meth:`chunk`), so that memory does not grow as ``N S^3``."""

    def __init__(self, part_costs: np.ndarray, bits: np.ndarray) -> None:
        self.table = np.ascontiguousarray(
            part_costs.reshape(8, *part_costs.shape[3:]).transpose(1, 2, 0)
        )  # (N, P, 8)
        self.code = bits.astype(np.intp)  # (S, P)
        # Index of each part's (swapped a, swapped b, swapped c) entry, per state triple: (S, S, S, P)
        self.entry = (
            4 * self.code[:, None, None] + 2 * self.code[None, :, None] + self.code[None, None, :]
        )

    def __len__(self) -> int:
        return len(self.table)

    def chunk(self, lo: int, hi: int) -> np.ndarray:
        """``(hi - lo, S, S, S)`` costs of frames ``lo`` to ``hi - 1`` (as the first of three)."""
        count = len(self.code)
        out = np.zeros((hi - lo, count, count, count), np.float32)
        for p in range(self.code.shape[1]):
            out += self.table[lo:hi, p][:, self.entry[..., p]]
        return out

    def at(self, n: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Costs of state triples ``(a, b, c)`` at frames ``n``, all (K,)."""
        entry = 4 * self.code[a] + 2 * self.code[b] + self.code[c]  # (K, P)
        return np.take_along_axis(self.table[n], entry[..., None], -1)[..., 0].sum(-1)


def _transition_costs(states: np.ndarray, switch_cost: float) -> np.ndarray:
    """``(S, S)`` price of going from state b to state c: one change, and :data:`_EXTRA_LIMB` of a
    change for each further limb changing at once (a whole-body swap is one event)."""
    changed = (states[:, None, :] != states[None, :, :]).sum(-1)
    return np.where(changed > 0, switch_cost * (1.0 + _EXTRA_LIMB * (changed - 1)), 0.0).astype(
        np.float32
    )


def _decode(
    motion: _MotionCosts, unary: np.ndarray, transition: np.ndarray, chunk: int = 256
) -> np.ndarray:
    """Viterbi over pairs of consecutive states: motion costs of ``N`` triples, per-frame prices
    ``(N + 2, S)`` and transition prices ``(S, S)`` -> ``(N + 2,)`` states of the cheapest sequence."""
    steps, count = len(motion), len(transition)
    best = unary[0][:, None] + transition + unary[1][None, :]  # (a, b) over frames 0 and 1
    came_from = np.empty((steps, count, count), np.int8 if count <= 127 else np.intp)
    for lo in range(0, steps, chunk):
        triple = motion.chunk(lo, min(lo + chunk, steps))
        step_price = (
            transition[None, :, :] + unary[lo + 2 : lo + 2 + len(triple), None, :]
        )  # (n, b, c)
        for k in range(len(triple)):
            via = best[:, :, None] + triple[k] + step_price[k][None]  # (a, b, c)
            came = via.argmin(0)
            came_from[lo + k] = came
            best = np.take_along_axis(via, came[None], 0)[0]
    path = np.empty(steps + 2, np.intp)
    path[-2], path[-1] = np.unravel_index(int(best.argmin()), best.shape)
    for n in range(steps - 1, -1, -1):
        path[n] = came_from[n, path[n + 1], path[n + 2]]
    return path


def _path_cost(
    path: np.ndarray,
    motion: _MotionCosts,
    unary: np.ndarray,
    transition: np.ndarray,
    lo: int,
    hi: int,
) -> float:
    """The cost of ``path`` over the terms that involve frames ``lo`` to ``hi - 1``."""
    n = np.arange(max(lo - 2, 0), min(hi, len(motion)))
    t = np.arange(max(lo, 1), min(hi + 1, len(path)))
    frames = np.arange(lo, hi)
    return float(
        motion.at(n, path[n], path[n + 1], path[n + 2]).sum()
        + transition[path[t - 1], path[t]].sum()
        + unary[frames, path[frames]].sum()
    )


def _leave_weak_runs(
    path: np.ndarray,
    motion: _MotionCosts,
    unary: np.ndarray,
    transition: np.ndarray,
    states: np.ndarray,
    margin: float,
) -> tuple[np.ndarray, int]:
    """Each limb's runs of relabelled frames, one at a time, go back to the detector's labels
    (that limb alone) unless the relabelling explains the track better by ``margin`` over the run
    and, at each of its ends inside the track, neither triple of frames spanning the change
    explains it worse by more than :data:`END_MARGIN` -> (path, how many runs went back). A swap is
    an event with two ends, at each of which the motion breaks under the detector's labels and
    relabelling mends it (or, where the twins coincide, nothing shows); a run backed at one end
    only, with the other end against it, is a detector's glitch (a foot on the other foot for a
    frame) that relabelling everything on one side of it explains away."""
    path, kept = path.copy(), 0
    for g in range(states.shape[1]):
        without = _without_limb(states, g)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], states[path, g] > 0, [0]])))
        for lo, hi in zip(edges[::2], edges[1::2]):
            alone = path.copy()
            alone[lo:hi] = without[path[lo:hi]]
            total = _path_cost(alone, motion, unary, transition, lo, hi) - _path_cost(
                path, motion, unary, transition, lo, hi
            )
            ends = [_end_support(alone, path, motion, at) for at in (lo, hi) if 0 < at < len(path)]
            if total < margin or min(ends, default=END_MARGIN) < END_MARGIN:
                path, kept = alone, kept + 1
    return path, kept


def _end_support(alone: np.ndarray, path: np.ndarray, motion: _MotionCosts, at: int) -> float:
    """How much better ``path`` than ``alone`` explains the motion across a change between frames
    ``at - 1`` and ``at``: the lesser gain of the two triples of frames that span it."""
    n = np.arange(max(at - 2, 0), min(at, len(motion)))
    gain = motion.at(n, alone[n], alone[n + 1], alone[n + 2]) - motion.at(
        n, path[n], path[n + 1], path[n + 2]
    )
    return float(gain.min())


def _without_limb(states: np.ndarray, g: int) -> np.ndarray:
    """``(S,)`` for each state, the index of the same state with limb ``g`` as labelled."""
    left = states.copy()
    left[:, g] = 0
    return np.array([_state_index(states, row) for row in left], np.intp)


def _leave_undecided_limbs(
    path: np.ndarray,
    states: np.ndarray,
    cues: np.ndarray,
    seen: np.ndarray,
) -> tuple[np.ndarray, list[float]]:
    """Motion tells only that a limb's labels jumped, not which side of the jump is right: the
    decoding sides with the majority of frames. Where it would relabel more than
    :data:`MAX_RELABELLED` of the frames a limb is seen in, that majority is too thin, and unless
    the per-frame ``cues`` (T, S) back the relabelling by :data:`CUE_SUPPORT` a relabelled frame on
    average, the limb keeps the detector's labels throughout (``seen``: ``(T, G)`` the frames each
    limb is seen in) -> (path, per limb the share it would have relabelled, 0 where the decoding
    stands)."""
    out, shares = path.copy(), []
    frames = np.arange(len(path))
    for g in range(states.shape[1]):
        relabelled = states[out, g] > 0
        share = float(relabelled[seen[:, g]].mean()) if seen[:, g].any() else 0.0
        alone = _without_limb(states, g)[out]
        support = float((cues[frames, alone] - cues[frames, out])[relabelled].sum())
        if share <= MAX_RELABELLED or support > CUE_SUPPORT * relabelled.sum():
            shares.append(0.0)
            continue
        shares.append(share)
        out = alone
    return out, shares


def _limbs_seen(
    keypoints: np.ndarray, limbs: list[list[tuple[np.ndarray, np.ndarray]]]
) -> np.ndarray:
    """``(T, G)`` bool: the frames in which some joint of each limb is seen."""
    seen = np.zeros((len(keypoints), len(limbs)), bool)
    for g, limb in enumerate(limbs):
        if limb:
            joints = np.concatenate([np.concatenate(pair) for pair in limb])
            seen[:, g] = np.isfinite(keypoints[:, joints, :2]).all(-1).any(-1)
    return seen


def _state_index(states: np.ndarray, state: np.ndarray) -> int:
    return int(np.flatnonzero((states == state).all(1))[0])


def _frames(mask: np.ndarray) -> str:
    """``"3, 17-19"`` for a (T,) mask."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return ", ".join(
        str(lo) if hi - lo == 1 else f"{lo}-{hi - 1}" for lo, hi in zip(edges[::2], edges[1::2])
    )


def _report_line(swapped: np.ndarray, names: list[str], kept: int) -> str:
    frames = len(swapped)
    alone = f"; {kept} weakly supported run(s) left as detected" if kept else ""
    fixed = int(swapped.any(axis=1).sum())
    if fixed == 0:
        return f"no left/right swaps found in {frames} frames{alone}"
    parts = ", ".join(f"{name} {int(n)}" for name, n in zip(names, swapped.sum(0)) if n)
    return f"undid left/right swaps in {fixed} of {frames} frames ({parts}){alone}"
