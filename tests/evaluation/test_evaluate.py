import json

import numpy as np
import pytest

pytest.importorskip(
    "torch"
)  # a test of training / torch inference; skipped where only inference is installed

import torch  # noqa: E402

from posemoe.datasets.h36m import load_h36m  # noqa: E402
from posemoe.evaluation.h36m import evaluate, evaluate_predictions, predict  # noqa: E402
from posemoe.models import create_model  # noqa: E402

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
            pred[seq.start : seq.start + seq.length] += np.array([0.02, 0, 0], dtype=np.float32)
    report = evaluate_predictions(pred, val_data, flip=False)
    assert set(report.per_action) == {"Walking", "Sitting"}
    assert report.per_action["Walking"]["mpjpe"] == pytest.approx(20.0, rel=1e-4)
    assert report.per_action["Sitting"]["mpjpe"] == pytest.approx(0, abs=1e-4)
    assert report.action_mean["mpjpe"] == pytest.approx(10.0, rel=1e-4)
    walking = sum(s.length for s in val_data.sequences if s.action_group == "Walking")
    assert report.frame_weighted["mpjpe"] == pytest.approx(
        20.0 * walking / val_data.num_frames, rel=1e-4
    )


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


def test_frames_left_out_are_counted_with_their_reason(val_data):
    pred = val_data.poses.copy()
    pred[[3, 4, 10]] = np.nan
    pred[11, 2, 1] = np.inf
    mask = np.ones(len(pred), bool)
    mask[20:25] = False
    report = evaluate_predictions(pred, val_data, flip=False, mask=mask)
    assert report.frames == val_data.num_frames - 9
    assert report.extra["left_out"] == {
        "not predicted (windows thinned by max_windows, or another shard's)": 5,
        "prediction not finite (NaN or inf)": 4,
    }
    assert json.loads(report.to_json())["extra"]["left_out"]
    assert report.frame_weighted["mpjpe"] == pytest.approx(0, abs=1e-3)
    assert "left_out" not in evaluate_predictions(val_data.poses, val_data, flip=False).extra


def test_predictions_that_are_all_non_finite_are_an_error_not_an_empty_score(val_data):
    with pytest.raises(
        ValueError, match=r"no frame has a finite prediction \(\d+ frame\(s\) prediction not finite"
    ):
        evaluate_predictions(np.full_like(val_data.poses, np.nan), val_data, flip=False)


def test_a_model_that_predicts_nan_is_reported_not_skipped(val_data):
    torch.manual_seed(0)
    model = create_model("posemoe-t27-s", **TINY)
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    pred, mask = predict(model, val_data, flip=False)
    assert mask.all()  # the windows covered every frame: the NaN is the model's, not a gap
    with pytest.raises(ValueError, match="prediction not finite"):
        evaluate_predictions(pred, val_data, flip=False, mask=mask)


def test_the_printed_report_says_what_was_left_out(val_data):
    pred = val_data.poses.copy()
    pred[[3, 4]] = np.nan
    assert "left out" in evaluate_predictions(pred, val_data, flip=False).to_markdown()
