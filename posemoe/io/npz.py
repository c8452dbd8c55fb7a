"""Reading and writing the VideoPose3D ``.npz`` formats without trusting pickles or sizes.

The standard files store dicts as pickled 0-d object arrays. numpy's pickle-enabled loading
would run whatever code a crafted file names; here the pickle stream is read by an unpickler
that only builds numpy arrays, numpy dtypes and plain containers, and refuses anything else.

A small file must not make us allocate gigabytes, so sizes are checked before anything is read:

- every zip member declares its uncompressed size; the members of one file may together unpack
  to at most :data:`MAX_NPZ_BYTES` (4 GiB; the largest Human3.6M file unpacks to 0.2 GiB), and a
  member above :data:`RATIO_FREE_BYTES` (256 MiB) to at most :data:`MAX_EXPANSION` (100) times its
  compressed size (deflate reaches about 1000x on constant bytes, pose arrays 2-10x);
- a plain array's ``.npy`` header (shape, dtype) must describe exactly the bytes that follow it.

Files are written whole or not at all: under a temporary name, then renamed into place.
"""

from __future__ import annotations

import errno
import math
import os
import pickle
import zipfile
from pathlib import Path
from typing import IO, Any

import numpy as np

from posemoe.errors import UserError
from posemoe.io.temporaries import replacing_stale

MAX_NPZ_BYTES = 4 * 2**30
RATIO_FREE_BYTES = 256 * 2**20
MAX_EXPANSION = 100

# (module, name) pairs a numpy-array pickle legitimately references (numpy 1.x and 2.x paths).
_ALLOWED_GLOBALS = {
    (module, name)
    for module in ("numpy.core.multiarray", "numpy._core.multiarray")
    for name in ("_reconstruct", "scalar")
} | {
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("collections", "OrderedDict"),
}


class UnsafePickleError(UserError):
    """A pickle in a data file referenced something other than arrays and containers."""


class _ArrayOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise UnsafePickleError(
            f"refusing to load {module}.{name}: only numpy arrays, dicts, lists and tuples "
            "are accepted in pose data files"
        )


def _read_header(stream: IO[bytes], where: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """The ``.npy`` header: (shape, fortran order, dtype); the stream is left at the data."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(stream)
        if version == (2, 0):
            return np.lib.format.read_array_header_2_0(stream)
    except (
        Exception
    ) as err:  # numpy's header parsing raises ValueError, SyntaxError, tokenize errors...
        raise UserError(
            f"{where}: not a .npy array ({type(err).__name__}: {err})".splitlines()[0]
        ) from None
    raise UserError(f"{where}: unsupported .npy format version {version}")


def _check_data_size(shape: tuple[int, ...], dtype: np.dtype, available: int, where: str) -> None:
    expected = math.prod(shape) * dtype.itemsize
    if expected != available:
        raise UserError(
            f"{where}: the header declares {shape} {dtype} ({expected:,} bytes) but {available:,} "
            "bytes follow it (truncated or corrupt)"
        )


def _read_into(stream: IO[bytes], out: np.ndarray, where: str, chunk: int = 16 * 2**20) -> None:
    """Fill the bytes ``out`` from ``stream`` a chunk at a time (one ``read`` would hold a second copy)."""
    for start in range(0, len(out), chunk):
        piece = stream.read(min(chunk, len(out) - start))
        if len(piece) != min(chunk, len(out) - start):
            raise UserError(f"{where}: truncated array data")
        out[start : start + len(piece)] = np.frombuffer(piece, np.uint8)


def _read_npy(stream: IO[bytes], size: int, where: str) -> Any:
    """One ``.npy`` of ``size`` bytes from ``stream``: a plain array, or a safely unpickled object."""
    shape, fortran, dtype = _read_header(stream, where)
    if not dtype.hasobject:
        _check_data_size(shape, dtype, size - stream.tell(), where)
        data = np.empty(math.prod(shape), dtype)
        _read_into(stream, data.view(np.uint8).reshape(-1), where)
        return data.reshape(shape[::-1]).T if fortran else data.reshape(shape)
    try:
        value = _ArrayOnlyUnpickler(stream).load()
    except UnsafePickleError as err:
        raise UnsafePickleError(f"{where}: {err}") from None
    except Exception as err:  # a corrupt stream can raise nearly anything
        raise UserError(
            f"{where}: corrupt pickled object array ({type(err).__name__}: {err})".splitlines()[0]
        ) from None
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype == object:
        return value.item()
    return value


def _check_sizes(members: list[zipfile.ZipInfo], path: Path) -> None:
    total = sum(m.file_size for m in members)
    if total > MAX_NPZ_BYTES:
        raise UserError(
            f"{path}: unpacks to {total:,} bytes, more than the {MAX_NPZ_BYTES:,} accepted"
        )
    for m in members:
        if m.file_size > RATIO_FREE_BYTES and m.file_size > MAX_EXPANSION * max(m.compress_size, 1):
            raise UserError(
                f"{path}[{m.filename}]: {m.compress_size:,} bytes unpack to {m.file_size:,}, more than "
                f"{MAX_EXPANSION} times; refusing a file built to exhaust memory"
            )


def load_npz(path: str | Path) -> dict[str, Any]:
    """Load every entry of an ``.npz`` file; pickled entries are unpacked safely, sizes checked first."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as err:
        raise UserError(f"{path}: not an .npz (zip) file ({err})".splitlines()[0]) from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        _check_sizes(members, path)
        out = {}
        for member in members:
            key = member.filename.removesuffix(".npy")
            where = f"{path}[{key}]"
            try:
                with archive.open(member) as stream:
                    out[key] = _read_npy(stream, member.file_size, where)
            except UserError:
                raise
            except Exception as err:  # zlib, CRC, encryption, unsupported compression...
                raise UserError(
                    f"{where}: unreadable zip member ({type(err).__name__}: {err})".splitlines()[0]
                ) from None
    return out


def load_npy(path: str | Path) -> np.ndarray:
    """A plain (not pickled) ``.npy`` array, its header checked against the file size before reading."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    with path.open("rb") as stream:
        shape, fortran, dtype = _read_header(stream, str(path))
        if dtype.hasobject:
            raise UserError(
                f"{path}: holds Python objects ({dtype}); expected a plain numeric array"
            )
        _check_data_size(shape, dtype, path.stat().st_size - stream.tell(), str(path))
        data = np.fromfile(stream, dtype, count=math.prod(shape))
    return data.reshape(shape[::-1]).T if fortran else data.reshape(shape)


def save_npz(path: str | Path, **entries: Any) -> Path:
    """Write entries in the VideoPose3D style (dicts become pickled 0-d object arrays), whole or
    not at all. As with numpy, ``.npz`` is appended to a name without it (so ``--out a.json`` can
    never replace the annotation file ``a.json``). Returns the path written."""
    arrays = {}
    for key, value in entries.items():
        if isinstance(value, np.ndarray):
            arrays[key] = value
        else:
            holder = np.empty((), dtype=object)
            holder[()] = value
            arrays[key] = holder
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = replacing_stale(path)
    try:
        with open(tmp, "wb") as stream:
            # writing only: posemoe's reader (load_npz) parses these dicts without unpickling
            save_npz_to(stream, compressed=True, allow_pickle=True, **arrays)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        if err.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise OSError(err.errno, os.strerror(err.errno), str(path)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_npz_to(
    file: IO, *, compressed: bool = False, allow_pickle: bool = False, **arrays: Any
) -> None:
    """``numpy.savez`` into an open binary file, closing the archive on every path (``numpy.savez``
    leaves it open when a write fails, a full disk say, and its clean-up then prints a traceback)."""
    method = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
    with zipfile.ZipFile(file, "w", method, allowZip64=True) as archive:
        for name, value in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=allow_pickle)


def require_key(entries: dict[str, Any], key: str, path: str | Path) -> Any:
    if key not in entries:
        raise UserError(f"{path}: missing key {key!r} (found {sorted(entries)})")
    return entries[key]
