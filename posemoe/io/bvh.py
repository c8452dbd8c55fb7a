"""BVH motion capture files: reading, forward kinematics and writing.

A BVH file has two parts. ``HIERARCHY`` is a tree of joints (``ROOT``, ``JOINT``, ``End Site``),
each with an ``OFFSET`` from its parent in the parent's frame and a list of ``CHANNELS`` (any
subset, in any order, of ``Xposition Yposition Zposition Xrotation Yrotation Zrotation``).
``MOTION`` gives ``Frames``, ``Frame Time`` (seconds) and one line of channel values per frame,
joints in the order of the hierarchy, each joint's channels in their listed order.

Semantics used here (the common reading of the format): a joint's local transform is a
translation by its offset, where each position channel present replaces that coordinate of the
offset, followed by its rotation channels composed in the listed order as intrinsic rotations
in degrees (``Zrotation Xrotation Yrotation`` gives ``Rz @ Rx @ Ry``). Positions come out in the
file's units and axes. An ``End Site`` becomes a joint named ``<parent>_end`` with no channels.

The reader refuses hostile files before allocating for them: more than :data:`MAX_JOINTS`
joints, more than :data:`MAX_VALUES` declared values, or a declared frame count that the bytes
left in the file cannot hold.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from posemoe.errors import UserError
from posemoe.io.temporaries import replacing_stale

MAX_JOINTS = 1000
FRAME_TIME_RANGE = (
    1e-4,
    10.0,
)  # seconds: beyond any motion capture system's rate, and a slide show
MAX_VALUES = 50_000_000
_MAX_HEADER_LINE = 65_536

POSITION_CHANNELS = ("Xposition", "Yposition", "Zposition")
ROTATION_CHANNELS = ("Xrotation", "Yrotation", "Zrotation")
_CANONICAL = {name.lower(): name for name in POSITION_CHANNELS + ROTATION_CHANNELS}


@dataclass(frozen=True)
class BvhSkeleton:
    """The joint tree: ``parents[j] < j`` (-1 for the root), ``offsets`` (J, 3) in file units,
    ``end_sites[j]`` true for channel-less leaf markers (``End Site``)."""

    names: tuple[str, ...]
    parents: np.ndarray  # (J,) int
    offsets: np.ndarray  # (J, 3) float64, file units
    end_sites: np.ndarray  # (J,) bool

    @property
    def num_joints(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        return self.names.index(name)


@dataclass(frozen=True)
class BvhMotion:
    """A parsed BVH file: the skeleton, per-joint channel names and ``values`` (F, C) float64,
    C being the total channel count, in file order."""

    skeleton: BvhSkeleton
    channels: tuple[tuple[str, ...], ...]
    frame_time: float  # seconds
    values: np.ndarray  # (F, C) float64

    @property
    def names(self) -> tuple[str, ...]:
        return self.skeleton.names

    @property
    def parents(self) -> np.ndarray:
        return self.skeleton.parents

    @property
    def offsets(self) -> np.ndarray:
        return self.skeleton.offsets

    @property
    def end_sites(self) -> np.ndarray:
        return self.skeleton.end_sites

    @property
    def num_frames(self) -> int:
        return self.values.shape[0]

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time

    def channel_columns(self, joint: int) -> range:
        """Columns of ``values`` that hold joint ``joint``'s channels."""
        start = sum(len(c) for c in self.channels[:joint])
        return range(start, start + len(self.channels[joint]))


# ----------------------------------------------------------------------------------------------
# Reading


class _HeaderTokens:
    """Whitespace-separated tokens of the HIERARCHY part, read line by line from a binary file
    so that the MOTION part can be checked against the bytes left before anything is parsed."""

    def __init__(self, stream: BinaryIO, where: str) -> None:
        self.stream = stream
        self.where = where
        self.line = 0
        self.pending: deque[str] = deque()
        self.bytes_read = 0

    def readline(self) -> str | None:
        raw = self.stream.readline(_MAX_HEADER_LINE)
        if not raw:
            return None
        if len(raw) == _MAX_HEADER_LINE and not raw.endswith(b"\n"):
            self.line += 1
            raise self.error(
                f"expected a header line under {_MAX_HEADER_LINE} bytes, found a longer one"
            )
        self.line += 1
        self.bytes_read += len(raw)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("latin-1")  # joint names from older exporters

    def next(self, expected: str) -> str:
        while not self.pending:
            text = self.readline()
            if text is None:
                raise self.error(f"expected {expected}, found the end of the file")
            # Braces may be glued to a name ("Hips{"): split them off as their own tokens.
            self.pending = deque(re.sub(r"([{}])", r" \1 ", text).split())
        return self.pending.popleft()

    def rest_of_line(self) -> list[str]:
        rest, self.pending = list(self.pending), deque()
        return rest

    def error(self, message: str) -> UserError:
        return UserError(f"{self.where}:{self.line}: {message}")


@dataclass
class _Tree:
    """The hierarchy as it is parsed."""

    names: list[str]
    parents: list[int]
    offsets: list[tuple[float, float, float] | None]  # None until its OFFSET is read
    channels: list[tuple[str, ...]]
    end_sites: list[bool]

    def add(self, name: str, parent: int, end_site: bool, tokens: _HeaderTokens) -> int:
        if len(self.names) >= MAX_JOINTS:
            raise tokens.error(f"expected at most {MAX_JOINTS} joints, found more")
        if name in self.names:
            raise tokens.error(f"expected unique joint names, found {name!r} twice")
        self.names.append(name)
        self.parents.append(parent)
        self.offsets.append(None)
        self.channels.append(())
        self.end_sites.append(end_site)
        return len(self.names) - 1


def _number(token: str, what: str, tokens: _HeaderTokens) -> float:
    try:
        value = float(token)
    except ValueError:
        raise tokens.error(f"expected a number for {what}, found {token!r}") from None
    if not np.isfinite(value):
        raise tokens.error(f"expected a finite number for {what}, found {token!r}")
    return value


def _parse_channels(tokens: _HeaderTokens, joint: str) -> tuple[str, ...]:
    token = tokens.next("a channel count")
    if not token.isdigit() or int(token) > 6:
        raise tokens.error(f"expected a channel count 0-6 for {joint!r}, found {token!r}")
    names: list[str] = []
    for _ in range(int(token)):
        name = tokens.next(f"a channel name for {joint!r}")
        if name in ("}", "{", "OFFSET", "CHANNELS", "JOINT", "End"):
            raise tokens.error(
                f"expected {token} channel names for {joint!r} as 'CHANNELS {token}' declares, "
                f"found {name!r} after {len(names)}"
            )
        if name.lower() not in _CANONICAL:
            raise tokens.error(
                f"expected a channel name ({', '.join(_CANONICAL.values())}), found {name!r}"
            )
        names.append(_CANONICAL[name.lower()])
    if len(set(names)) != len(names):
        raise tokens.error(f"expected distinct channels for {joint!r}, found {' '.join(names)}")
    return tuple(names)


def _joint_name(keyword: str, tokens: _HeaderTokens, tree: _Tree, parent: int) -> tuple[str, bool]:
    """The name after ROOT/JOINT (the rest of the line up to a brace, so names may hold spaces; the
    next line when this one ends), or the generated ``<parent>_end`` name for ``End Site``."""
    if keyword == "End":
        site = tokens.next("'Site' after 'End'")
        if site.lower() != "site":
            raise tokens.error(f"expected 'End Site', found 'End {site}'")
        if parent < 0:
            raise tokens.error("expected ROOT before an End Site, found an End Site at the top")
        base, name, n = tree.names[parent] + "_end", tree.names[parent] + "_end", 1
        while name in tree.names:
            n += 1
            name = f"{base}{n}"
        return name, True
    rest = tokens.rest_of_line()
    if not rest:  # the name on the next line
        rest = [tokens.next(f"a joint name after {keyword}")] + tokens.rest_of_line()
    words = rest[: rest.index("{")] if "{" in rest else rest
    if not words:
        raise tokens.error(f"expected a joint name after {keyword}, found none")
    tokens.pending.extend(rest[len(words) :])  # "{" and whatever follows it on the line
    return " ".join(words), False


def _open_joint(keyword: str, tokens: _HeaderTokens, tree: _Tree, parent: int) -> int:
    """Read the name after ROOT/JOINT/End Site and its opening brace; the new joint's index."""
    name, end_site = _joint_name(keyword, tokens, tree, parent)
    joint = tree.add(name, parent, end_site, tokens)
    brace = tokens.next(f"'{{' after {name!r}")
    if brace != "{":
        raise tokens.error(f"expected '{{' after {name!r}, found {brace!r}")
    return joint


def _joint_statement(token: str, tokens: _HeaderTokens, tree: _Tree, joint: int) -> None:
    """OFFSET or CHANNELS inside ``joint``'s braces; anything else is an error."""
    name = tree.names[joint]
    if token == "OFFSET":
        if tree.offsets[joint] is not None:
            raise tokens.error(f"expected one OFFSET for {name!r}, found a second")
        tree.offsets[joint] = tuple(
            _number(tokens.next("an offset value"), f"the offset of {name!r}", tokens)
            for _ in range(3)
        )
    elif token == "CHANNELS" and not tree.end_sites[joint]:
        if tree.channels[joint]:
            raise tokens.error(f"expected one CHANNELS line for {name!r}, found a second")
        tree.channels[joint] = _parse_channels(tokens, name)
    elif token == "MOTION":
        raise tokens.error(
            f"expected '}}' closing {name!r} before MOTION, found MOTION (unbalanced braces)"
        )
    else:
        where = "an End Site" if tree.end_sites[joint] else f"joint {name!r}"
        allowed = (
            "OFFSET or '}'" if tree.end_sites[joint] else "OFFSET, CHANNELS, JOINT, End Site or '}'"
        )
        raise tokens.error(f"expected {allowed} in {where}, found {token!r}")


def _parse_hierarchy(tokens: _HeaderTokens) -> _Tree:
    first = tokens.next("HIERARCHY")
    if first.lstrip("\ufeff") != "HIERARCHY":
        raise tokens.error(f"expected a BVH file starting with HIERARCHY, found {first[:40]!r}")
    root = tokens.next("ROOT")
    if root != "ROOT":
        raise tokens.error(f"expected ROOT, found {root!r}")
    tree = _Tree([], [], [], [], [])
    # An explicit stack of open joints, not recursion: a deep hostile chain cannot overflow it.
    stack = [_open_joint("ROOT", tokens, tree, -1)]
    while stack:
        token = tokens.next(f"'}}' closing {tree.names[stack[-1]]!r}")
        if token == "}":
            if tree.offsets[stack[-1]] is None:
                raise tokens.error(f"expected an OFFSET in {tree.names[stack[-1]]!r}, found none")
            stack.pop()
        elif token in ("JOINT", "End") and not tree.end_sites[stack[-1]]:
            stack.append(_open_joint(token, tokens, tree, stack[-1]))
        else:
            _joint_statement(token, tokens, tree, stack[-1])
    after = tokens.next("MOTION")
    if after != "MOTION":
        problem = "an unbalanced '}'" if after == "}" else repr(after)
        raise tokens.error(f"expected MOTION after the root joint's closing brace, found {problem}")
    return tree


def _motion_header(tokens: _HeaderTokens, channels: int) -> tuple[int, float]:
    """Read ``Frames: N`` and ``Frame Time: t``; check N against the caps and the file size."""
    frames_text = _header_field(tokens, r"Frames\s*:\s*(\S+)", "'Frames: N'")
    time_text = _header_field(tokens, r"Frame\s+Time\s*:\s*(\S+)", "'Frame Time: seconds'")
    if not frames_text.isdigit():
        raise tokens.error(f"expected a whole number of frames, found {frames_text!r}")
    frames = int(frames_text)
    frame_time = _number(time_text, "the frame time", tokens)
    if not FRAME_TIME_RANGE[0] <= frame_time <= FRAME_TIME_RANGE[1]:
        raise tokens.error(
            f"expected a positive frame time of {FRAME_TIME_RANGE[0]:g}-{FRAME_TIME_RANGE[1]:g} seconds "
            f"({1 / FRAME_TIME_RANGE[0]:g} to {1 / FRAME_TIME_RANGE[1]:g} frames per second), "
            f"found {time_text}"
        )
    if frames == 0:
        raise tokens.error("expected at least one frame, found 'Frames: 0'")
    if channels == 0:
        raise tokens.error("expected at least one channel in the hierarchy, found none")
    if frames * channels > MAX_VALUES:
        raise tokens.error(
            f"expected at most {MAX_VALUES:,} values, found {frames:,} frames x {channels} channels"
        )
    return frames, frame_time


def _header_field(tokens: _HeaderTokens, pattern: str, expected: str) -> str:
    if tokens.pending:
        raise tokens.error(
            f"expected MOTION alone on its line, found {' '.join(tokens.pending)!r} after it"
        )
    while (text := tokens.readline()) is not None and not text.strip():
        pass
    match = re.fullmatch(pattern, (text or "").strip())
    if match is None:
        raise tokens.error(
            f"expected {expected}, found {(text or 'the end of the file').strip()[:60]!r}"
        )
    return match.group(1)


def _check_room(path: Path, tokens: _HeaderTokens, frames: int, channels: int) -> None:
    """Refuse a declared frame count that the rest of the file is too small to hold: each value
    takes at least one character and one separator."""
    left = path.stat().st_size - tokens.bytes_read
    needed = frames * max(2 * channels, 1) - 1
    if left < needed:
        raise tokens.error(
            f"expected at least {needed:,} bytes for {frames:,} frames x {channels} channels, "
            f"found {left:,} bytes left in the file"
        )


def _parse_row(line: bytes, row: np.ndarray, where: str) -> None:
    fields = line.split()
    if len(fields) != row.size:
        raise UserError(f"{where}: expected {row.size} values, found {len(fields)}")
    try:
        row[:] = [float(x) for x in fields]
    except ValueError:
        bad = next(x for x in fields if not _is_float(x))
        raise UserError(
            f"{where}: expected numbers, found {bad[:40].decode('latin-1')!r}"
        ) from None
    if not np.isfinite(row).all():
        column = int(np.flatnonzero(~np.isfinite(row))[0])
        raise UserError(
            f"{where}: expected finite values, found {fields[column].decode('latin-1')!r} in column "
            f"{column + 1}"
        )


def _is_float(text: bytes) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_frames(
    stream: BinaryIO, frames: int, channels: int, where: str, first_line: int
) -> np.ndarray:
    values = np.empty((frames, channels), np.float64)
    line_no, frame = first_line, 0
    for line in stream:
        line_no += 1
        if not line.strip():
            continue  # blank lines (a trailing newline, CRLF pairs) carry no frame
        if frame == frames:
            raise UserError(
                f"{where}:{line_no}: expected {frames} frames as 'Frames' declares, found more lines"
            )
        _parse_row(line, values[frame], f"{where}:{line_no}: frame {frame + 1}")
        frame += 1
    if frame < frames:
        raise UserError(f"{where}: expected {frames} frames as 'Frames' declares, found {frame}")
    return values


def _with_newlines(stream: BinaryIO) -> BinaryIO:
    """``stream`` itself, or, for a file whose first 64 KiB hold carriage returns and no newline
    (classic Mac OS exporters), its bytes with those turned into newlines (the same length; such
    a file is read whole, at most its size in memory)."""
    head = stream.read(1 << 16)
    stream.seek(0)
    if b"\r" not in head or b"\n" in head:
        return stream
    return io.BytesIO(stream.read().replace(b"\r", b"\n"))


def read_bvh(path: str | Path) -> BvhMotion:
    """Read a BVH file; every problem with the file raises :class:`UserError` naming it."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"expected a BVH file at {path}, found none")
    with path.open("rb") as stream:
        stream = _with_newlines(stream)
        tokens = _HeaderTokens(stream, str(path))
        tree = _parse_hierarchy(tokens)
        channels = sum(len(c) for c in tree.channels)
        frames, frame_time = _motion_header(tokens, channels)
        _check_room(path, tokens, frames, channels)
        values = _read_frames(stream, frames, channels, str(path), tokens.line)
    skeleton = BvhSkeleton(
        names=tuple(tree.names),
        parents=np.array(tree.parents, np.int64),
        offsets=np.array(tree.offsets, np.float64).reshape(-1, 3),
        end_sites=np.array(tree.end_sites, bool),
    )
    return BvhMotion(
        skeleton=skeleton, channels=tuple(tree.channels), frame_time=frame_time, values=values
    )


# ----------------------------------------------------------------------------------------------
# Forward kinematics


def local_rotations(motion: BvhMotion) -> np.ndarray:
    """(F, J, 3, 3) local rotation matrices from the rotation channels (identity without any)."""
    from scipy.spatial.transform import (
        Rotation,  # imported here: 0.2 s that `posemoe infer` need not pay
    )

    out = np.broadcast_to(np.eye(3), (motion.num_frames, len(motion.names), 3, 3)).copy()
    for joint, names in enumerate(motion.channels):
        axes = "".join(n[0] for n in names if n in ROTATION_CHANNELS)
        if not axes:
            continue
        columns = [
            c for c, n in zip(motion.channel_columns(joint), names) if n in ROTATION_CHANNELS
        ]
        # Upper-case axes make scipy compose intrinsically: "ZXY" -> Rz @ Rx @ Ry.
        out[:, joint] = Rotation.from_euler(
            axes, motion.values[:, columns], degrees=True
        ).as_matrix()
    return out


def local_translations(motion: BvhMotion) -> np.ndarray:
    """(F, J, 3) translations from parent to joint: the offset, with each position channel
    present replacing its coordinate. File units."""
    out = np.broadcast_to(motion.offsets, (motion.num_frames, len(motion.names), 3)).copy()
    for joint, names in enumerate(motion.channels):
        for column, name in zip(motion.channel_columns(joint), names):
            if name in POSITION_CHANNELS:
                out[:, joint, POSITION_CHANNELS.index(name)] = motion.values[:, column]
    return out


def compose(
    parents: np.ndarray, rotations: np.ndarray, translations: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """World positions (F, J, 3) and rotations (F, J, 3, 3) from local rotations (F, J, 3, 3)
    and translations (F, J, 3); ``parents[j] < j``, -1 for the root."""
    world_rot = np.empty_like(rotations)
    world_pos = np.empty_like(translations)
    for joint, parent in enumerate(parents):
        if parent < 0:
            world_rot[:, joint], world_pos[:, joint] = rotations[:, joint], translations[:, joint]
            continue
        world_pos[:, joint] = world_pos[:, parent] + np.einsum(
            "fij,fj->fi", world_rot[:, parent], translations[:, joint]
        )
        world_rot[:, joint] = world_rot[:, parent] @ rotations[:, joint]
    return world_pos, world_rot


def world_transforms(motion: BvhMotion) -> tuple[np.ndarray, np.ndarray]:
    """World positions (F, J, 3), file units, and world rotations (F, J, 3, 3) of every joint."""
    return compose(motion.parents, local_rotations(motion), local_translations(motion))


def forward_kinematics(motion: BvhMotion) -> np.ndarray:
    """(F, J, 3) world positions of every joint, end sites included, in the file's units and axes."""
    return world_transforms(motion)[0]


# ----------------------------------------------------------------------------------------------
# Writing


def _check_skeleton(skeleton: BvhSkeleton, where: str) -> None:
    count = skeleton.num_joints
    parents = np.asarray(skeleton.parents)
    if count == 0 or count > MAX_JOINTS:
        raise UserError(f"{where}: expected 1 to {MAX_JOINTS} joints, found {count}")
    shapes = parents.shape, np.shape(skeleton.offsets), np.shape(skeleton.end_sites)
    if shapes != ((count,), (count, 3), (count,)):
        raise UserError(
            f"{where}: expected parents ({count},), offsets ({count}, 3) and end_sites ({count},) for "
            f"{count} names, found {shapes[0]}, {shapes[1]} and {shapes[2]}"
        )
    if parents[0] != -1 or (parents[1:] < 0).any() or (parents[1:] >= np.arange(1, count)).any():
        raise UserError(
            f"{where}: expected parents[0] = -1 and 0 <= parents[j] < j otherwise, "
            f"found {parents.tolist()}"
        )
    if skeleton.end_sites[0] or np.isin(np.flatnonzero(skeleton.end_sites), parents).any():
        raise UserError(f"{where}: expected end sites to be leaves other than the root")
    bad = [n for n in skeleton.names if not n or any(c.isspace() or c in "{}" for c in n)]
    if bad:
        raise UserError(f"{where}: expected joint names without spaces or braces, found {bad[:3]}")
    if len(set(skeleton.names)) != count:
        raise UserError(
            f"{where}: expected unique joint names, found {count - len(set(skeleton.names))} repeated"
        )
    if not np.isfinite(skeleton.offsets).all():
        raise UserError(f"{where}: expected finite offsets")


def _hierarchy_lines(skeleton: BvhSkeleton, order: str) -> list[str]:
    """HIERARCHY text, depth first, children in index order."""
    rotation = " ".join(f"{axis}rotation" for axis in order)
    depth = np.zeros(skeleton.num_joints, np.int64)
    for joint, parent in enumerate(skeleton.parents[1:], start=1):
        depth[joint] = depth[parent] + 1
    lines, open_joints = ["HIERARCHY"], []
    for joint in _depth_first(skeleton.parents):
        while open_joints and depth[open_joints[-1]] >= depth[joint]:
            lines.append("  " * depth[open_joints.pop()] + "}")
        pad = "  " * depth[joint]
        if skeleton.end_sites[joint]:
            lines.append(f"{pad}End Site")
        else:
            lines.append(f"{pad}{'ROOT' if joint == 0 else 'JOINT'} {skeleton.names[joint]}")
        x, y, z = skeleton.offsets[joint]
        lines.extend([f"{pad}{{", f"{pad}  OFFSET {x:.6f} {y:.6f} {z:.6f}"])
        if not skeleton.end_sites[joint]:
            lines.append(
                f"{pad}  CHANNELS "
                + (f"6 Xposition Yposition Zposition {rotation}" if joint == 0 else f"3 {rotation}")
            )
        open_joints.append(joint)
    lines.extend("  " * depth[j] + "}" for j in reversed(open_joints))
    return lines


def _depth_first(parents: np.ndarray) -> list[int]:
    children: list[list[int]] = [[] for _ in parents]
    for joint, parent in enumerate(parents[1:], start=1):
        children[parent].append(joint)
    order, stack = [], [0]
    while stack:
        joint = stack.pop()
        order.append(joint)
        stack.extend(reversed(children[joint]))
    return order


def _euler_values(rotations: np.ndarray, order: str, where: str) -> np.ndarray:
    """(F, J, 3, 3) rotation matrices -> (F, J, 3) intrinsic Euler angles in degrees."""
    from scipy.spatial.transform import Rotation

    frames, joints = rotations.shape[:2]
    flat = rotations.reshape(-1, 3, 3)
    error = np.abs(flat @ flat.transpose(0, 2, 1) - np.eye(3)).max(initial=0.0)
    if not np.isfinite(flat).all() or error > 1e-4 or (np.linalg.det(flat) < 0).any():
        raise UserError(
            f"{where}: expected rotation matrices (orthonormal, det +1), found deviation {error:.2g}"
        )
    with warnings.catch_warnings():
        # At gimbal lock scipy picks one of the equivalent angle triples; any of them composes
        # back to the same matrix, which is all a file needs.
        warnings.filterwarnings("ignore", message="Gimbal lock detected")
        angles = Rotation.from_matrix(flat).as_euler(order, degrees=True)
    return angles.reshape(frames, joints, 3)


def _frame_values(
    skeleton: BvhSkeleton, rotations: np.ndarray, root_positions: np.ndarray, order: str, where: str
) -> np.ndarray:
    """(F, C) channel values in file order: root position, then each joint's rotation."""
    joints = [j for j in _depth_first(skeleton.parents) if not skeleton.end_sites[j]]
    angles = _euler_values(rotations[:, joints], order, where)
    values = np.concatenate([root_positions, angles.reshape(len(angles), -1)], axis=1)
    return np.round(values, 6) + 0.0  # + 0.0 turns -0.0 into 0.0 so files do not show "-0.000000"


def write_bvh(
    path: str | Path,
    skeleton: BvhSkeleton,
    rotations: np.ndarray,
    root_positions: np.ndarray,
    *,
    frame_time: float,
    order: str = "ZXY",
) -> Path:
    """Write a BVH file atomically (a temporary file in the same folder, then ``os.replace``).

    ``rotations`` (F, J, 3, 3) are local rotation matrices (entries of end sites are ignored),
    ``root_positions`` (F, 3) in the skeleton's units, ``frame_time`` in seconds. The root gets
    ``Xposition Yposition Zposition`` and rotations in ``order``; other joints the 3 rotation
    channels; end sites none. Joints are written depth first (the order :func:`read_bvh` gives).
    """
    path = Path(path)
    where = str(path)
    _check_skeleton(skeleton, where)
    order = order.upper()
    if sorted(order) != ["X", "Y", "Z"]:
        raise UserError(
            f"{where}: expected a rotation order that is a permutation of XYZ, found {order!r}"
        )
    rotations, root_positions = (
        np.asarray(rotations, np.float64),
        np.asarray(root_positions, np.float64),
    )
    frames = len(root_positions)
    if (
        rotations.shape != (frames, skeleton.num_joints, 3, 3)
        or root_positions.shape != (frames, 3)
        or frames == 0
    ):
        raise UserError(
            f"{where}: expected rotations (F, {skeleton.num_joints}, 3, 3) and root_positions (F, 3) "
            f"with F >= 1, found {rotations.shape} and {root_positions.shape}"
        )
    if not np.isfinite(root_positions).all():
        raise UserError(f"{where}: expected finite root positions")
    if not (np.isfinite(frame_time) and frame_time > 0):
        raise UserError(f"{where}: expected a positive frame time in seconds, found {frame_time}")
    values = _frame_values(skeleton, rotations, root_positions, order, where)
    header = _hierarchy_lines(skeleton, order) + [
        "MOTION",
        f"Frames: {frames}",
        f"Frame Time: {frame_time:.9g}",
    ]
    _write_atomically(path, "\n".join(header) + "\n", values)
    return path


def _write_atomically(path: Path, header: str, values: np.ndarray) -> None:
    temporary = replacing_stale(path)
    try:
        with open(temporary, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(header)
            np.savetxt(stream, values, fmt="%.6f", delimiter=" ")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
