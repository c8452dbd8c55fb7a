import numpy as np
import pytest

from posemoe.codecs import ScreenCodec, flip_horizontal, match_channels
from posemoe.datasets.h36m import Protocol, load_h36m
from posemoe.errors import UserError
from posemoe.evaluation.h36m import evaluation_windows
from posemoe.io.npz import load_npz, save_npz
from posemoe.layouts import H36M17
from posemoe.training.samplers import ClipSampler


def test_loads_and_packs_all_cameras(synthetic_dir):
    data = load_h36m(synthetic_dir, ["S1", "S5"], "gt")
    assert data.keypoints.shape[1:] == (17, 2) and data.poses.shape[1:] == (17, 3)
    assert len(data.sequences) == 2 * 4 * 4  # subjects x sequences x cameras
    assert sum(s.length for s in data.sequences) == data.num_frames
    np.testing.assert_allclose(data.poses[:, 0], 0)  # root-relative
    assert {s.action_group for s in data.sequences} == {"Walking", "Sitting"}


def test_confidence_channel_is_kept(synthetic_dir):
    data = load_h36m(synthetic_dir, ["S1"], "det")
    assert data.keypoints.shape[-1] == 3
    assert match_channels(data.keypoints, 2).shape[-1] == 2
    assert (match_channels(load_h36m(synthetic_dir, ["S1"], "gt").keypoints, 3)[..., 2] == 1).all()


def test_screen_codec_roundtrip_and_range():
    codec = ScreenCodec(1000, 1002)
    pixels = np.array([[0.0, 0.0], [1000.0, 1002.0], [500.0, 501.0]])
    encoded = codec.encode(pixels)
    np.testing.assert_allclose(encoded[0], [-1, -1.002])
    np.testing.assert_allclose(encoded[2], [0, 0], atol=1e-12)
    np.testing.assert_allclose(codec.decode(encoded), pixels)


def test_flip_mirrors_and_swaps_sides():
    pose = np.random.default_rng(0).normal(size=(17, 3))
    flipped = flip_horizontal(pose, H36M17.flip_permutation())
    np.testing.assert_allclose(
        flipped[H36M17.index("LWrist")], pose[H36M17.index("RWrist")] * [-1, 1, 1]
    )
    np.testing.assert_allclose(flip_horizontal(flipped, H36M17.flip_permutation()), pose)


def test_clip_sampler_is_vectorised_deterministic_and_stays_in_sequences(synthetic_dir):
    data = load_h36m(synthetic_dir, ["S1"], "gt")
    sampler = ClipSampler(data, 27, channels=2)
    a = sampler.epoch(seed=3, epoch=1, batch_size=4)
    b = sampler.epoch(seed=3, epoch=1, batch_size=4)
    assert all((x[0] == y[0]).all() and (x[1] == y[1]).all() for x, y in zip(a, b))
    seq_of = data.sequence_ids()
    for frames, _ in a:
        assert frames.shape == (4, 27)
        assert (np.diff(frames, axis=1) == 1).all()
        assert (seq_of[frames] == seq_of[frames[:, :1]]).all()
    keypoints, poses = sampler.gather(*a[0])
    assert keypoints.shape == (4, 27, 17, 2) and poses.shape == (4, 27, 17, 3)
    # flipped clips are mirrored copies of the stored frames
    frames, flips = next((f, fl) for f, fl in a if fl.any())
    kp, _ = sampler.gather(frames, flips)
    i = int(np.argmax(flips))
    np.testing.assert_allclose(
        kp[i], flip_horizontal(data.keypoints[frames[i]], H36M17.flip_permutation())
    )


def test_short_sequences_repeat_their_last_frame(synthetic_dir):
    data = load_h36m(synthetic_dir, ["S1"], "gt")
    longest = max(s.length for s in data.sequences)
    windows, weights = evaluation_windows(data, longest + 10)
    assert len(windows) == len(data.sequences)
    assert (
        weights.sum(1) == [s.length for s in data.sequences]
    ).all()  # the repeats carry no weight
    covered = np.zeros(data.num_frames, bool)
    covered[windows.ravel()] = True
    assert covered.all()
    sampler = ClipSampler(data, longest + 10)
    frames, _ = sampler.epoch(0, 0, 1)[0]
    assert frames[0, -1] == frames[0, -2]


def test_evaluation_windows_cover_each_frame(synthetic_dir):
    data = load_h36m(synthetic_dir, ["S5"], "gt")
    windows, weights = evaluation_windows(data, 27)
    counts = np.bincount(windows.ravel(), weights=weights.ravel(), minlength=data.num_frames)
    assert (counts > 0).all()


def test_protocol_refuses_test_subjects_in_training():
    Protocol().check_no_test_leak()
    with pytest.raises(ValueError, match="S9"):
        Protocol(train=("S1", "S9")).check_no_test_leak()


def _rewrite(src, dst, key, edit):
    entries = load_npz(src)
    edit(entries[key])
    save_npz(dst, **entries)


def test_bad_inputs_name_file_subject_and_action(synthetic_dir, tmp_path):
    import shutil

    shutil.copy(synthetic_dir / "data_3d_h36m.npz", tmp_path / "data_3d_h36m.npz")

    def drop_action(d):
        del d["S1"]["Walking 1"]

    _rewrite(
        synthetic_dir / "data_2d_h36m_gt.npz",
        tmp_path / "data_2d_h36m_gt.npz",
        "positions_2d",
        drop_action,
    )
    with pytest.raises(UserError, match="S1 / Walking 1"):
        load_h36m(tmp_path, ["S1"], "gt")
    skipped = load_h36m(tmp_path, ["S1"], "gt", skip_incomplete=True)
    assert any("skipped S1 / Walking 1" in line for line in skipped.report)

    def nan_frame(d):
        d["S1"]["Walking 1"][2][5, 3, 0] = np.nan

    _rewrite(
        synthetic_dir / "data_2d_h36m_gt.npz",
        tmp_path / "data_2d_h36m_nan.npz",
        "positions_2d",
        nan_frame,
    )
    with pytest.raises(ValueError, match=r"S1 / Walking 1 / camera 58860488.*NaN"):
        load_h36m(tmp_path, ["S1"], "nan")

    def wrong_joints(d):
        d["S1"]["Sitting 1"] = [v[:, :16] for v in d["S1"]["Sitting 1"]]

    _rewrite(
        synthetic_dir / "data_2d_h36m_gt.npz",
        tmp_path / "data_2d_h36m_j16.npz",
        "positions_2d",
        wrong_joints,
    )
    with pytest.raises(ValueError, match=r"Sitting 1.*\(T, 17, 2\|3\), got \(\d+, 16, 2\)"):
        load_h36m(tmp_path, ["S1"], "j16")

    def short(d):
        d["S1"]["Sitting 2"] = [v[:-3] for v in d["S1"]["Sitting 2"]]

    _rewrite(
        synthetic_dir / "data_2d_h36m_gt.npz",
        tmp_path / "data_2d_h36m_short.npz",
        "positions_2d",
        short,
    )
    with pytest.raises(ValueError, match="Sitting 2.*frames of 2D"):
        load_h36m(tmp_path, ["S1"], "short")

    with pytest.raises(UserError, match="subject 'S7' not found"):
        load_h36m(tmp_path, ["S7"], "gt")
    with pytest.raises(FileNotFoundError, match="data_2d_h36m_cpn.npz"):
        load_h36m(tmp_path, ["S1"], "cpn")


def test_sources_join_and_detector_noise(synthetic_dir):
    from posemoe.datasets.registry import load_sources
    from posemoe.training.augment import DetectorNoise

    gt = load_h36m(synthetic_dir, ["S1"], "gt")
    both = load_sources(synthetic_dir, ["S1"], "gt+gt")
    assert both.num_frames == 2 * gt.num_frames and both.source == "gt+gt"
    second = both.sequences[len(gt.sequences)]
    assert second.start == gt.num_frames
    np.testing.assert_array_equal(
        both.keypoints[second.start : second.start + second.length], gt.keypoints[: second.length]
    )
    clips = np.repeat(gt.keypoints[None, :27], 64, axis=0)
    clips = np.concatenate([clips, np.ones_like(clips[..., :1])], -1)
    perm = gt.layout.flip_permutation()
    assert DetectorNoise()(clips, perm, np.random.default_rng(0)) is clips  # prob 0: off
    noisy = DetectorNoise(prob=0.5, swap_prob=0.05, drop_prob=0.05)(
        clips, perm, np.random.default_rng(0)
    )
    touched = np.abs(noisy[..., :2] - clips[..., :2]).reshape(64, -1).max(1) > 0
    assert 10 < touched.sum() < 54  # about half of the clips
    conf = noisy[..., 2]
    assert np.isclose(conf, 0.1).any() and (np.isclose(conf, 0.1) | (conf == 1)).all()
    error = np.linalg.norm(noisy[..., :2] - clips[..., :2], axis=-1)[touched]
    assert 0.003 < np.median(error) < 0.02  # jitter of a few pixels on a 1000 px image


@pytest.mark.parametrize("value", [1e30, -1e30, np.inf])
def test_absurd_values_are_reported_with_their_frames_not_passed_on(synthetic_dir, tmp_path, value):
    import shutil

    shutil.copy(synthetic_dir / "data_2d_h36m_gt.npz", tmp_path / "data_2d_h36m_gt.npz")

    def absurd(d):
        d["S1"]["Walking 1"][[4, 9], 3, 1] = value

    _rewrite(
        synthetic_dir / "data_3d_h36m.npz", tmp_path / "data_3d_h36m.npz", "positions_3d", absurd
    )
    with pytest.raises(
        UserError,
        match=r"data_3d_h36m.npz \[S1 / Walking 1\]: 2 of \d+ frame\(s\) hold NaN, inf or "
        r"coordinates beyond 1000 m \(first: frame 4, 9\)",
    ):
        load_h36m(tmp_path, ["S1"], "gt")


def test_absurd_2d_and_wrong_types_are_named(synthetic_dir, tmp_path):
    import shutil

    shutil.copy(synthetic_dir / "data_3d_h36m.npz", tmp_path / "data_3d_h36m.npz")

    def far(d):
        d["S1"]["Sitting 1"][0][11, 2, 0] = 5e5

    _rewrite(
        synthetic_dir / "data_2d_h36m_gt.npz",
        tmp_path / "data_2d_h36m_far.npz",
        "positions_2d",
        far,
    )
    with pytest.raises(
        UserError,
        match=r"Sitting 1 / camera \d+\]: 1 of \d+ frame\(s\) .*beyond 100000 px \(first: frame 11\)",
    ):
        load_h36m(tmp_path, ["S1"], "far")

    def strings(d):
        d["S1"]["Sitting 1"] = ["not", "numbers", "at", "all"]

    _rewrite(
        synthetic_dir / "data_2d_h36m_gt.npz",
        tmp_path / "data_2d_h36m_str.npz",
        "positions_2d",
        strings,
    )
    with pytest.raises(
        UserError, match=r"Sitting 1 / camera \d+\]: expected an array of numbers, got a str"
    ):
        load_h36m(tmp_path, ["S1"], "str")

    def not_dict(d):
        d["S1"] = [1, 2, 3]

    _rewrite(
        synthetic_dir / "data_2d_h36m_gt.npz",
        tmp_path / "data_2d_h36m_list.npz",
        "positions_2d",
        not_dict,
    )
    with pytest.raises(
        UserError, match=r"data_2d_h36m_list.npz \[S1\]: expected a dict of actions"
    ):
        load_h36m(tmp_path, ["S1"], "list")


def test_loading_with_the_camera_codec_divides_out_each_cameras_intrinsics(synthetic_dir):
    from posemoe.camera import load_h36m_cameras
    from posemoe.codecs import make_codec
    from posemoe.datasets.sequences import concat_sequences

    screen = load_h36m(synthetic_dir, ["S1"], "gt")
    rays = load_h36m(synthetic_dir, ["S1"], "gt", codec="camera")
    assert (screen.codec, rays.codec) == ("screen", "camera")
    for seq in rays.sequences:
        cam = load_h36m_cameras()["S1"][seq.camera]
        rows = slice(seq.start, seq.start + seq.length)
        pixels = ScreenCodec(cam.width, cam.height).decode(screen.keypoints[rows])
        expected = make_codec("camera", (cam.width, cam.height), cam.intrinsics).encode(pixels)
        np.testing.assert_allclose(rays.keypoints[rows], expected, atol=1e-4)
    np.testing.assert_array_equal(rays.poses, screen.poses)
    with pytest.raises(ValueError, match="codecs"):
        concat_sequences([screen, rays])
    with pytest.raises(ValueError, match="screen or camera"):
        load_h36m(synthetic_dir, ["S1"], "gt", codec="person")
