import pytest

pytest.importorskip(
    "torch"
)  # a test of training / torch inference; skipped where only inference is installed

import torch  # noqa: E402

from posemoe.layouts import H36M17  # noqa: E402
from posemoe.models import count_parameters, create_model  # noqa: E402
from posemoe.training.aite import (  # noqa: E402
    AITE,
    AITEConfig,
    DisturbanceCorrectionModule,
    bone_lengths,
)
from posemoe.training.checkpoint import load_checkpoint, model_from_checkpoint  # noqa: E402
from posemoe.training.loop import TrainConfig, train  # noqa: E402

TINY = {
    "num_frames": 9,
    "dim": 8,
    "heads": 2,
    "expert_hidden": 32,
    "encoder_layers": 1,
    "decoder_layers": 1,
}


def _pose(seed: int = 0) -> torch.Tensor:
    return torch.randn(1, 17, 3, generator=torch.Generator().manual_seed(seed)) * 0.3


def test_pose_with_gt_bone_lengths_is_unchanged():
    dcm = DisturbanceCorrectionModule(H36M17).eval()
    pose = _pose()
    out = dcm(pose, torch.rand(1, 17), bone_lengths(pose))
    torch.testing.assert_close(out, pose)


def test_only_the_unconfident_joint_moves_along_the_bone():
    dcm = DisturbanceCorrectionModule(H36M17, gate_init=0.5).eval()
    pose = _pose(1)
    lengths = bone_lengths(pose)
    knee, ankle = H36M17.index("RKnee"), H36M17.index("RFoot")
    bone = H36M17.bones.index((knee, ankle))
    lengths[0, bone] += 0.1  # the GT shin is 10 cm longer than predicted
    confidence = torch.ones(1, 17)
    confidence[0, ankle] = 0.2
    out = dcm(pose, confidence, lengths).detach()
    moved = torch.linalg.vector_norm(out - pose, dim=-1)[0]
    assert moved[ankle] == pytest.approx(0.05, rel=1e-4)  # gate 0.5 x 10 cm
    assert torch.all(moved[torch.arange(17) != ankle] == 0)
    direction = (pose[0, ankle] - pose[0, knee]) / torch.linalg.vector_norm(
        pose[0, ankle] - pose[0, knee]
    )
    torch.testing.assert_close((out - pose)[0, ankle] / 0.05, direction, rtol=1e-4, atol=1e-4)


def test_less_confident_joint_moves_more():
    dcm = DisturbanceCorrectionModule(H36M17).eval()
    pose = _pose(2)
    lengths = bone_lengths(pose)
    elbow, wrist = H36M17.index("LElbow"), H36M17.index("LWrist")
    lengths[0, H36M17.bones.index((elbow, wrist))] -= 0.05
    confidence = torch.ones(1, 17)
    confidence[0, elbow], confidence[0, wrist] = 0.9, 0.6
    moved = torch.linalg.vector_norm(dcm(pose, confidence, lengths).detach() - pose, dim=-1)[0]
    assert moved[wrist] > moved[elbow] > 0


def test_disturbance_only_in_training_and_cascade_reduces_bone_error():
    aite = AITE(AITEConfig(num_modules=3, disturbance_std=0.0))
    target = _pose(3)
    pred = target + 0.05 * torch.randn_like(target)
    adjusted = aite.adjust(pred, target)
    before = (bone_lengths(pred) - bone_lengths(target)).abs().mean()
    after = (bone_lengths(adjusted) - bone_lengths(target)).abs().mean()
    assert after < before
    dcm = DisturbanceCorrectionModule(H36M17, disturbance_std=0.01)
    assert not torch.equal(dcm.disturb(target), target)
    assert torch.equal(dcm.eval().disturb(target), target)


def test_aite_trained_weights_load_into_the_plain_network(synthetic_dir, tmp_path):
    cfg = TrainConfig().override(
        dict(
            model="posemoe-t27-s",
            model_overrides=TINY,
            data_dir=str(synthetic_dir),
            out_dir=str(tmp_path),
            train_subjects=["S1"],
            val_subjects=["S8"],
            epochs=2,
            epoch_clips=32,
            batch_size=8,
            threads=1,
            aite=True,
            aite_options={"num_modules": 3},
        )
    )
    train(cfg, quiet=True)
    ckpt = load_checkpoint(tmp_path / "best.pt")
    plain = create_model("posemoe-t27-s", **TINY)
    assert set(ckpt["model"]) == set(plain.state_dict())  # no DCM parameters among the weights
    assert any("cascade" in k for k in ckpt["aite"])  # they are kept apart, as training state
    loaded = model_from_checkpoint(tmp_path / "best.pt")
    assert type(loaded) is type(plain) and count_parameters(loaded) == count_parameters(plain)
    plain.load_state_dict(ckpt["model"])
    x = torch.randn(2, 9, 17, 2)
    torch.testing.assert_close(loaded(x), plain.eval()(x), rtol=0, atol=0)
    rows = (tmp_path / "log.csv").read_text()
    assert "train" in rows


def test_unlabelled_joints_keep_their_bones_in_2d():
    from posemoe.layouts import COCO17

    aite = AITE(AITEConfig(num_modules=1, disturbance_std=0.0), COCO17).eval()
    target = torch.randn(4, 17, 2)
    pred = target + 0.1 * torch.randn(4, 17, 2)
    visible = torch.ones(4, 17)
    visible[:, COCO17.index("LWrist")] = 0
    adjusted = aite.adjust(pred, target, torch.full((4, 17), 0.5), visible)
    elbow, wrist = COCO17.index("LElbow"), COCO17.index("LWrist")
    # The forearm is not pulled towards the (unknown) label length; other bones are corrected.
    moved_by_forearm = (adjusted[:, wrist] - pred[:, wrist]).norm(dim=-1)
    assert torch.allclose(moved_by_forearm, torch.zeros(4), atol=1e-6)
    assert not torch.allclose(
        adjusted[:, elbow], pred[:, elbow]
    )  # the labelled upper arm is corrected
    loss, terms = aite.loss(pred, target, None, visible)
    assert torch.isfinite(loss) and set(terms) == {"aite_adjusted", "aite_distill"}
