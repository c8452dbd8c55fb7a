"""Keypoint codecs: what a model sees of a camera's pixels."""

import numpy as np
import pytest

from posemoe.camera import Intrinsics, focal_from_fov, load_h36m_cameras
from posemoe.codecs import RAY_SCALE, CameraCodec, ScreenCodec, make_codec
from posemoe.errors import UserError


def test_camera_codec_gives_the_rays_and_round_trips():
    codec = CameraCodec(Intrinsics((1000.0, 800.0), (640.0, 360.0)))
    pixels = np.array([[640.0, 360.0], [1640.0, 360.0], [640.0, 1160.0], [140.0, -40.0]])
    np.testing.assert_allclose(
        codec.encode(pixels) / RAY_SCALE, [[0, 0], [1, 0], [0, 1], [-0.5, -0.5]]
    )
    np.testing.assert_allclose(codec.decode(codec.encode(pixels)), pixels)
    windows = np.concatenate([pixels, np.full((4, 1), 0.7)], -1)[None]
    encoded = codec.encode_windows(windows)
    assert encoded.dtype == np.float32 and (encoded[..., 2] == np.float32(0.7)).all()


def test_camera_codec_does_not_depend_on_the_frame_only_on_the_lens():
    """A crop of a frame (the principal point moves with the pixels) or a resized frame (focal and
    pixels scale together) shows a model the same numbers; the screen codec's change."""
    pixels = np.random.default_rng(0).uniform(200, 900, (17, 2))
    full = make_codec("camera", (1920, 1080), Intrinsics((1500.0, 1500.0), (960.0, 540.0)))
    crop = make_codec("camera", (608, 1080), Intrinsics((1500.0, 1500.0), (960.0 - 656, 540.0)))
    half = make_codec("camera", (960, 540), Intrinsics((750.0, 750.0), (480.0, 270.0)))
    np.testing.assert_allclose(crop.encode(pixels - [656, 0]), full.encode(pixels), atol=1e-12)
    np.testing.assert_allclose(half.encode(pixels / 2), full.encode(pixels), atol=1e-12)
    assert not np.allclose(
        ScreenCodec(608, 1080).encode(pixels - [656, 0]), ScreenCodec(1920, 1080).encode(pixels)
    )


def test_on_human36m_cameras_the_camera_codec_is_close_to_the_screen_codec():
    """So a screen-codec lifter trained there is a good start for a camera-codec one."""
    pixels = np.random.default_rng(1).uniform(150, 850, (100, 2))
    for cam in load_h36m_cameras()["S1"]:
        rays = make_codec("camera", (cam.width, cam.height), cam.intrinsics).encode(pixels)
        screen = ScreenCodec(cam.width, cam.height).encode(pixels)
        assert np.abs(rays - screen).max() < 0.06


def test_unknown_intrinsics_are_guessed_from_the_default_field_of_view():
    codec = make_codec("camera", (720, 1280))
    assert codec.intrinsics.focal == (focal_from_fov((720, 1280)),) * 2
    assert codec.intrinsics.centre == (360.0, 640.0)
    assert Intrinsics.guess((720, 1280), focal_px=900.0).focal == (900.0, 900.0)
    assert make_codec("screen", (720, 1280), Intrinsics((1.0, 1.0), (0.0, 0.0))) == ScreenCodec(
        720, 1280
    )


@pytest.mark.parametrize(
    "focal, centre",
    [
        ((0.0, 1.0), (0.0, 0.0)),
        ((np.nan, 1.0), (0.0, 0.0)),
        ((1.0,), (0.0, 0.0)),
        ((1.0, 1.0), (np.inf, 0.0)),
    ],
)
def test_bad_intrinsics_are_refused(focal, centre):
    with pytest.raises(UserError, match="focal|intrinsics"):
        Intrinsics(focal, centre)


def test_unknown_codec_is_refused():
    with pytest.raises(UserError, match="unknown keypoint codec"):
        make_codec("rays", (640, 480))
