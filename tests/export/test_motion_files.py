"""TRC, C3D and GLB files read back: a TRC parser written here from the format's description, C3D by
ezc3d, GLB by pygltflib; each must give the fitted skeleton's world positions at the video's rate."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from posemoe.export import FORMATS, write_result
from posemoe.export.bvh import person_take
from posemoe.export.trc import MARKER_NAMES
from posemoe.layouts import H36M17

_spec = importlib.util.spec_from_file_location(
    "bvh_export_tests", Path(__file__).with_name("test_bvh_export.py")
)
_walkers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_walkers)
FPS = _walkers.FPS  # 25 frames per second


def _walker(frames: int = 30, seed: int = 0, track: int = 0):
    person = _walkers._person(frames, seed, track)
    person.fitted = person.joints_3d.astype(np.float64)
    return person


def parse_trc(text: str) -> dict:
    """A .trc file (OpenSim marker trajectories): line 1 ``PathFileType``; line 2 the header keys and
    line 3 their values (tab separated); line 4 ``Frame#``, ``Time`` and each marker's name over its
    three columns; line 5 the coordinate labels; then (after blank lines, if any) one row per frame:
    frame number, time in seconds, x y z per marker."""
    lines = text.split("\n")
    first = lines[0].split("\t")
    assert first[:3] == ["PathFileType", "4", "(X/Y/Z)"], first
    header = dict(zip(lines[1].split("\t"), lines[2].split("\t")))
    names_row = lines[3].split("\t")
    assert names_row[:2] == ["Frame#", "Time"]
    markers = [n for n in names_row[2::3]]
    coordinates = lines[4].split("\t")[2:]
    assert coordinates == [f"{axis}{k}" for k in range(1, len(markers) + 1) for axis in "XYZ"]
    rows = [list(map(float, line.split("\t"))) for line in lines[5:] if line.strip()]
    data = np.array(rows)
    return {
        "header": header,
        "markers": markers,
        "frame": data[:, 0].astype(int),
        "time": data[:, 1],
        "points": data[:, 2:].reshape(len(data), len(markers), 3),
    }


def test_trc_holds_the_world_markers_in_metres_y_up_at_the_video_rate(tmp_path):
    person = _walker(30)
    (path,) = write_result(_walkers._result([person]), tmp_path, ["trc"])
    assert path.name == "walk.trc" and "trc" in FORMATS
    trc = parse_trc(path.read_text())
    header = trc["header"]
    assert float(header["DataRate"]) == FPS and float(header["CameraRate"]) == FPS
    assert (
        header["Units"] == "m"
        and int(header["NumFrames"]) == 30
        and int(header["NumMarkers"]) == 17
    )
    assert trc["markers"] == [MARKER_NAMES[j] for j in H36M17.joints]
    assert {"Hip", "RAnkle", "LAnkle", "Neck", "Nose", "RWrist"} <= set(trc["markers"])
    np.testing.assert_array_equal(trc["frame"], np.arange(1, 31))
    np.testing.assert_allclose(trc["time"], np.arange(30) / FPS, atol=1e-6)
    expected = person_take(person, FPS).positions
    np.testing.assert_allclose(trc["points"], expected, atol=2e-6)
    head, pelvis = trc["markers"].index("Head"), trc["markers"].index("Hip")
    assert (trc["points"][:, head, 1] > trc["points"][:, pelvis, 1] + 0.3).all()  # y up
    ankles = trc["points"][:, [trc["markers"].index("RAnkle"), trc["markers"].index("LAnkle")], 1]
    assert 0.0 < np.median(ankles) < 0.2  # the floor at y = 0


def test_c3d_read_by_ezc3d_has_labels_rate_and_millimetres_z_up(tmp_path):
    ezc3d = pytest.importorskip("ezc3d")
    people = [_walker(24, seed=1, track=2), _walker(24, seed=5, track=3)]
    paths = write_result(_walkers._result(people), tmp_path, ["c3d"])
    assert sorted(p.name for p in paths) == ["walk_person2.c3d", "walk_person3.c3d"]
    c3d = ezc3d.c3d(str(tmp_path / "walk_person3.c3d"))
    point = c3d["parameters"]["POINT"]
    assert point["LABELS"]["value"] == [MARKER_NAMES[j] for j in H36M17.joints]
    assert point["RATE"]["value"][0] == pytest.approx(FPS) and point["UNITS"]["value"] == ["mm"]
    points = c3d["data"]["points"]  # (4, markers, frames), homogeneous
    assert points.shape == (4, 17, 24)
    y_up = person_take(people[1], FPS).positions
    expected = 1000 * np.stack([y_up[..., 0], -y_up[..., 2], y_up[..., 1]], axis=-1)
    np.testing.assert_allclose(points[:3].transpose(2, 1, 0), expected, atol=0.01)
    head, ankle = H36M17.index("Head"), H36M17.index("RFoot")
    assert (points[2, head] > points[2, ankle] + 1000).all()  # z up, millimetres


def _gltf_arrays(gltf, blob: bytes, accessor: int) -> np.ndarray:
    acc = gltf.accessors[accessor]
    view = gltf.bufferViews[acc.bufferView]
    width = {"SCALAR": 1, "VEC3": 3, "VEC4": 4}[acc.type]
    assert acc.componentType == 5126  # float32
    data = np.frombuffer(
        blob, np.float32, acc.count * width, view.byteOffset + (acc.byteOffset or 0)
    )
    return data.reshape(acc.count, width) if width > 1 else data


def test_glb_read_by_pygltflib_animates_the_skeleton_at_the_video_rate(tmp_path):
    pygltflib = pytest.importorskip("pygltflib")
    person = _walker(20, seed=2)
    (path,) = write_result(_walkers._result([person]), tmp_path, ["glb"])
    assert path.read_bytes()[:4] == b"glTF"
    gltf = pygltflib.GLTF2().load(str(path))
    blob = gltf.binary_blob()
    take = person_take(person, FPS)
    names = list(take.skeleton.names)
    assert [n.name for n in gltf.nodes[: len(names)]] == names
    (animation,) = gltf.animations
    rotated = {c.target.node for c in animation.channels if c.target.path == "rotation"}
    assert rotated == {j for j in range(len(names)) if not take.skeleton.end_sites[j]}
    times = _gltf_arrays(gltf, blob, animation.samplers[0].input)
    np.testing.assert_allclose(times, np.arange(20) / FPS, atol=1e-6)
    assert gltf.accessors[animation.samplers[0].input].max == [pytest.approx(19 / FPS)]
    # Forward kinematics of the file's node tree and animated rotations gives the BVH's world positions.
    rotations = np.tile(np.eye(3), (20, len(names), 1, 1))
    translations = np.array([n.translation for n in gltf.nodes[: len(names)]])[None].repeat(
        20, axis=0
    )
    for channel in animation.channels:
        values = _gltf_arrays(gltf, blob, animation.samplers[channel.sampler].output)
        if channel.target.path == "rotation":
            rotations[:, channel.target.node] = Rotation.from_quat(values).as_matrix()
        else:
            translations[:, channel.target.node] = values
    parents = {child: j for j, node in enumerate(gltf.nodes) for child in (node.children or [])}
    world_r, world_t = np.zeros_like(rotations), np.zeros_like(translations)
    for j in range(len(names)):
        if j in parents:
            p = parents[j]
            world_r[:, j] = world_r[:, p] @ rotations[:, j]
            world_t[:, j] = world_t[:, p] + np.einsum(
                "tij,tj->ti", world_r[:, p], translations[:, j]
            )
        else:
            world_r[:, j], world_t[:, j] = rotations[:, j], translations[:, j]
    np.testing.assert_allclose(world_t[:, : H36M17.num_joints], take.positions, atol=1e-4)
    bones = [n for n in gltf.nodes if n.mesh is not None]
    assert (
        len(bones) == len(names) - 1 and len(gltf.meshes) == 3
    )  # one bone per joint but the root; 3 colours
    assert gltf.asset.extras["fps"] == FPS


def test_glb_opens_as_a_scene_in_trimesh(tmp_path):
    trimesh = pytest.importorskip("trimesh")
    (path,) = write_result(_walkers._result([_walker(10, seed=3)]), tmp_path, ["glb"])
    scene = trimesh.load(path)
    assert len(scene.geometry) == 3 and len(scene.graph.nodes_geometry) == 21
    low, high = scene.bounds
    assert 1.3 < high[1] - low[1] < 2.1  # a standing person's height, metres, y up
