import itertools
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posemoe.errors import UserError
from posemoe.io.bvh import (
    MAX_JOINTS,
    BvhSkeleton,
    forward_kinematics,
    local_rotations,
    read_bvh,
    write_bvh,
)

ORDERS = ["".join(p) for p in itertools.permutations("XYZ")]


def _rx(deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _ry(deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rz(deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


_AXIS = {"X": _rx, "Y": _ry, "Z": _rz}

CHAIN = "\n".join(
    [  # a root and one child joint, two frames
        "HIERARCHY",
        "ROOT root",
        "{",
        "  OFFSET 0 0 0",
        "  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation",
        "  JOINT child",
        "  {",
        "    OFFSET 1 0 0",
        "    CHANNELS 3 Zrotation Xrotation Yrotation",
        "    End Site",
        "    {",
        "      OFFSET 0 1 0",
        "    }",
        "  }",
        "}",
        "MOTION",
        "Frames: 2",
        "Frame Time: 0.04",
        "1 2 3 90 0 0 0 90 0",
        "1 2 3 0 0 0 0 0 0",
        "",
    ]
)


def _write(tmp_path: Path, text: str, name: str = "clip.bvh", newline: str = "\n") -> Path:
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode())
    return path


def test_forward_kinematics_of_a_chain_matches_hand_computation(tmp_path):
    motion = read_bvh(_write(tmp_path, CHAIN))
    assert motion.names == ("root", "child", "child_end")
    assert motion.parents.tolist() == [-1, 0, 1]
    assert motion.end_sites.tolist() == [False, False, True]
    assert motion.frame_time == 0.04 and motion.values.shape == (2, 9)
    # Frame 0: the root turns 90 deg about z (x -> y), so the child's offset (1, 0, 0) points
    # along +y; the child turns 90 deg about x (y -> z), so the end's (0, 1, 0) points along +z.
    expected = np.array(
        [[[1, 2, 3], [1, 3, 3], [1, 3, 4]], [[1, 2, 3], [2, 2, 3], [2, 3, 3]]], float
    )
    np.testing.assert_allclose(forward_kinematics(motion), expected, atol=1e-12)


def test_crlf_tabs_and_glued_braces_read_the_same(tmp_path):
    messy = (
        CHAIN.replace("  ", "\t")
        .replace("ROOT root\n{", "ROOT root {")
        .replace("Frames: 2", "Frames:\t2")
    )
    a = read_bvh(_write(tmp_path, CHAIN, "a.bvh"))
    for newline in ("\r\n", "\r"):  # Windows, and classic Mac OS's lone carriage returns
        b = read_bvh(_write(tmp_path, messy + "\n\n", "b.bvh", newline=newline))
        assert a.names == b.names and a.channels == b.channels
        np.testing.assert_array_equal(a.values, b.values)
    inline = CHAIN.replace(
        "JOINT child\n  {\n    OFFSET 1 0 0", "JOINT child { OFFSET 1 0 0"
    )  # one line
    split = CHAIN.replace("ROOT root", "ROOT\nroot").replace(
        "End Site", "End site"
    )  # name on the next line
    for text in (inline, split):
        c = read_bvh(_write(tmp_path, text, "c.bvh"))
        assert (
            c.names == a.names and c.channels == a.channels and np.array_equal(c.offsets, a.offsets)
        )


@pytest.mark.parametrize("order", ORDERS)
def test_every_rotation_order_composes_intrinsically(tmp_path, order):
    angles = (30.0, -50.0, 75.0)
    channels = " ".join(a + "rotation" for a in order)
    text = CHAIN.replace("Zrotation Xrotation Yrotation\n    End", channels + "\n    End")
    text = text.replace("1 2 3 90 0 0 0 90 0", "0 0 0 0 0 0 " + " ".join(map(str, angles)))
    motion = read_bvh(_write(tmp_path, text))
    expected = _AXIS[order[0]](angles[0]) @ _AXIS[order[1]](angles[1]) @ _AXIS[order[2]](angles[2])
    np.testing.assert_allclose(local_rotations(motion)[0, 1], expected, atol=1e-12)
    np.testing.assert_allclose(
        forward_kinematics(motion)[0, 2], [1, 0, 0] + expected @ [0, 1, 0], atol=1e-12
    )


@settings(max_examples=40, deadline=None)
@given(order=st.sampled_from(ORDERS), angles=st.lists(st.floats(-360, 360), min_size=3, max_size=3))
def test_rotation_channels_match_elementary_products(tmp_path_factory, order, angles):
    text = CHAIN.replace(
        "Zrotation Xrotation Yrotation\n", " ".join(a + "rotation" for a in order) + "\n", 1
    )
    text = text.replace(
        "1 2 3 90 0 0 0 90 0", "0 0 0 " + " ".join(f"{a!r}" for a in angles) + " 0 0 0"
    )
    motion = read_bvh(_write(tmp_path_factory.mktemp("h"), text))
    expected = _AXIS[order[0]](angles[0]) @ _AXIS[order[1]](angles[1]) @ _AXIS[order[2]](angles[2])
    np.testing.assert_allclose(local_rotations(motion)[0, 0], expected, atol=1e-9)


def test_position_channels_on_a_non_root_joint_replace_the_offset(tmp_path):
    text = CHAIN.replace(
        "CHANNELS 3 Zrotation Xrotation Yrotation",
        "CHANNELS 5 Yposition Zrotation Xposition Xrotation Yrotation",
    )
    text = text.replace("1 2 3 90 0 0 0 90 0\n1 2 3 0 0 0 0 0 0", "0 0 0 0 0 0 5 90 7 0 0")
    text = text.replace("Frames: 2", "Frames: 1")
    motion = read_bvh(_write(tmp_path, text))
    assert motion.channels[1] == ("Yposition", "Zrotation", "Xposition", "Xrotation", "Yrotation")
    # Xposition 7 and Yposition 5 replace the offset's x and y; its z (0) stays. Zrotation 90
    # then turns the end site's (0, 1, 0) to (-1, 0, 0).
    np.testing.assert_allclose(
        forward_kinematics(motion)[0, 1:], [[7, 5, 0], [6, 5, 0]], atol=1e-12
    )


def _skeleton() -> BvhSkeleton:
    names = (
        "Hips",
        "Spine",
        "Head",
        "Head_end",
        "LeftArm",
        "LeftHand",
        "LeftHand_end",
        "RightUpLeg",
    )
    parents = np.array([-1, 0, 1, 2, 1, 4, 5, 0])
    offsets = np.round(np.random.default_rng(3).uniform(-0.4, 0.4, (8, 3)), 6)
    end_sites = np.array([n.endswith("_end") for n in names])
    return BvhSkeleton(names=names, parents=parents, offsets=offsets, end_sites=end_sites)


def _reference_fk(skeleton: BvhSkeleton, rotations: np.ndarray, root: np.ndarray) -> np.ndarray:
    """A plain per-frame loop, independent of the module's vectorised code."""
    out = np.zeros((len(root), skeleton.num_joints, 3))
    for f in range(len(root)):
        world = [None] * skeleton.num_joints
        for j, p in enumerate(skeleton.parents):
            if p < 0:
                world[j], out[f, j] = rotations[f, j], root[f]
            else:
                world[j] = world[p] @ rotations[f, j]
                out[f, j] = out[f, p] + world[p] @ skeleton.offsets[j]
    return out


@pytest.mark.parametrize("order", ORDERS)
def test_write_read_round_trip(tmp_path, order):
    from scipy.spatial.transform import Rotation

    skeleton = _skeleton()
    frames = 6
    rotations = Rotation.random(frames * 8, random_state=1).as_matrix().reshape(frames, 8, 3, 3)
    # A gimbal-locked frame: the middle angle at 90 degrees.
    rotations[0, 1] = _AXIS[order[0]](20) @ _AXIS[order[1]](90) @ _AXIS[order[2]](-35)
    root = np.random.default_rng(2).normal(size=(frames, 3))
    path = write_bvh(
        tmp_path / "out.bvh", skeleton, rotations, root, frame_time=1 / 30, order=order
    )
    motion = read_bvh(path)
    assert motion.names == skeleton.names and motion.parents.tolist() == skeleton.parents.tolist()
    assert motion.channels[0][:3] == ("Xposition", "Yposition", "Zposition")
    assert all(c == tuple(a + "rotation" for a in order) for c in motion.channels[1:3])
    assert motion.frame_time == pytest.approx(1 / 30, rel=1e-8)
    np.testing.assert_allclose(
        forward_kinematics(motion), _reference_fk(skeleton, rotations, root), atol=1e-6
    )
    joints = ~skeleton.end_sites
    np.testing.assert_allclose(local_rotations(motion)[:, joints], rotations[:, joints], atol=1e-6)
    assert [p.name for p in tmp_path.iterdir()] == ["out.bvh"]


def test_write_refuses_bad_input_and_leaves_no_file(tmp_path):
    skeleton = _skeleton()
    rotations = np.broadcast_to(np.eye(3), (2, 8, 3, 3)).copy()
    rotations[1, 2] *= 2  # not a rotation
    with pytest.raises(UserError, match="rotation matrices"):
        write_bvh(tmp_path / "bad.bvh", skeleton, rotations, np.zeros((2, 3)), frame_time=0.1)
    with pytest.raises(UserError, match="permutation of XYZ"):
        write_bvh(
            tmp_path / "bad.bvh",
            skeleton,
            rotations[:1],
            np.zeros((1, 3)),
            frame_time=0.1,
            order="XXY",
        )
    with pytest.raises(UserError, match=r"root_positions \(F, 3\)"):
        write_bvh(tmp_path / "bad.bvh", skeleton, rotations[:1], np.zeros((2, 3)), frame_time=0.1)
    spaced = BvhSkeleton(("a b",), np.array([-1]), np.zeros((1, 3)), np.array([False]))
    with pytest.raises(UserError, match="without spaces"):
        write_bvh(tmp_path / "bad.bvh", spaced, rotations[:1, :1], np.zeros((1, 3)), frame_time=0.1)
    assert list(tmp_path.iterdir()) == []


def test_an_independent_parser_reads_our_file(tmp_path):
    bvh = pytest.importorskip("bvh")
    from scipy.spatial.transform import Rotation

    skeleton = _skeleton()
    rotations = Rotation.random(4 * 8, random_state=5).as_matrix().reshape(4, 8, 3, 3)
    path = write_bvh(
        tmp_path / "out.bvh", skeleton, rotations, np.ones((4, 3)), frame_time=0.05, order="YXZ"
    )
    ours = read_bvh(path)
    theirs = bvh.Bvh(path.read_text())
    assert theirs.nframes == 4 and theirs.frame_time == pytest.approx(0.05)
    joints = [n for n, end in zip(ours.names, ours.end_sites) if not end]
    assert theirs.get_joints_names() == joints
    for j, name in enumerate(ours.names):
        if ours.end_sites[j]:
            continue
        assert tuple(theirs.joint_channels(name)) == ours.channels[j]
        np.testing.assert_allclose(theirs.joint_offset(name), ours.offsets[j])
        values = np.array(theirs.frames_joint_channels(name, list(ours.channels[j])), float)
        np.testing.assert_array_equal(values, ours.values[:, list(ours.channel_columns(j))])


_MOTION = "MOTION\nFrames: 1\nFrame Time: 0.1\n0 0 0 0 0 0 0 0 0\n"
MALFORMED = {
    "not a bvh": ("hello world\n", "starting with HIERARCHY"),
    "empty": ("", "expected HIERARCHY, found the end of the file"),
    "unknown keyword": (CHAIN.replace("OFFSET 1 0 0", "OFSET 1 0 0"), "found 'OFSET'"),
    "missing closing brace": (CHAIN.replace("  }\n}\nMOTION", "  }\nMOTION"), "unbalanced braces"),
    "extra closing brace": (CHAIN.replace("}\nMOTION", "}\n}\nMOTION"), "unbalanced '}'"),
    "bad channel name": (
        CHAIN.replace("Xrotation Yrotation\n  JOINT", "Xrotation Wrotation\n  JOINT"),
        "found 'Wrotation'",
    ),
    "channel count too short": (
        CHAIN.replace(
            "CHANNELS 3 Zrotation Xrotation Yrotation", "CHANNELS 4 Zrotation Xrotation Yrotation"
        ),
        "found 'End' after 3",
    ),
    "huge channel count": (CHAIN.replace("CHANNELS 3", "CHANNELS 999999999"), "channel count 0-6"),
    "repeated channel": (
        CHAIN.replace("3 Zrotation Xrotation Yrotation", "3 Zrotation Zrotation Yrotation"),
        "distinct channels",
    ),
    "non-numeric offset": (CHAIN.replace("OFFSET 1 0 0", "OFFSET 1 zero 0"), "found 'zero'"),
    "duplicate names": (CHAIN.replace("JOINT child", "JOINT root"), "found 'root' twice"),
    "no name": (CHAIN.replace("JOINT child", "JOINT"), "joint name after JOINT"),
    "wrong value count": (
        CHAIN.replace("1 2 3 0 0 0 0 0 0", "1 2 3 0 0 0 0 0 0 0"),
        "expected 9 values, found 10",
    ),
    "non-numeric value": (CHAIN.replace("1 2 3 0 0 0 0 0 0", "1 2 3 0 0 0 x 0 0"), "found 'x'"),
    "nan value": (
        CHAIN.replace("1 2 3 0 0 0 0 0 0", "1 2 3 0 0 nan 0 0 0"),
        "finite values, found 'nan'",
    ),
    "inf value": (
        CHAIN.replace("1 2 3 0 0 0 0 0 0", "1 2 3 0 0 0 0 -inf 0"),
        "found '-inf' in column 8",
    ),
    "zero frame time": (CHAIN.replace("Frame Time: 0.04", "Frame Time: 0"), "positive frame time"),
    "negative frame time": (
        CHAIN.replace("Frame Time: 0.04", "Frame Time: -0.04"),
        "positive frame time",
    ),
    "frame time 1e-300": (
        CHAIN.replace("Frame Time: 0.04", "Frame Time: 1e-300"),
        "positive frame time of 0.0001-10 seconds",
    ),
    "frame time 100 s": (
        CHAIN.replace("Frame Time: 0.04", "Frame Time: 100"),
        "(10000 to 0.1 frames per second)",
    ),
    "nan frame time": (CHAIN.replace("Frame Time: 0.04", "Frame Time: nan"), "finite number"),
    "no frames": (
        CHAIN.split("MOTION")[0] + "MOTION\nFrames: 0\nFrame Time: 0.1\n",
        "at least one frame",
    ),
    "fractional frames": (CHAIN.replace("Frames: 2", "Frames: 2.5"), "whole number of frames"),
    "missing frame time": (CHAIN.replace("Frame Time: 0.04\n", ""), "'Frame Time: seconds'"),
    "fewer frames than declared": (
        CHAIN.replace("Frames: 2", "Frames: 3") + " " * 40 + "\n",
        "found 2",
    ),
    "more frames than declared": (CHAIN.replace("Frames: 2", "Frames: 1"), "found more"),
    "end site with channels": (
        CHAIN.replace("OFFSET 0 1 0", "OFFSET 0 1 0\n CHANNELS 1 Xrotation"),
        "OFFSET or '}' in an End Site",
    ),
    "two offsets": (
        CHAIN.replace("OFFSET 1 0 0", "OFFSET 1 0 0\n OFFSET 2 0 0"),
        "one OFFSET for 'child'",
    ),
    "no offset": (CHAIN.replace("OFFSET 0 1 0", ""), "an OFFSET in 'child_end'"),
    "no channels at all": (
        "HIERARCHY\nROOT a\n{\n OFFSET 0 0 0\n}\n" + _MOTION,
        "at least one channel",
    ),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_files_raise_user_errors_naming_the_file(tmp_path, case):
    text, message = MALFORMED[case]
    path = _write(tmp_path, text, "broken file.bvh")
    with pytest.raises(UserError, match="expected") as err:
        read_bvh(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match=r"nothing\.bvh"):
        read_bvh(tmp_path / "nothing.bvh")


def _deep_chain(joints: int) -> str:
    opening = "".join(
        f"JOINT j{i}\n{{\nOFFSET 0 1 0\nCHANNELS 1 Xrotation\n" for i in range(1, joints)
    )
    return (
        f"HIERARCHY\nROOT j0\n{{\nOFFSET 0 0 0\nCHANNELS 1 Xrotation\n{opening}"
        + "}\n" * joints
        + f"MOTION\nFrames: 1\nFrame Time: 0.1\n{' '.join(['0'] * joints)}\n"
    )


HOSTILE = {
    "a billion frames": CHAIN.replace("Frames: 2", "Frames: 1000000000"),
    "a frame count the file cannot hold": CHAIN.replace("Frames: 2", "Frames: 5000000"),
    "too many joints": _deep_chain(MAX_JOINTS + 1),
    "a 100 kB header line": CHAIN.replace("ROOT root", "ROOT " + "r" * 100_000),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_files_are_refused_fast_and_small(tmp_path, case):
    path = _write(tmp_path, HOSTILE[case])
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(UserError, match="expected") as err:
            read_bvh(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(path) in str(err.value)
    assert time.perf_counter() - start < 2.0
    assert peak < 20 * 2**20, f"peak {peak / 2**20:.1f} MiB"


def test_a_chain_at_the_joint_limit_reads_without_recursion(tmp_path):
    motion = read_bvh(_write(tmp_path, _deep_chain(MAX_JOINTS)))
    assert len(motion.names) == MAX_JOINTS
    assert forward_kinematics(motion)[0, -1, 1] == MAX_JOINTS - 1
