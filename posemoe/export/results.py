"""3D results as files: ``.npz``, ``.json`` and ``.csv``, written whole or not at all.

Every file is first written under a temporary name in the output folder and renamed into place
once all of a result's files are complete, so a run killed while writing leaves the previous
files whole. Outputs never replace an input: :func:`refuse_inputs` stops that before any work.
"""

from __future__ import annotations

import csv
import errno
import fcntl
import json
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np

from posemoe.errors import UserError
from posemoe.io.npz import save_npz_to
from posemoe.io.temporaries import remove_stale_temporaries, replacing_stale
from posemoe.layouts import H36M17, JointLayout

if TYPE_CHECKING:
    from posemoe.inference.result import PersonResult, Result

FileWriter = tuple[Callable[[IO], None], bool]  # writes into an open file; True: binary


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


def write_outputs(
    out_dir: str | Path,
    stem: str,
    joints_3d: np.ndarray,
    keypoints_2d: np.ndarray,
    *,
    fps: float,
    layout: JointLayout = H36M17,
    extra: dict | None = None,
    inputs: Iterable[str | Path | None] = (),
) -> list[Path]:
    """Arrays -> ``<stem>.npz`` / ``.json`` / ``.csv``: the 3D joints (T, J, 3) metres, camera frame,
    root-relative, and the 2D keypoints used (T, J, 3) pixels + confidence."""
    from posemoe.export import write_result
    from posemoe.inference.result import PersonResult, Result

    if joints_3d.shape[:2] != keypoints_2d.shape[:2]:
        raise UserError(
            f"3D {joints_3d.shape} and 2D {keypoints_2d.shape} differ in frames or joints"
        )
    extra = dict(extra or {})
    visible = np.asarray(extra.pop("person_visible", np.ones(len(joints_3d), bool)))
    result = Result(
        stem,
        str(extra.pop("source", "")),
        str(extra.pop("model", "")),
        fps,
        (0, 0),
        layout,
        [PersonResult(0, keypoints_2d, joints_3d, visible)],
        list(extra.pop("report", [])),
        extra=extra,
    )
    return write_result(result, Path(out_dir), ("npz", "json", "csv"), inputs=inputs)
