"""The person search's second scale: square tiles of a wide or tall frame.

BlazePose's person detector sees a whole frame letterboxed into 224 x 224 pixels, and finds a
person only when they are at least about 60 of those pixels tall: a quarter of the frame's longer
side. In a 1680x720 frame that is 450 pixels, most of its height. Square tiles as high as the
frame's shorter side show the detector people at ``max(W, H) / min(W, H)`` times that size, so in
such a frame people down to about a quarter of its shorter side are found. The tiles overlap, so
that a person cut by one tile's edge is whole in the next, and their finds are merged with the whole
frame's in frame coordinates: a person found in the whole frame is not found again in a tile.

A finer level of tiles, squares :data:`FINE_SIDE` of the shorter side, shows people down to about an
eighth of it (1680x720: a person 90 pixels tall is 70 of the detector's pixels in a 288-pixel tile),
in wide and tall frames, and in 4:3 and square ones whose shorter side is at least :data:`FINE_MIN`
(a single image, ``video=False``, is looked at in every fine tile: a 960x720 photo costs 16 detector
runs instead of 1).
There are many of them (1680x720: 24), so after a first full sweep each look visits only a few,
round-robin (:class:`FineSchedule`): a round takes a wide frame's looks about a second of video (32
frames), any other frame's far longer (one tile every 16 looks: the one-person speed at 720p leaves
room for little more; docs/results/small-people.md); so every few looks the tile where the frame
changed most, outside the people already followed, is looked at too: someone walking in. Their finds larger than the fine level's
people are dropped (:func:`small_finds`): the whole frame and the first level find those whole.
"""

from __future__ import annotations

import math

import numpy as np

from posemoe.errors import UserError
from posemoe.inference.blazepose import Roi, iou

TILE_OVERLAP = 0.2  # neighbouring tiles share at least this fraction of their side
MIN_GAIN = 1.5  # tiles only where they show people at least this many times larger ...
WIDE_GAIN = 2.0  # ... at every look from this gain on, below it every SLOW_SWEEP looks
SLOW_SWEEP = 8  # looks between two sweeps of the tiles of a 16:9 or 9:16 frame (module docstring)
FINE_SIDE = 0.4  # the fine level's tiles: this fraction of the frame's shorter side ...
FINE_OVERLAP = 0.25  # ... neighbours sharing at least this fraction of it, ...
FINE_MIN = 720  # ... in wide and tall frames, and others whose shorter side has this many pixels
FINE_PER_LOOK = 3.0  # fine tiles per look in a wide frame (1680x720: a sweep every 8 looks) ...
FINE_SLOW_PER_LOOK = 1 / 16  # ... and in any other (the 720p speed bar: results page)
FINE_LARGEST = 0.75  # a fine tile's find with a body region larger than this x the tile is dropped
FINE_BUSY = 0.5  # a fine tile this much covered by people already followed is skipped
MOTION_STEP = 8  # the motion test compares frames shrunk this many times ...
MOTION_DIFF = 24  # ... a pixel changed where its grey level moved this much between two looks ...
MOTION_SHARE = 0.005  # ... a fine tile moved where this share of its pixels changed ...
MOTION_GLOBAL = 0.25  # ... unless this share of the whole frame did (the camera moved, the light)
MOTION_EVERY = 8  # looks between two fine tiles looked at for their motion, beside the round
SAME_FIND_IOU = 0.5  # a tile's body region overlapping a kept one by more: the same person

Tile = tuple[int, int, int]  # left, top, side, pixels
Find = tuple[float, np.ndarray, Roi]  # a find: score, box and region, frame-normalized


def square_tiles(width: int, height: int, side: int, overlap: float = TILE_OVERLAP) -> list[Tile]:
    """Square tiles of ``side`` pixels covering a ``width`` x ``height`` frame, evenly spread,
    neighbours sharing at least ``overlap`` of the side; the first and last on each axis touch the
    frame's edges. An axis no longer than ``side`` has one tile, from 0 (it may reach past the
    frame's far edge: the crop pads it)."""
    if side < 1 or not 0 <= overlap < 1:
        raise UserError(f"expected side >= 1 and overlap in [0, 1), got {side} and {overlap}")

    def starts(length: int) -> list[int]:
        if length <= side:
            return [0]
        step = side * (1 - overlap)
        count = 1 + math.ceil((length - side) / step - 1e-9)
        return [round(k * (length - side) / (count - 1)) for k in range(count)]

    return [(x, y, side) for y in starts(height) for x in starts(width)]


def sweep_every(width: int, height: int) -> int | None:
    """Looks between two sweeps of a ``width`` x ``height`` frame's tiles (1: every look), None
    where it has none (:func:`search_tiles`)."""
    gain = max(width, height) / min(width, height)
    return None if gain < MIN_GAIN else 1 if gain >= WIDE_GAIN else SLOW_SWEEP


def search_tiles(width: int, height: int) -> list[Tile]:
    """The tiles the person search looks at beside the whole frame: squares as high as the frame's
    shorter side, where the frame is wide or tall enough that they show people at least
    :data:`MIN_GAIN` times larger than the whole frame does; else none."""
    side = min(width, height)
    if max(width, height) < MIN_GAIN * side:
        return []
    return square_tiles(width, height, side)


def fine_tiles(width: int, height: int) -> list[Tile]:
    """The fine level's tiles (module docstring): squares :data:`FINE_SIDE` of the shorter side,
    overlapping by :data:`FINE_OVERLAP`, in frames that have the first level's tiles or whose
    shorter side is at least :data:`FINE_MIN` pixels; else none."""
    if not search_tiles(width, height) and min(width, height) < FINE_MIN:
        return []
    return square_tiles(width, height, round(FINE_SIDE * min(width, height)), FINE_OVERLAP)


def fine_per_look(width: int, height: int) -> float:
    """Fine tiles looked at per look, on average: :data:`FINE_PER_LOOK` where the first level is
    swept at every look, :data:`FINE_SLOW_PER_LOOK` in other frames with fine tiles; else 0."""
    if not fine_tiles(width, height):
        return 0.0
    return FINE_PER_LOOK if sweep_every(width, height) == 1 else FINE_SLOW_PER_LOOK


def small_finds(finds: list[Find], side: int, width: int, height: int) -> list[Find]:
    """The fine tiles' finds (tiles of ``side`` pixels in a ``width`` x ``height`` frame) whose
    body region is at most :data:`FINE_LARGEST` of the tile: people small enough for the fine level.
    A larger region is part of a larger person, seen cut by the tile (whom the whole frame and the
    first level find whole), or a face seen as a body."""
    largest = FINE_LARGEST * side
    return [f for f in finds if max(f[2].width * width, f[2].height * height) <= largest]


def _covered(tile: Tile, boxes: list[np.ndarray]) -> float:
    """The fraction of ``tile`` that ``boxes`` (x0, y0, x1, y1 pixels) cover (summed: an overlap
    between two boxes counts twice)."""
    x, y, side = tile
    total = 0.0
    for x0, y0, x1, y1 in boxes:
        w = min(x1, x + side) - max(x0, x)
        h = min(y1, y + side) - max(y0, y)
        total += max(w, 0.0) * max(h, 0.0)
    return total / side**2


def shrunk_grey(rgb: np.ndarray) -> np.ndarray:
    """An RGB frame as grey levels, :data:`MOTION_STEP` times smaller (int16, for differences)."""
    import cv2

    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    size = (max(1, grey.shape[1] // MOTION_STEP), max(1, grey.shape[0] // MOTION_STEP))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA).astype(np.int16)


def changed_pixels(before: np.ndarray | None, now: np.ndarray) -> np.ndarray | None:
    """Where two :func:`shrunk_grey` frames differ by :data:`MOTION_DIFF` grey levels -> bool mask,
    or None where there is no earlier frame of that size or :data:`MOTION_GLOBAL` of it changed
    (the camera moved or the light changed: motion says nothing of where a newcomer is)."""
    if before is None or before.shape != now.shape:
        return None
    changed = np.abs(now - before) > MOTION_DIFF
    return None if changed.mean() > MOTION_GLOBAL else changed


class FineSchedule:
    """Which fine tiles each look visits: all of them at the first look (what is in view from the
    start is found at once), then round-robin, :func:`fine_per_look` of them per look on average
    (credit carried over between looks); and, beside those, the tiles where someone was just lost
    (:meth:`lost`: a run per loss, not per frame) and, every :data:`MOTION_EVERY` looks, the tile
    where most changed since the last look, outside the people already followed (``changed``,
    :func:`changed_pixels`: someone walking in; in a 16:9 frame the round alone reaches a tile only
    every few hundred looks). Tiles at least :data:`FINE_BUSY` covered by people already followed
    are skipped without using the budget. All restarts when the frame's size changes."""

    def __init__(self) -> None:
        self._size: tuple[int, int] | None = None
        self._tiles: list[Tile] = []
        self._next = 0
        self._credit = 0.0
        self._first: list[Tile] = []  # where someone was lost: looked at at the next look
        self._since_motion = MOTION_EVERY  # looks since a tile was looked at for its motion

    def lost(self, width: int, height: int, places: list[tuple[float, float]]) -> None:
        """People were lost at ``places`` (x, y pixels): the fine tile centred nearest each is
        looked at at the next look, beside the round's."""
        if self._size != (width, height):
            return
        for x, y in places:
            tile = min(
                self._tiles, key=lambda t: (t[0] + t[2] / 2 - x) ** 2 + (t[1] + t[2] / 2 - y) ** 2
            )
            if tile not in self._first:
                self._first.append(tile)

    def _moved(
        self, width: int, height: int, busy: list[np.ndarray], changed: np.ndarray
    ) -> Tile | None:
        """The tile where most of ``changed`` lies outside the ``busy`` boxes, if that is
        :data:`MOTION_SHARE` of it at least."""
        free = changed.copy()
        fy, fx = changed.shape[0] / height, changed.shape[1] / width
        for x0, y0, x1, y1 in busy:
            free[
                max(int(y0 * fy), 0) : max(int(np.ceil(y1 * fy)), 0),
                max(int(x0 * fx), 0) : max(int(np.ceil(x1 * fx)), 0),
            ] = False
        open_tiles = [t for t in self._tiles if _covered(t, busy) < FINE_BUSY]
        if not open_tiles:
            return None
        shares = [_moved_share(t, free, width, height) for t in open_tiles]
        best = int(np.argmax(shares))
        return open_tiles[best] if shares[best] >= MOTION_SHARE else None

    def take(
        self,
        width: int,
        height: int,
        busy: list[np.ndarray],
        changed: np.ndarray | None = None,
    ) -> list[Tile]:
        """The tiles of this look; ``busy``: the followed people's boxes (x0, y0, x1, y1 pixels);
        ``changed``: :func:`changed_pixels` since the last look, or None."""
        if self._size != (width, height):
            self._size, self._tiles = (width, height), fine_tiles(width, height)
            self._next, self._credit, self._first = 0, 0.0, []
            self._since_motion = 0
            return [t for t in self._tiles if _covered(t, busy) < FINE_BUSY]
        if not self._tiles:
            return []
        self._since_motion += 1
        if changed is not None and self._since_motion >= MOTION_EVERY:
            moved = self._moved(width, height, busy, changed)
            if moved is not None and moved not in self._first:
                self._first.append(moved)
                self._since_motion = 0
        self._credit += fine_per_look(width, height)
        budget = int(self._credit)
        first = [t for t in self._first if _covered(t, busy) < FINE_BUSY]  # beside the budget
        taken: list[Tile] = []
        self._first = []
        for _ in range(len(self._tiles)):  # at most one cycle
            if len(taken) >= budget:
                break
            tile = self._tiles[self._next]
            self._next = (self._next + 1) % len(self._tiles)
            if _covered(tile, busy) < FINE_BUSY and tile not in first:
                taken.append(tile)
        self._credit -= budget
        return first + taken


def _moved_share(tile: Tile, changed: np.ndarray, width: int, height: int) -> float:
    """The share of ``tile``'s pixels that ``changed`` (a frame's shrunk mask) marks."""
    x, y, side = tile
    fy, fx = changed.shape[0] / height, changed.shape[1] / width
    part = changed[
        int(y * fy) : int(np.ceil((y + side) * fy)), int(x * fx) : int(np.ceil((x + side) * fx))
    ]
    return float(part.mean()) if part.size else 0.0


def tile_region(tile: Tile, width: int, height: int) -> Roi:
    """A tile as a region of a ``width`` x ``height`` frame (normalized, unrotated)."""
    x, y, side = tile
    return Roi((x + side / 2) / width, (y + side / 2) / height, side / width, side / height)


def _square(region: Roi) -> np.ndarray:
    """A region's unrotated box (xmin, ymin, width, height), normalized."""
    return np.array(
        [region.x - region.width / 2, region.y - region.height / 2, region.width, region.height]
    )


def _same_head(a: np.ndarray, b: np.ndarray) -> bool:
    """Two detector boxes (xmin, ymin, width, height) whose centres lie within half the smaller
    box's size of each other, on both axes."""
    gap = np.abs((a[:2] + a[2:] / 2) - (b[:2] + b[2:] / 2))
    return bool((gap < np.minimum(a[2:], b[2:]) / 2).all())


def merge_finds(whole: list[Find], tiled: list[Find]) -> list[Find]:
    """The whole frame's finds, then each of the tiles' finds, surest first, that are no one kept so
    far: whose body region overlaps none kept by more than :data:`SAME_FIND_IOU`, and whose box is
    centred on no kept one's. The detector's box is about 45 of its input's pixels across, whatever
    the person's size: it tells where the head is, not how big the person is; and a tile may see a
    person cut by the frame's edge larger than the whole frame does, so regions alone miss that
    they are one. Boxes are frame-normalized (the tests do not depend on the frame's aspect). The
    whole frame's finds are kept as they are: a tile may cut a person that the whole frame sees
    whole."""
    kept = list(whole)
    for find in sorted(tiled, key=lambda f: -f[0]):
        regions = np.stack([_square(k[2]) for k in kept]) if kept else np.zeros((0, 4))
        overlaps = (iou(_square(find[2]), regions) > SAME_FIND_IOU).any()
        if not overlaps and not any(_same_head(find[1], k[1]) for k in kept):
            kept.append(find)
    return kept
