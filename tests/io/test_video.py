from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from posemoe.errors import UserError  # noqa: E402
from posemoe.io.video import moving_still, open_frames, write_video  # noqa: E402


def test_video_files_report_size_rate_and_every_frame(astronaut_clip):
    with open_frames(astronaut_clip) as video:
        assert (video.kind, video.size, video.fps, video.frame_count) == (
            "video",
            (640, 360),
            30.0,
            24,
        )
        frames = list(video)
        assert "640x360" in video.describe()
    assert len(frames) == 24 and frames[0].shape == (360, 640, 3) and frames[0].dtype == np.uint8
    # decoded frames match what was written (lossy codec: close, not equal)
    from posemoe.assets import astronaut

    written = list(moving_still(astronaut(), 24, (640, 360)))
    assert np.abs(frames[5].astype(int) - written[5]).mean() < 6
    assert np.abs(written[0].astype(int) - written[5]).mean() > 10  # the photo moves


def test_a_rotation_flag_is_applied_as_players_do(tmp_path):
    """Phones record portrait video as landscape frames and a 90-degree display matrix in the track header."""
    import struct

    frame = np.zeros((32, 64, 3), np.uint8)
    frame[:, :16] = 255  # the stored frame's left quarter
    data = bytearray(write_video(tmp_path / "flat.mp4", [frame] * 4, 10).read_bytes())
    tkhd = data.find(b"tkhd")
    assert data[tkhd + 4] == 0  # version 0: the matrix follows 76 bytes on
    data[tkhd + 44 : tkhd + 80] = struct.pack(
        ">9i", 0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000
    )  # 90 deg clockwise
    (tmp_path / "phone.mp4").write_bytes(data)
    with open_frames(tmp_path / "phone.mp4") as video:
        frames = list(video)
    assert video.size == (32, 64) and frames[0].shape == (64, 32, 3)  # shown upright: portrait
    assert (
        frames[0][:16].mean() > 200 and frames[0][24:].mean() < 50
    )  # the stored left is now the top


def test_stopping_early_releases_the_decoder(astronaut_clip):
    video = open_frames(astronaut_clip)
    first_three = [frame for _, frame in zip(range(3), video)]
    video.close()
    assert len(first_three) == 3


def test_image_files_and_folders(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "frames"
    folder.mkdir()
    for t in range(3):
        cv2.imwrite(str(folder / f"{t:04d}.png"), rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    (folder / "notes.txt").write_text("ignored")
    video = open_frames(folder, fps=12)
    assert (video.kind, video.size, video.frame_count, video.fps) == ("images", (64, 48), 3, 12.0)
    assert len(list(video)) == 3
    single = open_frames(folder / "0001.png")
    assert single.frame_count == 1 and next(iter(single)).shape == (48, 64, 3)


@pytest.mark.parametrize(
    "make, error",
    [
        (lambda p: p / "missing.mp4", "no such video"),
        (
            lambda p: (p / "bad.mp4").write_bytes(b"not a video at all" * 100) and p / "bad.mp4",
            "could not open|no frame",
        ),
        (
            lambda p: (p / "bad.png").write_bytes(b"\x89PNG broken") and p / "bad.png",
            "not an image",
        ),
        (lambda p: (p / "empty").mkdir() or p / "empty", "no images"),
    ],
)
def test_bad_inputs_say_why(tmp_path, make, error):
    with pytest.raises((ValueError, FileNotFoundError), match=error):
        list(open_frames(make(tmp_path)))


def test_a_folder_of_mixed_sizes_is_refused(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((20, 30, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "b.png"), np.zeros((30, 30, 3), np.uint8))
    with pytest.raises(ValueError, match="one video's frames"):
        list(open_frames(tmp_path))


def test_write_video_needs_frames(tmp_path):
    with pytest.raises(ValueError, match="no frames"):
        write_video(tmp_path / "x.mp4", [], 25)


def test_images_are_checked_before_decoding(tmp_path):
    import struct
    import zlib

    from PIL import Image

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 9000, 9000, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\0"))
        + chunk(b"IEND", b"")
    )
    (tmp_path / "big.png").write_bytes(png)  # 81 MP: over the limit, under PIL's own
    with pytest.raises(
        ValueError, match=r"big.png: 9000x9000 pixels, more than the 67,108,864 accepted"
    ):
        open_frames(tmp_path / "big.png")
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(
        tmp_path / "cut.jpg"
    )
    (tmp_path / "cut.jpg").write_bytes((tmp_path / "cut.jpg").read_bytes()[:600])
    with pytest.raises(
        ValueError, match="cut.jpg: not a readable image"
    ):  # OpenCV would fill it in grey
        open_frames(tmp_path / "cut.jpg")


def test_a_video_whose_frame_size_changes_is_refused_when_opened(tmp_path):
    """OpenCV scales only the first size: the 1280x720 half came out as 30 copies of one 640x360 frame."""
    import sys

    pytest.importorskip("av")
    pytest.importorskip("torch")  # fuzz_corpus builds its weights cases (torch) as it is imported
    sys.path.insert(0, str(Path(__file__).parents[1] / "fuzz"))
    from fuzz_corpus import joined_streams, ts_bytes

    with pytest.raises(
        UserError, match=r"clip.ts: its frames change size part-way \(640x360, then 1280x720\)"
    ):
        open_frames(joined_streams(tmp_path))
    (tmp_path / "one.ts").write_bytes(
        ts_bytes(640, 360) + ts_bytes(640, 360)
    )  # joined, but of one size
    with open_frames(tmp_path / "one.ts") as frames:
        assert frames.size == (640, 360) and len(list(frames)) == 60
