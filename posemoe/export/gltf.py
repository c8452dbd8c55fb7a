"""glTF 2.0 binary files: result format ``"glb"``, ``<name>.glb`` per person.

Written with numpy and json from the glTF 2.0 specification (no dependency). The file holds the
BVH's skeleton and motion (:mod:`posemoe.export.bvh`): one node per joint (and per end site),
named as in the BVH, with the rest offset as its translation and the joint's local rotation as an
animated quaternion; the root node's translation is the pelvis's path. glTF's frame is the BVH's:
**metres, y up, right-handed**; a person facing the camera faces +z, glTF's "front".

It is a plain (rigid, not skinned) skeleton: each bone is a small octahedron, a child node of the
joint it turns with, coloured by side (left blue, right orange, middle grey, as in the renderings).
One animation, ``motion``, has a key per video frame at ``t / fps`` seconds (glTF's key times are
seconds, so players show it at the video's speed whatever their own frame rate), linearly
interpolated (spherical for rotations, quaternion signs kept continuous). The asset's ``extras``
record the frame rate, the frame count and the units.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from posemoe.export.formats import files_per_person, register_format
from posemoe.export.results import FileWriter

if TYPE_CHECKING:
    from posemoe.export.bvh import BvhTake
    from posemoe.inference.result import PersonResult, Result

FLOAT, ARRAY_BUFFER = 5126, 34962
COLOURS = {
    "left": (40, 110, 230),
    "right": (240, 120, 30),
    "middle": (120, 120, 120),
}  # posemoe.viz.draw's
BONE_WIDTH = (
    0.3  # the octahedron's width at its widest, as a fraction of the bone's length (at most 6 cm)
)


def bone_mesh() -> tuple[np.ndarray, np.ndarray]:
    """A unit bone along +y (0 to 1), widest (1 across) at y = 0.2: (24, 3) positions and flat normals,
    three vertices per triangle, counter-clockwise seen from outside."""
    ring = np.array([[0.5, 0.2, 0.0], [0.0, 0.2, -0.5], [-0.5, 0.2, 0.0], [0.0, 0.2, 0.5]])
    base, tip = np.zeros(3), np.array([0.0, 1.0, 0.0])
    triangles = []
    for k in range(4):
        a, b = ring[k], ring[(k + 1) % 4]
        triangles += [(base, a, b), (tip, b, a)]
    positions = np.array(triangles, np.float64)  # (8, 3, 3)
    normals = np.cross(positions[:, 1] - positions[:, 0], positions[:, 2] - positions[:, 0])
    normals /= np.linalg.norm(normals, axis=-1, keepdims=True)
    return positions.reshape(-1, 3).astype(np.float32), np.repeat(normals, 3, axis=0).astype(
        np.float32
    )


def _side(name: str) -> str:
    return "left" if name.startswith("L") else "right" if name.startswith("R") else "middle"


class _Buffer:
    """The binary chunk and the accessors that describe it."""

    def __init__(self) -> None:
        self.data, self.views, self.accessors = bytearray(), [], []

    def add(
        self, array: np.ndarray, kind: str, *, target: int | None = None, bounds: bool = False
    ) -> int:
        """Append float32 ``array`` (N, k) (or (N,) for "SCALAR") -> its accessor index."""
        array = np.ascontiguousarray(array, np.float32)
        self.data += b"\0" * (-len(self.data) % 4)
        view = {"buffer": 0, "byteOffset": len(self.data), "byteLength": array.nbytes}
        if target is not None:
            view["target"] = target
        self.data += array.tobytes()
        self.views.append(view)
        accessor = {
            "bufferView": len(self.views) - 1,
            "componentType": FLOAT,
            "count": len(array),
            "type": kind,
        }
        if bounds:
            flat = array.reshape(len(array), -1)
            accessor |= {"min": flat.min(axis=0).tolist(), "max": flat.max(axis=0).tolist()}
        self.accessors.append(accessor)
        return len(self.accessors) - 1


def _continuous(quaternions: np.ndarray) -> np.ndarray:
    """(T, 4) quaternions with signs flipped so that neighbours are on the same side (shortest path)."""
    q = quaternions.copy()
    for t in range(1, len(q)):
        if np.dot(q[t], q[t - 1]) < 0:
            q[t] = -q[t]
    return q


def _bone_node(offset: np.ndarray, mesh: int) -> dict | None:
    """A node under a joint drawing its bone to the child at ``offset`` (3,) metres; None for a zero bone."""
    from scipy.spatial.transform import Rotation

    length = float(np.linalg.norm(offset))
    if length < 1e-6:
        return None
    width = min(BONE_WIDTH * length, 0.06)
    turn = Rotation.align_vectors([offset / length], [[0.0, 1.0, 0.0]])[0]  # +y onto the bone
    return {"mesh": mesh, "rotation": turn.as_quat().tolist(), "scale": [width, length, width]}


def gltf_document(take: BvhTake, *, name: str, fps: float) -> tuple[dict, bytes]:
    """A :class:`~posemoe.export.bvh.BvhTake` -> the glTF JSON document and its binary buffer."""
    from scipy.spatial.transform import Rotation  # on first use: posemoe infer starts without scipy

    skeleton, frames = take.skeleton, len(take.positions)
    buffer = _Buffer()
    positions, normals = bone_mesh()
    position_accessor = buffer.add(positions, "VEC3", target=ARRAY_BUFFER, bounds=True)
    normal_accessor = buffer.add(normals, "VEC3", target=ARRAY_BUFFER)
    materials = [
        {
            "name": side,
            "pbrMetallicRoughness": {
                "baseColorFactor": [c / 255 for c in rgb] + [1.0],
                "metallicFactor": 0.0,
                "roughnessFactor": 0.8,
            },
        }
        for side, rgb in COLOURS.items()
    ]
    meshes = [
        {
            "name": f"bone_{side}",
            "primitives": [
                {
                    "attributes": {"POSITION": position_accessor, "NORMAL": normal_accessor},
                    "material": k,
                }
            ],
        }
        for k, side in enumerate(COLOURS)
    ]
    mesh_of = {side: k for k, side in enumerate(COLOURS)}
    quaternions = [
        _continuous(Rotation.from_matrix(take.rotations[:, j]).as_quat())
        for j in range(skeleton.num_joints)
    ]
    nodes: list[dict] = [
        {
            "name": joint,
            "rotation": quaternions[j][0].tolist(),
            "children": [],
            "translation": np.asarray(
                take.positions[0, 0] if j == 0 else skeleton.offsets[j], float
            ).tolist(),
        }
        for j, joint in enumerate(skeleton.names)
    ]
    times = buffer.add(np.arange(frames) / fps, "SCALAR", bounds=True)
    samplers, channels = [], []
    for j, joint in enumerate(skeleton.names):
        parent = int(skeleton.parents[j])
        if parent >= 0:
            nodes[parent]["children"].append(j)
            bone = _bone_node(
                skeleton.offsets[j],
                mesh_of[_side(skeleton.names[parent] if skeleton.end_sites[j] else joint)],
            )
            if bone is not None:
                nodes.append({"name": f"{joint}_bone", **bone})
                nodes[parent]["children"].append(len(nodes) - 1)
        if skeleton.end_sites[j]:
            continue
        samplers.append(
            {
                "input": times,
                "output": buffer.add(quaternions[j], "VEC4"),
                "interpolation": "LINEAR",
            }
        )
        channels.append({"sampler": len(samplers) - 1, "target": {"node": j, "path": "rotation"}})
    samplers.append(
        {
            "input": times,
            "output": buffer.add(take.positions[:, 0], "VEC3"),
            "interpolation": "LINEAR",
        }
    )
    channels.append({"sampler": len(samplers) - 1, "target": {"node": 0, "path": "translation"}})
    for node in nodes:
        if not node.get("children", True):
            del node["children"]
    document = {
        "asset": {
            "version": "2.0",
            "generator": "posemoe",
            "extras": {
                "fps": fps,
                "frames": frames,
                "units": "metres, y up, +z the person's front at rest",
            },
        },
        "scene": 0,
        "scenes": [{"name": name, "nodes": [0]}],
        "nodes": nodes,
        "meshes": meshes,
        "materials": materials,
        "animations": [{"name": "motion", "samplers": samplers, "channels": channels}],
        "accessors": buffer.accessors,
        "bufferViews": buffer.views,
        "buffers": [{"byteLength": len(buffer.data)}],
    }
    return document, bytes(buffer.data)


def glb_bytes(document: dict, binary: bytes) -> bytes:
    """The GLB container: a 12-byte header, the JSON chunk (space padded), the BIN chunk (zero padded)."""
    text = json.dumps(document, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 4)
    binary += b"\0" * (-len(binary) % 4)
    chunks = (
        struct.pack("<II", len(text), 0x4E4F534A)
        + text
        + struct.pack("<II", len(binary), 0x004E4942)
        + binary
    )
    return struct.pack("<III", 0x46546C67, 2, 12 + len(chunks)) + chunks


def glb_files(result: Result, out: Path) -> dict[Path, FileWriter]:
    """``<name>.glb`` (one person) or ``<name>_person<id>.glb`` (several)."""
    from posemoe.export.bvh import person_take

    def writer(person: PersonResult, path: Path) -> FileWriter:
        data = glb_bytes(
            *gltf_document(person_take(person, result.fps), name=path.stem, fps=result.fps)
        )
        return (lambda f: f.write(data)), True

    return files_per_person(result, out, "glb", "glTF", writer)


register_format("glb", glb_files)
