"""People over time: linking detections into tracks, choosing whom to lift, filling gaps.

Input is :class:`~posemoe.io.keypoints.KeypointFrames` (per frame, ``(P_t, J, 3)`` pixels +
confidence); a track is ``(T, J, 3)`` with NaN where the person is absent. Joints whose x or y is
not finite or lies beyond :data:`~posemoe.io.keypoints.MAX_ABS_PIXELS`, or whose confidence is
not finite, are treated as missing, and the report says how many there were.
"""

from __future__ import annotations

import numpy as np

from posemoe.errors import UserError
from posemoe.io.keypoints import MAX_ABS_PIXELS, KeypointFrames


def drop_invalid(frames: KeypointFrames) -> tuple[KeypointFrames, list[str]]:
    """Joints with non-finite or absurd values become NaN (missing); confidences are clipped to
    [0, 1]; people left without a joint are dropped. -> (cleaned frames, report lines)."""
    people, bad_joints, bad_frames, clipped = [], 0, 0, 0
    for frame in frames.people:
        frame = np.array(frame, dtype=np.float64).reshape(-1, frames.layout.num_joints, frame.shape[-1])
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
        people.append(frame[~np.isnan(frame[..., :2]).all(axis=(1, 2))])
    report = []
    if bad_joints:
        report.append(f"{bad_joints} joint position(s) in {bad_frames} frame(s) were not finite or beyond "
                      f"{MAX_ABS_PIXELS:.0e} px and count as missing")
    if clipped:
        report.append(f"{clipped} confidence value(s) outside [0, 1] were clipped")
    return KeypointFrames(people, frames.layout, frames.source), report


def track_people(frames: KeypointFrames, max_jump: float = 0.5) -> list[np.ndarray]:
    """Link people across frames into tracks: ``(T, J, 3)`` each, NaN where the track is absent.

    Greedy matching frame to frame by mean joint distance (over the joints both have), relative
    to the person's size; a person further than ``max_jump`` sizes from every open track starts a
    new one. Expects frames cleaned by :func:`drop_invalid`.
    """
    t_total, joints = len(frames), frames.layout.num_joints
    tracks: list[np.ndarray] = []
    last: list[np.ndarray | None] = []
    for t, people in enumerate(frames.people):
        free = list(range(len(tracks)))
        for person in sorted(people, key=lambda p: -_size(p)):
            best, best_cost = None, max_jump
            for k in free:
                if last[k] is None:
                    continue
                distance = np.linalg.norm(person[:, :2] - last[k][:, :2], axis=-1)
                shared = ~np.isnan(distance)
                if not shared.any():
                    continue
                cost = distance[shared].mean() / max(_size(person), 1e-6)
                if cost < best_cost:
                    best, best_cost = k, cost
            if best is None:
                tracks.append(np.full((t_total, joints, 3), np.nan))
                last.append(None)
                best = len(tracks) - 1
            else:
                free.remove(best)
            tracks[best][t] = person
            last[best] = person
    return tracks


def _size(person: np.ndarray) -> float:
    """Diagonal of the box around a person's confident joints, pixels (0 when none is seen)."""
    ok = ~np.isnan(person[:, :2]).any(-1)
    if person.shape[-1] == 3:
        ok &= np.nan_to_num(person[:, 2]) > 0.1
    if not ok.any():
        return 0.0
    xy = person[ok, :2]
    return float(np.linalg.norm(xy.max(0) - xy.min(0)))


def _spread(person: np.ndarray) -> float:
    """Like :func:`_size`, over the 10th to 90th percentile of the seen joints: one joint far away
    (a detector's wild guess, or a value just under the cut-off) cannot make a person large."""
    ok = ~np.isnan(person[:, :2]).any(-1)
    if person.shape[-1] == 3:
        ok &= np.nan_to_num(person[:, 2]) > 0.1
    if not ok.any():
        return 0.0
    low, high = np.percentile(person[ok, :2], [10, 90], axis=0)
    return float(np.linalg.norm(high - low))


def _seen(track: np.ndarray) -> np.ndarray:
    """(T,) frames in which the track has any joint."""
    return ~np.isnan(track[..., :2]).all(axis=(1, 2))


def main_track(frames: KeypointFrames, track: int | None = None) -> tuple[np.ndarray, list[str]]:
    """The track to lift: by default the one with the largest (frames seen x median spread), so that
    neither one wild frame nor one wild joint outweighs a person seen throughout; ``track`` picks
    another (tracks are numbered by that score, 0 = default). Invalid joints are dropped first
    (:func:`drop_invalid`). -> ((T, J, 3), report)."""
    frames, report = drop_invalid(frames)
    tracks = track_people(frames)
    where = f"{frames.source}: " if frames.source else ""
    if not tracks:
        raise UserError(f"{where}no person found in any of its {len(frames)} frames")
    score = [_seen(tr).sum() * np.median([_spread(p) for p in tr[_seen(tr)]]) for tr in tracks]
    order = np.argsort(score, kind="stable")[::-1]
    pick = 0 if track is None else track
    if not 0 <= pick < len(tracks):
        raise UserError(f"--track {pick}: {where}there are {len(tracks)} tracks (0-{len(tracks) - 1})")
    chosen = tracks[order[pick]]
    seen = int(_seen(chosen).sum())
    return chosen, [f"{len(tracks)} track(s); lifting track {pick}, seen in {seen} of {len(chosen)} frames", *report]


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
        if not ok.any():  # never seen with confidence: the detector's own guesses, else the body's centre
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
    report = [f"filled {filled} of {good.size} joint positions ({empty} frames without a usable person)"]
    return out, report


def _centre_of_good(points: np.ndarray, good: np.ndarray) -> np.ndarray:
    """(T, 2): per frame the mean of the good joints, interpolated over frames that have none."""
    t = np.arange(len(points))
    counts = good.sum(1)
    sums = np.where(good[..., None], np.nan_to_num(points[..., :2]), 0.0).sum(1)
    have = counts > 0
    centre = sums[have] / counts[have, None]
    return np.stack([np.interp(t, t[have], centre[:, c]) for c in range(2)], -1)
