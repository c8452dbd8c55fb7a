import numpy as np
import pytest

from posemoe.datasets.bodies import RenderOptions, render_body, render_dataset
from posemoe.datasets.h36m import load_h36m
from posemoe.datasets.images import ImageSet
from posemoe.layouts import H36M17


def test_render_body_is_deterministic_and_centred(synthetic_dir):
    pose = load_h36m(synthetic_dir, ["S1"], "gt").poses[10]
    options = RenderOptions(size=64)
    image, keypoints = render_body(pose, np.random.default_rng(3), options)
    again, _ = render_body(pose, np.random.default_rng(3), options)
    other, _ = render_body(pose, np.random.default_rng(4), options)
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    assert np.array_equal(image, again) and not np.array_equal(image, other)
    assert (
        keypoints.shape == (17, 2) and np.abs(keypoints).max() < 1
    )  # the whole body is inside the crop
    extent = (keypoints.max(0) - keypoints.min(0)).max() / 2
    assert 0.5 < extent < 1 / options.margin[0]  # and fills most of it, like a detector's box


def test_the_body_covers_its_joints(synthetic_dir):
    pose = load_h36m(synthetic_dir, ["S1"], "gt").poses[0]
    image, keypoints, mask = render_body(
        pose, np.random.default_rng(0), RenderOptions(size=96), with_mask=True
    )
    for joint in ("Hip", "Spine", "Thorax", "Head", "LKnee", "RKnee"):
        x, y = ((keypoints[H36M17.index(joint)] + 1) / 2 * 96).astype(int)
        assert mask[y, x], joint
    assert 0.05 < mask.mean() < 0.6


def test_render_dataset_round_trips_with_sequences(synthetic_dir, tmp_path):
    data = load_h36m(synthetic_dir, ["S8"], "gt")
    images = render_dataset(data, 40, options=RenderOptions(size=32))
    assert 20 <= len(images.images) <= 40
    assert sum(s.length for s in images.labels.sequences) == len(images.images)
    images.save(tmp_path / "set.npz")
    back = ImageSet.load(tmp_path / "set.npz")
    assert np.array_equal(back.images, images.images)
    np.testing.assert_array_equal(back.labels.poses, images.labels.poses)
    assert back.labels.sequences == images.labels.sequences
    with pytest.raises(ValueError, match="positive"):
        render_dataset(data, 0)
