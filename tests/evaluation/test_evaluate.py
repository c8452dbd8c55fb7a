import json

import numpy as np
import pytest
import torch

from posemoe.datasets.h36m import load_h36m
from posemoe.evaluation.h36m import evaluate, evaluate_predictions, predict
from posemoe.models import create_model

TINY = dict(num_frames=27, dim=8, heads=2, expert_hidden=32, encoder_layers=1, decoder_layers=1)


@pytest.fixture(scope="module")
def val_data(synthetic_dir):
    return load_h36m(synthetic_dir, ["S8"], "gt")


def test_perfect_predictions_score_zero(val_data):
    report = evaluate_predictions(val_data.poses.copy(), val_data, flip=False)
    for value in [*report.frame_weighted.values(), *report.action_mean.values()]:
        assert value == pytest.approx(0, abs=1e-3)  # float32 SVD in P-MPJPE
    assert report.frames == val_data.num_frames


def test_constant_offset_by_hand(val_data):
    pred = val_data.poses + np.array([0.01, 0, 0], dtype=np.float32)
    report = evaluate_predictions(pred, val_data, flip=False)
    assert report.frame_weighted["mpjpe"] == pytest.approx(10.0, rel=1e-4)
    assert report.frame_weighted["p_mpjpe"] == pytest.approx(0, abs=1e-3)
    assert report.frame_weighted["mpjve"] == pytest.approx(0, abs=1e-3)


def test_frame_weighted_and_action_mean_differ_when_actions_differ(val_data):
    pred = val_data.poses.copy()
    for seq in val_data.sequences:
        if seq.action_group == "Walking":
            pred[seq.start:seq.start + seq.length] += np.array([0.02, 0, 0], dtype=np.float32)
    report = evaluate_predictions(pred, val_data, flip=False)
    assert set(report.per_action) == {"Walking", "Sitting"}
    assert report.per_action["Walking"]["mpjpe"] == pytest.approx(20.0, rel=1e-4)
    assert report.per_action["Sitting"]["mpjpe"] == pytest.approx(0, abs=1e-4)
    assert report.action_mean["mpjpe"] == pytest.approx(10.0, rel=1e-4)
    walking = sum(s.length for s in val_data.sequences if s.action_group == "Walking")
    assert report.frame_weighted["mpjpe"] == pytest.approx(20.0 * walking / val_data.num_frames, rel=1e-4)


def test_predict_covers_every_frame_and_flip_is_symmetric(val_data):
    torch.manual_seed(0)
    model = create_model("posemoe-t27-s", **TINY)
    pred, mask = predict(model, val_data, flip=True)
    assert mask.all() and np.isfinite(pred).all()
    report = evaluate(model, val_data, flip=True)
    assert "all frames" in report.to_markdown() and "flip on" in report.to_markdown()
    assert json.loads(report.to_json())["subjects"] == ["S8"]
    thin, thin_mask = predict(model, val_data, flip=False, max_windows=3)
    assert 0 < thin_mask.sum() < len(thin_mask)
