import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from posemoe.datasets.mpi_inf_3dhp import (
    JOINT_SETS,
    load_mpi_inf_3dhp,
    load_mpi_inf_3dhp_sequence,
    read_annot_data,
    score_mpi_inf_3dhp,
)
from posemoe.errors import UserError
from posemoe.layouts import H36M17
from posemoe.layouts.mpi_inf_3dhp import MPI_INF_3DHP17

# A standing body facing the camera, MPI-INF-3DHP order, millimetres from the pelvis (camera
# axes: x right, y down, z forward), so the subject's left is +x.
BODY_MM = {
    "head_top": (0, -700, 0),
    "neck": (0, -500, 0),
    "right_shoulder": (-150, -480, 0),
    "right_elbow": (-170, -200, 0),
    "right_wrist": (-180, 50, 0),
    "left_shoulder": (150, -480, 0),
    "left_elbow": (170, -200, 0),
    "left_wrist": (180, 50, 0),
    "right_hip": (-110, 0, 0),
    "right_knee": (-110, 420, -30),
    "right_ankle": (-110, 820, 0),
    "left_hip": (110, 0, 0),
    "left_knee": (110, 420, -30),
    "left_ankle": (110, 820, 0),
    "pelvis": (0, 0, 0),
    "spine": (0, -230, 0),
    "head": (0, -600, 0),
}
VALID = np.array([1, 0, 1, 1, 0, 1], np.float64)


def _body() -> np.ndarray:
    return np.array([BODY_MM[name] for name in MPI_INF_3DHP17.joints], np.float64)


def _write_mat(path: Path, valid: np.ndarray = VALID, **overrides: np.ndarray) -> np.ndarray:
    """An annot_data.mat laid out as MATLAB v7.3 writes it (h5py sees the axes reversed); invalid
    frames hold NaN, as nothing may read them. Returns univ_annot3 (N, 17, 3) mm."""
    n = len(valid)
    univ = (
        _body()[None] + np.stack([np.array([100.0 * t, 50.0, 4000.0]) for t in range(n)])[:, None]
    )
    univ[valid == 0] = np.nan
    annot2 = univ[..., :2] / univ[..., 2:] * 1000.0 + np.array([960.0, 540.0])
    arrays = {
        "annot2": annot2[:, None],
        "annot3": univ[:, None],
        "univ_annot3": univ[:, None],
        "valid_frame": valid[:, None],
        "activity_annotation": np.arange(n, dtype=np.float64)[:, None] % 3 + 1,
    }
    arrays.update(overrides)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w", userblock_size=512) as f:
        for key, value in arrays.items():
            f.create_dataset(key, data=value).attrs["MATLAB_class"] = np.bytes_("double")
    return univ


def test_reads_valid_frames_in_h36m17_order_root_relative_metres(tmp_path):
    univ = _write_mat(tmp_path / "TS5" / "annot_data.mat")
    seq = load_mpi_inf_3dhp_sequence(tmp_path / "TS5")
    valid = VALID == 1
    assert seq.name == "TS5" and seq.valid.tolist() == valid.tolist()
    assert seq.frame_indices.tolist() == [0, 2, 3, 5]
    assert seq.poses_3d.shape == (4, 17, 3) and seq.keypoints_2d.shape == (4, 17, 2)
    np.testing.assert_allclose(seq.poses_3d[:, H36M17.root], 0.0)
    np.testing.assert_allclose(seq.root, univ[valid, MPI_INF_3DHP17.root] / 1000.0, rtol=1e-6)
    body_m = _body() / 1000.0
    for h36m, mpi in {
        "Head": "head_top",
        "Neck/Nose": "head",
        "Thorax": "neck",
        "LFoot": "left_ankle",
        "RWrist": "right_wrist",
    }.items():
        np.testing.assert_allclose(
            seq.poses_3d[:, H36M17.index(h36m)],
            np.broadcast_to(body_m[MPI_INF_3DHP17.index(mpi)], (4, 3)),
            atol=1e-6,
        )
    assert (seq.poses_3d[:, list(H36M17.left), 0] > 0).all()  # left is left
    assert seq.activity.tolist() == [1, 3, 1, 3]
    raw = read_annot_data(tmp_path / "TS5" / "annot_data.mat")
    assert raw["univ_annot3"].shape == (6, 17, 3) and raw["valid"].sum() == 4


def test_video_size_from_camera_json_or_documented_defaults(tmp_path):
    _write_mat(tmp_path / "TS5" / "annot_data.mat")
    seq = load_mpi_inf_3dhp_sequence(tmp_path / "TS5")
    assert (seq.width, seq.height, seq.fps, seq.focal) == (1920, 1080, 50.0, None)
    _write_mat(tmp_path / "TS2" / "annot_data.mat")
    assert (
        load_mpi_inf_3dhp_sequence(tmp_path / "TS2").width,
        load_mpi_inf_3dhp_sequence(tmp_path / "TS2").height,
    ) == (2048, 2048)
    (tmp_path / "TS5" / "camera.json").write_text(
        json.dumps(
            {"TS5": {"f": [1500.0, 1490.0], "c": [950.0, 530.0], "w": 1280, "h": 720, "fps": 30}}
        )
    )
    seq = load_mpi_inf_3dhp_sequence(tmp_path / "TS5")
    assert (seq.width, seq.height, seq.fps) == (1280, 720, 30.0)
    np.testing.assert_array_equal(seq.focal, [1500.0, 1490.0])
    (tmp_path / "TS5" / "camera.json").write_text(
        json.dumps({"TS5": {"f": [1.0], "c": [0, 0], "w": 1, "h": 1}})
    )
    with pytest.raises(UserError, match="camera.json"):
        load_mpi_inf_3dhp_sequence(tmp_path / "TS5")
    _write_mat(tmp_path / "TS9" / "annot_data.mat")
    with pytest.raises(UserError, match="no default image size"):
        load_mpi_inf_3dhp_sequence(tmp_path / "TS9")


def test_loads_many_sequences_in_numeric_order(tmp_path):
    for name in ("TS2", "TS10", "TS1"):
        _write_mat(tmp_path / name / "annot_data.mat")
        (tmp_path / name / "camera.json").write_text(
            json.dumps(
                {name: {"f": [1000, 1000], "c": [960, 540], "w": 1920, "h": 1080, "fps": 50}}
            )
        )
    (tmp_path / "notes").mkdir()
    assert [s.name for s in load_mpi_inf_3dhp(tmp_path)] == ["TS1", "TS2", "TS10"]
    assert [s.name for s in load_mpi_inf_3dhp(tmp_path, ["TS10"])] == ["TS10"]
    with pytest.raises(UserError, match="TS3"):
        load_mpi_inf_3dhp(tmp_path, ["TS3"])
    with pytest.raises(UserError, match="found none"):
        load_mpi_inf_3dhp(tmp_path / "notes")


def test_huge_declared_shapes_are_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "TS5" / "annot_data.mat"
    _write_mat(path)
    with h5py.File(path, "a") as f:
        del f["univ_annot3"]
        f.create_dataset("univ_annot3", shape=(2**31, 1, 17, 3), dtype="f8", chunks=(1, 1, 17, 3))
    assert path.stat().st_size < 1_000_000  # declared 1.6 TB, nothing written

    read = h5py.Dataset.__getitem__

    def read_unless_huge(self, *args, **kwargs):
        if self.shape[0] > 1000:
            raise AssertionError(f"read {self.name} before checking its shape")
        return read(self, *args, **kwargs)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", read_unless_huge)
    with pytest.raises(UserError, match="declares 2147483648 frames"):
        read_annot_data(path)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"univ_annot3": np.zeros((6, 1, 16, 3))},
            r"expected 'univ_annot3' of shape \(N, 1, 17, 3\)",
        ),
        ({"annot2": np.zeros((5, 1, 17, 2))}, "'annot2' has 5 frames but 'univ_annot3' 6"),
        ({"valid_frame": np.ones((7, 1))}, "one value per frame"),
        ({"annot2": np.array([b"text"] * 3)}, "expected numbers"),
    ],
)
def test_malformed_files_give_clear_errors(tmp_path, overrides, message):
    path = tmp_path / "TS5" / "annot_data.mat"
    _write_mat(path, **overrides)
    with pytest.raises(UserError, match=message):
        read_annot_data(path)


def test_missing_keys_links_and_non_hdf5_files_are_refused(tmp_path):
    path = tmp_path / "TS5" / "annot_data.mat"
    _write_mat(path)
    with h5py.File(path, "a") as f:
        del f["valid_frame"]
    with pytest.raises(UserError, match="missing key 'valid_frame'"):
        read_annot_data(path)
    with h5py.File(path, "a") as f:
        f["valid_frame"] = h5py.ExternalLink("elsewhere.h5", "/valid")
    with pytest.raises(UserError, match="ExternalLink"):
        read_annot_data(path)
    path.write_text("MATLAB 5.0 MAT-file")
    with pytest.raises(UserError, match="not a MATLAB v7.3"):
        read_annot_data(path)


def test_nan_on_a_valid_frame_or_no_valid_frame_is_an_error(tmp_path):
    _write_mat(tmp_path / "TS5" / "annot_data.mat", valid=np.zeros(4))
    with pytest.raises(UserError, match="no frame"):
        load_mpi_inf_3dhp_sequence(tmp_path / "TS5")
    univ = np.full((4, 1, 17, 3), np.nan)
    _write_mat(tmp_path / "TS5" / "annot_data.mat", valid=np.ones(4), univ_annot3=univ)
    with pytest.raises(UserError, match="NaN"):
        load_mpi_inf_3dhp_sequence(tmp_path / "TS5")


@pytest.fixture()
def two_sequences(tmp_path):
    for name, valid in (("TS1", np.ones(2)), ("TS5", np.array([1, 1, 1, 0, 1, 1, 1]))):
        _write_mat(tmp_path / name / "annot_data.mat", valid=valid)
    return load_mpi_inf_3dhp(tmp_path)


def test_common14_drops_pelvis_spine_and_head_centre():
    dropped = set(JOINT_SETS["all17"]) - set(JOINT_SETS["common14"])
    assert {H36M17.joints[j] for j in dropped} == {"Hip", "Spine", "Neck/Nose"}


def test_perfect_predictions_score_full_marks(two_sequences):
    # absolute predictions are fine: they are re-centred on the pelvis
    report = score_mpi_inf_3dhp({s.name: s.poses_3d + 0.5 for s in two_sequences}, two_sequences)
    for scores in (report.overall, *report.per_sequence.values()):
        for s in scores.values():
            assert (
                s.pck == 1.0
                and s.auc == pytest.approx(30 / 31)
                and s.mpjpe_mm == pytest.approx(0.0, abs=1e-3)
            )


def test_scores_on_a_known_offset_are_frame_weighted(two_sequences):
    preds = {}
    for seq, offset in zip(two_sequences, (0.102, 0.202)):
        pred = seq.poses_3d.astype(np.float64).copy()
        pred[:, 1:, 0] += offset  # every joint but the pelvis
        preds[seq.name] = pred
    report = score_mpi_inf_3dhp(preds, two_sequences)
    ts1, ts5 = report.per_sequence["TS1"], report.per_sequence["TS5"]
    assert ts1["common14"].mpjpe_mm == pytest.approx(102.0, abs=1e-3)
    assert ts1["all17"].mpjpe_mm == pytest.approx(102.0 * 16 / 17, abs=1e-3)
    assert ts1["common14"].pck == 1.0 and ts5["common14"].pck == 0.0
    assert ts1["common14"].auc == pytest.approx(10 / 31)  # below 105..150 mm
    assert ts1["all17"].auc == pytest.approx((16 * 10 + 30) / (17 * 31))
    assert report.overall["common14"].frames == 8
    assert (
        "Left out as the protocol says (valid_frame 0): TS1 0 of 2 frames, TS5 1 of 7 frames."
        in report.to_markdown()
    )
    assert report.overall["common14"].mpjpe_mm == pytest.approx(
        (2 * 102.0 + 6 * 202.0) / 8, abs=1e-3
    )
    table = report.to_markdown()
    assert (
        "| TS1 | 2 |" in table
        and "| all (frame-weighted) | 8 |" in table
        and "MPJPE mm (common14)" in table
    )


def test_bad_predictions_are_refused(two_sequences):
    good = {s.name: s.poses_3d for s in two_sequences}
    with pytest.raises(UserError, match="no prediction for sequence TS5"):
        score_mpi_inf_3dhp({"TS1": good["TS1"]}, two_sequences)
    with pytest.raises(UserError, match="unknown sequences"):
        score_mpi_inf_3dhp(dict(good, TS7=good["TS1"]), two_sequences)
    with pytest.raises(UserError, match=r"expected H36M-17 predictions of shape \(6, 17, 3\)"):
        score_mpi_inf_3dhp(dict(good, TS5=good["TS5"][:, :16]), two_sequences)


def test_report_breaks_scores_down_by_activity_and_joint(two_sequences):
    preds = {}
    for seq in two_sequences:
        pred = seq.poses_3d.astype(np.float64).copy()
        pred[:, H36M17.index("LFoot"), 2] += (
            0.06 * seq.activity
        )  # the error grows with the activity id
        preds[seq.name] = pred
    report = score_mpi_inf_3dhp(preds, two_sequences)
    activities = np.concatenate([s.activity for s in two_sequences])
    assert list(report.per_activity) == ["1 standing/walking", "2 exercising", "3 sitting"]
    for a, scores in enumerate(report.per_activity.values(), start=1):
        assert scores["all17"].frames == (activities == a).sum()
        assert scores["all17"].mpjpe_mm == pytest.approx(60.0 * a / 17, abs=1e-3)
        assert scores["all17"].pck == pytest.approx(1.0 if a < 3 else 16 / 17)
    assert report.per_joint_mm["LFoot"] == pytest.approx(60.0 * activities.mean(), abs=1e-3)
    assert report.per_joint_mm["RFoot"] == pytest.approx(0.0, abs=1e-3)
    markdown = report.to_markdown()
    assert "| 3 sitting | " in markdown and "| MPJPE mm | Hip |" in markdown
