import numpy as np
import pytest

from posemoe.errors import UserError
from posemoe.inference.unseen import unseen_joints


def _standing(frames: int = 10) -> np.ndarray:
    """(T, 17, 3) pixels + confidence, every joint inside a 640x480 image and sure."""
    points = np.zeros((frames, 17, 3), np.float32)
    points[..., 0], points[..., 1], points[..., 2] = 320, np.linspace(60, 420, 17), 0.9
    return points


def test_every_joint_seen():
    mask, summary = unseen_joints(_standing(), (640, 480))
    assert (
        mask.shape == (10, 17) and not mask.any() and summary == "every joint seen in all 10 frames"
    )


def test_outside_the_frame_low_confidence_and_missing_are_unseen():
    points = _standing()
    points[:, 3, 1] = 500  # right foot below the image, in every frame
    points[:, 6, 0] = -4  # left foot left of it
    points[2, 13, 2] = 0.2  # a guessed left wrist in one frame
    points[5, 16] = np.nan  # no right wrist at all in another
    mask, summary = unseen_joints(points, (640, 480))
    expected = np.zeros((10, 17), bool)
    expected[:, [3, 6]] = True
    expected[2, 13] = expected[5, 16] = True
    np.testing.assert_array_equal(mask, expected)
    assert summary.startswith("unseen (outside the frame or confidence < 0.5")
    assert "RFoot, LFoot in most frames" in summary
    assert "22 of 170 joint positions in 10 of 10 frames" in summary


def test_a_waist_up_view_names_the_legs():
    points = _standing(4)
    points[:, [2, 3, 5, 6], 2] = 0.05  # legs invented inside the frame, with low visibility
    mask, summary = unseen_joints(points, (640, 480))
    assert mask[:, [2, 3, 5, 6]].all() and mask.sum() == 16
    assert "RKnee, RFoot, LKnee, LFoot in most frames" in summary


def test_without_an_image_size_only_confidence_counts():
    points = _standing(3)
    points[:, 3, 1] = 5000
    assert not unseen_joints(points, None)[0].any()
    assert unseen_joints(points[..., :2], (640, 480))[0][:, 3].all()  # 2D without confidence


def test_wrong_shape_is_a_user_error():
    with pytest.raises(UserError, match=r"expected keypoints of shape \(T, 17, 2\|3\)"):
        unseen_joints(np.zeros((5, 33, 3)), (640, 480))
