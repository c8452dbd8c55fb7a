"""People over time: linking detections into tracks, choosing whom to lift, filling gaps.

Input is :class:`~posemoe.io.keypoints.KeypointFrames` (per frame, ``(P_t, J, 3)`` pixels +
confidence); a track is ``(T, J, 3)`` with NaN where the person is absent.
"""

from __future__ import annotations

import numpy as np

from posemoe.errors import UserError
from posemoe.io.keypoints import KeypointFrames


def track_people(frames: KeypointFrames, max_jump: float = 0.5) -> list[np.ndarray]:
    """Link people across frames into tracks: ``(T, J, 3)`` each, NaN where the track is absent.

    Greedy matching frame to frame by mean joint distance, relative to the person's size; a
    person further than ``max_jump`` sizes from every open track starts a new one.
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
                cost = np.nanmean(np.linalg.norm(person[:, :2] - last[k][:, :2], axis=-1)) / max(_size(person), 1e-6)
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
    """Diagonal of the box around a person's confident joints, pixels."""
    ok = person[:, 2] > 0.1 if person.shape[-1] == 3 else np.ones(len(person), bool)
    if not ok.any():
        return 0.0
    xy = person[ok, :2]
    return float(np.linalg.norm(xy.max(0) - xy.min(0)))


def main_track(frames: KeypointFrames, track: int | None = None) -> tuple[np.ndarray, list[str]]:
    """The track to lift: by default the one with the largest (frames seen x mean size);
    ``track`` picks another (tracks are numbered by that score, 0 = default). -> ((T, J, 3), report)."""
    tracks = track_people(frames)
    if not tracks:
        raise UserError("no person found in any frame")
    score = [np.sum([_size(p) for p in tr if not np.isnan(p).all()]) for tr in tracks]
    order = np.argsort(score)[::-1]
    pick = 0 if track is None else track
    if not 0 <= pick < len(tracks):
        raise UserError(f"--track {pick}: there are {len(tracks)} tracks (0-{len(tracks) - 1})")
    chosen = tracks[order[pick]]
    seen = int((~np.isnan(chosen[:, 0, 0])).sum())
    return chosen, [f"{len(tracks)} track(s); lifting track {pick}, seen in {seen} of {len(chosen)} frames"]


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
                out[:, j, :2] = np.nanmean(np.where(good[..., None], out[..., :2], np.nan), axis=1)
        else:
            for c in range(2):
                out[~ok, j, c] = np.interp(t[~ok], t[ok], out[ok, j, c])
        out[~ok, j, 2] = np.nan_to_num(out[~ok, j, 2], nan=0.0)
        filled += int((~ok).sum())
    empty = int((~good).all(axis=1).sum())
    report = [f"filled {filled} of {good.size} joint positions ({empty} frames without a usable person)"]
    return out, report
