"""Temporary files that a killed run leaves behind, and their removal by the next run.

Every file posemoe writes (results, checkpoints, ``.npz`` data files, BVH, weights) is first
written to ``.<name>.<pid>.tmp`` beside its final path and renamed into place once whole. The
name says which process wrote it, so that a later run into the same folder can remove the
temporaries of processes that are gone (killed while writing) and leave those of running ones.
"""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path


def temporary_name(path: Path) -> Path:
    """``.<name>.<pid>.tmp`` beside ``path``: hidden, and recognisable by
    :func:`remove_stale_temporaries` once the process that wrote it is gone."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def replacing_stale(path: Path) -> Path:
    """:func:`temporary_name` of ``path``, after removing the temporaries of ``path`` that
    processes no longer running left (a file written by a command that takes no folder lock, as
    ``synth`` or ``export``, is cleaned up when it is written again)."""
    remove_stale_temporaries(path.parent, f".{glob.escape(path.name)}.*.tmp")
    return temporary_name(path)


_TEMPORARY = re.compile(r"\..+\.(\d+)\.tmp")


def remove_stale_temporaries(folder: Path, pattern: str = ".*.tmp") -> list[Path]:
    """Remove the temporaries (:func:`temporary_name`) in ``folder`` (those matching the glob
    ``pattern``) of processes no longer running (runs killed while writing); -> the paths removed."""
    removed = []
    for path in Path(folder).glob(pattern):
        match = _TEMPORARY.fullmatch(path.name)
        if match is None or not path.is_file() or _running(int(match.group(1))):
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # gone, or a number no process has
        return False
    except PermissionError:  # another user's process
        return True
    return True
