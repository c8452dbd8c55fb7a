import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from posemoe.layouts import H36M17, convert, get_layout
from posemoe.layouts.humaneva import HUMANEVA15, SHARED_WITH_H36M17
from posemoe.layouts.mpi_inf_3dhp import MPI_COMMON14, MPI_INF_3DHP17

MPI_README_ORDER = (
    "head_top",
    "neck",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "pelvis",
    "spine",
    "head",
)


def _side(name: str) -> int:
    """+1 for the subject's left, -1 for the right, 0 for the midline, from a joint's name."""
    if name.startswith(("left_", "L")):
        return 1
    if name.startswith(("right_", "R")):
        return -1
    return 0


def _reaches_root(layout) -> bool:
    for joint in range(layout.num_joints):
        seen = set()
        while layout.parents[joint] != -1:
            if joint in seen:
                return False
            seen.add(joint)
            joint = layout.parents[joint]
    return True


def test_mpi_layout_follows_the_readme():
    assert get_layout("mpi_inf_3dhp17") is MPI_INF_3DHP17
    assert MPI_INF_3DHP17.joints == MPI_README_ORDER
    assert MPI_INF_3DHP17.root == 14
    assert _reaches_root(MPI_INF_3DHP17)
    assert len(MPI_COMMON14) == 14 and not {"pelvis", "spine", "head"} & set(MPI_COMMON14)


def test_humaneva_layout_follows_the_readme_and_videopose3d_metadata():
    assert get_layout("humaneva15") is HUMANEVA15
    assert HUMANEVA15.parents == (-1, 0, 1, 2, 3, 1, 5, 6, 0, 8, 9, 0, 11, 12, 1)
    assert HUMANEVA15.joints[0] == "pelvis" and HUMANEVA15.joints[14] == "head"
    # keypoints_symmetry of data_2d_humaneva15_gt.npz: [[left...], [right...]]
    assert sorted(HUMANEVA15.left) == [2, 3, 4, 8, 9, 10]
    assert sorted(HUMANEVA15.right) == [5, 6, 7, 11, 12, 13]


@pytest.mark.parametrize("layout", [MPI_INF_3DHP17, HUMANEVA15])
def test_flip_permutation_pairs_joints_by_name(layout):
    perm = layout.flip_permutation()
    for j, name in enumerate(layout.joints):
        mirror = layout.joints[perm[j]]
        assert _side(mirror) == -_side(name)
        assert mirror.replace("left_", "").replace("right_", "").lstrip("LR") == name.replace(
            "left_", ""
        ).replace("right_", "").lstrip("LR")


@pytest.mark.parametrize("source", [MPI_INF_3DHP17, HUMANEVA15])
def test_left_stays_left_in_h36m17(source):
    # x encodes the side: a swapped pair would flip the sign.
    points = np.zeros((1, source.num_joints, 3), np.float32)
    points[0, :, 0] = [_side(n) for n in source.joints]
    points[0, :, 1] = np.arange(source.num_joints)
    out = convert(points, source, H36M17)[0]
    for j, name in enumerate(H36M17.joints):
        assert np.sign(out[j, 0]) == _side(name), name
    back = convert(out[None], H36M17, source)[0]
    for j, name in enumerate(source.joints):
        assert np.sign(back[j, 0]) == _side(name), name


def test_mpi_to_h36m_correspondence():
    coded = np.arange(17, dtype=np.float32)[None, :, None].repeat(3, -1)
    out = convert(coded, MPI_INF_3DHP17, H36M17)[0, :, 0]
    expected = {
        "Hip": "pelvis",
        "Spine": "spine",
        "Thorax": "neck",
        "Neck/Nose": "head",
        "Head": "head_top",
        "RFoot": "right_ankle",
        "LWrist": "left_wrist",
        "RShoulder": "right_shoulder",
    }
    for h36m, mpi in expected.items():
        assert out[H36M17.index(h36m)] == MPI_INF_3DHP17.index(mpi)


@settings(max_examples=25, deadline=None)
@given(
    arrays(
        np.float32,
        st.tuples(st.integers(1, 3), st.just(17), st.integers(2, 3)),
        elements=st.floats(-10, 10, width=32),
    )
)
def test_mpi_h36m_round_trips_are_exact(points):
    assert np.array_equal(
        convert(convert(points, MPI_INF_3DHP17, H36M17), H36M17, MPI_INF_3DHP17), points
    )
    assert np.array_equal(
        convert(convert(points, H36M17, MPI_INF_3DHP17), MPI_INF_3DHP17, H36M17), points
    )


@settings(max_examples=25, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 3), st.just(15), st.just(3)),
        elements=st.floats(-10, 10),
    )
)
def test_humaneva_round_trip_keeps_every_joint(points):
    back = convert(convert(points, HUMANEVA15, H36M17), H36M17, HUMANEVA15)
    np.testing.assert_allclose(back, points, atol=1e-12)


def test_humaneva_to_h36m_averages_all_three_coordinates():
    points = np.random.default_rng(0).normal(size=(4, 15, 3)).astype(np.float32)
    out = convert(points, HUMANEVA15, H36M17)
    assert out.dtype == np.float32 and out.shape == (4, 17, 3)
    he = HUMANEVA15.index
    np.testing.assert_allclose(
        out[:, H36M17.index("Spine")],
        (points[:, he("pelvis")] + points[:, he("thorax")]) / 2,
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        out[:, H36M17.index("Neck/Nose")],
        (points[:, he("thorax")] + points[:, he("head")]) / 2,
        rtol=1e-6,
    )
    np.testing.assert_array_equal(out[:, H36M17.index("RFoot")], points[:, he("RAnkle")])


def test_shared_joints_are_mirrored_limb_joints_present_in_both():
    assert len(SHARED_WITH_H36M17) == 10
    names = set(SHARED_WITH_H36M17)
    assert {"pelvis", "thorax", "head", "LHip", "RHip"}.isdisjoint(names)
    assert {"R" + n[1:] for n in names if n.startswith("L")} == {
        n for n in names if n.startswith("R")
    }
    coded = np.arange(17, dtype=np.float64)[None, :, None].repeat(3, -1)
    picked = convert(coded, H36M17, HUMANEVA15)[0, :, 0]
    for name in names:
        h36m_name = name.replace("Ankle", "Foot")
        assert picked[HUMANEVA15.index(name)] == H36M17.index(h36m_name)
