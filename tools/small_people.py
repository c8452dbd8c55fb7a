"""People small in the frame: each person's frames found over frames present, on 1680x720
composites of real clips scaled down so that people are ``--height`` pixels tall, side by side.

    PYTHONPATH=. python tools/small_people.py --videos ../shared/videos --reference /tmp/ref.json

Who is present where: BlazePose on each clip alone at its own resolution (the whole frame looked at
on every frame), linked into people by :class:`~posemoe.inference.tracking.Tracker`; saved to
``--reference`` and read from there on later runs, so that runs of two versions of the code count
against the same people. A person is present in a frame where at least half of their box is in
view. A person is found in a composite frame when one of the detector's people
there covers their box, mapped into the composite, with an overlap (IoU) of at least 0.5; a person
found twice (two of the detector's people on them) is counted as doubled. The composite runs at
the highest frame rate among its clips, as long as the longest; the others play at their own
rate, looped.
Runs on the code on ``PYTHONPATH``, so the same command measures another checkout.

``--speed``: instead, ms per frame of the detector (BlazePose, 1 and 2 threads) on 100
frames of ``posemoe bench --video``'s one-person 1280x720 clip (the bundled photo drifting), the
first frame left out: wall clock, and the process's CPU time (all its threads), which other
processes on a busy machine disturb less.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from posemoe.inference.detectors import BlazePose
from posemoe.inference.tracking import Tracker
from posemoe.io.video import open_frames
from posemoe.layouts import BLAZEPOSE33

CANVAS = (1680, 720)  # width, height


@dataclass(frozen=True)
class Panel:
    """A clip's part in a composite: the columns ``left``..``right`` of its frames (pixels)."""

    clip: str
    left: int
    right: int


COMPOSITES = {  # the clips side by side in each composite, left to right
    "walk+dribble": (
        Panel("sports2d_demo.mp4", 0, 1768),
        Panel("mmhuman3d_single_person_demo.mp4", 100, 1080),
    ),
    "pair+dribble": (
        Panel("mmhuman3d_multi_person_demo.mp4", 0, 1080),
        Panel("mmhuman3d_single_person_demo.mp4", 100, 1080),
    ),
}
MAX_PEOPLE = 10  # room for everyone in a composite (the default, 4, would stop the search early)


def box(points: np.ndarray) -> np.ndarray:
    """x0, y0, x1, y1 of 33 landmarks (33, >= 2), pixels."""
    return np.concatenate([points[:, :2].min(0), points[:, :2].max(0)])


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    low, high = np.maximum(a[:2], b[:2]), np.minimum(a[2:], b[2:])
    inter = float(np.prod(np.clip(high - low, 0, None)))
    union = float(np.prod(a[2:] - a[:2]) + np.prod(b[2:] - b[:2])) - inter
    return inter / union if union > 0 else 0.0


def shown(b: np.ndarray, panel: Panel, height: int) -> bool:
    """Whether at least half of box ``b`` (source pixels) is inside the panel's part of the frame:
    the detector also gives the landmarks of a person half out of the frame, beyond its edge."""
    inside = np.clip(b, [panel.left, 0, panel.left, 0], [panel.right, height, panel.right, height])
    area = np.prod(b[2:] - b[:2])
    return bool(area > 0 and np.prod(inside[2:] - inside[:2]) >= 0.5 * area)


def reference(path: Path) -> dict:
    """Each person in the clip alone: {"fps", "size", "people": {id: {frame: box}}}, the detector
    looking on every frame of the whole frame."""
    people: dict[str, dict[str, list[float]]] = {}
    tracker = Tracker(layout=BLAZEPOSE33)
    with open_frames(path) as video, BlazePose(search_every=1) as detector:
        if hasattr(detector.backend, "second_scale"):
            detector.backend.second_scale = False
        fps, size = video.fps, None
        for t, frame in enumerate(video):
            size = frame.shape[1], frame.shape[0]
            found = detector(frame)
            for k, person in zip(tracker.update(found), found):
                people.setdefault(str(k), {})[str(t)] = box(person).tolist()
    frames = t + 1
    # a track seen in under a tenth of the frames is a detector's passing mistake, not a person
    people = {k: v for k, v in people.items() if len(v) >= 0.1 * frames}
    return {"fps": fps, "size": size, "frames": frames, "people": people}


def layout(
    panels: tuple[Panel, ...], refs: dict[str, dict], height: float
) -> list[tuple[Panel, float, int, int]]:
    """Each panel with its scale (its people's median height becomes ``height``) and its place in
    the canvas (left, top): side by side, centred, bottoms level."""
    placed, x = [], 0
    for panel in panels:
        ref = refs[panel.clip]
        tall = np.median([b[3] - b[1] for p in ref["people"].values() for b in p.values()])
        scale = height / tall
        width, high = (
            round((panel.right - panel.left) * scale),
            round(ref["size"][1] * scale),
        )
        placed.append((panel, scale, x, min(high, CANVAS[1])))
        x += width
    if x > CANVAS[0]:
        raise SystemExit(f"panels {x} px wide do not fit {CANVAS[0]}: lower --height")
    shift = (CANVAS[0] - x) // 2
    return [
        (panel, scale, left + shift, (CANVAS[1] + high) // 2 - high)
        for panel, scale, left, high in placed
    ]


def evaluate(
    panels: tuple[Panel, ...],
    videos: Path,
    refs: dict[str, dict],
    height: float,
    frames: int | None,
    save: Path | None,
) -> dict:
    """Per person (clip:id): frames found, present and doubled in the composite; ``save``: the
    middle frame with the people found drawn on it (their landmarks' boxes)."""
    places = layout(panels, refs, height)
    rate = max(refs[p.clip]["fps"] for p, *_ in places)
    length = frames or max(
        round(refs[p.clip]["frames"] * rate / refs[p.clip]["fps"]) for p, *_ in places
    )
    clips = {}
    for panel, *_ in places:
        with open_frames(videos / panel.clip) as video:
            clips[panel.clip] = list(video)
    counts: dict[str, list[int]] = {}
    missed: dict[str, list[int]] = {}
    seen: list[tuple[list, list]] = []  # per frame: (who is there, boxes found)
    with BlazePose(max_people=MAX_PEOPLE) as detector:
        for t in range(length):
            canvas = np.full((CANVAS[1], CANVAS[0], 3), 90, np.uint8)
            truth = []
            for panel, scale, left, top in places:
                ref, clip = refs[panel.clip], clips[panel.clip]
                k = int(t * ref["fps"] / rate) % len(clip)
                part = cv2.resize(
                    clip[k][:, panel.left : panel.right],
                    None,
                    fx=scale,
                    fy=scale,
                    interpolation=cv2.INTER_AREA,
                )[: CANVAS[1]]
                canvas[top : top + part.shape[0], left : left + part.shape[1]] = part
                for person, boxes in ref["people"].items():
                    if str(k) in boxes and shown(np.array(boxes[str(k)]), panel, ref["size"][1]):
                        b = np.array(boxes[str(k)]) - [panel.left, 0, panel.left, 0]
                        truth.append((f"{panel.clip}:{person}", b * scale + [left, top] * 2))
            found = [box(p) for p in detector(canvas)]
            seen.append((truth, found))
            for ago, points in detector.late:  # newcomers followed back into earlier frames
                seen[-1 - ago][1].append(box(points))
            if save is not None and t == length // 2:
                drawn = canvas.copy()
                for f in found:
                    x0, y0, x1, y1 = (int(v) for v in f)
                    cv2.rectangle(drawn, (x0, y0), (x1, y1), (255, 200, 0), 3)
                bgr = cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR)
                cv2.imwrite(str(save), bgr, [cv2.IMWRITE_JPEG_QUALITY, 85])
    for t, (truth, found) in enumerate(seen):
        for name, b in truth:
            hits = sum(overlap(b, f) >= 0.5 for f in found)
            count = counts.setdefault(name, [0, 0, 0])
            count[0] += hits > 0
            count[1] += 1
            count[2] += hits > 1
            if not hits:
                missed.setdefault(name, []).append(t)
    return {
        name: {"found": c[0], "present": c[1], "doubled": c[2], "missed": missed.get(name, [])}
        for name, c in sorted(counts.items())
    }


def spans(frames: list[int]) -> str:
    """[3, 4, 5, 9] -> "3-5, 9"."""
    out: list[list[int]] = []
    for t in frames:
        if out and t == out[-1][1] + 1:
            out[-1][1] = t
        else:
            out.append([t, t])
    return ", ".join(f"{a}-{b}" if b > a else f"{a}" for a, b in out)


def speed() -> str:
    """ms/frame of BlazePose on one person at 720p, 1 thread and 2 threads."""
    from posemoe.apps.bench import crowd
    from posemoe.assets import astronaut
    from posemoe.io.video import moving_still

    frames = list(itertools.islice(moving_still(crowd(astronaut(), 1), 300, (1280, 720)), 101))
    out = []
    for threads in (1, 2):
        with BlazePose(threads=threads) as detector:
            detector(frames[0])
            start, cpu = time.perf_counter(), time.process_time()
            for frame in frames[1:]:
                detector(frame)
            count = len(frames) - 1
            out += [1000 * (time.perf_counter() - start) / count]
            out += [1000 * (time.process_time() - cpu) / count]
    return (
        f"1 thread {out[0]:.1f} ms/frame (CPU {out[1]:.1f}), "
        f"2 threads {out[2]:.1f} ms/frame (CPU {out[3]:.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=Path, default=Path("../shared/videos"))
    parser.add_argument("--reference", type=Path, default=None, help="json: read, or written")
    parser.add_argument("--composite", choices=sorted(COMPOSITES), nargs="*", default=None)
    parser.add_argument("--height", type=float, default=280.0, help="people's height, pixels")
    parser.add_argument("--frames", type=int, default=None, help="composite frames (all)")
    parser.add_argument(
        "--save", type=Path, default=None, help="folder: each composite's middle frame, boxed (jpg)"
    )
    parser.add_argument("--speed", action="store_true", help="one person's 720p speed instead")
    args = parser.parse_args()
    if args.speed:
        print(speed())
        return
    if args.reference is None:
        parser.error("--reference is needed (a json file: read, or written)")
    names = args.composite or sorted(COMPOSITES)
    if args.reference.exists():
        refs = json.loads(args.reference.read_text())
    else:
        clips = sorted({p.clip for panels in COMPOSITES.values() for p in panels})
        refs = {clip: reference(args.videos / clip) for clip in clips}
        args.reference.write_text(json.dumps(refs))
    print(f"people {args.height:g} px tall in {CANVAS[0]}x{CANVAS[1]}\n")
    print("| composite | person (clip:track) | found / present | doubled | frames missed |")
    print("|---|---|---:|---:|---|")
    for name in names:
        save = None if args.save is None else args.save / f"{name}-{args.height:g}.jpg"
        results = evaluate(COMPOSITES[name], args.videos, refs, args.height, args.frames, save)
        for person, r in results.items():
            print(
                f"| {name} | {person} | {r['found']} / {r['present']} | {r['doubled']} "
                f"| {spans(r['missed'])} |"
            )


if __name__ == "__main__":
    main()
