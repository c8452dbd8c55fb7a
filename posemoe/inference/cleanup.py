"""Clean-up of a 2D detector track before lifting: undoing left/right swaps.

Detectors (BlazePose especially) sometimes label a person's left as right for a run of frames:
the whole body, when they believe the person faces the other way, only the legs or the arms, or
only the feet or the wrists. Each limb (legs, arms, head) gets a temporal model whose states
are the sets of its parts (hips, knees, feet) that are swapped, decoded with Viterbi. A state
sequence costs how badly the relabelled joints break a constant-velocity motion (three frames
at a time), a price per change of state (less per part when parts change together, as in a
whole-limb swap) and a small price per frame a limb spends swapped, so that the labelling that
the majority of frames agrees with wins. Constant velocity rather than constant position: legs
that cross in a side view keep moving the way they were moving, whereas a swap there reverses
both velocities."""

from __future__ import annotations

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
_MAX_PARTS = 3  # a limb has 2 ** parts states and each Viterbi step costs their cube
_EXTRA_PART = 0.1  # price of each further part changing at once, in changes of state
_UNIT_FLOOR = 0.01  # least motion unit, as a fraction of the person's size in the image
_IMPOSSIBLE = 1e9  # per-frame price of the states a limb with fewer parts has not got
_CHUNK = 2048  # frames whose state costs (N, S, S, S, G) are held at once: 6 KB a frame for 3 limbs


def limb_groups(layout: JointLayout = H36M17) -> dict[str, Parts]:
    """``layout``'s left/right pairs by limb (legs, arms, head, then "other"), each limb's pairs
    in parts from the torso outwards: girdle (hips, shoulders), middle (knees, elbows), end
    (feet, hands).

    Detectors swap a whole limb when they mistake which way the person faces, but often only
    the feet, or knees and feet, where the legs cross; hence one part per joint of the chain.
    """
    found: dict[tuple[str, int], list[str]] = {}
    for left in layout.left:
        name = layout.joints[left]
        limb, part = next(((g, p) for g, p, words in _LIMB_WORDS if any(w in name.lower() for w in words)),
                          ("other", 0))
        found.setdefault((limb, part), []).append(name)
    order = [g for g, _, _ in _LIMB_WORDS] + ["other"]
    return {limb: tuple(tuple(found[limb, p]) for p in sorted(p for g, p in found if g == limb))
            for limb in dict.fromkeys(order) if any(g == limb for g, _ in found)}


def fix_left_right_swaps(keypoints: np.ndarray, layout: JointLayout = H36M17, *,
                         groups: Mapping[str, Parts] | None = None, switch_cost: float = 3.0,
                         swap_cost: float = 0.1) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Relabel the frames where a detector swapped the person's left and right.

    ``keypoints``: ``(T, J, 2)`` pixels or ``(T, J, 3)`` pixels + confidence of one person's
    track; NaN marks a missing joint. ``groups``: limb -> parts -> joints (either side of a
    pair), default :func:`limb_groups`; at most 3 parts a limb. ``switch_cost`` is the price of
    a change of state and ``swap_cost`` of each frame a limb spends swapped, both in units of
    the track's typical deviation from constant velocity.

    Returns ``fixed`` (same shape, whole joint rows swapped back), ``swapped`` ``(T, G)`` bool
    (the frames in which some part of each limb was swapped back, columns in the order of
    ``groups``) and a report (human-readable lines).
    """
    _check_keypoints(keypoints, layout)
    groups = limb_groups(layout) if groups is None else groups
    limbs = [[_pair_indices(layout, name, part) for part in parts] for name, parts in groups.items()]
    sizes = [len(limb) for limb in limbs]
    if max(sizes, default=0) > _MAX_PARTS:
        raise UserError(f"expected at most {_MAX_PARTS} parts a limb, got {dict(zip(groups, sizes))}")
    pairs = [pair for limb in limbs for pair in limb]
    bits = _part_bits(sizes)
    if len(keypoints) < 3 or not pairs:
        state = np.zeros((len(keypoints), len(limbs)), np.intp)
    else:
        state = _decode(_part_costs(keypoints, pairs), sizes, _transition_costs(sizes, bits.shape[0], switch_cost,
                                                                                swap_cost))
    limb_of = np.repeat(np.arange(len(limbs)), sizes)
    fixed = keypoints.copy()
    for p, (left, right) in enumerate(pairs):
        rows = np.flatnonzero(bits[state[:, limb_of[p]], p])[:, None]
        fixed[rows, left] = keypoints[rows, right]
        fixed[rows, right] = keypoints[rows, left]
    swapped = state > 0
    return fixed, swapped, [_report_line(swapped, list(groups))]


def _check_keypoints(keypoints: np.ndarray, layout: JointLayout) -> None:
    if not isinstance(keypoints, np.ndarray) or keypoints.ndim != 3 or keypoints.shape[1:] not in (
            (layout.num_joints, 2), (layout.num_joints, 3)):
        shape = getattr(keypoints, "shape", type(keypoints).__name__)
        raise UserError(f"expected keypoints of shape (T, {layout.num_joints}, 2) or (T, {layout.num_joints}, 3) "
                        f"for layout {layout.name}, got {shape}")


def _pair_indices(layout: JointLayout, limb: str, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Left and right joint indices of a part's pairs, named by either side."""
    side_of = {layout.joints[j]: i for i, j in enumerate(layout.left)}
    side_of.update({layout.joints[j]: i for i, j in enumerate(layout.right)})
    if isinstance(names, str) or not names or any(n not in side_of for n in names):
        raise UserError(f"limb {limb!r}: expected parts made of {layout.name}'s left/right joints "
                        f"({', '.join(layout.joints[j] for j in layout.left)} or their right twins), got {names!r}")
    pair = sorted({side_of[n] for n in names})
    return np.asarray(layout.left)[pair], np.asarray(layout.right)[pair]


def _part_bits(sizes: list[int]) -> np.ndarray:
    """``(S, P)`` bool: whether limb state s swaps part p (parts of all limbs in order). A
    limb's state is a bit set, its first part the highest bit, as a C-order reshape lays out."""
    count = 2 ** max(sizes, default=0)
    local = np.concatenate([np.arange(n)[::-1] for n in sizes]) if sizes else np.zeros(0, int)
    return (np.arange(count)[:, None] >> local[None, :]) & 1 == 1


def _transition_costs(sizes: list[int], count: int, switch_cost: float, swap_cost: float) -> np.ndarray:
    """``(S, S, G)`` price of going from state b to state c: a change (each further part
    changing at once adds ``_EXTRA_PART`` of a change, so a whole-limb swap is one event) and
    a frame in c (``swap_cost`` if any part is swapped: in a tie, as when hips seen side-on
    coincide, the girdle goes with the rest of the limb); states a limb has not got cost
    ``_IMPOSSIBLE``."""
    state = np.arange(count)
    flipped = _popcount(state[:, None] ^ state[None, :])
    change = np.where(flipped > 0, switch_cost * (1.0 + _EXTRA_PART * (flipped - 1)), 0.0)
    frame = np.where(state[:, None] < 2 ** np.asarray(sizes)[None, :], swap_cost * (state > 0)[:, None],
                     _IMPOSSIBLE)
    return change[..., None] + frame[None]


def _popcount(states: np.ndarray) -> np.ndarray:
    """Number of swapped parts in each state (bit set)."""
    return sum((states >> k) & 1 for k in range(_MAX_PARTS))


def _part_costs(keypoints: np.ndarray, pairs: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Cost of each part being swapped or not at frames (t-2, t-1, t): ``(2, 2, 2, T-2, P)``
    indexed ``[swapped t-2, swapped t-1, swapped t, t-2, part]``."""
    xy = keypoints[..., :2].astype(np.float64)
    conf = np.clip(keypoints[..., 2], 0.0, 1.0) if keypoints.shape[-1] == 3 else np.ones(xy.shape[:2])
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
    out = np.empty((2, 2, 2, max(len(xy) - 2, 0), len(pairs)), np.float32)
    for start in range(0, out.shape[3], _CHUNK):  # the temporaries below take 3 KB a frame
        p, v = pos[:, start:start + _CHUNK + 2], weight[:, start:start + _CHUNK + 2]
        # Second difference x[t] - 2 x[t-1] + x[t-2]: zero for constant velocity.
        residual = p[None, None, :, 2:] - 2.0 * p[None, :, None, 1:-1] + p[:, None, None, :-2]
        w = np.minimum(np.minimum(v[None, None, :, 2:], v[None, :, None, 1:-1]), v[:, None, None, :-2])
        # Pseudo-Huber: quadratic near the noise level, linear beyond, so one wild joint cannot
        # outvote the rest of its part.
        cost = w * (np.sqrt(1.0 + residual.real**2 + residual.imag**2) - 1.0)
        out[:, :, :, start:start + _CHUNK] = np.add.reduceat(cost, starts, axis=-1)
    return out


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


def _limb_costs(part_costs: np.ndarray, sizes: list[int], count: int) -> np.ndarray:
    """Per-part costs ``(2, 2, 2, N, P)`` -> per-limb state costs ``(N, S, S, S, G)``, indexed
    ``[t-2, state t-2, state t-1, state t, limb]``."""
    steps = part_costs.shape[3]
    out = np.zeros((steps, count, count, count, len(sizes)), np.float32)
    first = 0
    for g, n in enumerate(sizes):
        bits = _part_bits([n]).astype(np.intp)  # (2**n, n)
        # A limb state triple's cost sums its parts' (2, 2, 2) entries: a 0/1 matrix product.
        pick = np.zeros((n, 2, 2, 2) + (2**n,) * 3, np.float32)
        for q in range(n):
            a, b, c = np.ix_(bits[:, q], bits[:, q], bits[:, q])
            pick[(q, a, b, c) + tuple(np.ix_(*(np.arange(2**n),) * 3))] = 1.0
        table = np.moveaxis(part_costs[..., first:first + n], (3, 4), (0, 1)).reshape(steps, 8 * n)
        out[:, : 2**n, : 2**n, : 2**n, g] = (table @ pick.reshape(8 * n, -1)).reshape((steps,) + (2**n,) * 3)
        first += n
    return out


def _decode(part_costs: np.ndarray, sizes: list[int], transition: np.ndarray) -> np.ndarray:
    """Viterbi over pairs of consecutive states, all limbs at once: per-part motion costs
    ``(2, 2, 2, N, P)`` (limb state costs :func:`_limb_costs`, made :data:`_CHUNK` frames at a time,
    so that memory beyond the back-pointers stays the same for any length) and transition prices
    ``(S, S, G)`` -> ``(N + 2, G)`` states of the cheapest sequences."""
    steps, count, limbs = part_costs.shape[3], transition.shape[0], transition.shape[2]
    frame = np.einsum("ssg->sg", transition)  # the price of a frame in each state
    best = (frame[:, None] + transition).astype(np.float32)  # (a, b, G) over frames 0 and 1
    best = np.ascontiguousarray(best.transpose(0, 2, 1)).reshape(count, limbs * count, 1)
    came_from = np.empty((steps, limbs * count, count), np.int8)
    for start in range(0, steps, _CHUNK):
        costs = _limb_costs(part_costs[:, :, :, start:start + _CHUNK], sizes, count)
        costs += transition[None, None].astype(np.float32)  # (n, a, b, c, G)
        # Laid out (n, a, G * b, c): the running best (a, G * b, 1) then broadcasts along the last
        # axis only, numpy's fast case; this loop is most of the run time.
        total = np.ascontiguousarray(costs.transpose(0, 1, 4, 2, 3)).reshape(len(costs), count, limbs * count, count)
        del costs
        for n in range(len(total)):
            via = total[n] + best
            came_from[start + n] = via.argmin(0)
            best = np.minimum.reduce(via, 0).reshape(limbs, count, count).transpose(1, 0, 2).reshape(count, -1, 1)
    came_from = came_from.reshape(steps, limbs, count, count)
    last = best.reshape(count, limbs, count).transpose(1, 0, 2).reshape(limbs, -1).argmin(1)  # (G,) as b * S + c
    path = np.empty((steps + 2, limbs), np.intp)
    path[-2], path[-1] = last // count, last % count
    cols = np.arange(limbs)
    for n in range(steps - 1, -1, -1):
        path[n] = came_from[n, cols, path[n + 1], path[n + 2]]
    return path


def _report_line(swapped: np.ndarray, names: list[str]) -> str:
    frames = len(swapped)
    fixed = int(swapped.any(axis=1).sum())
    if fixed == 0:
        return f"no left/right swaps found in {frames} frames"
    parts = ", ".join(f"{name} {int(n)}" for name, n in zip(names, swapped.sum(0)) if n)
    return f"undid left/right swaps in {fixed} of {frames} frames ({parts})"
