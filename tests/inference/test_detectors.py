import numpy as np
import pytest

pytest.importorskip("mediapipe")

from posemoe.inference.detectors import BlazePose  # noqa: E402
from posemoe.io.video import open_frames  # noqa: E402
from posemoe.layouts import BLAZEPOSE33  # noqa: E402


def test_blazepose_finds_the_real_person_and_nobody_in_a_blank_frame(astronaut_clip):
    with open_frames(astronaut_clip) as video, BlazePose() as detector:
        frame = next(iter(video))
        points = detector(frame)
    assert points.shape == (33, 3)
    nose, shoulders = points[BLAZEPOSE33.index("Nose")], points[[BLAZEPOSE33.index(j) for j in ("LShoulder", "RShoulder")]]
    assert nose[2] > 0.9 and (shoulders[:, 2] > 0.9).all()
    assert (shoulders[:, 1] > nose[1]).all()  # shoulders below the nose, in pixels
    assert 0 <= nose[0] < 640 and 0 <= nose[1] < 360
    with BlazePose(video=False) as detector:
        assert detector(np.full((360, 640, 3), 128, np.uint8)) is None
        with pytest.raises(ValueError, match="RGB uint8"):
            detector(np.zeros((10, 10), np.float32))


def test_only_the_bundled_models_are_offered():
    with pytest.raises(ValueError, match="0 \\(lite\\) and 1 \\(full\\)"):
        BlazePose(model_complexity=2)
