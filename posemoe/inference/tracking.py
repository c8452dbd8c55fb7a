"""People over time: linking detections into tracks, choosing whom to lift, filling gaps.

Input is :class:`~posemoe.io.keypoints.KeypointFrames` (per frame, ``(P_t, J, 3)`` pixels +
confidence); a track is ``(T, J, 3)`` with NaN where the person is absent. Joints whose x or y is
not finite or lies beyond :data:`~posemoe.io.keypoints.MAX_ABS_PIXELS`, or whose confidence is
not finite, are treated as missing, and the report says how many there were.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from posemoe.errors import UserError
from posemoe.io.keypoints import MAX_ABS_PIXELS, KeypointFrames
from posemoe.layouts import JointLayout

MAX_PEOPLE_PER_FRAME = 256  # more than any crowd a pose detector finds in one frame


def drop_invalid(frames: KeypointFrames) -> tuple[KeypointFrames, list[str]]:
    """Joints with non-finite or absurd values become NaN (missing); confidences are clipped to
    [0, 1]; people left without a joint are dropped; a frame of more than
    :data:`MAX_PEOPLE_PER_FRAME` people keeps that many, those with the most joints seen.
    -> (cleaned frames, report lines)."""
    people, bad_joints, bad_frames, clipped, crowded, most = [], 0, 0, 0, 0, 0
    for frame in frames.people:
        frame = np.array(frame, dtype=np.float64).reshape(
            -1, frames.layout.num_joints, frame.shape[-1]
        )
        xy = frame[..., :2]
        present = ~np.isnan(xy).all(-1)
        valid = np.isfinite(xy).all(-1) & (np.abs(np.nan_to_num(xy)) <= MAX_ABS_PIXELS).all(-1)
        if frame.shape[-1] > 2:
            valid &= np.isfinite(frame[..., 2])
            inside = valid & ((frame[..., 2] < 0) | (frame[..., 2] > 1))
            clipped += int(inside.sum())
            frame[..., 2] = np.clip(frame[..., 2], 0, 1)
        invalid = present & ~valid
        if invalid.any():
            bad_joints += int(invalid.sum())
            bad_frames += 1
            frame[invalid] = np.nan
        frame = frame[~np.isnan(frame[..., :2]).all(axis=(1, 2))]
        if len(frame) > MAX_PEOPLE_PER_FRAME:
            crowded, most = crowded + 1, max(most, len(frame))
            frame = frame[np.sort(_by_quality(frame)[:MAX_PEOPLE_PER_FRAME])]
        people.append(frame)
    report = []
    if bad_joints:
        report.append(
            f"{bad_joints} joint position(s) in {bad_frames} frame(s) were not finite or beyond "
            f"{MAX_ABS_PIXELS:.0e} px and count as missing"
        )
    if clipped:
        report.append(f"{clipped} confidence value(s) outside [0, 1] were clipped")
    if crowded:
        where = f"{frames.source}: " if frames.source else ""
        report.append(
            f"{where}{crowded} frame(s) held more than {MAX_PEOPLE_PER_FRAME} people (up to {most}); "
            f"the {MAX_PEOPLE_PER_FRAME} with the most joints seen were kept in each"
        )
    return KeypointFrames(people, frames.layout, frames.source), report


def _by_quality(people: np.ndarray) -> np.ndarray:
    """Indices of (P, J, C) people, best first: more joints seen, then higher mean confidence
    (ties keep their order)."""
    seen = ~np.isnan(people[..., :2]).any(-1)
    count = seen.sum(1)
    confidence = np.zeros(len(people))
    if people.shape[-1] == 3:
        confidence = np.where(seen, np.nan_to_num(people[..., 2]), 0.0).sum(1) / np.maximum(
            count, 1
        )
    return np.lexsort((-confidence, -count))


BOX_WEIGHT = 0.5  # the box's share of a match's cost, beside the joints
MIN_IOU = 0.3  # a detection overlapping a track's predicted box this much may match whatever its joints say
MAX_SIZE_RATIO = 1.6  # ... unless its box is this much larger or smaller


class Tracker:
    """Online linking of people into tracks, one frame at a time (:meth:`update`).

    Each frame, every open track predicts where its person is now (constant velocity from its last
    two sightings), and detections are matched to tracks by an optimal assignment. A match costs the
    mean joint distance to the prediction, relative to the person's size, with each left/right pair
    of ``layout`` scored as labelled and exchanged and the better taken (a detector's label flip
    cannot break a track), plus :data:`BOX_WEIGHT` x (1 - overlap of the boxes). A pair further apart
    than ``max_jump`` sizes is no match unless the boxes overlap by :data:`MIN_IOU` at a similar
    size: the detection starts a new track. The sightings a prediction uses are stored with their
    pairs in the track's own labelling, so the velocity never extrapolates a flip. A track unseen
    for more than ``max_gap`` frames is closed. Ids count up from 0 in order of appearance.
    """

    def __init__(
        self, max_jump: float = 0.5, max_gap: int = 30, *, layout: JointLayout | None = None
    ) -> None:
        self.max_jump, self.max_gap = max_jump, max_gap
        self.pairs = (
            (np.asarray(layout.left, np.intp), np.asarray(layout.right, np.intp))
            if layout
            else None
        )
        self.last: list[
            list[np.ndarray]
        ] = []  # per track: its last two sightings (J, 3), in its own labelling ...
        self.seen: list[list[int]] = []  # ... and the frames they were in
        self.open: list[int] = []  # the tracks seen within max_gap frames
        self.frame = -1

    def update(self, people: np.ndarray | list[np.ndarray]) -> list[int]:
        """The next frame's detections (P, J, 3) -> the track id of each (new ids for new people)."""
        from scipy.optimize import linear_sum_assignment

        self.frame += 1
        t = self.frame
        self.open = [k for k in self.open if t - self.seen[k][-1] <= self.max_gap]
        open_ = self.open
        cost = np.full((len(people), len(open_)), np.inf)
        allowed = np.zeros(cost.shape, bool)
        aligned: dict[tuple[int, int], np.ndarray] = {}
        for i, person in enumerate(people):
            person = np.asarray(person, np.float64)
            size, box = max(_size(person), 1e-6), _box(person)
            for j, k in enumerate(open_):
                predicted = self._predict(k, t)
                joints, aligned[i, j] = pair_distance(person, predicted, self.pairs)
                overlap, ratio = _box_overlap(box, _box(predicted, self.last[k][-1]))
                if np.isfinite(joints):
                    cost[i, j] = joints / size + BOX_WEIGHT * (1.0 - overlap)
                    allowed[i, j] = joints / size < self.max_jump or (
                        overlap >= MIN_IOU and ratio <= MAX_SIZE_RATIO
                    )
        rows, cols = linear_sum_assignment(np.where(allowed, cost, 1e6)) if cost.size else ([], [])
        matched = {i: j for i, j in zip(rows, cols) if allowed[i, j]}
        ids = []
        for i, person in enumerate(people):
            j = matched.get(i)
            if j is None:
                self.last.append([])
                self.seen.append([])
                k, own = len(self.seen) - 1, np.asarray(person, np.float64)
                self.open.append(k)
            else:
                k, own = open_[j], aligned[i, j]
            self.last[k] = [*self.last[k][-1:], own]
            self.seen[k] = [*self.seen[k][-1:], t]
            ids.append(k)
        return ids

    def _predict(self, k: int, t: int) -> np.ndarray:
        """(J, 2) where track ``k``'s joints should be at frame ``t``: its last sighting moved on by
        the velocity between its last two sightings (held for at most 10 frames ahead)."""
        last = self.last[k][-1][:, :2]
        if len(self.seen[k]) < 2:
            return last
        velocity = (last - self.last[k][0][:, :2]) / (self.seen[k][1] - self.seen[k][0])
        velocity = np.where(np.isnan(velocity), 0.0, velocity)
        return last + velocity * min(t - self.seen[k][1], 10)


def pair_distance(
    person: np.ndarray, target: np.ndarray, pairs: tuple[np.ndarray, np.ndarray] | None
) -> tuple[float, np.ndarray]:
    """Mean joint distance (pixels) of ``person`` (J, 2|3) to ``target`` (J, >=2) over the joints both
    have, each left/right pair taken as labelled or exchanged, whichever is nearer -> (distance, NaN
    when they share no joint; ``person`` with its pairs in ``target``'s labelling)."""
    out = np.array(person, np.float64)
    if pairs is not None and len(pairs[0]):
        left, right = pairs

        def gap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            return np.linalg.norm(out[a, :2] - target[b, :2], axis=-1)

        as_given = np.fmax(
            gap(left, left), gap(right, right)
        )  # fmax: a missing joint is no evidence
        exchanged = np.fmax(gap(right, left), gap(left, right))
        flip = exchanged < as_given  # NaN compares False: keep the labels when unsure
        out[left[flip]], out[right[flip]] = person[right[flip]], person[left[flip]]
    distance = np.linalg.norm(out[:, :2] - target[:, :2], axis=-1)
    shared = np.isfinite(distance)
    return (float(distance[shared].mean()) if shared.any() else np.nan), out


def _box(points: np.ndarray, confidence_from: np.ndarray | None = None) -> np.ndarray | None:
    """(x0, y0, x1, y1) pixels around the confident joints of ``points`` (J, 2|3); confidences from
    ``confidence_from`` when the points have none (a prediction). None when no joint is confident."""
    if confidence_from is not None and confidence_from.shape[-1] == 3:
        points = np.concatenate([points[:, :2], confidence_from[:, 2:3]], -1)
    xy = _confident(points)
    return np.concatenate([xy.min(0), xy.max(0)]) if len(xy) else None


def _box_overlap(a: np.ndarray | None, b: np.ndarray | None) -> tuple[float, float]:
    """Intersection over union of two boxes, and the ratio of their diagonals (>= 1; inf if one is
    missing or empty)."""
    if a is None or b is None:
        return 0.0, np.inf
    inter = np.prod(np.clip(np.minimum(a[2:], b[2:]) - np.maximum(a[:2], b[:2]), 0, None))
    areas = np.prod(a[2:] - a[:2]), np.prod(b[2:] - b[:2])
    union = areas[0] + areas[1] - inter
    diagonals = sorted([np.linalg.norm(a[2:] - a[:2]), np.linalg.norm(b[2:] - b[:2])])
    ratio = diagonals[1] / diagonals[0] if diagonals[0] > 0 else np.inf
    return (float(inter / union) if union > 0 else 0.0), float(ratio)


def track_people(
    frames: KeypointFrames, max_jump: float = 0.5, max_gap: int = 30
) -> list[np.ndarray]:
    """Link people across frames into tracks with a :class:`Tracker` that knows the frames' layout:
    ``(T, J, 3)`` each, NaN where the track is absent. Expects frames cleaned by :func:`drop_invalid`."""
    return [_dense(track, len(frames)) for track in _link(frames, max_jump, max_gap)]


def _link(
    frames: KeypointFrames, max_jump: float = 0.5, max_gap: int = 30
) -> list[tuple[list[int], list[np.ndarray]]]:
    """The tracks of :func:`track_people` as (frames seen, (J, 3) sightings): memory in proportion
    to the detections, not to tracks x frames."""
    tracker, tracks = Tracker(max_jump, max_gap, layout=frames.layout), []
    for t, people in enumerate(frames.people):
        people = _without_duplicates([p for p in people if not np.isnan(p[:, :2]).all()])
        for k, person in zip(tracker.update(people), people):
            if k == len(tracks):
                tracks.append(([], []))
            tracks[k][0].append(t)
            tracks[k][1].append(person)
    return tracks


def _dense(track: tuple[list[int], list[np.ndarray]], frames: int) -> np.ndarray:
    """A track of :func:`_link` -> (T, J, 3), NaN where it is absent."""
    seen, people = track
    out = np.full((frames, len(people[0]), 3), np.nan)
    out[seen] = np.stack(people)
    return out


JOIN_GAP = 60  # frames: fragments further apart in time are not joined
JOIN_MOVE = (
    0.5,
    0.05,
)  # last pose to next first pose: at most a + b x gap frames, in sizes (1.5 a second at 30 fps)
JOIN_SCALE = (
    1.5  # their skeletons' sizes (bone lengths, not boxes: a crouch keeps them) within this ratio
)
JOIN_SHAPE = 0.25  # and their bone proportions this close (mean relative difference)


@dataclass(frozen=True)
class Join:
    """Two fragments found to be one person: ``first`` ends at ``end``, ``second`` starts at
    ``start`` (frames); ``move`` (sizes), ``scale`` (ratio >= 1) and ``shape`` (relative difference
    of bone proportions) are what they were judged on."""

    first: int
    second: int
    end: int
    start: int
    move: float
    scale: float
    shape: float

    def cost(self) -> float:
        gap = self.start - self.end
        return (
            self.move / (JOIN_MOVE[0] + JOIN_MOVE[1] * gap)
            + np.log(self.scale)
            + self.shape / JOIN_SHAPE
        )


def join_fragments(
    tracks: list[np.ndarray], layout: JointLayout
) -> tuple[list[np.ndarray], list[str]]:
    """Offline, the tracker's fragments of one person made one track: two tracks that never overlap
    in time join when the second starts where the first ended (:data:`JOIN_MOVE`), within
    :data:`JOIN_GAP` frames, with a skeleton of the same size (:data:`JOIN_SCALE`) and proportions
    (:data:`JOIN_SHAPE`); the best fitting candidates first, each fragment joined at most once at
    either end. Each left/right pair is compared as labelled and exchanged. -> (tracks, in order of
    their first frame; report lines naming what was joined)."""
    seen = [np.flatnonzero(_seen(tr)) for tr in tracks]
    bones = [_bone_lengths(tr, layout) for tr in tracks]
    candidates = [
        join
        for a in range(len(tracks))
        for b in range(len(tracks))
        if (join := _judge(a, b, tracks, seen, bones, layout)) is not None
    ]
    after: dict[int, int] = {}
    before: dict[int, int] = {}
    for join in sorted(candidates, key=Join.cost):
        if join.first not in after and join.second not in before and not _same_chain(join, after):
            after[join.first], before[join.second] = join.second, join.first
    joined, report = [], []
    for head in sorted(
        (k for k in range(len(tracks)) if k not in before), key=lambda k: seen[k][0]
    ):
        chain = [head]
        while chain[-1] in after:
            chain.append(after[chain[-1]])
        track = tracks[head].copy()
        for k in chain[1:]:
            track[seen[k]] = tracks[k][seen[k]]
        joined.append(track)
        if len(chain) > 1:
            spans = " + ".join(f"{seen[k][0]}-{seen[k][-1]}" for k in chain)
            report.append(f"joined {len(chain)} track fragments into one person (frames {spans})")
    return joined, report


def _judge(
    a: int,
    b: int,
    tracks: list[np.ndarray],
    seen: list[np.ndarray],
    bones: list[np.ndarray],
    layout: JointLayout,
) -> Join | None:
    """Whether fragment ``b`` may continue fragment ``a`` -> the :class:`Join`, or None."""
    end, start = seen[a][-1], seen[b][0]
    if not (end < start <= end + JOIN_GAP) or not len(bones[a]) or not len(bones[b]):
        return None
    pairs = (np.asarray(layout.left, np.intp), np.asarray(layout.right, np.intp))
    last, first = tracks[a][end], tracks[b][start]
    distance, _ = pair_distance(first, last, pairs)
    size = max(0.5 * (_size(last) + _size(first)), 1e-6)
    shared = np.isfinite(bones[a]) & np.isfinite(
        bones[b]
    )  # bones both fragments saw: sizes compare like for like
    total = [float(np.sum(x[shared])) for x in (bones[a], bones[b])]
    if not np.isfinite(distance) or not shared.any() or min(total) <= 0:
        return None
    move, scale = distance / size, max(total) / min(total)
    shape = float(
        np.mean(
            np.abs(bones[a][shared] / total[0] - bones[b][shared] / total[1])
            / (0.5 * (bones[a][shared] / total[0] + bones[b][shared] / total[1]) + 1e-9)
        )
    )
    if (
        move > JOIN_MOVE[0] + JOIN_MOVE[1] * (start - end)
        or scale > JOIN_SCALE
        or shape > JOIN_SHAPE
    ):
        return None
    return Join(a, b, int(end), int(start), move, scale, shape)


JOIN_MAX_CELLS = (
    50_000_000  # joints x frames x tracks held at once to join fragments; beyond: not joined
)


def _joined(
    links: list[tuple[list[int], list[np.ndarray]]], frames: int, layout: JointLayout
) -> tuple[list[tuple[list[int], list[np.ndarray]]], list[str]]:
    """:func:`join_fragments` of the tracks of :func:`_link` (made dense for it), back as (frames
    seen, sightings); skipped, and said, where the tracks would take more than
    :data:`JOIN_MAX_CELLS` joint rows dense (a crowd in a long recording)."""
    if len(links) * frames * layout.num_joints > JOIN_MAX_CELLS:
        return links, [
            f"{len(links)} tracks over {frames} frames are too many to compare for joining; "
            "fragments were not joined"
        ]
    dense, report = join_fragments([_dense(link, frames) for link in links], layout)
    return [
        (list(np.flatnonzero(_seen(track))), list(track[_seen(track)])) for track in dense
    ], report


def _same_chain(join: Join, after: dict[int, int]) -> bool:
    """Whether ``join.second`` already leads to ``join.first`` (joining would close a loop)."""
    k = join.second
    while k in after:
        k = after[k]
        if k == join.first:
            return True
    return False


def _bone_lengths(track: np.ndarray, layout: JointLayout, quantile: float = 0.9) -> np.ndarray:
    """(B,) a track's 2D bone lengths, pixels: per bone the ``quantile`` over the frames where both
    ends are confident (near the bone's length across the image: foreshortening only shortens it),
    each left bone and its right twin given their mean, so that a swap changes nothing. NaN for a
    bone never seen; empty when the track has no frame."""
    flip = layout.flip_permutation()
    parent, child = np.asarray(layout.bones).T
    ok = ~np.isnan(track[..., :2]).any(-1) & (
        np.nan_to_num(track[..., 2], nan=0.0) > 0.1 if track.shape[-1] == 3 else True
    )
    both = ok[:, parent] & ok[:, child]
    if not both.any():
        return np.zeros(0)
    length = np.where(
        both, np.linalg.norm(track[:, parent, :2] - track[:, child, :2], axis=-1), np.nan
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a bone never seen: NaN
        per_bone = np.nanquantile(length, quantile, axis=0)
    twin = [
        layout.bones.index((flip[p], flip[c])) if (flip[p], flip[c]) in layout.bones else i
        for i, (p, c) in enumerate(layout.bones)
    ]
    both = np.stack([per_bone, per_bone[twin]])
    seen = np.isfinite(both).sum(0)
    return np.where(seen > 0, np.nansum(both, axis=0) / np.maximum(seen, 1), np.nan)


def _without_duplicates(people: list[np.ndarray], overlap: float = 0.1) -> list[np.ndarray]:
    """One frame's people without second detections of the same person (mean joint distance under
    ``overlap`` sizes): the one with more seen joints, then the higher mean confidence, stays.

    Linear in the number of people: the people kept are filed by each seen joint's cell in a grid
    as fine as the largest such distance, and a newcomer is compared only with those filed in its
    joints' cells and their neighbours (a mean distance under that bound needs one joint under it)."""
    if len(people) < 2:
        return people
    stack = np.stack(people)
    order = _by_quality(stack)
    limits = overlap * np.maximum([_size(p) for p in people], 1e-6)
    cell = float(limits.max())
    grid: dict[tuple[int, int, int], list[int]] = {}
    kept: list[int] = []
    for i in order:
        xy = stack[i, :, :2]
        cells = {
            (j, int(x // cell), int(y // cell))
            for j, (x, y) in enumerate(xy)
            if not np.isnan(x + y)
        }
        near = {
            k
            for j, cx, cy in cells
            for dx in (-1, 0, 1)
            for dy in (-1, 0, 1)
            for k in grid.get((j, cx + dx, cy + dy), ())
        }
        if any(_mean_distance(xy, stack[k, :, :2]) < limits[i] for k in near):
            continue
        kept.append(i)
        for key in cells:
            grid.setdefault(key, []).append(i)
    return [people[i] for i in kept]


def _mean_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean distance of the joints two (J, 2) people share (inf when they share none)."""
    distance = np.linalg.norm(a - b, axis=-1)
    shared = ~np.isnan(distance)
    return float(distance[shared].mean()) if shared.any() else np.inf


def _confident(person: np.ndarray) -> np.ndarray:
    """(J, 2) pixels of a (J, 2|3) person's seen joints of confidence over 0.1."""
    ok = ~np.isnan(person[:, :2]).any(-1)
    if person.shape[-1] == 3:
        ok &= np.nan_to_num(person[:, 2]) > 0.1
    return person[ok, :2]


def _size(person: np.ndarray) -> float:
    """Diagonal of the box around a person's confident joints, pixels (0 when none is seen)."""
    xy = _confident(person)
    return float(np.linalg.norm(xy.max(0) - xy.min(0))) if len(xy) else 0.0


def _spreads(people: np.ndarray) -> np.ndarray:
    """(N,) like :func:`_size` for each of (N, J, 2|3) people, over the 10th to 90th percentile of
    the seen joints: one joint far away (a detector's wild guess, or a value just under the
    cut-off) cannot make a person large."""
    xy = people[..., :2].copy()
    ok = ~np.isnan(xy).any(-1)
    if people.shape[-1] == 3:
        ok &= np.nan_to_num(people[..., 2]) > 0.1
    xy[~ok] = np.nan
    out = np.zeros(len(people))
    any_ = ok.any(1)
    if any_.any():
        low, high = np.nanpercentile(xy[any_], [10, 90], axis=1)
        out[any_] = np.linalg.norm(high - low, axis=-1)
    return out


def _seen(track: np.ndarray) -> np.ndarray:
    """(T,) frames in which a dense track has any joint."""
    return ~np.isnan(track[..., :2]).all(axis=(1, 2))


MIN_SPREAD = (
    0.1  # people smaller than this share of the largest person's median spread are not lifted
)
MAX_LIFTED = 64  # people lifted unless --max-people or --track says otherwise: 3 files each


def select_tracks(
    frames: KeypointFrames,
    *,
    track: int | None = None,
    max_people: int | None = None,
    min_frames: int | None = None,
) -> tuple[list[tuple[int, np.ndarray]], list[str]]:
    """The people to lift, as (id, ``(T, J, 3)`` track). Tracks are numbered by (frames seen x median
    spread), 0 the most present, so that neither one wild frame nor one wild joint outweighs a person
    seen throughout. By default every track seen in at least ``min_frames`` frames (default: a tenth
    of the recording, at most 10, at least 1) and not smaller than :data:`MIN_SPREAD` of the largest
    person is chosen, the top ``max_people`` of them if given (else at most :data:`MAX_LIFTED`);
    fragments of one person are joined first (:func:`join_fragments`);
    ``track`` picks one id. Invalid joints are dropped first (:func:`drop_invalid`)."""
    frames, report = drop_invalid(frames)
    tracks, joined = _joined(_link(frames), len(frames), frames.layout)
    where = f"{frames.source}: " if frames.source else ""
    if not tracks:
        raise UserError(f"{where}no person found in any of its {len(frames)} frames")
    seen_count = [len(seen) for seen, _ in tracks]
    spreads = [float(np.median(_spreads(np.stack(people)))) for _, people in tracks]
    order = np.argsort([n * sp for n, sp in zip(seen_count, spreads)], kind="stable")[::-1]
    ranked, seen_count, spreads = (
        [tracks[k] for k in order],
        [seen_count[k] for k in order],
        [spreads[k] for k in order],
    )
    if track is not None:
        if not 0 <= track < len(ranked):
            ids = (
                "is only id 0"
                if len(ranked) == 1
                else f"are {len(ranked)} tracks, ids 0-{len(ranked) - 1}"
            )
            raise UserError(f"--track {track}: {where}there {ids}")
        chosen = [track]
    else:
        least = (
            min_frames if min_frames is not None else int(np.clip(np.ceil(len(frames) / 10), 1, 10))
        )
        smallest = max(MIN_SPREAD * max(spreads), 1.0)  # not a speck beside the main person
        chosen = [
            k for k in range(len(ranked)) if seen_count[k] >= least and spreads[k] >= smallest
        ] or [0]
        if max_people is None and len(chosen) > MAX_LIFTED:
            report.append(
                f"{where}{len(chosen)} people are seen long enough; the {MAX_LIFTED} most present are "
                "lifted (--max-people for fewer, --track ID for anyone else)"
            )
        chosen = chosen[: max_people or MAX_LIFTED]
    seen = ", ".join(f"person {k} ({seen_count[k]} frames)" for k in chosen)
    return [(k, _dense(ranked[k], len(frames))) for k in chosen], [
        f"{len(ranked)} track(s) in {len(frames)} frames; lifting {seen}",
        *joined,
        *report,
    ]


def main_track(frames: KeypointFrames, track: int | None = None) -> tuple[np.ndarray, list[str]]:
    """One track to lift: the most present person (id 0), or ``track`` -> ((T, J, 3), report);
    see :func:`select_tracks`."""
    chosen, report = select_tracks(frames, track=track, max_people=1, min_frames=1)
    return chosen[0][1], report


def fill_gaps(keypoints: np.ndarray, min_confidence: float = 0.3) -> tuple[np.ndarray, list[str]]:
    """Replace missing (NaN) or low-confidence joints by linear interpolation over time, per
    joint; before the first / after the last good value the nearest good value is held. A joint
    never seen with confidence keeps the detector's guesses (interpolated where absent; the
    centre of the seen joints if it has none). Filled joints keep their low confidence. -> (filled (T, J, 3), report lines)."""
    out = keypoints.astype(np.float64).copy()
    t = np.arange(len(out))
    good = ~np.isnan(out[..., :2]).any(-1) & (np.nan_to_num(out[..., 2], nan=0.0) >= min_confidence)
    if not good.any():
        raise UserError("no joint is seen with enough confidence in any frame")
    filled = 0
    for j in range(out.shape[1]):
        ok = good[:, j]
        if ok.all():
            continue
        if (
            not ok.any()
        ):  # never seen with confidence: the detector's own guesses, else the body's centre
            guessed = ~np.isnan(out[:, j, :2]).any(-1)
            if guessed.any():
                for c in range(2):
                    out[~guessed, j, c] = np.interp(t[~guessed], t[guessed], out[guessed, j, c])
            else:
                out[:, j, :2] = _centre_of_good(out, good)
        else:
            for c in range(2):
                out[~ok, j, c] = np.interp(t[~ok], t[ok], out[ok, j, c])
        out[~ok, j, 2] = np.nan_to_num(out[~ok, j, 2], nan=0.0)
        filled += int((~ok).sum())
    empty = int((~good).all(axis=1).sum())
    report = [
        f"filled {filled} of {good.size} joint positions ({empty} frames without a usable person)"
    ]
    return out, report


def _centre_of_good(points: np.ndarray, good: np.ndarray) -> np.ndarray:
    """(T, 2): per frame the mean of the good joints, interpolated over frames that have none."""
    t = np.arange(len(points))
    counts = good.sum(1)
    sums = np.where(good[..., None], np.nan_to_num(points[..., :2]), 0.0).sum(1)
    have = counts > 0
    centre = sums[have] / counts[have, None]
    return np.stack([np.interp(t, t[have], centre[:, c]) for c in range(2)], -1)
