"""The run's CSV log (``log.csv``), written by rank 0 only."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

COLUMNS = [
    "kind",
    "epoch",
    "step",
    "lr",
    "loss",
    "mpjpe",
    "n_mpjpe",
    "velocity",
    "balance",
    "train_seconds",
    "val_mpjpe",
    "val_p_mpjpe",
    "aite_adjusted",
    "aite_distill",
]


class CsvLog:
    """Training and validation rows (``epoch`` counted from 1, as the run prints it); AITE columns
    stay empty without AITE. A resumed run first drops the rows written after its checkpoint, so
    no step appears twice."""

    def __init__(self, path: Path, *, enabled: bool, resume_step: int | None = None) -> None:
        self.path, self.enabled = path, enabled
        if enabled and resume_step is not None and path.exists():
            with path.open(newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"] or 0) <= resume_step]
            tmp = path.with_suffix(".csv.tmp")
            with tmp.open("w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
                writer.writeheader()
                writer.writerows(rows)
            tmp.replace(path)

    def write(self, row: dict[str, Any]) -> None:
        if not self.enabled:
            return
        new = not self.path.exists()
        try:
            with self.path.open("a", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
                if new:
                    writer.writeheader()
                writer.writerow(row)
        except OSError as err:  # a full disk: say which file
            if err.filename is not None:
                raise
            raise OSError(err.errno, err.strerror, str(self.path)) from None
