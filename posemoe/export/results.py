"""3D results as files: ``.npz``, ``.json`` and ``.csv`` (written whole or not at all by
:func:`posemoe.io.files.write_files`, never over an input), and the lock on an output folder."""

from __future__ import annotations

import csv
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np

from posemoe.errors import UserError
from posemoe.io.npz import save_npz_to
from posemoe.io.temporaries import remove_stale_temporaries

if TYPE_CHECKING:
    from posemoe.inference.result import PersonResult, Result

FileWriter = tuple[Callable[[IO], None], bool]  # writes into an open file; True: binary


@contextmanager
def hold_out_dir(out_dir: str | Path, flag: str = "--out") -> Iterator[None]:
    """Take ``out_dir`` for one run: an exclusive lock (``.lock``, as training holds its folder; a
    second run into it is refused) and the removal of temporaries that killed runs left there.
    The lock file is removed at the end, and a folder made here that stays empty with it."""
    out_dir = Path(out_dir)
    made = [
        folder for folder in (out_dir, *out_dir.parents) if not folder.exists()
    ]  # innermost first
    out_dir.mkdir(parents=True, exist_ok=True)
    lock = out_dir / ".lock"
    while True:
        handle = lock.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise UserError(
                f"{flag} {out_dir}: another posemoe run is writing into this folder; wait for it to "
                f"end or choose another {flag}"
            ) from None
        with suppress(FileNotFoundError):
            if os.stat(lock).st_ino == os.fstat(handle.fileno()).st_ino:
                break  # not a lock file that its last holder removed as it left
        handle.close()
    try:
        remove_stale_temporaries(out_dir)
        yield
    finally:
        with suppress(OSError):
            lock.unlink()
            for folder in made:
                folder.rmdir()  # only while empty
        handle.close()


def _rounded(values: np.ndarray, decimals: int) -> list:
    """Rounded in float64: float32 values rounded in float32 print as -0.04019000008702278 in JSON."""
    return np.round(np.asarray(values, np.float64), decimals).tolist()


def _root(person: PersonResult) -> dict:
    """The root path's json fields: root_m (T, 3) and the focal_px it was solved with."""
    if getattr(person, "root", None) is None:
        return {}
    focal = getattr(person, "focal_px", None)
    return {
        "root_m": np.round(person.root, 4).tolist(),
        **({"focal_px": round(float(focal), 2)} if focal is not None else {}),
    }


def _record(result: Result) -> dict:
    """The json file's fields but its last, ``frames`` (see :func:`_frames`)."""
    person = result.people[0]
    return {
        "fps": result.fps,
        "layout": result.layout.name,
        "joints": list(result.layout.joints),
        "units": "metres, camera frame, root-relative",
        "source": result.source,
        "model": result.model,
        "report": result.report,
        "person_id": person.track,
        "person_visible": person.visible.tolist(),
        **result.extra,
        **(
            {"image_size": list(map(int, result.image_size))}
            if result.image_size is not None
            else {}
        ),
        **_root(person),
        **(
            {"unseen_joints_per_frame": person.unseen.sum(1).tolist()}
            if getattr(person, "unseen", None) is not None
            else {}
        ),
        **(
            {"world_from_camera": np.round(world, 6).tolist()}
            if (world := getattr(person, "world_from_camera", None)) is not None
            else {}
        ),
    }


def _frames(person: PersonResult) -> Iterator[dict]:
    """The json file's ``frames``, one at a time: as lists of Python floats a long recording would
    take 20 times the memory of its arrays."""
    fitted = getattr(person, "fitted", None)
    for t in range(len(person.joints_3d)):
        yield {
            "frame": t,
            "joints_3d": _rounded(person.joints_3d[t], 5),
            **({"joints_fitted": _rounded(fitted[t], 5)} if fitted is not None else {}),
            "keypoints_2d": _rounded(person.keypoints[t], 2),
        }


def _write_json(result: Result, f: IO) -> None:
    """``json.dumps`` of the record with its frames, written a frame at a time."""
    head = json.dumps({**_record(result), "frames": []})
    f.write(head[: -len("[]}")] + "[")
    for t, frame in enumerate(_frames(result.people[0])):
        f.write((", " if t else "") + json.dumps(frame))
    f.write("]}\n")


def npz_file(result: Result, out: Path) -> dict[Path, FileWriter]:
    """``<name>.npz``: joints_3d (T, J, 3) metres, keypoints_2d (T, J, 3) pixels + confidence, joints, fps,
    image_size (width, height), person_visible, and after the motion stage joints_fitted (T, J, 3),
    root (T, 3) camera metres with focal_px (pixels; principal point the image centre), world_from_camera
    (4, 4)."""
    person = result.people[0]

    motion = {
        name: np.asarray(value, np.float32)
        for name in ("fitted", "root", "world_from_camera")
        if (value := getattr(person, name, None)) is not None
    }
    if getattr(person, "unseen", None) is not None:
        motion["joint_unseen"] = np.asarray(person.unseen, bool)
    if getattr(person, "focal_px", None) is not None and "root" in motion:
        motion["focal_px"] = np.float32(person.focal_px)
    if result.image_size is not None:
        motion["image_size"] = np.asarray(result.image_size, np.int32)
    if "fitted" in motion:
        motion["joints_fitted"] = motion.pop("fitted")

    def write(f: IO) -> None:
        save_npz_to(
            f,
            joints_3d=person.joints_3d.astype(np.float32),
            keypoints_2d=person.keypoints.astype(np.float32),
            joints=np.array(result.layout.joints),
            fps=np.float32(result.fps),
            person_id=np.int32(person.track),
            person_visible=person.visible.astype(bool),
            **motion,
        )

    return {out / f"{result.name}.npz": (write, True)}


def json_file(result: Result, out: Path) -> dict[Path, FileWriter]:
    """``<name>.json``: the same per frame, with the report and the settings."""
    return {out / f"{result.name}.json": (lambda f: _write_json(result, f), False)}


def csv_file(result: Result, out: Path) -> dict[Path, FileWriter]:
    """``<name>.csv``: one row per frame: frame, visible (1 where the person was seen, 0 where filled
    in), <joint>_x/_y/_z in metres (root-relative), and after the motion stage root_x/_y/_z (camera metres)."""
    person, layout = result.people[0], result.layout
    root = getattr(person, "root", None)

    def write(f: IO) -> None:
        writer = csv.writer(f)
        writer.writerow(
            ["frame", "visible"]
            + [f"{j}_{c}" for j in layout.joints for c in "xyz"]
            + ([f"root_{c}" for c in "xyz"] if root is not None else [])
        )
        for t, pose in enumerate(person.joints_3d):
            extra = [f"{v:.5f}" for v in root[t]] if root is not None else []
            writer.writerow(
                [t, int(person.visible[t])] + [f"{v:.5f}" for v in pose.reshape(-1)] + extra
            )

    return {out / f"{result.name}.csv": (write, False)}
