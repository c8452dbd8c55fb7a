"""Training clips seen by virtual cameras."""

import numpy as np
import pytest

from posemoe.datasets.motion import MotionSource, motion_bank
from posemoe.training.loop import TrainConfig, train
from posemoe.training.views import VirtualViewSampler
from posemoe.training.virtual_camera import VirtualCameraConfig, project, sample_cameras

TINY = {
    "num_frames": 9,
    "dim": 8,
    "heads": 2,
    "expert_hidden": 32,
    "encoder_layers": 1,
    "decoder_layers": 1,
}


def test_virtual_views_are_reproducible_varied_and_person_normalised(synthetic_dir):
    bank = motion_bank([MotionSource("h36m", str(synthetic_dir), ("S1", "S5"))], 50.0, min_frames=9)
    sampler = VirtualViewSampler(bank, 9, codec="person")
    keypoints, poses = sampler.gather((0, 0, 0, 3), 32)
    again, _ = sampler.gather((0, 0, 0, 3), 32)
    assert keypoints.shape == (32, 9, 17, 2) and poses.shape == (32, 9, 17, 3)
    np.testing.assert_array_equal(keypoints, again)
    assert np.allclose(poses[:, :, 0], 0) and np.isfinite(keypoints).all()
    extent = np.ptp(keypoints[..., 1], axis=-1).max(-1)  # the person spans about one unit
    assert 0.3 < np.median(extent) < 1.5


def test_cameras_surround_the_person_with_varied_frames(synthetic_dir):
    bank = motion_bank([MotionSource("h36m", str(synthetic_dir), ("S1",))], 50.0, min_frames=9)
    world = VirtualViewSampler(bank, 9)._clips(np.random.default_rng(0), 200)
    cams = sample_cameras(VirtualCameraConfig(), np.random.default_rng(1), world)
    pixels, camera = project(world, cams)
    assert (camera[..., 2] > 0.3).all()  # nobody behind or inside the camera
    portrait = cams.image_size[:, 1] > cams.image_size[:, 0]
    assert 0.2 < portrait.mean() < 0.6
    inside = ((pixels >= 0) & (pixels <= cams.image_size[:, None, None])).all(axis=(1, 2, 3))
    assert 0.5 < inside.mean() < 1.0  # most clips show the whole person, some cut it off
    elevation = np.degrees(
        np.arcsin(
            (cams.C[:, 0, 2] - world[:, :, 0, 2].mean(1))
            / np.linalg.norm(cams.C[:, 0] - world[:, :, 0].mean(1), axis=-1)
        )
    )
    assert elevation.min() < -5 and elevation.max() > 45  # from below the hips to overhead


@pytest.mark.parametrize("codec", ["person", "camera"])
def test_training_mixes_real_2d_and_virtual_cameras(synthetic_dir, tmp_path, codec):
    cfg = TrainConfig().override(
        {
            "model": "posemoe-t27-s",
            "model_overrides": TINY,
            "data_dir": str(synthetic_dir),
            "out_dir": str(tmp_path),
            "train_subjects": ["S1"],
            "val_subjects": ["S8"],
            "epochs": 2,
            "epoch_clips": 32,
            "batch_size": 8,
            "codec": codec,
            "virtual_share": 0.5,
            "motion_sources": [
                {"kind": "h36m", "path": str(synthetic_dir), "subjects": ["S1", "S5"]}
            ],
        }
    )
    summary = train(cfg, quiet=True)
    assert summary["done"] and np.isfinite(summary["best"])
    from posemoe.models.pretrained import load_pretrained

    _, pretrained = load_pretrained(tmp_path / "last.pt")
    assert pretrained.codec == codec and "h36m motion seen by virtual cameras" in pretrained.sources


def test_camera_codec_views_are_the_rays_of_the_camera_frame_pose(synthetic_dir):
    """Without distortion or video-rate resampling, the encoded 2D of every clip (mirrored or not)
    is RAY_SCALE * (X / Z, Y / Z) of its root-relative pose placed at some root: the root solves
    2 equations per joint by least squares and leaves no residual. Screen coordinates do leave one."""
    from posemoe.codecs import RAY_SCALE

    bank = motion_bank([MotionSource("h36m", str(synthetic_dir), ("S1", "S5"))], 50.0, min_frames=9)
    cameras = VirtualCameraConfig(distorted=0.0)
    residual = {}
    for codec in ("camera", "screen"):
        sampler = VirtualViewSampler(bank, 9, codec=codec, cameras=cameras, fps_range=(60.0, 60.0))
        keypoints, poses = sampler.gather((0, 0, 0, 5), 16)
        rays, pose = keypoints[:, 0].astype(np.float64) / RAY_SCALE, poses[:, 0].astype(np.float64)
        worst = 0.0
        for r, p in zip(rays, pose):  # r (x_j, y_j) = (P_xy_j + t_xy) / (P_z_j + t_z): linear in t
            a = np.zeros((34, 3))
            a[0::2, 0], a[1::2, 1] = 1.0, 1.0
            a[0::2, 2], a[1::2, 2] = -r[:, 0], -r[:, 1]
            b = np.stack([r[:, 0] * p[:, 2] - p[:, 0], r[:, 1] * p[:, 2] - p[:, 1]], -1).reshape(-1)
            t = np.linalg.lstsq(a, b, rcond=None)[0]
            worst = max(worst, float(np.abs(r - (p[:, :2] + t[:2]) / (p[:, 2:] + t[2])).max()))
        residual[codec] = worst
    assert residual["camera"] < 1e-4 < residual["screen"]


def test_an_unknown_codec_is_refused_before_training(synthetic_dir, tmp_path):
    from posemoe.errors import UserError

    cfg = TrainConfig().override(
        {
            "model": "posemoe-t27-s",
            "model_overrides": TINY,
            "data_dir": str(synthetic_dir),
            "out_dir": str(tmp_path),
            "train_subjects": ["S1"],
            "epochs": 1,
            "epoch_clips": 8,
            "batch_size": 8,
            "codec": "Camera",
        }
    )
    with pytest.raises(UserError, match="codec 'Camera'"):
        train(cfg, quiet=True)


def test_bone_jitter_scales_each_bone_and_its_mirror_alike_and_keeps_directions(synthetic_dir):
    from posemoe.inference.skeleton import bone_lengths
    from posemoe.layouts import H36M17

    bank = motion_bank([MotionSource("h36m", str(synthetic_dir), ("S1",))], 50.0, min_frames=9)
    plain = VirtualViewSampler(bank, 9, codec="person", flip=False)
    jittered = VirtualViewSampler(bank, 9, codec="person", flip=False, bone_jitter=0.15)
    _, a = plain.gather((0, 7), 64)
    _, b = jittered.gather((0, 7), 64)
    ratio = (
        bone_lengths(b)[..., 1:] / bone_lengths(a)[..., 1:]
    )  # (B, T, J - 1): the root has no bone
    np.testing.assert_allclose(
        ratio, np.broadcast_to(ratio[:, :1], ratio.shape), rtol=1e-4
    )  # one factor per clip and bone
    assert 0.08 < np.log(ratio[:, 0]).std() < 0.25 and np.ptp(ratio[:, 0], axis=0).min() > 0.1
    assert (
        np.log(ratio[:, 0]).std(axis=1).mean() > 0.05
    )  # bones of one clip differ, not one scale per clip
    perm = H36M17.flip_permutation()
    full = np.concatenate([np.ones_like(ratio[:, 0, :1]), ratio[:, 0]], -1)  # (B, J), the root's 1
    np.testing.assert_allclose(full, full[:, perm], rtol=1e-4)  # left and right bones alike
    parents = np.array([max(p, 0) for p in H36M17.parents])[1:]

    def unit(p):
        return (p[..., 1:, :] - p[..., parents, :]) / np.linalg.norm(
            p[..., 1:, :] - p[..., parents, :], axis=-1, keepdims=True
        )

    np.testing.assert_allclose(unit(a), unit(b), atol=1e-4)  # the same pose, other proportions


def test_mix_limbs_poses_the_limbs_as_the_partner_keeping_lengths_and_the_rest():
    from posemoe.inference.skeleton import bone_lengths
    from posemoe.layouts import H36M17
    from posemoe.training.views import LIMBS, _body_frame, mix_limbs

    rng = np.random.default_rng(0)
    own, partner = rng.normal(0, 0.3, (2, 4, 5, 17, 3))
    np.testing.assert_allclose(
        mix_limbs(own, own, "legs"), own, atol=1e-9
    )  # its own legs: nothing moves
    for group, (frame, chains) in LIMBS.items():
        mixed = mix_limbs(own, partner, group)
        moved = {H36M17.index(n) for chain in chains for n in chain[1:]}
        kept = [j for j in range(17) if j not in moved]
        np.testing.assert_array_equal(mixed[..., kept, :], own[..., kept, :])
        np.testing.assert_allclose(bone_lengths(mixed), bone_lengths(own), rtol=1e-6)
        idx = [H36M17.index(n) for n in frame]

        def local(p, a, b):
            return np.einsum("btji,btj->bti", _body_frame(p, *idx), p[..., b, :] - p[..., a, :])

        def unit(v):
            return v / np.linalg.norm(v, axis=-1, keepdims=True)

        for chain in chains:
            a, b = H36M17.index(chain[1]), H36M17.index(chain[2])
            np.testing.assert_allclose(
                unit(local(mixed, a, b)), unit(local(partner, a, b)), atol=1e-6
            )
            assert not np.allclose(unit(local(mixed, a, b)), unit(local(own, a, b)), atol=0.1)


def test_limb_mix_changes_limbs_only_and_keeps_the_draws(synthetic_dir):
    from posemoe.inference.skeleton import bone_lengths
    from posemoe.layouts import H36M17

    bank = motion_bank([MotionSource("h36m", str(synthetic_dir), ("S1", "S5"))], 50.0, min_frames=9)
    plain = VirtualViewSampler(bank, 9, codec="person", flip=False)
    mixed = VirtualViewSampler(bank, 9, codec="person", flip=False, limb_mix=0.5)
    _, a = plain.gather((0, 3), 64)
    _, b = mixed.gather((0, 3), 64)
    torso = [
        H36M17.index(n)
        for n in ("RHip", "LHip", "Spine", "Thorax", "Neck/Nose", "Head", "LShoulder", "RShoulder")
    ]
    np.testing.assert_allclose(
        a[..., torso, :], b[..., torso, :], atol=1e-5
    )  # same clips and cameras
    np.testing.assert_allclose(bone_lengths(a), bone_lengths(b), rtol=1e-4, atol=1e-6)
    feet = [H36M17.index("RFoot"), H36M17.index("LFoot")]
    changed = np.abs(a[..., feet, :] - b[..., feet, :]).max(axis=(1, 2, 3)) > 1e-3
    assert 0.2 < changed.mean() < 0.8  # about half of the clips took another clip's legs


def _standing_and_lying_bank(standing: int = 900, lying: int = 100):
    """A motion bank of one upright sequence and one lying flat (the torso along x), 17 joints."""
    from posemoe.datasets.motion import MotionBank
    from posemoe.layouts import H36M17

    body = np.zeros((17, 3))
    for j, p in enumerate(H36M17.parents):
        if p >= 0:
            body[j] = body[p] + np.array([0.02 * ((j % 3) - 1), 0.01, 0.2 if j >= 7 else -0.2])
    lying_body = body[:, [2, 1, 0]]  # z (up) <-> x
    positions = np.concatenate(
        [np.repeat(body[None], standing, 0), np.repeat(lying_body[None], lying, 0)]
    )
    sequences = [("standing", "h36m", 0, standing), ("lying", "h36m", standing, lying)]
    return MotionBank(
        positions.astype(np.float32),
        50.0,
        sequences,
        np.array([standing, lying]) / (standing + lying),
    )


def test_torso_tilt_and_tilt_balanced_weights():
    from posemoe.training.views import tilt_balanced_weights, torso_tilt

    bank = _standing_and_lying_bank()
    tilt = torso_tilt(bank.positions)
    assert tilt[0] < 15 and 75 < tilt[-1] <= 90
    plain = tilt_balanced_weights(bank, 0.0)
    np.testing.assert_allclose(plain, 1 / 1000)  # power 0: the bank's own mix
    balanced = tilt_balanced_weights(bank, 1.0)
    assert balanced.sum() == pytest.approx(1.0)
    assert balanced[900:].sum() == pytest.approx(0.5) and balanced[:900].sum() == pytest.approx(0.5)


def test_tilt_balance_draws_rare_tilts_more_often():
    from posemoe.training.views import torso_tilt

    bank = _standing_and_lying_bank()
    shares = []
    for power in (0.0, 0.5, 1.0):
        sampler = VirtualViewSampler(bank, 9, codec="person", tilt_balance=power)
        clips = sampler._clips(np.random.default_rng(0), 2000)
        assert clips.shape == (2000, 9, 17, 3)
        shares.append((torso_tilt(clips[:, 4]) > 60).mean())
    assert shares[0] == pytest.approx(0.1, abs=0.03) and shares[2] == pytest.approx(0.5, abs=0.05)
    assert shares[0] < shares[1] < shares[2]  # 0.5: between the sources' mix and equal shares


def test_tilt_balanced_clips_cover_the_frame_they_were_drawn_for():
    from posemoe.datasets.motion import MotionBank

    bank = _standing_and_lying_bank(1000, 1)
    upright, lying = bank.positions[0], bank.positions[-1]
    positions = np.repeat(upright[None], 1000, 0)
    positions[500] = lying  # one lying frame in the middle of one sequence
    positions[..., 1] += (
        0.001 * np.arange(1000)[:, None]
    )  # y tags each frame's index (tilt unchanged)
    bank = MotionBank(positions, 50.0, [("one", "h36m", 0, 1000)], np.ones(1))
    clips = VirtualViewSampler(bank, 9, codec="person", tilt_balance=1.0)._clips(
        np.random.default_rng(0), 2000
    )
    index = clips[:, :, 0, 1] / 0.001  # (B, T) source frame of each clip frame
    covers = (index.min(1) <= 500) & (index.max(1) >= 500)
    assert covers.mean() == pytest.approx(
        0.5, abs=0.05
    )  # half the draws are the lying frame, each covered


def test_retarget_bones_puts_other_sources_on_the_reference_lengths_and_keeps_directions():
    from posemoe.datasets.motion import MotionBank
    from posemoe.errors import UserError
    from posemoe.inference.skeleton import bone_lengths
    from posemoe.layouts import H36M17
    from posemoe.training.views import retarget_bones

    rng = np.random.default_rng(0)
    positions = rng.normal(0, 0.3, (50, 17, 3)).astype(np.float32)
    positions[30:] = positions[:20] * 0.7  # the other source: the same poses on a smaller body
    bank = MotionBank(
        positions, 50.0, [("a", "h36m", 0, 30), ("b", "bvh", 30, 20)], np.array([0.5, 0.5])
    )
    out = retarget_bones(bank)
    np.testing.assert_array_equal(out.positions[:30], positions[:30])  # the reference is untouched
    np.testing.assert_array_equal(bank.positions, positions)  # and the input bank too
    target = np.median(bone_lengths(positions[:30:10]), axis=0)
    np.testing.assert_allclose(
        np.median(bone_lengths(out.positions[30:]), axis=0), target, rtol=1e-5
    )
    parents = np.array([max(p, 0) for p in H36M17.parents])[1:]

    def unit(p):
        return (p[:, 1:] - p[:, parents]) / np.linalg.norm(
            p[:, 1:] - p[:, parents], axis=-1, keepdims=True
        )

    np.testing.assert_allclose(
        unit(out.positions[30:]), unit(positions[30:]), atol=1e-5
    )  # the same poses
    np.testing.assert_allclose(out.positions[30:, 0], positions[30:, 0])  # and the same root path
    with pytest.raises(UserError, match="needs a 'h36m' motion source"):
        retarget_bones(MotionBank(positions, 50.0, [("b", "bvh", 0, 50)], np.array([1.0])))
