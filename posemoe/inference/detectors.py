"""2D keypoints from frames: BlazePose (full; the offline models of mediapipe 0.10.21's wheel), for
every person in view.

:class:`BlazePose` schedules BlazePose's two stages itself: each person is followed from frame to
frame through the region their landmarks give, and the person detector looks for newcomers every few
frames, or at once when someone is lost, on a second core when there is one. mediapipe's ready-made
landmarker instead runs the person detector on every frame until it follows as many people as it was
asked for, which made looking for several people 1.5 times slower.

The stages run on ONNX Runtime (:mod:`posemoe.inference.blazepose`): the two models converted to
ONNX (``tools/blazepose_onnx.py``), with mediapipe's pre- and post-processing in numpy and OpenCV.
mediapipe itself is not needed; a developer's tool compares the two in a venv of its own
(``tools/blazepose_agreement.py``; docs/results/lean-runtime.md).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from posemoe.errors import UserError
from posemoe.inference.blazepose import (
    LANDMARK_ONNX,
    Found,
    LandmarkModel,
    PersonDetector,
    Roi,
)
from posemoe.inference.tiles import (
    FineSchedule,
    Tile,
    changed_pixels,
    fine_tiles,
    merge_finds,
    search_tiles,
    shrunk_grey,
    small_finds,
    sweep_every,
    tile_region,
)
from posemoe.layouts import BLAZEPOSE33

SEARCH_EVERY = 4  # frames between two looks for newcomers (the person detector); see the README
PATIENCE = (
    3  # frames in a row a person may be doubted (presence score < threshold) before they are let go
)
DETECT_PEOPLE = 4  # people looked for per frame when --max-people is not given
DETECT_WORKERS = 2  # threads: newcomers are looked for beside following people (README speed);
# each runs ONNX Runtime sessions of one thread that never spin, so that a core another process
# takes costs that thread its share only (docs/results/detector-threads.md)


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity where the OS tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


Lane = Callable[[Any, Roi], Found | None]  # the landmark model on one region of a frame


class Backend(Protocol):
    """What :class:`BlazePose` runs: ``image(rgb)`` wraps a frame once for every stage; ``look(image)``
    -> each person the detector finds as (score, face box (xmin, ymin, width, height) normalized,
    region), surest first; ``lanes`` (one thread each, run side by side) and ``solo`` (every thread,
    for a lone person) run the landmark model: ``lane(image, roi)`` -> :data:`Found`, or None when
    nothing came out of the region."""

    name: str
    lanes: list[Lane]
    solo: Lane

    def image(self, rgb: np.ndarray) -> Any: ...
    def look(self, image: Any) -> list[tuple[float, np.ndarray, Roi]]: ...
    def close(self) -> None: ...


SOLO_THREADS = (
    1  # ONNX Runtime threads for the landmark model of a lone person (README: 1 vs 2 measured)
)


class OnnxBackend:
    """BlazePose's stages on ONNX Runtime (:mod:`posemoe.inference.blazepose`): a landmark session
    per lane, one thread each, and the person detector on one thread of its own."""

    name = "onnx"

    def __init__(self, *, threads: int, landmark_model: Path | None = None) -> None:
        model = LANDMARK_ONNX if landmark_model is None else Path(landmark_model)
        self._detector = PersonDetector(threads=1)
        self.lanes: list[Lane] = [LandmarkModel(model, threads=1) for _ in range(threads)]
        solo = min(SOLO_THREADS, threads)
        self.solo: Lane = LandmarkModel(model, threads=solo) if solo > 1 else self.lanes[0]
        self.second_scale = True  # look_tiles looks at square tiles of a wide or tall frame

    def image(self, rgb: np.ndarray) -> np.ndarray:
        return rgb

    def look(self, image: np.ndarray) -> list[tuple[float, np.ndarray, Roi]]:
        return [(d.score, d.box, roi) for d, roi in self._detector(image)]

    def look_tiles(self, image: np.ndarray) -> list[tuple[float, np.ndarray, Roi]]:
        """The second scale: the person detector on each square tile of a wide or tall frame
        (:func:`~posemoe.inference.tiles.search_tiles`), as :meth:`look` gives them,
        frame-normalized; none while ``second_scale`` is off."""
        height, width = image.shape[:2]
        return self.look_regions(image, search_tiles(width, height))

    def look_regions(
        self, image: np.ndarray, tiles: list[Tile]
    ) -> list[tuple[float, np.ndarray, Roi]]:
        """The person detector on each of ``tiles`` (the fine level's:
        :class:`~posemoe.inference.tiles.FineSchedule`), as :meth:`look` gives them,
        frame-normalized; none while ``second_scale`` is off."""
        height, width = image.shape[:2]
        return [
            (d.score, d.box, roi)
            for tile in (tiles if self.second_scale else [])
            for d, roi in self._detector(image, tile_region(tile, width, height))
        ]

    def close(self) -> None:
        pass


Head = tuple[np.ndarray, float]  # a person's head: centre (x, y) and size, pixels


def _head(points: np.ndarray) -> Head:
    """The head of 33 BlazePose landmarks (pixels): the centre and extent of the face points 0-10."""
    face = points[:11, :2]
    return face.mean(axis=0), float(np.ptp(face, axis=0).max())


def _same_person(a: Head, b: Head) -> bool:
    """Two heads that are one person's: their centres lie within 0.6 of the larger head's size. Heads
    are what tell people apart (two people's hips or boxes can come close; their heads cannot), and
    the one place where two guesses at a half-seen person agree."""
    return bool(np.linalg.norm(a[0] - b[0]) < 0.6 * max(a[1], b[1]))


def _one_body(a: np.ndarray, b: np.ndarray) -> bool:
    """Two sets of 33 landmarks (pixels) on one body: the same head, or one's box lying at least
    80 % inside the other's (a follower that slid onto a person's legs sees a small person there)."""
    if _same_person(_head(a), _head(b)):
        return True
    low, high = (
        np.maximum(a[:, :2].min(0), b[:, :2].min(0)),
        np.minimum(a[:, :2].max(0), b[:, :2].max(0)),
    )
    inside = np.prod(np.clip(high - low, 0, None))
    smaller = min(np.prod(np.ptp(a[:, :2], axis=0)), np.prod(np.ptp(b[:, :2], axis=0)))
    return bool(inside >= 0.8 * smaller > 0)


@dataclass
class _Followed:
    """A person being followed: where to look in the next frame, their latest landmarks (33, 3)
    pixels, and for how many frames in a row the landmark model has doubted anyone is there."""

    roi: Roi
    points: np.ndarray
    misses: int = 0


class BlazePose:
    """Every person in a frame, up to ``max_people``, by BlazePose (full). ``detector(rgb)`` -> (N, 33, 3)
    pixels x, y and visibility, N >= 0, largest first. ``video=True`` follows people between
    consecutive frames (each call is the next frame) and looks for newcomers every ``search_every``
    frames and right after someone was lost; a newcomer is then followed back through the last
    ``search_every`` frames, and what that finds in them is :attr:`late` after the call (a list of
    ``(frames ago, (33, 3) points)``, for callers that keep the earlier frames' people; following
    onwards is not changed by it; the frames are kept as given, not copied, so a caller must not
    draw on a frame after passing it; ``follow_back=False``: not, for callers that have used the
    earlier frames already, such as live streams). ``video=False`` looks afresh in every image. ``threads=2``
    runs the look for newcomers beside following the known people, and follows two people at a time;
    ``threads`` is capped at :func:`usable_cores` (more threads than cores run far slower).
    ``landmark_model``: an ONNX landmark model file (None: the shipped one)."""

    layout = BLAZEPOSE33

    def __init__(
        self,
        *,
        max_people: int = DETECT_PEOPLE,
        video: bool = True,
        search_every: int = SEARCH_EVERY,
        threads: int = 1,
        min_detection_confidence: float = 0.5,
        landmark_model: Path | str | None = None,
        follow_back: bool = True,
    ) -> None:
        if not 1 <= max_people <= 64:
            raise UserError(f"max_people must be 1..64, got {max_people}")
        if search_every < 1 or threads < 1:
            raise UserError(
                f"search_every and threads must be >= 1, got {search_every} and {threads}"
            )
        threads = min(threads, usable_cores())
        self._max, self._video, self._every, self._min_score = (
            max_people,
            video,
            search_every,
            min_detection_confidence,
        )
        self.backend = self._make_backend(threads, landmark_model)
        self._follow, self._solo = self.backend.lanes, self.backend.solo
        self._pool = ThreadPoolExecutor(max_workers=threads - 1) if threads > 1 else None
        self._people: list[_Followed] = []
        self._since_search = search_every  # frames since the last look (search on the first frame)
        self._since_sweep: int | None = None  # looks since the tiles were last swept (None: never)
        self._fine = FineSchedule()  # the fine tiles each look visits
        self._grey: np.ndarray | None = None  # the last look's frame, shrunk (tiles.shrunk_grey)
        # The latest frames, newest last: (image, width, height, people's points).
        self._recent: deque[tuple[Any, int, int, list[np.ndarray]]] = deque(
            maxlen=search_every if video and follow_back else 0
        )
        self._newcomers: list[_Followed] = []
        self.late: list[tuple[int, np.ndarray]] = []

    def _make_backend(self, threads: int, landmark_model: Path | str | None) -> Backend:
        """What runs the two stages: ONNX Runtime. (A developer's tool overrides this to run
        mediapipe's graphs under the same scheduler: tools/blazepose_mediapipe.py.)"""
        if landmark_model is not None and not Path(landmark_model).is_file():
            raise UserError(f"no landmark model at {landmark_model}")
        return OnnxBackend(threads=threads, landmark_model=landmark_model)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise UserError(f"expected an RGB uint8 image (H, W, 3), got {rgb.dtype} {rgb.shape}")
        if not self._video:
            self._people, self._since_search, self._since_sweep = [], self._every, None
            self._fine, self._grey = FineSchedule(), None
        image, width, height = self.backend.image(rgb), rgb.shape[1], rgb.shape[0]
        people = self._frame(image, width, height)
        self.late = self._follow_back(self._newcomers)
        self._recent.append((image, width, height, list(people)))
        if not len(people):
            return np.zeros((0, self.layout.num_joints, 3), np.float32)
        people = np.stack(people).astype(np.float32)
        people[..., 2] = np.clip(people[..., 2], 0.0, 1.0)
        size = [np.ptp(p[:, :2], axis=0).prod() for p in people]
        return people[np.argsort(size)[::-1]] if len(people) > 1 else people

    def _frame(self, image: Any, width: int, height: int) -> list[np.ndarray]:
        """Follow the known people in ``image`` and, when it is time, look for newcomers beside them."""
        searching = len(self._people) < self._max and self._since_search >= self._every
        followed, candidates = self._follow_and_look(image, width, height, searching)
        self._since_search = 1 if searching else self._since_search + 1
        people: list[_Followed] = []
        followed.sort(
            key=lambda person: person.misses
        )  # stable: the surest first, then the longest followed
        for person in followed:  # two followers may have closed in on one person: keep the first
            if person.misses <= PATIENCE and not any(
                _one_body(person.points, p.points) for p in people
            ):
                people.append(person)
        if len(people) < len(self._people):
            self._since_search = self._every  # someone was lost: look again on the next frame
            lost = [p.roi for p in followed if not any(p is q for q in people)]
            self._fine.lost(width, height, [(r.x * width, r.y * height) for r in lost])
        self._newcomers = []
        for roi, head in candidates:
            if len(people) >= self._max or any(_same_person(head, _head(p.points)) for p in people):
                continue
            for new in self._landmarks(
                self._follow[0], image, [_Followed(roi, np.zeros((0, 3)))], width, height
            ):
                if new.misses == 0 and not any(_one_body(new.points, p.points) for p in people):
                    people.append(new)
                    self._newcomers.append(new)
        self._people = people
        return [p.points for p in people if p.misses == 0]

    def _follow_back(self, newcomers: list[_Followed]) -> list[tuple[int, np.ndarray]]:
        """Each newcomer followed back through the latest ``search_every`` frames, newest first,
        until the landmark model doubts them, finds someone already there, or the frame holds
        ``max_people`` already -> (frames ago, points) of
        each frame they were found in. The look finds people only every few frames, and a person
        walking in is often there a few frames before it looks."""
        late = []
        for person in newcomers:
            roi = person.roi
            for ago, (image, width, height, people) in enumerate(reversed(self._recent), start=1):
                found = self._landmarks(
                    self._follow[0], image, [_Followed(roi, np.zeros((0, 3)))], width, height
                )
                if (
                    len(people) >= self._max
                    or not found
                    or found[0].misses
                    or any(_one_body(found[0].points, p) for p in people)
                ):
                    break
                late.append((ago, found[0].points.astype(np.float32)))
                people.append(found[0].points)
                roi = found[0].roi
        for _, points in late:
            points[:, 2] = np.clip(points[:, 2], 0.0, 1.0)
        return late

    def _follow_and_look(
        self, image: Any, width: int, height: int, searching: bool
    ) -> tuple[list[_Followed], list]:
        """Each known person's landmarks in ``image`` and, if ``searching``, the newcomer candidates
        (:meth:`_look`). With several threads the look runs beside the landmark model: one person is
        followed on every thread, several are split into lanes of one thread each (the look runs on
        the pool, before lane 2's people with two threads). Measured: README, speed."""
        search = (
            self._pool.submit(self._look, image, width, height)
            if searching and self._pool is not None
            else None
        )
        if len(self._people) == 1:
            try:
                followed = self._landmarks(self._solo, image, self._people, width, height)
            finally:
                wait([search] if search is not None else [])
        else:
            lanes = [self._people[k :: len(self._follow)] for k in range(len(self._follow))]
            found = (
                [
                    self._pool.submit(self._landmarks, self._follow[k], image, lane, width, height)
                    for k, lane in enumerate(lanes[1:], start=1)
                ]
                if self._pool is not None
                else []
            )
            try:
                followed = self._landmarks(self._follow[0], image, lanes[0], width, height)
            finally:  # no graph may still be busy when this returns or raises: the next frame uses them
                wait(found + ([search] if search is not None else []))
            for future in found:
                followed += future.result()
        candidates = (
            (search.result() if search is not None else self._look(image, width, height))
            if searching
            else []
        )
        return followed, candidates

    def _look(self, image: Any, width: int, height: int) -> list[tuple[Any, Head]]:
        """The person detector on the whole frame, and on square tiles of it when their sweep is due
        (:meth:`_second_scale`) -> (region, head) of each person it finds, largest region first
        (so that with room for fewer people than are there, the nearest are followed); the
        detector's box is the face's."""
        found = []
        for score, box, roi in self._second_scale(image, width, height, self.backend.look(image)):
            if score >= self._min_score:
                xmin, ymin, w, h = (float(v) for v in box)
                centre = np.array([(xmin + w / 2) * width, (ymin + h / 2) * height])
                area = roi.width * width * roi.height * height
                found.append((area, roi, (centre, max(w * width, h * height))))
        return [(roi, head) for _, roi, head in sorted(found, key=lambda f: -f[0])]

    def _second_scale(self, image: Any, width: int, height: int, whole: list) -> list:
        """The whole frame's finds ``whole``, merged with the first level of tiles' when their sweep
        is due (:func:`~posemoe.inference.tiles.sweep_every`) and with this look's fine tiles'
        (:class:`~posemoe.inference.tiles.FineSchedule`; every fine tile in an image of its own,
        ``video=False``); on backends with a second scale (ONNX Runtime's has; the developer tool's
        mediapipe graphs have not)."""
        every = sweep_every(width, height)
        look_tiles = getattr(self.backend, "look_tiles", None)
        if look_tiles is None:
            return whole
        if not self._video:
            fine = fine_tiles(width, height)
        else:
            busy = [
                np.r_[p.points[:, :2].min(0), p.points[:, :2].max(0)]
                for p in self._people
                if len(p.points)
            ]
            grey = shrunk_grey(image) if fine_tiles(width, height) else None
            changed = changed_pixels(self._grey, grey) if grey is not None else None
            self._grey = grey
            fine = self._fine.take(width, height, busy, changed)
        tiled = (
            small_finds(self.backend.look_regions(image, fine), fine[0][2], width, height)
            if fine
            else []
        )
        if every is not None:  # 4:3 and square frames have no first level
            if self._since_sweep is not None and self._since_sweep + 1 < every:
                self._since_sweep += 1
            else:
                self._since_sweep = 0
                tiled = look_tiles(image) + tiled
        return merge_finds(whole, tiled) if tiled else whole

    def _landmarks(
        self, lane: Any, image: Any, people: list[_Followed], width: int, height: int
    ) -> list[_Followed]:
        """33 landmarks in each person's region (``lane``: one of the backend's landmark runners) ->
        each person with their new landmarks and region."""
        updated = []
        for person in people:
            if not (
                person.roi.width > 0 and person.roi.height > 0
            ):  # the region of a degenerate pose: no crop
                continue
            found = lane(image, person.roi)
            if found is None:
                continue  # nothing came out of this region: the person is lost
            points, presence, roi = found
            updated.append(
                _Followed(roi, points, 0 if presence >= self._min_score else person.misses + 1)
            )
        return updated

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
        self.backend.close()

    def __enter__(self) -> BlazePose:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
