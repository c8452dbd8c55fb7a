"""Checkpoints that carry their model configuration, written atomically (read back by
:func:`posemoe.models.pretrained.load_checkpoint`, which inference uses too), and the lock that
keeps two runs out of one folder."""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import torch
from torch import nn

from posemoe.errors import UserError
from posemoe.io.temporaries import replacing_stale
from posemoe.models.pretrained import build_checked, load_checkpoint


def save_atomic(payload: dict[str, Any], path: str | Path) -> None:
    """Write with ``torch.save`` to a temporary file, then rename: a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = replacing_stale(path)
    try:
        with open(tmp, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except (
        RuntimeError
    ) as err:  # torch.save reports a full disk as a RuntimeError ("unexpected pos")
        full = (
            shutil.disk_usage(path.parent).free < 1 << 20
        )  # measured before the temporary frees its part
        Path(tmp).unlink(missing_ok=True)
        if full:
            raise OSError(errno.ENOSPC, "no space left on the device", str(path)) from None
        raise err
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        if err.errno in (errno.ENOSPC, errno.EDQUOT) and err.filename is None:
            raise OSError(err.errno, err.strerror, str(path)) from None
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def model_from_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the model a checkpoint describes and load its weights (eval mode)."""
    payload = load_checkpoint(path, map_location)
    return build_checked(payload["model_config"], payload["model"], str(path)).to(map_location)


@contextmanager
def run_lock(out_dir: Path, enabled: bool = True) -> Iterator[None]:
    """Hold an exclusive lock on ``out_dir`` for the run (a second run into it gets a clear error)
    and remove temporary files that a killed run left behind. A folder made here that the run
    leaves empty (a config refused before any work) is removed again."""
    if not enabled:
        yield
        return
    made = [
        folder for folder in (out_dir, *out_dir.parents) if not folder.exists()
    ]  # innermost first
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        file = next(
            (f for f in (out_dir, *out_dir.parents) if f.exists() and not f.is_dir()), out_dir
        )
        raise UserError(
            f"{out_dir}: cannot be a run folder, {file} is a file; choose another --out"
        ) from None
    with open(out_dir / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(
                f"{out_dir}: another training run is using this folder; wait for it or choose "
                "another --out"
            ) from None
        for stale in out_dir.glob(".*.pt.*.tmp"):
            stale.unlink(missing_ok=True)
        try:
            yield
        finally:
            if made and [p.name for p in out_dir.iterdir()] == [".lock"]:
                with suppress(OSError):  # another run may have just come in: its folder stays
                    (out_dir / ".lock").unlink()
                    for folder in made:
                        folder.rmdir()
            fcntl.flock(handle, fcntl.LOCK_UN)
