"""Files written whole or not at all, and never over an input.

Every file is first written under a temporary name in its folder
(:func:`~posemoe.io.temporaries.temporary_name`) and renamed into place once all the files of one
call are complete, so a run killed while writing leaves the previous files whole. Outputs never
replace an input: :func:`refuse_inputs` stops that before any work.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

from posemoe.errors import UserError
from posemoe.io.temporaries import replacing_stale


def refuse_inputs(outputs: Iterable[Path], inputs: Iterable[str | Path | None]) -> None:
    """Raise when an output path is one of the inputs (or inside an input folder that is read)."""
    protected = {Path(p).resolve() for p in inputs if p is not None and Path(str(p)).exists()}
    for out in outputs:
        resolved = Path(out).resolve()
        if resolved in protected:
            raise UserError(f"{out} would overwrite an input; choose another --out folder")


def write_files(
    writers: dict[Path, Callable[[IO], None]], binary: Iterable[Path] = ()
) -> list[Path]:
    """Write each ``path`` with ``writer(file)`` to a temporary name
    (:func:`~posemoe.io.temporaries.temporary_name`), then rename them into place in the order given. Each file is always whole, old or new; a process
    killed between two renames leaves the first files new and the rest old (POSIX has no atomic
    rename of several files). A full disk is reported with the path being written."""
    binary = set(binary)
    done: list[tuple[Path, Path]] = []
    try:
        for path, writer in writers.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = replacing_stale(path)
            done.append((tmp, path))
            try:
                with tmp.open(
                    "wb" if path in binary else "w", **({} if path in binary else {"newline": ""})
                ) as f:
                    writer(f)
                    f.flush()
                    os.fsync(f.fileno())
            except OSError as err:
                if err.errno not in (errno.ENOSPC, errno.EDQUOT):
                    raise
                raise OSError(err.errno, os.strerror(err.errno), str(path)) from None
        for tmp, path in done:
            os.replace(tmp, path)
    except BaseException:
        for tmp, _ in done:
            tmp.unlink(missing_ok=True)
        raise
    return [path for _, path in done]
