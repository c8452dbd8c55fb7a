"""Reading and writing the VideoPose3D ``.npz`` formats without trusting pickles.

The standard files store dicts as pickled 0-d object arrays. numpy's pickle-enabled loading
would run whatever code a crafted file names; here the pickle stream is read by an unpickler
that only builds numpy arrays, numpy dtypes and plain containers, and refuses anything else.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from posemoe.errors import UserError

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


def _read_npy(raw: bytes, where: str) -> Any:
    stream = io.BytesIO(raw)
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
    else:
        raise UserError(f"{where}: unsupported .npy format version {version}")
    if not dtype.hasobject:
        stream.seek(0)
        return np.lib.format.read_array(stream, allow_pickle=False)
    try:
        value = _ArrayOnlyUnpickler(stream).load()
    except UnsafePickleError as err:
        raise UnsafePickleError(f"{where}: {err}") from None
    except Exception as err:  # a corrupt stream can raise nearly anything
        raise UserError(f"{where}: corrupt pickled object array ({type(err).__name__}: {err})") from None
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype == object:
        return value.item()
    return value


def load_npz(path: str | Path) -> dict[str, Any]:
    """Load every entry of an ``.npz`` file; pickled entries are unpacked safely."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise UserError(f"{path}: not an .npz (zip) file") from None
    with archive:
        out = {}
        for member in archive.namelist():
            key = member[:-4] if member.endswith(".npy") else member
            out[key] = _read_npy(archive.read(member), f"{path}[{key}]")
    return out


def save_npz(path: str | Path, **entries: Any) -> None:
    """Write entries in the VideoPose3D style: dicts become pickled 0-d object arrays."""
    arrays = {}
    for key, value in entries.items():
        if isinstance(value, np.ndarray):
            arrays[key] = value
        else:
            holder = np.empty((), dtype=object)
            holder[()] = value
            arrays[key] = holder
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)


def require_key(entries: dict[str, Any], key: str, path: str | Path) -> Any:
    if key not in entries:
        raise UserError(f"{path}: missing key {key!r} (found {sorted(entries)})")
    return entries[key]
