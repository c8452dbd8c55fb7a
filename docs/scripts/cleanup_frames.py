"""The left/right clean-up on a real clip, frame by frame: the tracks (the online tracker's
fragments, then joined), the frames each person's clean-up relabels, and a JPEG of chosen frames
with BlazePose's labels beside the cleaned ones (left side red, right side blue, centre green).
Needs the clip's saved detections (``posemoe infer CLIP --out D`` writes ``D/<name>_blazepose33.npz``).

    python3 docs/scripts/cleanup_frames.py CLIP.mp4 D/<name>_blazepose33.npz            # tables
    python3 docs/scripts/cleanup_frames.py CLIP.mp4 D/<name>_blazepose33.npz OUT.jpg 0:104 1:100
"""

from __future__ import annotations

import sys

import cv2
import numpy as np

from posemoe.inference.cleanup import fix_left_right_swaps, limb_groups
from posemoe.inference.tracking import drop_invalid, select_tracks, track_people
from posemoe.io.keypoints import read_keypoints
from posemoe.layouts import BLAZEPOSE33 as LAYOUT

SIDES = {"left": (40, 40, 230), "right": (230, 140, 30), "centre": (60, 200, 60)}  # BGR


def spans(mask: np.ndarray) -> str:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return ", ".join(
        f"{a}" if b - a == 1 else f"{a}-{b - 1}" for a, b in zip(edges[::2], edges[1::2])
    )


def seen_spans(track: np.ndarray) -> str:
    seen = ~np.isnan(track[..., :2]).all((1, 2))
    return f"{spans(seen)} ({int(seen.sum())})"


def tables(detections: str) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Print the tracks before and after joining and each person's relabelled frames."""
    frames = read_keypoints(detections)
    fragments = track_people(drop_invalid(frames)[0])
    print(f"fragments (online tracker): {'; '.join(seen_spans(t) for t in fragments)}")
    chosen, report = select_tracks(frames)
    print(f"joined and lifted: {'; '.join(f'id {p}: ' + seen_spans(t) for p, t in chosen)}")
    print("\n".join(line for line in report if "joined" in line))
    people = []
    for pid, raw in chosen:
        fixed, swapped, notes = fix_left_right_swaps(raw, LAYOUT)
        limbs = "; ".join(
            f"{name} {spans(swapped[:, g])}"
            for g, name in enumerate(limb_groups(LAYOUT))
            if swapped[:, g].any()
        )
        print(f"id {pid}: {notes[0]}: {limbs or '-'}" + "".join(f" ({n})" for n in notes[1:]))
        print(
            f"id {pid}: frames with crossed shins / hips against shoulders, raw {crossings(raw)}, "
            f"cleaned {crossings(fixed)}"
        )
        people.append((pid, raw, fixed))
    return people


def crossings(track: np.ndarray) -> str:
    """Frames whose shins (knee to ankle) cross in the image / whose hips and shoulders point
    opposite ways across it: signs that a labelling is wrong (though either can be right)."""
    index = LAYOUT.joints.index
    knees, ankles = (
        track[:, [index("LKnee"), index("RKnee")], :2],
        track[:, [index("LAnkle"), index("RAnkle")], :2],
    )

    def side(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
        return np.sign(np.cross(b - a, c - a))

    p, q, r, t = knees[:, 0], ankles[:, 0], knees[:, 1], ankles[:, 1]
    crossed = (side(p, q, r) * side(p, q, t) < 0) & (side(r, t, p) * side(r, t, q) < 0)
    hips = track[:, index("LHip"), :2] - track[:, index("RHip"), :2]
    shoulders = track[:, index("LShoulder"), :2] - track[:, index("RShoulder"), :2]
    return f"{int(crossed.sum())} / {int(((hips * shoulders).sum(-1) < 0).sum())}"


def draw(image: np.ndarray, points: np.ndarray, width: int) -> None:
    def colour(j: int) -> tuple[int, int, int]:
        return SIDES["left" if j in LAYOUT.left else "right" if j in LAYOUT.right else "centre"]

    for a, b in LAYOUT.bones:
        if np.isfinite(points[[a, b], :2]).all():
            side = b if b in LAYOUT.left or b in LAYOUT.right else a
            cv2.line(
                image, *(tuple(int(v) for v in points[j, :2]) for j in (a, b)), colour(side), width
            )
    for j, point in enumerate(points):
        if np.isfinite(point[:2]).all():
            cv2.circle(image, (int(point[0]), int(point[1])), width + 1, colour(j), -1)


def figure(video: str, people, picks: list[str], out: str, height: int = 260) -> None:
    """Per pick ``ID:FRAME``: that person cropped, raw beside cleaned, all picks in one row."""
    capture, tiles = cv2.VideoCapture(video), []
    by_id = {pid: (raw, fixed) for pid, raw, fixed in people}
    for pick in picks:
        pid, t = (int(v) for v in pick.split(":"))
        raw, fixed = by_id[pid]
        capture.set(cv2.CAP_PROP_POS_FRAMES, t)
        ok, frame = capture.read()
        if not ok:
            raise SystemExit(f"{video}: no frame {t}")
        points = raw[t, :, :2][np.isfinite(raw[t, :, :2]).all(-1)]
        low, high = points.min(0), points.max(0)
        pad = 0.12 * (high - low).max() + 8
        x0, y0 = np.maximum(low - pad, 0).astype(int)
        x1, y1 = np.minimum(high + pad, frame.shape[1::-1]).astype(int)
        width = max(1, round(2 * (y1 - y0) / height))
        for name, keypoints in (("raw", raw), ("cleaned", fixed)):
            image = frame.copy()
            draw(image, keypoints[t], width)
            crop = image[y0:y1, x0:x1]
            crop = cv2.resize(crop, (max(1, round(crop.shape[1] * height / crop.shape[0])), height))
            for colour, thickness in (((0, 0, 0), 3), ((255, 255, 255), 1)):
                cv2.putText(
                    crop, f"{t} {name}", (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, thickness
                )
            tiles.append(crop)
        tiles.append(np.full((height, 8, 3), 255, np.uint8))
    cv2.imwrite(out, np.concatenate(tiles[:-1], 1), [cv2.IMWRITE_JPEG_QUALITY, 80])


if __name__ == "__main__":
    people = tables(sys.argv[2])
    if len(sys.argv) > 3:
        figure(sys.argv[1], people, sys.argv[4:], sys.argv[3])
