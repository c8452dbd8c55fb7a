"""Hostile, malformed and extreme input files. Each builder writes one file (or folder) into the
directory it is given and returns its path; tables map a case name to its builder and to what a
reader must make of it: ``ERROR`` (a :class:`~posemoe.errors.UserError` or ``FileNotFoundError``
naming the file) or ``OK`` (a result, checked by the test)."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

ERROR, OK = "error", "ok"
Builder = Callable[[Path], Path]


# ---------------------------------------------------------------------------------------------
# Valid inputs the hostile ones are made from


def person_track(
    frames: int = 60, seed: int = 0, *, x: float = 320.0, scale: float = 1.0
) -> np.ndarray:
    """(T, 17, 3) COCO-17 pixels + confidence: one person walking slowly across a 640x480 frame."""
    rng = np.random.default_rng(seed)
    body = (
        np.array(
            [
                [0, -70],
                [-4, -74],
                [4, -74],
                [-8, -72],
                [8, -72],
                [-20, -50],
                [20, -50],
                [-26, -20],
                [26, -20],
                [-28, 8],
                [28, 8],
                [-12, 10],
                [12, 10],
                [-13, 55],
                [13, 55],
                [-14, 100],
                [14, 100],
            ],
            np.float64,
        )
        * scale
    )
    t = np.arange(frames)[:, None, None]
    xy = body[None] + np.array([x, 250.0]) + np.concatenate([1.5 * t, 2 * np.sin(t / 5)], -1)
    xy += rng.normal(0, 0.5, xy.shape)
    return np.concatenate([xy, np.full((frames, 17, 1), 0.9)], -1)


def coco_records(track: np.ndarray, first_id: int = 0) -> list[dict]:
    return [
        {
            "image_id": first_id + t,
            "category_id": 1,
            "keypoints": [round(float(v), 3) for v in p.ravel()],
            "score": 0.9,
        }
        for t, p in enumerate(track)
    ]


def _write_json(path: Path, value: object) -> Path:
    path.write_text(json.dumps(value, allow_nan=True))
    return path


def _json_case(value: object) -> Builder:
    return lambda d: _write_json(d / "dets.json", value)


def _text_case(text: str | bytes, name: str = "dets.json") -> Builder:
    def build(d: Path) -> Path:
        path = d / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return path

    return build


def _with(records: list[dict], index: int, **changes: object) -> list[dict]:
    out = [dict(r) for r in records]
    out[index].update(changes)
    return out


def _joint_set(records: list[dict], frame: int, position: int, value: float) -> list[dict]:
    out = [dict(r) for r in records]
    keypoints = list(out[frame]["keypoints"])
    keypoints[position] = value
    out[frame]["keypoints"] = keypoints
    return out


GOOD = coco_records(person_track())
_MM = [
    {"frame_id": 0, "instances": [{"keypoints": [[1.0, 2.0]] * 17, "keypoint_scores": [0.9] * 17}]}
]

# COCO / MMPose / AlphaPose JSON (read as COCO-17 unless the case name starts with "halpe")
KEYPOINT_JSON: dict[str, tuple[Builder, str]] = {
    "not-json": (_text_case("{oops"), ERROR),
    "empty-file": (_text_case(""), ERROR),
    "binary": (_text_case(b"\x00\xff\xfe\x80garbage"), ERROR),
    "utf16": (_text_case(json.dumps(GOOD[:2]).encode("utf-16")), ERROR),
    "nested-100000-deep": (_text_case("[" * 100_000 + "]" * 100_000), ERROR),
    "integer-of-5000-digits": (_text_case("[" + "9" * 5000 + "]"), ERROR),
    "top-null": (_json_case(None), ERROR),
    "top-object": (_json_case({}), ERROR),
    "top-string": (_json_case("dets"), ERROR),
    "top-number": (_json_case(1), ERROR),
    "empty-list": (_json_case([]), ERROR),
    "list-of-null": (_json_case([None]), ERROR),
    "list-of-lists": (_json_case([[1, 2]]), ERROR),
    "list-of-strings": (_json_case(["a"]), ERROR),
    "no-image-id": (_json_case([{"keypoints": GOOD[0]["keypoints"]}]), ERROR),
    "no-keypoints": (_json_case([{"image_id": 1}]), ERROR),
    "image-id-list": (_json_case(_with(GOOD, 3, image_id=[1, 2])), ERROR),
    "image-id-object": (_json_case(_with(GOOD, 3, image_id={"a": 1})), ERROR),
    "image-id-null": (_json_case(_with(GOOD, 3, image_id=None)), ERROR),
    "image-id-float": (_json_case(_with(GOOD, 3, image_id=1.5)), ERROR),
    "image-id-bool": (_json_case(_with(GOOD, 3, image_id=True)), ERROR),
    "keypoints-object": (_json_case(_with(GOOD, 3, keypoints={"a": 1})), ERROR),
    "keypoints-string": (_json_case(_with(GOOD, 3, keypoints="1,2,3")), ERROR),
    "keypoints-null": (_json_case(_with(GOOD, 3, keypoints=None)), ERROR),
    "keypoints-number": (_json_case(_with(GOOD, 3, keypoints=5)), ERROR),
    "keypoints-strings": (_json_case(_with(GOOD, 3, keypoints=["a"] * 51)), ERROR),
    "keypoints-ragged": (_json_case(_with(GOOD, 3, keypoints=[[1, 2], [3]])), ERROR),
    "keypoints-objects": (_json_case(_with(GOOD, 3, keypoints=[{"x": 1}] * 51)), ERROR),
    "keypoints-50": (_json_case(_with(GOOD, 3, keypoints=[1.0] * 50)), ERROR),
    "keypoints-52": (_json_case(_with(GOOD, 3, keypoints=[1.0] * 52)), ERROR),
    "keypoints-empty": (_json_case(_with(GOOD, 3, keypoints=[])), ERROR),
    "mmpose-instances-null": (_json_case([{"frame_id": 0, "instances": None}]), ERROR),
    "mmpose-instances-object": (_json_case([{"frame_id": 0, "instances": {"a": 1}}]), ERROR),
    "mmpose-instance-null": (_json_case([{"frame_id": 0, "instances": [None]}]), ERROR),
    "mmpose-instance-empty": (_json_case([{"frame_id": 0, "instances": [{}]}]), ERROR),
    "mmpose-keypoints-flat": (_json_case([{"instances": [{"keypoints": [1.0] * 34}]}]), ERROR),
    "mmpose-keypoints-3d": (
        _json_case([{"instances": [{"keypoints": [[1.0, 2.0, 3.0]] * 17}]}]),
        ERROR,
    ),
    "mmpose-scores-short": (
        _json_case(
            [{"instances": [{"keypoints": [[1.0, 2.0]] * 17, "keypoint_scores": [1.0] * 5}]}]
        ),
        ERROR,
    ),
    "mmpose-scores-strings": (
        _json_case(
            [{"instances": [{"keypoints": [[1.0, 2.0]] * 17, "keypoint_scores": ["high"] * 17}]}]
        ),
        ERROR,
    ),
    "mmpose-second-frame-number": (_json_case(_MM + [5]), ERROR),
    "mmpose-second-frame-no-instances": (_json_case(_MM + [{"frame_id": 1}]), ERROR),
    # values no detector gives: the joint counts as missing and is reported; the person is still lifted
    "inf-coordinate": (_json_case(_joint_set(GOOD, 5, 3, float("inf"))), OK),
    "minus-inf-coordinate": (_json_case(_joint_set(GOOD, 5, 4, float("-inf"))), OK),
    "nan-coordinate": (_json_case(_joint_set(GOOD, 5, 3, float("nan"))), OK),
    "1e400-coordinate": (
        _text_case(json.dumps(_joint_set(GOOD, 5, 3, 12345.678)).replace("12345.678", "1e400")),
        OK,
    ),
    "1e30-coordinate": (_json_case(_joint_set(GOOD, 5, 3, 1e30)), OK),
    "minus-1e30-coordinate": (_json_case(_joint_set(GOOD, 5, 4, -1e30)), OK),
    "nan-confidence": (_json_case(_joint_set(GOOD, 5, 5, float("nan"))), OK),
    "confidence-5": (_json_case(_joint_set(GOOD, 5, 5, 5.0)), OK),
    "confidence-negative": (_json_case(_joint_set(GOOD, 5, 5, -1.0)), OK),
    "1e30-in-a-second-person": (
        _json_case(
            GOOD + [{"image_id": 7, "keypoints": [1e30, 1e30, 1.0] + GOOD[7]["keypoints"][3:]}]
        ),
        OK,
    ),
    "1e30-bystander-throughout": (
        _json_case(
            GOOD + [dict(r, keypoints=[1e30, 1e30, 1.0] + [5.0, 5.0, 1.0] * 16) for r in GOOD]
        ),
        OK,
    ),
    "sparse-ids-0-and-50000000": (
        _json_case([_with(GOOD, 0)[0], dict(GOOD[1], image_id=50_000_000)]),
        OK,
    ),
    "ids-with-30-digits": (
        _json_case([dict(r, image_id=f"frame_{'1' * 30}{t}.jpg") for t, r in enumerate(GOOD)]),
        OK,
    ),
    "halpe-keypoints-51": (_json_case(GOOD), ERROR),
}


def _openpose_case(people: object, raw: str | None = None) -> Builder:
    def build(d: Path) -> Path:
        folder = d / "openpose"
        folder.mkdir()
        good = person_track(3)
        for t in range(3):
            body = np.concatenate([good[t], good[t, :8]], 0).ravel().tolist()
            (folder / f"clip_{t:012d}_keypoints.json").write_text(
                json.dumps({"people": [{"pose_keypoints_2d": body}]})
            )
        bad = folder / "clip_000000000003_keypoints.json"
        bad.write_text(raw if raw is not None else json.dumps({"people": people}, allow_nan=True))
        return folder

    return build


def _openpose_dir_entry(d: Path) -> Path:
    folder = _openpose_case([])(d)
    (folder / "clip_000000000004_keypoints.json").mkdir()
    return folder


def _openpose_empty(d: Path) -> Path:
    folder = d / "openpose"
    folder.mkdir()
    (folder / "readme.txt").write_text("no keypoints here")
    return folder


OPENPOSE: dict[str, tuple[Builder, str]] = {
    "people-null": (_openpose_case(None), ERROR),
    "people-object": (_openpose_case({"a": 1}), ERROR),
    "person-null": (_openpose_case([None]), ERROR),
    "person-string": (_openpose_case(["person"]), ERROR),
    "pose-keypoints-short": (_openpose_case([{"pose_keypoints_2d": [1.0] * 10}]), ERROR),
    "pose-keypoints-strings": (_openpose_case([{"pose_keypoints_2d": ["a"] * 75}]), ERROR),
    "pose-keypoints-object": (_openpose_case([{"pose_keypoints_2d": {"x": 1}}]), ERROR),
    "file-not-json": (_openpose_case(None, raw="{oops"), ERROR),
    "file-is-a-folder": (_openpose_dir_entry, ERROR),
    "no-keypoint-files": (_openpose_empty, ERROR),
    "inf-coordinate": (_openpose_case([{"pose_keypoints_2d": [float("inf")] * 75}]), OK),
}


# ---------------------------------------------------------------------------------------------
# .npy / .npz


def npy_bytes(
    shape: tuple, descr: str = "<f8", data: bytes | None = None, *, fortran: bool = False
) -> bytes:
    """A .npy file whose header declares ``shape`` / ``descr``, followed by ``data`` (default: zeros
    of the declared size)."""
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        head, {"descr": descr, "fortran_order": fortran, "shape": shape}
    )
    if data is None:
        data = bytes(int(np.prod(shape)) * np.dtype(descr).itemsize)
    return head.getvalue() + data


def _bytes_case(content: bytes | Callable[[], bytes], name: str) -> Builder:
    def build(d: Path) -> Path:
        path = d / name
        path.write_bytes(content() if callable(content) else content)
        return path

    return build


def _save_npy(
    array: np.ndarray | Callable[[], np.ndarray], name: str = "keypoints.npy", **kw
) -> Builder:
    def build(d: Path) -> Path:
        path = d / name
        np.save(path, array() if callable(array) else array, **kw)
        return path

    return build


def _save_npz(name: str = "keypoints.npz", **arrays: object) -> Builder:
    def build(d: Path) -> Path:
        path = d / name
        with path.open("wb") as f:
            np.savez(f, **{k: v() if callable(v) else v for k, v in arrays.items()})
        return path

    return build


def _zip_members(
    name: str, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED
) -> Builder:
    def build(d: Path) -> Path:
        path = d / name
        with zipfile.ZipFile(path, "w", method) as z:
            for member, data in members.items():
                z.writestr(member, data)
        return path

    return build


def _pickled(value: object) -> bytes:
    import pickle

    holder = np.empty((), dtype=object)
    holder[()] = value
    return npy_bytes((), "|O", pickle.dumps(holder, protocol=3))


class _Exploit:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned > pwned.txt",))


def zip_bomb(path: Path, member: str = "keypoints.npy", unpacked: int = 1_200_000_000) -> Path:
    """A ~1.1 MB .npz whose one member unpacks to ``unpacked`` bytes of zeros (a (N,) float32 .npy)."""
    path.write_bytes(_zip_bomb_bytes(member, unpacked))
    return path


@functools.lru_cache(maxsize=4)
def _zip_bomb_bytes(member: str, unpacked: int) -> bytes:
    """Made without ever holding the unpacked bytes: one flushed deflate block of zeros, repeated."""
    header = npy_bytes(((unpacked - 128) // 4,), "<f4", b"")
    assert len(header) == 128
    chunk = bytes(16 * 2**20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = deflate.compress(header) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    repeats, rest = divmod(unpacked - len(header), len(chunk))
    tail = deflate.compress(bytes(rest)) + deflate.flush()
    crc = zlib.crc32(header)
    for _ in range(repeats):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(bytes(rest), crc)
    size = len(head) + repeats * len(block) + len(tail)
    name = member.encode()
    local = (
        struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, size, unpacked, len(name), 0)
        + name
    )
    central = (
        struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            20,
            20,
            0,
            8,
            0,
            0,
            crc,
            size,
            unpacked,
            len(name),
            0,
            0,
            0,
            0,
            0,
            0,
        )
        + name
    )
    data = local + head + block * repeats + tail
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(data), 0)
    return data + central + end


def _valid_npz_bytes() -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, keypoints=person_track(20).astype(np.float32))
    return buffer.getvalue()


def _mutated(seed: int) -> Callable[[], bytes]:
    """A valid .npz with a few bytes flipped (odd seeds) or cut short (even seeds)."""

    def make() -> bytes:
        data = bytearray(_valid_npz_bytes())
        rng = np.random.default_rng(seed)
        if seed % 2:
            for i in rng.integers(0, len(data), 1 + seed % 5):
                data[i] ^= int(rng.integers(1, 256))
            return bytes(data)
        return bytes(data[: int(rng.integers(0, len(data)))])

    return make


def crowd(frames: int, people: int) -> np.ndarray:
    """(T, P, 17, 3): ``people`` walkers scattered over a 640x480 frame (as many as a hostile file likes)."""
    shift = np.random.default_rng(0).uniform(-300, 300, (1, people, 1, 2))
    out = np.repeat(person_track(frames)[:, None], people, 1)
    out[..., :2] += shift
    return out


def _one_value(track: np.ndarray, value: float) -> np.ndarray:
    track = track.copy()
    track[4, 9, 0] = value
    return track


# keypoint arrays for --layout coco17 (17 joints)
KEYPOINT_ARRAYS: dict[str, tuple[Builder, str]] = {
    "npy-text": (_bytes_case(b"x,y\n1,2\n", "keypoints.npy"), ERROR),
    "npy-empty-file": (_bytes_case(b"", "keypoints.npy"), ERROR),
    "npy-truncated-data": (
        _bytes_case(npy_bytes((60, 17, 3), data=bytes(800)), "keypoints.npy"),
        ERROR,
    ),
    "npy-shape-10^12-frames": (
        _bytes_case(npy_bytes((10**12, 17, 3), data=b""), "keypoints.npy"),
        ERROR,
    ),
    "npy-negative-shape": (_bytes_case(npy_bytes((-5, 17, 3), data=b""), "keypoints.npy"), ERROR),
    "npy-header-garbage": (
        _bytes_case(b"\x93NUMPY\x01\x00\x10\x00{'descr': garbage}\n", "keypoints.npy"),
        ERROR,
    ),
    "npy-header-not-dict": (
        _bytes_case(b"\x93NUMPY\x01\x00\x10\x00[1, 2, 3, 4, 5]\n", "keypoints.npy"),
        ERROR,
    ),
    "npy-version-9": (_bytes_case(b"\x93NUMPY\x09\x00" + bytes(100), "keypoints.npy"), ERROR),
    "npy-object-pickle": (_bytes_case(lambda: _pickled({"a": 1}), "keypoints.npy"), ERROR),
    "npy-strings": (_save_npy(np.full((4, 17, 2), "ab")), ERROR),
    "npy-complex": (_save_npy(np.ones((4, 17, 2), complex)), ERROR),
    "npy-bool": (_save_npy(np.ones((4, 17, 2), bool)), ERROR),
    "npy-structured": (_save_npy(np.zeros((4, 17), [("x", "f4"), ("y", "f4")])), ERROR),
    "npy-2d": (_save_npy(np.ones((60, 51))), ERROR),
    "npy-12-joints": (_save_npy(np.ones((60, 12, 2))), ERROR),
    "npy-4-channels": (_save_npy(np.ones((60, 17, 4))), ERROR),
    "npy-5d": (_save_npy(np.ones((2, 2, 2, 17, 2))), ERROR),
    "npy-no-frames": (_save_npy(np.ones((0, 17, 2))), ERROR),
    "npy-is-a-zip": (_bytes_case(_valid_npz_bytes, "keypoints.npy"), ERROR),
    "npy-all-nan": (_save_npy(np.full((10, 17, 3), np.nan)), ERROR),
    "npz-text": (_bytes_case(b"not a zip", "keypoints.npz"), ERROR),
    "npz-empty-file": (_bytes_case(b"", "keypoints.npz"), ERROR),
    "npz-empty-zip": (_zip_members("keypoints.npz", {}), ERROR),
    "npz-no-keypoints-key": (_save_npz(poses=np.ones((3, 17, 3))), ERROR),
    "npz-keypoints-pickled-dict": (
        _zip_members("keypoints.npz", {"keypoints.npy": _pickled({"S1": [1, 2]})}),
        ERROR,
    ),
    "npz-keypoints-pickled-exploit": (
        _zip_members("keypoints.npz", {"keypoints.npy": _pickled(_Exploit())}),
        ERROR,
    ),
    "npz-member-not-npy": (_zip_members("keypoints.npz", {"keypoints.npy": b"hello"}), ERROR),
    "npz-header-lies": (
        _zip_members("keypoints.npz", {"keypoints.npy": npy_bytes((10**9, 17, 3), data=bytes(64))}),
        ERROR,
    ),
    "npz-stored-truncated": (
        _zip_members(
            "keypoints.npz",
            {"keypoints.npy": npy_bytes((60, 17, 3), data=bytes(99))},
            zipfile.ZIP_STORED,
        ),
        ERROR,
    ),
    "npz-bomb-1.2GB": (lambda d: zip_bomb(d / "keypoints.npz"), ERROR),
    **{
        f"npz-mutation-{seed}": (_bytes_case(_mutated(seed), "keypoints.npz"), ERROR + "|" + OK)
        for seed in range(12)
    },
    "npy-fortran-order": (_save_npy(lambda: np.asfortranarray(person_track(20))), OK),
    "npy-inf-coordinate": (_save_npy(lambda: _one_value(person_track(20), np.inf)), OK),
    "npy-1e30-coordinate": (_save_npy(lambda: _one_value(person_track(20), 1e30)), OK),
    "npy-float16": (_save_npy(lambda: person_track(20).astype(np.float16)), OK),
    "npy-int16-two-channels": (_save_npy(lambda: person_track(20)[..., :2].astype(np.int16)), OK),
    "npz-people-with-nan": (
        _save_npz(keypoints=lambda: np.stack([person_track(20), np.full((20, 17, 3), np.nan)], 1)),
        OK,
    ),
    "npz-image-size-10^12": (
        _save_npz(keypoints=lambda: person_track(20), image_size=np.array([10**12, 10**12])),
        ERROR,
    ),
    "npz-image-size-2^31": (
        _save_npz(keypoints=lambda: person_track(20), image_size=np.array([2**31, 480])),
        ERROR,
    ),
    "npy-20-frames-x-1000-people": (_save_npy(lambda: crowd(20, 1000)), OK),
}


def ts_bytes(width: int, height: int, frames: int = 30) -> bytes:
    """An MPEG-TS stream of ``frames`` plain grey frames of ``width`` x ``height``."""
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mpegts") as container:
        stream = container.add_stream("mpeg2video", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for t in range(frames):
            image = np.full((height, width, 3), 4 * t, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def joined_streams(d: Path) -> Path:
    """``clip.ts``: 30 frames of 640x360 followed by 30 of 1280x720 (two MPEG-TS files concatenated)."""
    path = d / "clip.ts"
    path.write_bytes(ts_bytes(640, 360) + ts_bytes(1280, 720))
    return path


# ---------------------------------------------------------------------------------------------
# Images


def png_bytes(
    width: int, height: int, *, rows: bytes | None = None, bit_depth: int = 8, colour: int = 2
) -> bytes:
    """A PNG of ``width`` x ``height`` (zeros unless ``rows`` is given), compressed row by row so a
    30000 x 30000 image costs no memory to make."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    channels = {0: 1, 2: 3, 6: 4}[colour]
    if rows is None:  # zeros: one flushed deflate block of many rows, repeated, in a zlib wrapper
        row_bytes = 1 + width * channels * bit_depth // 8
        per_block = max(1, (8 * 2**20) // row_bytes)
        blocks, rest = divmod(height, per_block)
        deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
        zeros = bytes(row_bytes * per_block)
        block = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
        checksum = 1
        for _ in range(blocks):
            checksum = zlib.adler32(zeros, checksum)
        checksum = zlib.adler32(bytes(row_bytes * rest), checksum)
        body = (
            b"\x78\xda"
            + block * blocks
            + deflate.compress(bytes(row_bytes * rest))
            + deflate.flush()
            + struct.pack(">I", checksum)
        )
    else:
        body = zlib.compress(rows)
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


def bmp_header(width: int, height: int) -> bytes:
    """A BMP header declaring ``width`` x ``height`` 24-bit pixels, with no pixel data."""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return struct.pack("<2sIHHI", b"BM", 14 + len(info), 0, 0, 14 + len(info)) + info


def _image(array: np.ndarray, name: str = "photo.png") -> Builder:
    def build(d: Path) -> Path:
        from PIL import Image

        path = d / name
        Image.fromarray(array).save(path)
        return path

    return build


def _truncated_image(name: str) -> Builder:
    def build(d: Path) -> Path:
        path = _image(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8), name)(d)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        return path

    return build


def _folder_named_png(d: Path) -> Path:
    (d / "photo.png").mkdir()
    return d / "photo.png"


PHOTO = np.random.default_rng(3).integers(0, 255, (120, 160, 3), np.uint8)

# HUGE: decoding would need gigabytes (OpenCV segfaults on the first); refused from the header
IMAGES: dict[str, tuple[Builder, str]] = {
    "png-garbage": (_bytes_case(b"\x89PNG broken" * 10, "photo.png"), ERROR),
    "png-empty-file": (_bytes_case(b"", "photo.png"), ERROR),
    "png-truncated": (_truncated_image("photo.png"), ERROR),
    "jpg-truncated": (_truncated_image("photo.jpg"), ERROR),
    "png-zero-width": (
        _bytes_case(
            png_bytes(1, 1).replace(struct.pack(">II", 1, 1), struct.pack(">II", 0, 1), 1),
            "photo.png",
        ),
        ERROR,
    ),
    "png-idat-garbage": (_bytes_case(png_bytes(8, 8, rows=b"\x07" * 50), "photo.png"), ERROR),
    "folder-named-png": (_folder_named_png, ERROR),
    "png-1x1": (_image(np.zeros((1, 1, 3), np.uint8)), OK),
    "png-grey-16bit": (
        _bytes_case(lambda: png_bytes(8, 6, bit_depth=16, colour=0), "photo.png"),
        OK,
    ),
    "png-rgba": (_image(np.zeros((10, 12, 4), np.uint8)), OK),
    "png-ok": (_image(PHOTO), OK),
}
HUGE_IMAGES: dict[str, Builder] = {
    "png-30000x30000-0.9MB": _bytes_case(lambda: png_bytes(30000, 30000, colour=0), "huge.png"),
    "png-100000x100000-header-only": _bytes_case(
        lambda: png_bytes(100000, 100000, rows=b"\x00"), "huge.png"
    ),
    "bmp-60000x60000-header-only": _bytes_case(lambda: bmp_header(60000, 60000), "huge.bmp"),
}


# ---------------------------------------------------------------------------------------------
# ImageSet .npz (posemoe render-bodies / import-images)


def image_set_arrays(count: int = 3, size: int = 8) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "images": rng.integers(0, 255, (count, size, size, 3), np.uint8),
        "poses": rng.normal(0, 0.2, (count, 17, 3)).astype(np.float32),
        "keypoints": rng.uniform(-1, 1, (count, 17, 2)).astype(np.float32),
        "subject": np.array(["S8"]),
        "action": np.array(["Walking 1"]),
        "camera": np.array([0]),
        "length": np.array([count]),
        "source": np.array("render"),
        "layout": np.array("h36m17"),
    }


def _image_set(name: str = "set.npz", **changes: object) -> Builder:
    def build(d: Path) -> Path:
        arrays = image_set_arrays()
        for key, value in changes.items():
            if value is None:
                arrays.pop(key)
            else:
                arrays[key] = value
        path = d / name
        with path.open("wb") as f:
            np.savez(f, **arrays)
        return path

    return build


def _image_set_member(key: str, data: bytes) -> Builder:
    def build(d: Path) -> Path:
        path = _image_set()(d)
        with zipfile.ZipFile(path, "a") as z:
            z.writestr(f"{key}.npy", data)
        return path

    return build


IMAGE_SETS: dict[str, tuple[Builder, str]] = {
    "no-images": (_image_set(images=None), ERROR),
    "no-length": (_image_set(length=None), ERROR),
    "images-float": (_image_set(images=np.zeros((3, 8, 8, 3), np.float32)), ERROR),
    "images-not-square": (_image_set(images=np.zeros((3, 8, 6, 3), np.uint8)), ERROR),
    "images-grey": (_image_set(images=np.zeros((3, 8, 8), np.uint8)), ERROR),
    "poses-nan": (_image_set(poses=np.full((3, 17, 3), np.nan, np.float32)), ERROR),
    "poses-wrong-joints": (_image_set(poses=np.zeros((3, 12, 3), np.float32)), ERROR),
    "poses-strings": (_image_set(poses=np.full((3, 17, 3), "x")), ERROR),
    "keypoints-wrong-count": (_image_set(keypoints=np.zeros((2, 17, 2), np.float32)), ERROR),
    "lengths-do-not-add-up": (_image_set(length=np.array([5])), ERROR),
    "lengths-negative": (
        _image_set(
            length=np.array([4, -1]),
            subject=np.array(["a", "b"]),
            action=np.array(["a", "b"]),
            camera=np.array([0, 0]),
        ),
        ERROR,
    ),
    "lengths-strings": (_image_set(length=np.array(["3"])), ERROR),
    "camera-strings": (_image_set(camera=np.array(["front"])), ERROR),
    "subject-2d": (_image_set(subject=np.array([["S8"]])), ERROR),
    "layout-unknown": (_image_set(layout=np.array("smpl24")), ERROR),
    "layout-pickled-dict": (_image_set_member("layout", _pickled({"name": "h36m17"})), ERROR),
    "images-pickled-exploit": (_image_set_member("images", _pickled(_Exploit())), ERROR),
    "images-bomb-1.2GB": (lambda d: zip_bomb(d / "set.npz", "images.npy"), ERROR),
    "valid": (_image_set(), OK),
}


# ---------------------------------------------------------------------------------------------
# VideoPose3D data folders (data_3d_h36m.npz + data_2d_h36m_gt.npz)


def write_data_dir(
    folder: Path, *, frames: int = 60, change: Callable[[dict, dict], None] | None = None
) -> Path:
    """A small Human3.6M-format data folder (S1 and S8, Walking and Sitting); ``change(positions_3d,
    positions_2d)`` edits the dicts before they are written."""
    from posemoe.datasets.synthetic import write_synthetic_dataset
    from posemoe.io.npz import load_npz, save_npz

    folder.mkdir(parents=True, exist_ok=True)
    write_synthetic_dataset(
        folder, subjects=("S1", "S8"), frames=frames, actions=("Walking", "Sitting"), seed=2
    )
    if change is not None:
        p3 = load_npz(folder / "data_3d_h36m.npz")["positions_3d"]
        entries = load_npz(folder / "data_2d_h36m_gt.npz")
        change(p3, entries["positions_2d"])
        save_npz(folder / "data_3d_h36m.npz", positions_3d=p3)
        save_npz(folder / "data_2d_h36m_gt.npz", **entries)
    return folder


def _set_3d(subject: str, value: float, frame: int = 7) -> Callable[[dict, dict], None]:
    def change(p3: dict, p2: dict) -> None:
        action = min(p3[subject])
        p3[subject][action][frame, 3, 1] = value

    return change


def _set_2d(subject: str, value: float, frame: int = 7) -> Callable[[dict, dict], None]:
    def change(p3: dict, p2: dict) -> None:
        action = min(p2[subject])
        p2[subject][action][1][frame, 5, 0] = value

    return change


def _replace(which: str, build: Callable[[dict], object]) -> Callable[[dict, dict], None]:
    """Replace part of the 3D (``which="3d"``) or 2D dict by ``build(dict)`` in place."""

    def change(p3: dict, p2: dict) -> None:
        target = p3 if which == "3d" else p2
        new = build(target)
        target.clear()
        target.update(new)

    return change


def _data_dir(change: Callable[[dict, dict], None] | None) -> Builder:
    return lambda d: write_data_dir(d / "data", change=change)


def _data_file(name: str, content: bytes | Callable[[Path], Path]) -> Builder:
    def build(d: Path) -> Path:
        folder = write_data_dir(d / "data")
        if callable(content):
            content(folder / name)
        else:
            (folder / name).write_bytes(content)
        return folder

    return build


def _npz_of(**values: object) -> Callable[[Path], Path]:
    def write(path: Path) -> Path:
        from posemoe.io.npz import save_npz

        return save_npz(path, **values)

    return write


def _first_action(p: dict) -> tuple[str, str]:
    return "S1", min(p["S1"])


DATA_DIRS: dict[str, tuple[Builder, str]] = {
    "3d-1e30-joint": (_data_dir(_set_3d("S1", 1e30)), ERROR),
    "3d-1e30-joint-in-val-subject": (_data_dir(_set_3d("S8", 1e30)), ERROR),
    "3d-nan-joint": (_data_dir(_set_3d("S8", float("nan"))), ERROR),
    "3d-inf-joint": (_data_dir(_set_3d("S1", float("inf"))), ERROR),
    "2d-1e30-joint": (_data_dir(_set_2d("S8", 1e30)), ERROR),
    "2d-nan-joint": (_data_dir(_set_2d("S1", float("nan"))), ERROR),
    "3d-not-a-dict": (_data_file("data_3d_h36m.npz", _npz_of(positions_3d=[1, 2, 3])), ERROR),
    "3d-actions-not-a-dict": (_data_dir(_replace("3d", lambda p: {**p, "S1": [1, 2]})), ERROR),
    "3d-action-strings": (
        _data_dir(_replace("3d", lambda p: {**p, "S1": {"Walking": "abc"}})),
        ERROR,
    ),
    "3d-action-ragged-list": (
        _data_dir(_replace("3d", lambda p: {**p, "S1": {"Walking": [[1, 2], [3]]}})),
        ERROR,
    ),
    "3d-action-wrong-shape": (
        _data_dir(_replace("3d", lambda p: {**p, "S1": {"Walking": np.zeros((5, 9))}})),
        ERROR,
    ),
    "3d-integer-action-keys": (
        _data_dir(_replace("3d", lambda p: {**p, "S1": {1: np.zeros((5, 17, 3))}})),
        ERROR,
    ),
    "2d-views-not-a-list": (
        _data_dir(_replace("2d", lambda p: {**p, "S1": {a: "views" for a in p["S1"]}})),
        ERROR,
    ),
    "2d-view-objects": (
        _data_dir(_replace("2d", lambda p: {**p, "S1": {a: [{"x": 1}] * 4 for a in p["S1"]}})),
        ERROR,
    ),
    "2d-missing-subject": (_data_dir(_replace("2d", lambda p: {"S8": p["S8"]})), ERROR),
    "3d-garbage-bytes": (_data_file("data_3d_h36m.npz", b"garbage" * 100), ERROR),
    "3d-bomb-1.2GB": (
        _data_file("data_3d_h36m.npz", lambda p: zip_bomb(p, "positions_3d.npy")),
        ERROR,
    ),
    "2d-pickle-exploit": (
        _data_file("data_2d_h36m_gt.npz", _npz_of(positions_2d=_Exploit())),
        ERROR,
    ),
    "2d-missing-file": (_data_file("data_2d_h36m_gt.npz", lambda p: p.unlink() or p), ERROR),
    "3d-empty-sequence": (
        _data_dir(
            _replace("3d", lambda p: {**p, "S1": {**p["S1"], min(p["S1"]): np.zeros((0, 17, 3))}})
        ),
        ERROR,
    ),
}


# ---------------------------------------------------------------------------------------------
# Weights (.safetensors / .pt)

TINY = {
    "num_frames": 9,
    "dim": 8,
    "heads": 2,
    "expert_hidden": 32,
    "encoder_layers": 1,
    "decoder_layers": 1,
}


def tiny_lifter():
    import torch

    from posemoe.models import create_model

    torch.manual_seed(0)
    return create_model("posemoe-t27-s", **TINY)


def _safetensors(
    config: object = "default",
    *,
    tensors: Callable[[dict], dict] | None = None,
    metadata: dict | None = None,
) -> Builder:
    def build(d: Path) -> Path:
        from safetensors.torch import save_file

        model = tiny_lifter()
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        state = tensors(state) if tensors is not None else state
        meta = {
            "model_config": json.dumps(model.config.to_dict() if config == "default" else config)
        }
        if config is None:
            meta = {}
        meta.update(metadata or {})
        path = d / "weights.safetensors"
        save_file(state, str(path), metadata=meta)
        return path

    return build


def _config(**changes: object) -> dict:
    return tiny_lifter().config.to_dict() | changes


def _pt(payload: Callable[[], object]) -> Builder:
    def build(d: Path) -> Path:
        import torch

        path = d / "weights.pt"
        torch.save(payload(), path)
        return path

    return build


def _checkpoint(**changes: object) -> Callable[[], dict]:
    def make() -> dict:
        model = tiny_lifter()
        payload = {"model_config": model.config.to_dict(), "model": model.state_dict()}
        payload.update({k: v() if callable(v) else v for k, v in changes.items()})
        return payload

    return make


def _safetensors_header(length: int, body: bytes = b"") -> bytes:
    return struct.pack("<Q", length) + body


def _safetensors_lying() -> bytes:
    """A header declaring a 4 MB tensor in a file of a few bytes."""
    header = json.dumps(
        {"w": {"dtype": "F32", "shape": [10**6], "data_offsets": [0, 4 * 10**6]}}
    ).encode()
    return _safetensors_header(len(header), header + bytes(16))


def _big_tensor(state: dict) -> dict:
    import torch

    return state | {"padding": torch.zeros(20 * 2**20 // 4)}


WEIGHTS: dict[str, tuple[Builder, str]] = {
    "st-garbage": (_bytes_case(b"\x01" * 1000, "weights.safetensors"), ERROR),
    "st-empty-file": (_bytes_case(b"", "weights.safetensors"), ERROR),
    "st-header-length-2^60": (
        _bytes_case(_safetensors_header(2**60, b"{}"), "weights.safetensors"),
        ERROR,
    ),
    "st-header-not-json": (
        _bytes_case(_safetensors_header(8, b"notjson!"), "weights.safetensors"),
        ERROR,
    ),
    "st-tensor-offsets-beyond-file": (
        _bytes_case(_safetensors_lying, "weights.safetensors"),
        ERROR,
    ),
    "st-no-metadata": (_safetensors(None), ERROR),
    "st-config-not-json": (_safetensors("default", metadata={"model_config": "{oops"}), ERROR),
    "st-config-string": (_safetensors("posemoe-t27-s"), ERROR),
    "st-config-list": (_safetensors([1, 2, 3]), ERROR),
    "st-config-null": (_safetensors("default", metadata={"model_config": "null"}), ERROR),
    "st-dim-32768-20MB": (_safetensors(_config(dim=32768), tensors=_big_tensor), ERROR),
    "st-dim-string": (_safetensors(_config(dim="8")), ERROR),
    "st-dim-negative": (_safetensors(_config(dim=-8)), ERROR),
    "st-dim-float": (_safetensors(_config(dim=8.5)), ERROR),
    "st-heads-not-dividing-dim": (_safetensors(_config(heads=3)), ERROR),
    "st-unknown-config-field": (_safetensors(_config(colour="red")), ERROR),
    "st-top-k-5-of-4-experts": (_safetensors(_config(top_k=5)), ERROR),
    "st-missing-tensor": (_safetensors(tensors=lambda s: dict(list(s.items())[1:])), ERROR),
    "st-extra-tensor": (
        _safetensors(tensors=lambda s: s | {"extra": next(iter(s.values())).clone()}),
        ERROR,
    ),
    "st-wrong-shape": (
        _safetensors(
            tensors=lambda s: {k: v[..., :1].contiguous() if v.ndim else v for k, v in s.items()}
        ),
        ERROR,
    ),
    "st-pretrained-config-not-json": (
        _safetensors("default", metadata={"pretrained_config": "{oops"}),
        ERROR,
    ),
    "pt-garbage": (_bytes_case(b"\x80\x04garbage" * 50, "weights.pt"), ERROR),
    "pt-empty-file": (_bytes_case(b"", "weights.pt"), ERROR),
    "pt-pickle-exploit": (_pt(lambda: {"model_config": {}, "model": {}, "x": _Exploit()}), ERROR),
    "pt-a-tensor": (_pt(lambda: __import__("torch").zeros(3)), ERROR),
    "pt-no-config": (_pt(_checkpoint(model_config=None)), ERROR),
    "pt-config-string": (_pt(_checkpoint(model_config="posemoe-t27-s")), ERROR),
    "pt-config-dim-32768": (_pt(_checkpoint(model_config=lambda: _config(dim=32768))), ERROR),
    "pt-model-string": (_pt(_checkpoint(model="weights")), ERROR),
    "pt-model-values-strings": (
        _pt(_checkpoint(model=lambda: {k: "x" for k in tiny_lifter().state_dict()})),
        ERROR,
    ),
    "pt-tensors-do-not-fit": (_pt(_checkpoint(model_config=lambda: _config(dim=16))), ERROR),
    "pt-truncated": (
        lambda d: _bytes_case(_pt(_checkpoint())(d).read_bytes()[:3000], "weights.pt")(d),
        ERROR,
    ),
    "st-valid": (_safetensors(), OK),
    "pt-valid": (_pt(_checkpoint()), OK),
}


# ---------------------------------------------------------------------------------------------
# BVH and MPI-INF-3DHP (read-only readers)

BVH = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Spine
  {
    OFFSET 0 10 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 10 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.0333333
0 90 0 0 0 0 0 0 0
1 90 0 0 10 0 0 5 0
"""


def _bvh(text: str | bytes | Callable[[], str]) -> Builder:
    return _bytes_case(
        lambda: (
            (text() if callable(text) else text).encode() if not isinstance(text, bytes) else text
        ),
        "motion.bvh",
    )


def _deep_bvh(depth: int) -> str:
    opening = "".join(
        f"JOINT J{i}\n{{\nOFFSET 0 1 0\nCHANNELS 3 Zrotation Xrotation Yrotation\n"
        for i in range(depth)
    )
    rows = " ".join(["0"] * (6 + 3 * depth))
    return (
        f"HIERARCHY\nROOT Hips\n{{\nOFFSET 0 0 0\nCHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation "
        f"Yrotation\n{opening}"
        + "}\n" * depth
        + f"}}\nMOTION\nFrames: 1\nFrame Time: 0.03\n{rows}\n"
    )


BVHS: dict[str, tuple[Builder, str]] = {
    "empty-file": (_bvh(""), ERROR),
    "binary": (_bvh(b"\x00\xff" * 500), ERROR),
    "utf16": (_bvh(BVH.encode("utf-16")), ERROR),
    "hierarchy-only": (_bvh("HIERARCHY\n"), ERROR),
    "no-motion": (_bvh(BVH.split("MOTION")[0]), ERROR),
    "unclosed-brace": (_bvh(BVH.replace("    }\n  }\n}", "")), ERROR),
    "frames-negative": (_bvh(BVH.replace("Frames: 2", "Frames: -1")), ERROR),
    "frames-10^9": (_bvh(BVH.replace("Frames: 2", "Frames: 1000000000")), ERROR),
    "frames-not-a-number": (_bvh(BVH.replace("Frames: 2", "Frames: two")), ERROR),
    "frame-time-zero": (_bvh(BVH.replace("0.0333333", "0")), ERROR),
    "frame-time-nan": (_bvh(BVH.replace("0.0333333", "nan")), ERROR),
    "frame-time-1e-300": (_bvh(BVH.replace("0.0333333", "1e-300")), ERROR),
    "frame-time-1e6": (_bvh(BVH.replace("0.0333333", "1e6")), ERROR),
    "row-short": (_bvh(BVH.replace("1 90 0 0 10 0 0 5 0", "1 90 0")), ERROR),
    "row-words": (_bvh(BVH.replace("1 90 0 0 10", "a b c d e")), ERROR),
    "row-nan": (_bvh(BVH.replace("1 90 0 0 10", "nan 90 0 0 10")), ERROR),
    "row-inf": (_bvh(BVH.replace("1 90 0 0 10", "1 inf 0 0 10")), ERROR),
    "channels-7": (
        _bvh(
            BVH.replace(
                "CHANNELS 3 Zrotation Xrotation Yrotation",
                "CHANNELS 7 Zrotation Xrotation Yrotation",
            )
        ),
        ERROR,
    ),
    "channels-negative": (_bvh(BVH.replace("CHANNELS 3", "CHANNELS -3")), ERROR),
    "channel-unknown": (
        _bvh(
            BVH.replace(
                "Zrotation Xrotation Yrotation\n    End", "Zrotation Xrotation Wrotation\n    End"
            )
        ),
        ERROR,
    ),
    "offset-two-numbers": (
        _bvh(BVH.replace("OFFSET 0 10 0\n    CHANNELS", "OFFSET 0 10\n    CHANNELS")),
        ERROR,
    ),
    "offset-nan": (
        _bvh(BVH.replace("OFFSET 0 10 0\n    CHANNELS", "OFFSET 0 nan 0\n    CHANNELS")),
        ERROR,
    ),
    "header-line-100k": (_bvh(BVH.replace("ROOT Hips", "ROOT " + "H" * 100_000)), ERROR),
    "2000-joints-deep": (_bvh(lambda: _deep_bvh(2000)), ERROR),
    "valid": (_bvh(BVH), OK),
    "depth-50": (_bvh(lambda: _deep_bvh(50)), OK),
}


def _mat(build: Callable[[object], None], *, name: str = "TS1") -> Builder:
    """An MPI-INF-3DHP sequence folder ``<name>/annot_data.mat`` written by ``build(h5py_file)``."""

    def write(d: Path) -> Path:
        import h5py

        folder = d / name
        folder.mkdir()
        with h5py.File(folder / "annot_data.mat", "w") as f:
            build(f)
        return folder

    return write


def _annot(frames: int = 5, *, annot2: object = "ok", univ: object = "ok", valid: object = "ok"):
    def build(f) -> None:
        rng = np.random.default_rng(0)
        if isinstance(annot2, str):
            f["annot2"] = rng.uniform(0, 2000, (frames, 1, 17, 2))
        elif annot2 is not None:
            annot2(f, "annot2")
        if isinstance(univ, str):
            f["univ_annot3"] = rng.normal(0, 300, (frames, 1, 17, 3)) + [0, 0, 4000]
        elif univ is not None:
            univ(f, "univ_annot3")
        if isinstance(valid, str):
            f["valid_frame"] = np.ones((frames, 1))
        elif valid is not None:
            valid(f, "valid_frame")

    return build


def _put(value: object):
    def put(f, key: str) -> None:
        f[key] = value

    return put


def _put_huge(f, key: str) -> None:
    f.create_dataset(
        key, shape=(10**8, 1, 17, 3), dtype="f8", chunks=(1000, 1, 17, 3), compression="gzip"
    )


def _soft_link(f, key: str) -> None:
    import h5py

    f["elsewhere"] = np.zeros((5, 1, 17, 3))
    f[key] = h5py.SoftLink("/elsewhere")


def _external_link(f, key: str) -> None:
    import h5py

    f[key] = h5py.ExternalLink("/etc/hostname", "/data")


def _group(f, key: str) -> None:
    f.create_group(key)


def _nan_univ(f, key: str) -> None:
    values = np.random.default_rng(0).normal(0, 300, (5, 1, 17, 3)) + [0, 0, 4000]
    values[2, 0, 3, 1] = np.nan
    f[key] = values


MATS: dict[str, tuple[Builder, str]] = {
    "not-hdf5": (
        lambda d: (
            (d / "TS1").mkdir()
            or _bytes_case(b"MATLAB 5.0 MAT-file" + bytes(200), "TS1/annot_data.mat")(d).parent
        ),
        ERROR,
    ),
    "empty-file": (
        lambda d: (d / "TS1").mkdir() or _bytes_case(b"", "TS1/annot_data.mat")(d).parent,
        ERROR,
    ),
    "missing-annot2": (_mat(_annot(annot2=None)), ERROR),
    "annot2-wrong-shape": (_mat(_annot(annot2=_put(np.zeros((5, 17, 3))))), ERROR),
    "annot2-strings": (_mat(_annot(annot2=_put(np.full((5, 1, 17, 2), b"x")))), ERROR),
    "annot2-group": (_mat(_annot(annot2=_group)), ERROR),
    "univ-declares-10^8-frames": (_mat(_annot(univ=_put_huge)), ERROR),
    "univ-soft-link": (_mat(_annot(univ=_soft_link)), ERROR),
    "univ-external-link": (_mat(_annot(univ=_external_link)), ERROR),
    "univ-nan-on-valid-frame": (_mat(_annot(univ=_nan_univ)), ERROR),
    "univ-1e30-on-valid-frame": (_mat(_annot(univ=_put(np.full((5, 1, 17, 3), 1e30)))), ERROR),
    "annot2-1e30-on-valid-frame": (_mat(_annot(annot2=_put(np.full((5, 1, 17, 2), 1e30)))), ERROR),
    "valid-wrong-length": (_mat(_annot(valid=_put(np.ones((4, 1))))), ERROR),
    "no-valid-frame": (_mat(_annot(valid=_put(np.zeros((5, 1))))), ERROR),
    "frames-differ": (_mat(_annot(annot2=_put(np.zeros((4, 1, 17, 2))))), ERROR),
    "unknown-sequence-no-camera-json": (_mat(_annot(), name="TS99"), ERROR),
    "valid": (_mat(_annot()), OK),
}


def quiet_cli(argv: list[str]) -> tuple[int, list[str]]:
    """``posemoe argv`` in this process -> (exit status, the non-blank lines it wrote to stderr)."""
    from posemoe.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            main(argv)
            code = 0
        except SystemExit as exit_:
            code = exit_.code
    return code, [line for line in err.getvalue().splitlines() if line.strip()]
