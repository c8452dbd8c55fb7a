"""Frames in: video files, image files, image folders, webcams and network streams.

Videos, webcams and streams are decoded with OpenCV (``opencv-python-headless``, which the
``posemoe[video]`` extra brings; its wheels carry FFmpeg), image files with PIL.
Video frames are decoded on a background thread, which overlaps decoding with detection on the
other core (OpenCV releases the GIL while it decodes).
Every frame comes out as an RGB ``uint8`` array of shape (H, W, 3).

Frames larger than :data:`MAX_IMAGE_PIXELS` are refused before anything is decoded: an image
file's size is read from its header (PIL reads only the header when it opens a file), a video's
from the container; a 0.9 MB PNG can declare 30000 x 30000 pixels.
"""

from __future__ import annotations

import importlib
import os
import queue
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from posemoe.errors import MissingDependency, UserError

MAX_IMAGE_PIXELS = (
    8192 * 8192
)  # 67 MP: 200 MB as RGB; the largest camera sensors in use have ~100 MP
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv"}


def require_cv2() -> Any:
    """Import OpenCV or explain how to get it."""
    try:
        import cv2
    except ImportError:
        raise MissingDependency(
            "video input and rendering need OpenCV: pip install 'posemoe[video]'"
        ) from None
    return cv2


@dataclass
class FrameSource:
    """An opened source of frames. ``kind`` is "video", "images" or "stream"; ``frame_count`` is
    None for streams (and the container's estimate for videos); ``size`` is (width, height)."""

    kind: str
    name: str
    fps: float
    size: tuple[int, int]
    frame_count: int | None
    _frames: Iterator[np.ndarray] = field(repr=False)
    _close: Any = field(default=None, repr=False)

    def __iter__(self) -> Iterator[np.ndarray]:
        return self._frames

    def close(self) -> None:
        if self._close is not None:
            self._close()
            self._close = None

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> str:
        count = "live" if self.frame_count is None else f"{self.frame_count} frames"
        return (
            f"{self.name}: {self.kind}, {self.size[0]}x{self.size[1]}, {self.fps:.3g} fps, {count}"
        )


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) of an image file from its header, refused above :data:`MAX_IMAGE_PIXELS`
    or when the file is not an image; nothing is decoded."""
    from PIL import Image

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no image at {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter(
                "ignore", Image.DecompressionBombWarning
            )  # refused below, in one line
            with Image.open(path) as image:
                width, height = image.size
    except Image.DecompressionBombError as err:  # over PIL's own, higher, limit
        raise UserError(
            f"{path}: more than the {MAX_IMAGE_PIXELS:,} pixels accepted ({err})".splitlines()[0]
        ) from None
    except Exception as err:  # PIL raises many types for corrupt headers
        raise UserError(
            f"{path}: not a readable image (not an image, or a corrupt one: {type(err).__name__})"
        ) from None
    check_frame_size(width, height, str(path))
    return width, height


def check_frame_size(width: int, height: int, where: str) -> None:
    """Refuse frames of no pixels or over :data:`MAX_IMAGE_PIXELS` before they are decoded."""
    if width * height > MAX_IMAGE_PIXELS:
        raise UserError(
            f"{where}: {width}x{height} pixels, more than the {MAX_IMAGE_PIXELS:,} accepted"
        )
    if width <= 0 or height <= 0:
        raise UserError(f"{where}: an image of {width}x{height} pixels")


def read_image(path: str | Path) -> np.ndarray:
    """An image file -> (H, W, 3) uint8 RGB, its size checked from the header first (:func:`image_size`).
    Decoded with PIL, which refuses truncated files (OpenCV fills them in grey)."""
    from PIL import Image

    path = Path(path)
    image_size(path)
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except Exception as err:  # a corrupt stream can raise nearly anything
        raise UserError(
            f"{path}: not a readable image ({type(err).__name__}: {err})".splitlines()[0]
        ) from None


class _Decoder:
    """Decodes an OpenCV capture on a background thread, ``prefetch`` RGB frames ahead. The
    capture is released only after the thread has stopped (releasing it mid-read aborts)."""

    def __init__(self, capture: Any, first: np.ndarray, prefetch: int) -> None:
        self.capture = capture
        self.buffer: queue.Queue = queue.Queue(maxsize=prefetch)
        self.stop = threading.Event()
        self.buffer.put(first)
        self.worker = threading.Thread(target=self._decode, daemon=True)
        self.worker.start()

    def _put(self, item: object) -> bool:
        while not self.stop.is_set():
            try:
                self.buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _decode(self) -> None:
        cv2 = require_cv2()
        try:
            while not self.stop.is_set():
                ok, bgr = self.capture.read()
                if not ok:
                    break
                if not self._put(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)):
                    return
        except Exception as err:  # handed to the consumer, which raises it
            self._put(err)
        self._put(None)

    def frames(self) -> Iterator[np.ndarray]:
        while True:
            item = self.buffer.get()
            if item is None:
                return
            if isinstance(item, Exception):
                raise item
            yield item

    def close(self) -> None:
        self.stop.set()
        self.worker.join()
        self.capture.release()


def _quiet_capture(cv2: Any, target: str | int) -> Any:
    """``cv2.VideoCapture(target)`` without OpenCV's and FFmpeg's own log lines on stderr (a missing
    camera prints two, a truncated .mp4 one), since the error raised here says it in one line. Set
    OPENCV_LOG_LEVEL (and OPENCV_FFMPEG_LOGLEVEL) to see them."""
    if "OPENCV_LOG_LEVEL" in os.environ:
        return cv2.VideoCapture(target)
    os.environ.setdefault(
        "OPENCV_FFMPEG_LOGLEVEL", "-8"
    )  # AV_LOG_QUIET; read when FFmpeg is first used
    levels = (
        cv2 if hasattr(cv2, "getLogLevel") else importlib.import_module("cv2.utils.logging")
    )  # OpenCV >= 4.12
    previous = levels.getLogLevel()
    levels.setLogLevel(0)  # LOG_LEVEL_SILENT
    try:
        return cv2.VideoCapture(target)
    finally:
        levels.setLogLevel(previous)


def _open_capture(target: str | int, name: str, kind: str, prefetch: int) -> FrameSource:
    cv2 = require_cv2()
    capture = _quiet_capture(cv2, target)
    if not capture.isOpened():
        what = "camera" if isinstance(target, int) else "video or stream"
        raise UserError(
            f"{name}: could not open the {what} (missing, corrupt, or a format OpenCV/FFmpeg cannot read)"
        )
    try:
        check_frame_size(
            int(capture.get(cv2.CAP_PROP_FRAME_WIDTH) or 1),
            int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or 1),
            name,
        )
    except UserError:
        capture.release()
        raise
    capture.set(
        cv2.CAP_PROP_ORIENTATION_AUTO, 1
    )  # phones store portrait video as landscape + a rotation flag
    ok, bgr = capture.read()
    if not ok or bgr is None:
        capture.release()
        raise UserError(f"{name}: opened, but no frame could be decoded (corrupt or empty {kind})")
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    if not np.isfinite(fps) or fps <= 0 or fps > 1000:
        fps = 30.0  # containers without a rate (and many webcams) report 0
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if kind == "video" else None
    decoder = _Decoder(capture, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), prefetch)
    return FrameSource(
        kind,
        name,
        fps,
        (bgr.shape[1], bgr.shape[0]),
        count if count and count > 0 else None,
        decoder.frames(),
        decoder.close,
    )


def open_frames(
    source: str | Path | int, *, fps: float | None = None, prefetch: int = 8
) -> FrameSource:
    """Open a video file, an image file, a folder of images (sorted by name, one video's frames,
    all of one size), a webcam (an integer index, e.g. ``0`` or ``"0"``) or a stream URL
    (``rtsp://``, ``http://`` ...). ``fps`` overrides the rate (images default to 30)."""
    text = str(source)
    if isinstance(source, int) or text.isdigit():
        opened = _open_capture(int(text), f"camera {text}", "stream", prefetch)
    elif "://" in text:
        opened = _open_capture(text, text, "stream", prefetch)
    else:
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"no such video, image or folder: {path}")
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not files:
                raise UserError(
                    f"{path}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in this folder"
                )
            opened = _open_images(files, path.name)
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            opened = _open_images([path], path.name)
        else:
            opened = _open_capture(str(path), path.name, "video", prefetch)
            try:
                check_one_frame_size(path)
            except UserError:
                opened.close()
                raise
    if fps is not None:
        opened.fps = float(fps)
    return opened


def check_one_frame_size(path: Path) -> None:
    """Refuse a video whose frames change size part-way (two streams of other sizes joined, as
    concatenated ``.ts`` files are): OpenCV scales only the first size and repeats its last frame
    for the rest. A size change starts with a keyframe, so only keyframes are decoded (with PyAV,
    which the ``video`` extra brings; without it nothing is checked)."""
    try:
        import av
    except ImportError:
        return
    try:
        with av.open(str(path)) as container:
            stream = next(iter(container.streams.video), None)
            if stream is None:
                return
            stream.codec_context.skip_frame = "NONKEY"
            first = None  # as coded: a phone's rotation flag is applied by OpenCV, not here
            for frame in container.decode(stream):
                first = first or (frame.width, frame.height)
                if (
                    frame.width,
                    frame.height,
                ) != first:  # joined streams restart their clocks: no time is given
                    raise UserError(
                        f"{path}: its frames change size part-way ({first[0]}x{first[1]}, then "
                        f"{frame.width}x{frame.height}); expected one frame size per video: cut it "
                        "where the size changes, or re-encode it at one size"
                    )
    except av.FFmpegError:
        return  # what OpenCV decodes is checked there


def _open_images(files: list[Path], name: str) -> FrameSource:
    first = read_image(files[0])
    size = (first.shape[1], first.shape[0])

    def frames() -> Iterator[np.ndarray]:
        yield first
        for path in files[1:]:
            image = read_image(path)
            if (image.shape[1], image.shape[0]) != size:
                raise UserError(
                    f"{path}: {image.shape[1]}x{image.shape[0]}, but the folder's first image is "
                    f"{size[0]}x{size[1]}; a folder is read as one video's frames (run single photos one by one)"
                )
            yield image

    return FrameSource("images", name, 30.0, size, len(files), frames())


def write_video(
    path: str | Path, frames: Iterator[np.ndarray] | list[np.ndarray], fps: float
) -> Path:
    """Write RGB frames to an .mp4 (MPEG-4 Part 2, which OpenCV's wheels can always encode)."""
    cv2 = require_cv2()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = None
    try:
        for frame in frames:
            if writer is None:
                h, w = frame.shape[:2]
                writer = cv2.VideoWriter(
                    str(out), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (w, h)
                )
                if not writer.isOpened():
                    raise OSError(f"{out}: OpenCV could not open an mp4 writer")
            writer.write(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR))
    finally:
        if writer is not None:
            writer.release()
    if writer is None:
        raise UserError(f"{out}: no frames to write")
    return out


def moving_still(
    image: np.ndarray, frames: int, size: tuple[int, int] = (1280, 720), *, background: int = 90
) -> Iterator[np.ndarray]:
    """A clip from one photo: the image drifts and zooms slowly over a plain ``size`` (width,
    height) canvas, like a hand-held camera. For tests and the speed benchmark."""
    cv2 = require_cv2()
    width, height = size
    base = 0.85 * height / image.shape[0]
    for t in range(frames):
        phase = 2 * np.pi * t / max(frames, 1)
        scale = base * (1.0 + 0.08 * np.sin(phase))
        h, w = round(image.shape[0] * scale), round(image.shape[1] * scale)
        x0 = round((width - w) / 2 + 0.15 * width * np.sin(phase))
        y0 = round((height - h) / 2 + 0.03 * height * np.cos(phase))
        canvas = np.full((height, width, 3), background, np.uint8)
        resized = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)
        xa, ya = max(x0, 0), max(y0, 0)
        xb, yb = min(x0 + w, width), min(y0 + h, height)
        canvas[ya:yb, xa:xb] = resized[ya - y0 : yb - y0, xa - x0 : xb - x0]
        yield canvas
