"""Writing .mp4 files that browsers play: H.264 video, yuv420p, even sizes, index at the front.

The encoder is PyAV (``av``, in the ``posemoe[video]`` extra). Its wheels for Linux, macOS and
Windows carry FFmpeg with libx264, so no system ffmpeg is needed; frames go from numpy to the
encoder in-process (no subprocess or pipe to look after), and the same package reads a file back
to say which codec it holds. imageio-ffmpeg, the other self-contained option, pipes frames to a
static ffmpeg binary and is the larger download (68 MB against 36 MB for imageio-ffmpeg 0.8.1
and av 18.1 on Linux x86-64). Without PyAV the video is written by OpenCV as MPEG-4 Part 2
("mp4v"), which VLC plays but Chromium does not; a warning says so.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from types import ModuleType

import numpy as np

from posemoe.errors import MissingDependency, UserError

H264_CRF = 23  # x264's default quality: visually clean for drawn skeletons, a few hundred kB per minute at 720p


def _pyav_with_h264() -> ModuleType | None:
    """PyAV, if it is installed and its FFmpeg can encode H.264; else None."""
    try:
        import av
    except ImportError:
        return None
    return av if "libx264" in av.codecs_available else None


def _even(frame: np.ndarray) -> np.ndarray:
    """Pad an (H, W, 3) frame by one edge pixel where H or W is odd (yuv420p halves both)."""
    h, w = frame.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return frame
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def write_mp4(
    path: str | Path,
    frames: Iterable[np.ndarray],
    fps: float,
    *,
    crf: int = H264_CRF,
    preset: str = "medium",
) -> Path:
    """Write RGB uint8 (H, W, 3) ``frames`` to an H.264 .mp4 that browsers play (yuv420p, odd
    sizes padded to even, ``+faststart``) at ``fps`` frames/s. ``crf``: x264 quality (lower is
    better and bigger, 18-28 is usual). Falls back to OpenCV's MPEG-4 Part 2 with a warning when
    PyAV is missing."""
    av = _pyav_with_h264()
    if av is None:
        print(
            "warning: PyAV with H.264 is not installed, so the .mp4 is MPEG-4 Part 2, which browsers do not "
            "play (VLC does); pip install 'posemoe[video]' for H.264",
            file=sys.stderr,
        )
        from posemoe.io.video import write_video

        return write_video(path, frames, fps)
    out = Path(path)
    iterator = iter(frames)
    first = next(iterator, None)
    if first is None:
        raise UserError(f"{out}: no frames to write")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.part")
    try:
        _encode_h264(av, partial, itertools.chain([first], iterator), fps, crf=crf, preset=preset)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return out


def _encode_h264(
    av: ModuleType, path: Path, frames: Iterable[np.ndarray], fps: float, *, crf: int, preset: str
) -> int:
    """Encode ``frames`` into ``path`` (an .mp4 container); returns the number of frames."""
    rate = Fraction(float(fps)).limit_denominator(1001)  # 29.97 -> 30000/1001
    count, size = 0, None
    with av.open(
        str(path), mode="w", format="mp4", container_options={"movflags": "+faststart"}
    ) as container:
        stream = container.add_stream(
            "libx264", rate=rate, options={"crf": str(crf), "preset": preset}
        )
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            rgb = _even(np.ascontiguousarray(frame, dtype=np.uint8))
            if size is None:
                size = rgb.shape[:2]
                stream.height, stream.width = size
            elif rgb.shape[:2] != size:
                raise UserError(
                    f"{path.name}: frame {count} is {rgb.shape[1]}x{rgb.shape[0]}, "
                    f"expected {size[1]}x{size[0]} like the first frame"
                )
            picture = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            picture.pts = count
            picture.time_base = 1 / rate
            container.mux(stream.encode(picture))
            count += 1
        container.mux(stream.encode(None))
    return count


def video_codec(path: str | Path) -> str:
    """The codec of the first video stream of ``path`` ("h264", "mpeg4", ...), read with PyAV."""
    try:
        import av
    except ImportError:
        raise MissingDependency(
            "reading a video's codec needs PyAV: pip install 'posemoe[video]'"
        ) from None
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise UserError(f"{path}: expected a video stream, found none")
        return container.streams.video[0].codec_context.name
