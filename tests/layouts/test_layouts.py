import numpy as np
import pytest

from posemoe.layouts import (
    H36M17,
    H36M32,
    convert,
    get_layout,
    h36m32_to_h36m17_indices,
)


def test_h36m17_tables_match_videopose3d_skeleton():
    assert H36M17.parents == (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)
    assert H36M17.root == 0
    assert len(H36M17.bones) == 16


def test_32_to_17_selection():
    assert h36m32_to_h36m17_indices().tolist() == [
        0,
        1,
        2,
        3,
        6,
        7,
        8,
        12,
        13,
        14,
        15,
        17,
        18,
        19,
        25,
        26,
        27,
    ]
    # parents agree once the 15 removed joints are skipped (shoulders re-attached to the thorax)
    idx = h36m32_to_h36m17_indices()
    shoulders = {H36M17.index("LShoulder"), H36M17.index("RShoulder")}
    for j, p in enumerate(H36M17.parents[1:], start=1):
        if j in shoulders:
            assert H36M17.joints[p] == "Thorax"
            continue
        ancestor = H36M32.parents[idx[j]]
        while ancestor not in idx:
            ancestor = H36M32.parents[ancestor]
        assert ancestor == idx[p]


def test_flip_permutation_is_an_involution_that_swaps_sides():
    perm = H36M17.flip_permutation()
    assert (perm[perm] == np.arange(17)).all()
    assert perm[H36M17.index("LWrist")] == H36M17.index("RWrist")
    assert perm[H36M17.index("Spine")] == H36M17.index("Spine")


def test_convert_checks_joint_count():
    with pytest.raises(ValueError, match="expected keypoints with 32 joints"):
        convert(np.zeros((5, 17, 3)), H36M32, H36M17)
    assert convert(np.zeros((5, 32, 3)), H36M32, H36M17).shape == (5, 17, 3)


def test_unknown_layout_names_the_known_ones():
    with pytest.raises(ValueError, match="h36m17"):
        get_layout("coco99")


def test_detector_layouts_convert_to_h36m17():
    from posemoe.layouts import (
        BLAZEPOSE33,
        COCO17,
        H36M17,
        HALPE26,
        OPENPOSE25,
        convert,
    )

    for layout, count in ((COCO17, 17), (OPENPOSE25, 25), (HALPE26, 26), (BLAZEPOSE33, 33)):
        assert layout.num_joints == count and len(layout.bones) == count - 1
        perm = layout.flip_permutation()
        assert layout.joints[perm[layout.index("LWrist")]] == "RWrist"
        rng = np.random.default_rng(count)
        points = np.concatenate(
            [rng.normal(size=(5, count, 2)), rng.uniform(0.2, 1, (5, count, 1))], -1
        )
        out = convert(points, layout, H36M17)
        assert out.shape == (5, 17, 3)
        lhip, rhip = layout.index("LHip"), layout.index("RHip")
        np.testing.assert_allclose(
            out[:, 0, :2], (points[:, lhip, :2] + points[:, rhip, :2]) / 2, rtol=1e-5
        )
        np.testing.assert_allclose(
            out[:, 0, 2], np.minimum(points[:, lhip, 2], points[:, rhip, 2]), rtol=1e-6
        )
        np.testing.assert_allclose(
            out[:, H36M17.index("LWrist")], points[:, layout.index("LWrist")], rtol=1e-6
        )
        assert convert(points[..., :2], layout, H36M17).shape == (5, 17, 2)


@pytest.mark.parametrize("name", ["coco17", "openpose25", "halpe26", "blazepose33", "humaneva15"])
def test_a_missing_source_joint_makes_only_the_joints_built_from_it_missing(name):
    source = get_layout(name)
    points = np.random.default_rng(0).uniform(0, 100, (2, source.num_joints, 3))
    whole = convert(points, source, H36M17)
    for j in range(source.num_joints):
        broken = points.copy()
        broken[1, j, 0] = np.nan
        out = convert(broken, source, H36M17)
        np.testing.assert_array_equal(out[0], whole[0])  # other frames untouched
        missing = np.isnan(out[1, :, :2]).any(-1)
        changed = ~np.isclose(
            convert(points + (np.arange(source.num_joints) == j)[:, None], source, H36M17)[
                1, :, :2
            ],
            whole[1, :, :2],
        ).all(-1)  # the H36M-17 joints that joint j feeds
        np.testing.assert_array_equal(missing, changed)
        np.testing.assert_array_equal(out[1, ~missing, :2], whole[1, ~missing, :2])


def test_a_joint_count_names_a_layout_only_where_no_other_layout_shares_it():
    from collections import Counter

    from posemoe.errors import UserError
    from posemoe.layouts import LAYOUTS, layout_for

    counts = Counter(layout.num_joints for layout in LAYOUTS.values())
    assert counts[17] >= 3  # H36M, COCO and MPI-INF-3DHP: the reason for the rule
    for name, layout in LAYOUTS.items():
        assert layout_for(layout.num_joints, name) is layout  # a name is always taken as given
        if counts[layout.num_joints] == 1:
            assert layout_for(layout.num_joints, None) is layout
        else:
            with pytest.raises(UserError, match=f"could be in any of .*{name}.*pass layout="):
                layout_for(layout.num_joints, None)
    with pytest.raises(UserError, match="no joint layout has 4 joints"):
        layout_for(4, None)
