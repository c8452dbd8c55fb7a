import numpy as np
import pytest

pytest.importorskip("mediapipe")

from posemoe.inference.detectors import BlazePose  # noqa: E402
from posemoe.io.video import open_frames  # noqa: E402
from posemoe.layouts import BLAZEPOSE33  # noqa: E402


def test_blazepose_finds_the_real_person_and_nobody_in_a_blank_frame(astronaut_clip):
    with open_frames(astronaut_clip) as video, BlazePose() as detector:
        frame = next(iter(video))
        people = detector(frame)
    assert people.shape == (1, 33, 3)
    points = people[0]
    nose, shoulders = points[BLAZEPOSE33.index("Nose")], points[[BLAZEPOSE33.index(j) for j in ("LShoulder", "RShoulder")]]
    assert nose[2] > 0.9 and (shoulders[:, 2] > 0.9).all()
    assert (shoulders[:, 1] > nose[1]).all()  # shoulders below the nose, in pixels
    assert 0 <= nose[0] < 640 and 0 <= nose[1] < 360
    with BlazePose(video=False) as detector:
        assert detector(np.full((360, 640, 3), 128, np.uint8)).shape == (0, 33, 3)
        with pytest.raises(ValueError, match="RGB uint8"):
            detector(np.zeros((10, 10), np.float32))


def test_the_number_of_people_is_bounded():
    with pytest.raises(ValueError, match="max_people must be 1..64"):
        BlazePose(max_people=0)


def test_blazepose_needs_no_jax(tmp_path):
    """mediapipe declares jax and jaxlib (360 MB) but only its LLM converter imports them: the
    detector runs with jax made unimportable, so users may uninstall them (README)."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['jax'] = None; sys.modules['jaxlib'] = None\n"
            "import numpy as np\n"
            "from posemoe.assets import astronaut\n"
            "from posemoe.inference.detectors import BlazePose\n"
            "with BlazePose(video=False) as d: people = d(astronaut())\n"
            "assert people.shape == (1, 33, 3)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_map_on_two_landmarkers_keeps_the_order_and_finds_the_person(astronaut_clip):
    with open_frames(astronaut_clip) as video:
        frames = [frame for _, frame in zip(range(8), video)]
    with BlazePose(max_people=1) as detector:
        one = [detector(frame) for frame in frames]
    with BlazePose(max_people=1) as detector:
        two = list(detector.map(frames, workers=2))
        assert detector(frames[0]).shape == (1, 33, 3)  # timestamps keep rising after a map
    assert len(two) == len(frames) and all(p.shape == (1, 33, 3) for p in two)
    for a, b in zip(one, two):  # the same person in every frame, in order (the clip drifts by tens of pixels)
        assert np.abs(a[0, :, :2] - b[0, :, :2]).mean() < 15
