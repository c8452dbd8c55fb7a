"""BlazePose on ONNX Runtime: the numpy/OpenCV steps one by one (against hand-worked cases) and the
shipped models' checksums. (Its agreement with mediapipe's graphs is measured by a developer's tool
in a venv of its own: tools/blazepose_agreement.py, docs/results/lean-runtime.md.)"""

import hashlib
import math

import numpy as np
import pytest

from posemoe.inference import blazepose as bp


def test_the_shipped_models_are_what_the_conversion_tool_recorded_writing(load_tool):
    recorded = load_tool("blazepose_onnx").SHIPPED_SHA256
    for path in (bp.DETECTOR_ONNX, bp.LANDMARK_ONNX):
        assert hashlib.sha256(path.read_bytes()).hexdigest() == recorded[path.name], path
        assert path.stat().st_size < 16 * 2**20


def test_anchors_tile_each_strides_grid_with_two_per_layer():
    anchors = bp.ssd_anchors()
    assert anchors.shape == (28 * 28 * 2 + 14 * 14 * 2 + 7 * 7 * 6, 2) == (2254, 2)
    np.testing.assert_allclose(anchors[0], [0.5 / 28, 0.5 / 28])
    np.testing.assert_array_equal(
        anchors[0], anchors[1]
    )  # two anchors per cell of the stride-8 grid
    np.testing.assert_allclose(anchors[2], [1.5 / 28, 0.5 / 28])  # x runs fastest
    np.testing.assert_allclose(anchors[2 * 28], [0.5 / 28, 1.5 / 28])
    np.testing.assert_allclose(anchors[1568], [0.5 / 14, 0.5 / 14])  # the stride-16 grid starts
    last = anchors[1568 + 392 :]  # three stride-32 layers share one 7x7 grid: six anchors per cell
    np.testing.assert_allclose(last[:6], np.repeat([[0.5 / 7, 0.5 / 7]], 6, axis=0))
    np.testing.assert_allclose(last[-1], [6.5 / 7, 6.5 / 7])


def test_decoding_offsets_boxes_and_keypoints_from_their_anchor_and_drops_the_unsure():
    anchors = np.array([[0.25, 0.5], [0.75, 0.5]], np.float32)
    raw = np.zeros((2, 12), np.float32)
    raw[0, :4] = [22.4, -11.2, 44.8, 22.4]  # centre +0.1, -0.05; size 0.2 x 0.1 (of 224 pixels)
    raw[0, 4:6] = [0.0, 22.4]  # first keypoint 0.1 below the anchor
    scores = np.array([[3.0], [-3.0]], np.float32)  # sigmoid 0.953 and 0.047
    found = bp.decode_detections(raw, scores, anchors)
    assert len(found) == 1
    d = found[0]
    assert d.score == pytest.approx(1 / (1 + math.exp(-3)))
    np.testing.assert_allclose(d.box, [0.35 - 0.1, 0.45 - 0.05, 0.2, 0.1], atol=1e-6)
    np.testing.assert_allclose(d.keypoints[0], [0.25, 0.6], atol=1e-6)
    np.testing.assert_allclose(d.keypoints[1], [0.25, 0.5], atol=1e-6)
    raw[1, 2] = -10.0  # a negative width is dropped even when sure
    assert len(bp.decode_detections(raw, np.array([[3.0], [3.0]], np.float32), anchors)) == 1


def _detection(score, box, shift=0.0):
    return bp.Detection(score, np.array(box, np.float32), np.full((4, 2), 0.5 + shift, np.float32))


def test_weighted_nms_averages_overlapping_boxes_by_score_and_keeps_the_surest_score():
    a = _detection(0.9, [0.10, 0.10, 0.20, 0.20])
    b = _detection(0.6, [0.12, 0.10, 0.20, 0.20], shift=0.1)  # IoU 0.82 with a
    far = _detection(0.7, [0.60, 0.60, 0.20, 0.20])
    touching = _detection(0.55, [0.30, 0.10, 0.20, 0.20])  # shares an edge with a: IoU 0
    merged = bp.weighted_nms([b, far, a, touching])
    assert [m.score for m in merged] == pytest.approx([0.9, 0.7, 0.55])
    np.testing.assert_allclose(
        merged[0].box, [(0.9 * 0.10 + 0.6 * 0.12) / 1.5, 0.10, 0.20, 0.20], atol=1e-6
    )
    np.testing.assert_allclose(
        merged[0].keypoints, np.full((4, 2), (0.9 * 0.5 + 0.6 * 0.6) / 1.5), atol=1e-6
    )
    np.testing.assert_allclose(merged[1].box, far.box)
    assert bp.iou(np.array([0, 0, 1, 1.0]), np.array([[0.5, 0, 1, 1.0]]))[0] == pytest.approx(1 / 3)
    assert bp.weighted_nms([]) == []


def test_letterbox_padding_and_its_removal():
    assert bp.letterbox_padding(1280, 720, 224) == (0.0, pytest.approx((1 - 720 / 1280) / 2))
    assert bp.letterbox_padding(1080, 1920, 224) == (pytest.approx((1 - 1080 / 1920) / 2), 0.0)
    left, top = 0.0, (1 - 720 / 1280) / 2
    # the frame's bottom-right corner, seen in the padded square, is the region's (1, 1)
    np.testing.assert_allclose(
        bp.remove_letterbox(np.array([1.0, 1 - top], np.float32), (left, top)), [1, 1], atol=1e-6
    )


def test_the_alignment_region_is_square_in_pixels_and_turned_so_the_body_stands_up():
    width, height = 1280, 720
    hip = np.array([640 / width, 400 / height])
    up = np.array([640 / width, 300 / height])  # 100 pixels above the hips: upright
    roi = bp.alignment_roi(hip, up, width, height)
    assert roi.rotation == pytest.approx(0.0, abs=1e-9)
    assert roi.width * width == pytest.approx(
        2 * 100 * bp.ROI_SCALE
    ) and roi.height * height == pytest.approx(250)
    right = bp.alignment_roi(
        hip, np.array([740 / width, 400 / height]), width, height
    )  # body lying, head right
    assert right.rotation == pytest.approx(math.pi / 2)
    assert bp.normalize_radians(3 * math.pi / 2) == pytest.approx(-math.pi / 2)


def test_a_crop_projected_back_lands_where_it_was_taken():
    """crop_corners (where the crop's corners lie in the frame) and project (crop-normalized ->
    frame-normalized), with the letterbox removed between them, are one map: the crop's corners go
    to the same frame points both ways, for a turned region and a padded (non-square) one."""
    width, height = 640, 480
    for roi in (bp.Roi(0.4, 0.6, 0.3, 0.4, 0.7), bp.Roi(0.5, 0.5, 1.0, 1.0)):
        corners, padding = bp.crop_corners(roi, width, height, 256)
        square = np.array(
            [[0, 1], [0, 0], [1, 0], [1, 1]], np.float32
        )  # the order crop_corners gives
        projected = bp.project(bp.remove_letterbox(square, padding), roi) * [width, height]
        np.testing.assert_allclose(projected, corners, atol=1e-3)
    assert padding == (0.0, pytest.approx((1 - 480 / 640) / 2))


def test_the_crop_samples_the_region_turned_upright():
    """A frame with a bright square right of centre, cut out by a region turned a quarter turn
    (rotation +pi/2: a body lying with its head to the right, as alignment_roi turns it): the bright
    square comes out at the top of the crop."""
    frame = np.zeros((200, 200, 3), np.uint8)
    frame[90:110, 150:170] = 255
    roi = bp.Roi(0.5, 0.5, 1.0, 1.0, math.pi / 2)
    tensor, padding = bp.crop(frame, roi, 100, (0.0, 1.0), replicate=False)
    assert tensor.shape == (1, 100, 100, 3) and padding == (0.0, 0.0)
    rows, cols = np.nonzero(tensor[0, :, :, 0] > 0.5)
    assert rows.mean() < 25 and abs(cols.mean() - 50) < 3
    tensor, _ = bp.crop(frame, roi, 100, (-1.0, 1.0), replicate=False)
    assert tensor.min() == -1.0 and tensor.max() == 1.0


def test_heatmap_refinement_moves_a_landmark_to_its_windows_weighted_centre():
    heatmap = np.full((64, 64, 3), -20.0, np.float32)  # sigmoid ~0: nothing anywhere
    heatmap[10, 20, 0] = heatmap[10, 22, 0] = 20.0  # two sure cells either side of landmark 0
    heatmap[40, 40, 1] = (
        0.0  # landmark 1's best cell: 0.5 only at (40, 40)... but it is outside its window
    )
    points = np.array([[21.2 / 64, 10.7 / 64], [10 / 64, 10 / 64], [-0.5 / 64, 0.3]], np.float32)
    out = bp.refine_from_heatmap(points, heatmap)
    np.testing.assert_allclose(out[0], [21 / 64, 10 / 64], atol=1e-4)
    np.testing.assert_array_equal(out[1], points[1])  # its window is unsure: kept
    heatmap[19, 0, 2] = (
        20.0  # landmark 2 sits just left of the heatmap: its cell truncates to column 0
    )
    np.testing.assert_allclose(bp.refine_from_heatmap(points, heatmap)[2], [0, 19 / 64], atol=1e-4)


def test_decoded_landmarks_are_pixels_with_sigmoid_visibility_and_the_next_region_from_the_alignment_points():
    raw = np.zeros((39, 5), np.float32)
    raw[:, 0], raw[:, 1] = 128.0, 64.0  # every landmark at (0.5, 0.25) of the crop
    raw[33, :2] = [128, 128]  # alignment: centre of the crop
    raw[34, :2] = [128, 64]  # ... and a point a quarter of the crop above it
    raw[:, 3] = 2.0
    heatmap = np.full((64, 64, 39), -20.0, np.float32)  # nothing sure: no refinement
    roi = bp.Roi(0.5, 0.5, 0.5, 0.5)  # a 320x320 square of a 640x640 frame
    points, next_roi = bp.decode_landmarks(raw.ravel(), heatmap, roi, (0.0, 0.0), 640, 640)
    assert points.shape == (33, 3)
    np.testing.assert_allclose(points[0], [320, 160 + 80, 1 / (1 + math.exp(-2))], atol=1e-4)
    assert next_roi.x == pytest.approx(0.5) and next_roi.y == pytest.approx(0.5)
    assert next_roi.width * 640 == pytest.approx(
        2 * 80 * bp.ROI_SCALE, rel=1e-5
    ) and next_roi.rotation == pytest.approx(0, abs=1e-6)


def test_a_region_of_no_size_is_refused():
    with pytest.raises(ValueError, match="positive size"):
        bp.crop_corners(bp.Roi(0.5, 0.5, 0.0, 0.1), 640, 480, 256)
