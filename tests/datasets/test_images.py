import json

import numpy as np
import pytest
from PIL import Image

from posemoe.datasets.images import (
    crop,
    from_crop_coords,
    load_coco_json,
    load_h36m_json,
    read_image,
    square_box,
    to_crop_coords,
)
from posemoe.layouts import COCO17
from posemoe.training.samplers import ImageSampler


def _scene(tmp_path, name="frame.png", marker=(70, 50)):
    """A 160 x 120 image, black but for a white 3x3 marker."""
    image = np.zeros((120, 160, 3), np.uint8)
    x, y = marker
    image[y - 1:y + 2, x - 1:x + 2] = 255
    Image.fromarray(image).save(tmp_path / name)
    return image


def test_crop_coordinates_follow_the_pixels(tmp_path):
    image = _scene(tmp_path)
    box = square_box([40, 20, 60, 80])  # centre (70, 60), side 100
    patch = crop(image, box, 50)
    u, v = ((to_crop_coords(np.array([70.0, 50.0]), box) + 1) / 2 * 50).astype(int)
    assert patch[v, u].mean() > 100  # the marker lands where its crop coordinates say
    np.testing.assert_allclose(from_crop_coords(to_crop_coords(np.array([[3.0, 4.0]]), box), box), [[3, 4]], atol=1e-4)
    with pytest.raises(ValueError, match="positive size"):
        square_box([0, 0, 0, 10])


def test_h36m_json_import(tmp_path):
    _scene(tmp_path, "s_09_act_02_subact_01_ca_03_000001.png")
    joints = np.random.default_rng(0).normal(0, 300, (17, 3)) + [0, 0, 5000]
    ann = {"images": [{"id": 7, "file_name": "s_09_act_02_subact_01_ca_03_000001.png", "width": 160, "height": 120,
                       "cam_param": {"f": [1000, 1000], "c": [80, 60]}}],
           "annotations": [{"id": 1, "image_id": 7, "bbox": [40, 20, 60, 80], "h36m_joints": joints.tolist()}]}
    (tmp_path / "h36m.json").write_text(json.dumps(ann))
    images = load_h36m_json(tmp_path / "h36m.json", tmp_path, 32)
    assert images.images.shape == (1, 32, 32, 3)
    np.testing.assert_allclose(images.labels.poses[0], (joints - joints[0]) / 1000, atol=1e-6)
    seq = images.labels.sequences[0]
    assert (seq.subject, seq.action, seq.camera) == ("S9", "Directions 1", 2)
    box = square_box([40, 20, 60, 80])
    pix = 1000 * joints[:, :2] / joints[:, 2:] + [80, 60]
    np.testing.assert_allclose(images.labels.keypoints[0], to_crop_coords(pix, box), atol=1e-5)

    bad = dict(ann, annotations=[{"id": 2, "image_id": 7, "bbox": [0, 0, 5, 5], "h36m_joints": [[0, 0, 1]] * 5}])
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(ValueError, match="expected 17 joints"):
        load_h36m_json(tmp_path / "bad.json", tmp_path, 32)


def test_coco_json_import_with_visibility_and_flip(tmp_path):
    _scene(tmp_path)
    kp = np.zeros((17, 3))
    kp[:, :2] = np.random.default_rng(1).uniform(45, 95, (17, 2))
    kp[:, 2] = 2
    kp[3] = 0  # an unlabelled ear
    ann = {"images": [{"id": 1, "file_name": "frame.png"}],
           "annotations": [{"id": 5, "image_id": 1, "bbox": [40, 20, 60, 80], "keypoints": kp.ravel().tolist(),
                            "num_keypoints": 16},
                           {"id": 6, "image_id": 1, "bbox": [0, 0, 9, 9], "keypoints": [0] * 51, "num_keypoints": 0}]}
    (tmp_path / "coco.json").write_text(json.dumps(ann))
    images = load_coco_json(tmp_path / "coco.json", tmp_path, 32)
    assert len(images.images) == 1  # the person without keypoints is skipped
    target = images.labels.keypoints[0]
    assert target.shape == (17, 3) and target[3, 2] == 0 and target[0, 2] == 1
    sampler = ImageSampler(images, COCO17)
    x, y = sampler.gather(np.array([0]), np.array([True]), out_dims=2)
    assert x.shape == (1, 3, 32, 32) and x.dtype == np.float32 and x.max() <= 1
    left, right = COCO17.index("LWrist"), COCO17.index("RWrist")
    np.testing.assert_allclose(y[0, right, :2], [-target[left, 0], target[left, 1]])


@pytest.mark.parametrize("content, error", [("{not json", "not valid JSON"), ('{"images": 3}', "COCO-style")])
def test_broken_annotation_files_say_why(tmp_path, content, error):
    (tmp_path / "a.json").write_text(content)
    with pytest.raises(ValueError, match=error):
        load_coco_json(tmp_path / "a.json", tmp_path, 32)


def test_unreadable_images_say_why(tmp_path):
    (tmp_path / "fake.png").write_text("not an image")
    with pytest.raises(ValueError, match="not a readable image"):
        read_image(tmp_path / "fake.png")
    with pytest.raises(FileNotFoundError, match="no image"):
        read_image(tmp_path / "missing.png")
    ann = {"images": [{"id": 1, "file_name": "missing.png"}],
           "annotations": [{"image_id": 1, "bbox": [0, 0, 5, 5], "h36m_joints": [[0, 0, 1]] * 17}]}
    (tmp_path / "h.json").write_text(json.dumps(ann))
    with pytest.raises(FileNotFoundError, match="missing.png"):
        load_h36m_json(tmp_path / "h.json", tmp_path, 32)
