import json

import numpy as np
import pytest
from PIL import Image

from posemoe.crops import crop, square_box
from posemoe.datasets.images import (
    from_crop_coords,
    load_coco_json,
    load_h36m_json,
    read_image,
    to_crop_coords,
)
from posemoe.layouts import COCO17
from posemoe.training.samplers import ImageSampler


def _scene(tmp_path, name="frame.png", marker=(70, 50)):
    """A 160 x 120 image, black but for a white 3x3 marker."""
    image = np.zeros((120, 160, 3), np.uint8)
    x, y = marker
    image[y - 1 : y + 2, x - 1 : x + 2] = 255
    Image.fromarray(image).save(tmp_path / name)
    return image


def test_crop_coordinates_follow_the_pixels(tmp_path):
    image = _scene(tmp_path)
    box = square_box([40, 20, 60, 80])  # centre (70, 60), side 100
    patch = crop(image, box, 50)
    u, v = ((to_crop_coords(np.array([70.0, 50.0]), box) + 1) / 2 * 50).astype(int)
    assert patch[v, u].mean() > 100  # the marker lands where its crop coordinates say
    np.testing.assert_allclose(
        from_crop_coords(to_crop_coords(np.array([[3.0, 4.0]]), box), box), [[3, 4]], atol=1e-4
    )
    with pytest.raises(ValueError, match="positive size"):
        square_box([0, 0, 0, 10])


def test_h36m_json_import(tmp_path):
    _scene(tmp_path, "s_09_act_02_subact_01_ca_03_000001.png")
    joints = np.random.default_rng(0).normal(0, 300, (17, 3)) + [0, 0, 5000]
    ann = {
        "images": [
            {
                "id": 7,
                "file_name": "s_09_act_02_subact_01_ca_03_000001.png",
                "width": 160,
                "height": 120,
                "cam_param": {"f": [1000, 1000], "c": [80, 60]},
            }
        ],
        "annotations": [
            {"id": 1, "image_id": 7, "bbox": [40, 20, 60, 80], "h36m_joints": joints.tolist()}
        ],
    }
    (tmp_path / "h36m.json").write_text(json.dumps(ann))
    images = load_h36m_json(tmp_path / "h36m.json", tmp_path, 32)
    assert images.images.shape == (1, 32, 32, 3)
    np.testing.assert_allclose(images.labels.poses[0], (joints - joints[0]) / 1000, atol=1e-6)
    seq = images.labels.sequences[0]
    assert (seq.subject, seq.action, seq.camera) == ("S9", "Directions 1", 2)
    box = square_box([40, 20, 60, 80])
    pix = 1000 * joints[:, :2] / joints[:, 2:] + [80, 60]
    np.testing.assert_allclose(images.labels.keypoints[0], to_crop_coords(pix, box), atol=1e-5)

    bad = dict(
        ann,
        annotations=[
            {"id": 2, "image_id": 7, "bbox": [0, 0, 5, 5], "h36m_joints": [[0, 0, 1]] * 5}
        ],
    )
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(ValueError, match="expected 17 joints"):
        load_h36m_json(tmp_path / "bad.json", tmp_path, 32)


def test_coco_json_import_with_visibility_and_flip(tmp_path):
    _scene(tmp_path)
    kp = np.zeros((17, 3))
    kp[:, :2] = np.random.default_rng(1).uniform(45, 95, (17, 2))
    kp[:, 2] = 2
    kp[3] = 0  # an unlabelled ear
    ann = {
        "images": [{"id": 1, "file_name": "frame.png"}],
        "annotations": [
            {
                "id": 5,
                "image_id": 1,
                "bbox": [40, 20, 60, 80],
                "keypoints": kp.ravel().tolist(),
                "num_keypoints": 16,
            },
            {
                "id": 6,
                "image_id": 1,
                "bbox": [0, 0, 9, 9],
                "keypoints": [0] * 51,
                "num_keypoints": 0,
            },
        ],
    }
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


@pytest.mark.parametrize(
    "content, error", [("{not json", "not valid JSON"), ('{"images": 3}', "COCO-style")]
)
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
    ann = {
        "images": [{"id": 1, "file_name": "missing.png"}],
        "annotations": [{"image_id": 1, "bbox": [0, 0, 5, 5], "h36m_joints": [[0, 0, 1]] * 17}],
    }
    (tmp_path / "h.json").write_text(json.dumps(ann))
    with pytest.raises(FileNotFoundError, match="missing.png"):
        load_h36m_json(tmp_path / "h.json", tmp_path, 32)


def test_crops_cost_no_memory_for_huge_boxes_and_refuse_boxes_off_the_image(monkeypatch):
    image = np.random.default_rng(0).integers(0, 255, (120, 160, 3), np.uint8)
    inside = crop(image, square_box([40, 20, 60, 80]), 32)
    from PIL import Image

    old = np.asarray(
        Image.fromarray(image).crop((20, 10, 120, 110)).resize((32, 32), Image.Resampling.BILINEAR)
    )
    np.testing.assert_array_equal(inside, old)  # inside the image: exactly the plain crop
    boxes, plain_crop = [], Image.Image.crop
    monkeypatch.setattr(
        Image.Image, "crop", lambda self, box=None: boxes.append(box) or plain_crop(self, box)
    )
    huge = crop(image, np.array([-10000.0, -10000.0, 20000.0]), 256)  # 1.2 GB as a plain crop
    monkeypatch.undo()
    assert huge.shape == (256, 256, 3) and boxes == [
        (0, 0, 160, 120)
    ]  # only the image's own pixels are cut
    assert (
        huge[128:130, 128:130].any() and not huge[:120].any()
    )  # the image is the 2 px at the centre
    for box in ([1000.0, 1000.0, 50.0], [-100.0, 0.0, 50.0]):
        with pytest.raises(ValueError, match="does not cover the 160x120 image"):
            crop(image, np.array(box), 32)
    with pytest.raises(ValueError, match="crop size must be 1..4096"):
        crop(image, np.array([0.0, 0.0, 50.0]), 100_000)
    for bbox in ([np.nan, 0, 10, 10], [0, 0, 10], ["a", "b", "c", "d"], [0, 0, np.inf, 10]):
        with pytest.raises(ValueError, match="bbox must be 4 finite numbers"):
            square_box(bbox)


def _h36m_annotations(tmp_path, joints, **image):
    _scene(tmp_path, "s_09_act_02_subact_01_ca_03_000001.png")
    info = {
        "id": 7,
        "file_name": "s_09_act_02_subact_01_ca_03_000001.png",
        "cam_param": {"f": [1000, 1000], "c": [80, 60]},
    }
    ann = {
        "images": [info | image],
        "annotations": [{"image_id": 7, "bbox": [40, 20, 60, 80], "h36m_joints": joints}],
    }
    (tmp_path / "h36m.json").write_text(json.dumps(ann))
    return tmp_path / "h36m.json"


@pytest.mark.parametrize(
    "z, error",
    [
        (0.0, r"1 joint\(s\) at or behind the camera"),
        (-50.0, "at or behind the camera"),
        (1e-9, "project beyond"),
        (float("nan"), "joints hold NaN or inf"),
        (1e30, r"joints beyond 1e\+05 mm"),
    ],
)
def test_labels_that_would_not_be_finite_are_refused(tmp_path, z, error):
    joints = np.random.default_rng(0).normal(0, 300, (17, 3)) + [0, 0, 5000]
    joints[5, 2] = z
    path = _h36m_annotations(tmp_path, joints.tolist())
    with pytest.raises(ValueError, match=error) as info:
        load_h36m_json(path, tmp_path, 32)
    assert r"h36m.json [annotation 0]" in str(info.value)


def test_image_sets_are_checked_field_by_field(tmp_path):
    from posemoe.datasets.images import ImageSet

    _scene(tmp_path, "frame.png")
    joints = (np.random.default_rng(0).normal(0, 300, (17, 3)) + [0, 0, 5000]).tolist()
    images = load_h36m_json(_h36m_annotations(tmp_path, joints), tmp_path, 16)
    path = images.save(tmp_path / "set")
    assert path.name == "set.npz" and len(ImageSet.load(path).images) == 1
    entries = dict(np.load(path))
    for key, value, error in [
        ("length", np.array(["1"]), "non-negative integers"),
        ("poses", np.full((1, 17, 3), np.nan, np.float32), "'poses' holds NaN"),
        ("layout", np.array("smpl"), "bad.npz: unknown joint layout"),
        ("images", np.zeros((1, 16, 8, 3), np.uint8), r"\(N, S, S, 3\) uint8"),
    ]:
        np.savez(tmp_path / "bad.npz", **(entries | {key: value}))
        with pytest.raises(ValueError, match=error):
            ImageSet.load(tmp_path / "bad.npz")


def test_images_over_the_pixel_limit_are_refused_from_the_header(tmp_path):
    import struct
    import zlib

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)
    (tmp_path / "huge.png").write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0"))
        + chunk(b"IEND", b"")
    )
    with pytest.raises(ValueError, match=r"huge.png: more than the 67,108,864 pixels accepted"):
        read_image(tmp_path / "huge.png")
