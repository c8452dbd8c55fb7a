"""The .mp4 files posemoe writes are H.264 (what browsers play), checked without a browser."""

import numpy as np
import pytest

from posemoe.errors import UserError
from posemoe.viz import encode
from posemoe.viz.encode import video_codec, write_mp4

av = pytest.importorskip("av")


def _frames(count: int = 8, size: tuple[int, int] = (161, 91)) -> list[np.ndarray]:
    """Odd-sized RGB frames (width, height), a different grey each."""
    return [np.full((size[1], size[0], 3), 20 * t, np.uint8) for t in range(count)]


def test_mp4_is_h264_yuv420p_even_sized_and_starts_fast(tmp_path):
    path = write_mp4(tmp_path / "clip.mp4", _frames(), 25)
    assert video_codec(path) == "h264"
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (
            162,
            92,
        )  # padded to even
        assert stream.codec_context.pix_fmt == "yuv420p" and stream.average_rate == 25
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(decoded) == 8 and abs(int(decoded[5][40, 80, 0]) - 100) < 8
    data = path.read_bytes()
    assert b"avc1" in data  # the sample entry of H.264 in an .mp4
    assert data.index(b"moov") < data.index(b"mdat")  # +faststart: the index comes first


def test_no_frames_is_an_error_and_leaves_no_file(tmp_path):
    with pytest.raises(UserError, match="no frames"):
        write_mp4(tmp_path / "empty.mp4", [], 25)
    assert list(tmp_path.iterdir()) == []


def test_frames_must_keep_their_size(tmp_path):
    with pytest.raises(UserError, match="expected 162x92 like the first frame"):
        write_mp4(tmp_path / "mixed.mp4", _frames(2) + _frames(1, (64, 48)), 25)
    assert list(tmp_path.iterdir()) == []


def test_without_pyav_opencv_writes_mpeg4_with_a_warning(tmp_path, monkeypatch, capsys):
    pytest.importorskip("cv2")
    monkeypatch.setattr(encode, "_pyav_with_h264", lambda: None)
    path = write_mp4(tmp_path / "old.mp4", _frames(4, (160, 90)), 25)
    assert video_codec(path) == "mpeg4"
    assert "browsers do not play" in capsys.readouterr().err


def test_the_rendered_side_by_side_video_is_h264(tmp_path):
    pytest.importorskip("cv2")
    from posemoe.viz.video import render_mp4

    poses = np.zeros((5, 17, 3), np.float32)
    poses[:, :, 1] = np.linspace(-0.8, 0.8, 17)
    keypoints = np.concatenate([np.full((5, 17, 2), 40.0), np.ones((5, 17, 1))], -1)
    path = render_mp4(tmp_path / "render.mp4", _frames(5, (121, 81)), keypoints, poses, fps=10)
    assert video_codec(path) == "h264"


def test_the_mp4_plays_in_headless_chromium(tmp_path):
    """Where a Chromium is installed: a page with the rendered .mp4 in a <video> plays it (its
    size is known and its time advances), which an MPEG-4 Part 2 file would not."""
    import shutil
    import subprocess

    browser = (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")
    )
    if browser is None:
        pytest.skip("no Chromium on this machine")
    frames = [np.full((90, 160, 3), (40 + 8 * t) % 256, np.uint8) for t in range(50)]
    write_mp4(tmp_path / "clip.mp4", frames, 25)
    (tmp_path / "page.html").write_text(
        '<video id="v" src="clip.mp4" muted autoplay></video><pre id="out">pending</pre><script>'
        'const v = document.getElementById("v"), out = document.getElementById("out");'
        'v.onerror = () => out.textContent = "error " + (v.error && v.error.code);'
        'v.ontimeupdate = () => { if (v.currentTime > 0.5) out.textContent = "playing " + v.videoWidth; };</script>'
    )
    result = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--autoplay-policy=no-user-gesture-required",
            "--virtual-time-budget=5000",
            "--dump-dom",
            (tmp_path / "page.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert '<pre id="out">playing 160<' in result.stdout, (
        result.stdout[-500:] + result.stderr[-500:]
    )
