"""Faults: kill -9 while results and checkpoints are being written (every file left is whole and
loads, and ``train --resume`` ends on the weights of a run never killed), two trainings into one
folder, and a full disk (one line, no partial files).

Writers run in children forked from this process (torch is already imported, so a child costs
milliseconds); a child that must die at an exact point sends itself SIGKILL there, which is what
``kill -9`` from outside does at that instant."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip(
    "torch"
)  # a test of training / torch inference; skipped where only inference is installed

import torch  # noqa: E402
from fuzz_corpus import TINY, coco_records, person_track, quiet_cli  # noqa: E402

from posemoe.cli import main  # noqa: E402
from posemoe.training.checkpoint import load_checkpoint, save_atomic  # noqa: E402
from posemoe.training.loop import TrainConfig, train  # noqa: E402


def _fork(body: Callable[[], None]) -> int:
    """Run ``body`` in a forked child that never returns into pytest; -> its pid."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            body()
        except BaseException:  # noqa: BLE001 - the child's only report is its exit status
            code = 1
        finally:
            os._exit(code)
    return pid


def _kill(pid: int) -> int:
    """SIGKILL (if still running) and reap; -> the wait status."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return os.waitpid(pid, 0)[1]


def _reap(pid: int, timeout: float = 120.0) -> int:
    """Wait for the child to end (SIGKILL after ``timeout``); -> the wait status."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.01)
    return _kill(pid)


def _wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


# ---------------------------------------------------------------------------------------------
# Results


def _write_results_forever(out: Path) -> None:
    from posemoe.export import write_outputs
    from posemoe.io.npz import save_npz

    rng = np.random.default_rng(os.getpid())
    for i in range(10**6):
        frames = 1000 + 300 * (i % 3)  # each round's files differ in size from the last's
        joints = rng.normal(size=(frames, 17, 3)).astype(np.float32)
        keypoints = rng.uniform(0, 640, (frames, 17, 3)).astype(np.float32)
        write_outputs(out, "clip", joints, keypoints, fps=50.0, extra={"round": i})
        save_npz(out / "set.npz", poses=joints, meta={"round": i})


def _check_results_whole(out: Path) -> int:
    """Every result file present loads whole, and the three of one set come from one write or, when
    the kill fell between renames, the first ones (npz, json, csv order) from the next; -> files checked."""
    from posemoe.io.npz import load_npz

    with np.load(out / "clip.npz") as npz:
        frames = [len(npz["joints_3d"])]
        assert (
            npz["keypoints_2d"].shape == (frames[0], 17, 3)
            and len(npz["person_visible"]) == frames[0]
        )
    record = json.loads((out / "clip.json").read_text())
    frames.append(len(record["frames"]))
    with (out / "clip.csv").open(newline="") as f:
        rows = list(csv.reader(f))
    assert (
        rows[0][:2] == ["frame", "visible"]
        and len({len(r) for r in rows}) == 1
        and len(rows[0]) in (2 + 17 * 3, 5 + 17 * 3)
    )
    frames.append(len(rows) - 1)
    rounds = [
        (f - 1000) // 300 for f in frames
    ]  # a write's round mod 3 (see _write_results_forever)
    assert all(f in (1000, 1300, 1600) for f in frames), frames
    assert all(r in (rounds[-1], (rounds[-1] + 1) % 3) for r in rounds), frames
    assert rounds == sorted(rounds, key=lambda r: r != rounds[0]), (
        frames
    )  # newer ones first, then older
    entries = load_npz(out / "set.npz")
    assert entries["poses"].shape[1:] == (17, 3) and isinstance(entries["meta"]["round"], int)
    return 4


@pytest.mark.parametrize("seed", range(3))
def test_kill_during_result_writing_leaves_whole_files(tmp_path, count_cases, seed):
    out = tmp_path / "out"
    pid = _fork(lambda: _write_results_forever(out))
    try:
        _wait_for(lambda: (out / "set.npz").exists())
        time.sleep(float(np.random.default_rng(seed).uniform(0.0, 0.25)))
    finally:
        status = _kill(pid)
    assert os.WIFSIGNALED(status), "the writer ended on its own"
    count_cases("faults")
    assert _check_results_whole(out) == 4
    litter = sorted(p.name for p in out.iterdir() if p.name.startswith("."))
    assert all(name.endswith(".tmp") for name in litter), litter


# ---------------------------------------------------------------------------------------------
# Checkpoints


def _save_checkpoints_forever(out: Path) -> None:
    payload = {"model_config": {"dim": 8}, "model": {"w": torch.zeros(2**20)}, "state": {"step": 0}}
    for step in range(10**6):
        payload["state"]["step"] = step
        payload["model"]["w"].fill_(step)
        save_atomic(payload, out / "best.pt")
        save_atomic(payload, out / "last.pt")


@pytest.mark.parametrize("seed", range(3))
def test_kill_during_checkpoint_writing_leaves_whole_checkpoints(tmp_path, count_cases, seed):
    out = tmp_path / "run"
    out.mkdir()
    pid = _fork(lambda: _save_checkpoints_forever(out))
    try:
        _wait_for(lambda: (out / "last.pt").exists())
        time.sleep(float(np.random.default_rng(seed).uniform(0.0, 0.3)))
    finally:
        _kill(pid)
    count_cases("faults")
    best, last = load_checkpoint(out / "best.pt"), load_checkpoint(out / "last.pt")
    for ckpt in (best, last):
        assert torch.all(ckpt["model"]["w"] == ckpt["state"]["step"])
    assert best["state"]["step"] - last["state"]["step"] in (0, 1)  # best is written first


def _config(data_dir: Path, out_dir: Path, **changes) -> TrainConfig:
    base = {
        "model": "posemoe-t27-s",
        "model_overrides": TINY,
        "data_dir": str(data_dir),
        "out_dir": str(out_dir),
        "train_subjects": ["S1", "S5"],
        "val_subjects": ["S8"],
        "epochs": 3,
        "epoch_clips": 32,
        "batch_size": 8,
        "warmup_steps": 2,
        "threads": 1,
        "log_every": 2,
        "val_max_windows": 8,
    }
    return TrainConfig().override(base | changes)


def _dies_at(point: str, occurrence: int) -> Callable[[], None]:
    """Patch the checkpoint writer of this (child) process to SIGKILL itself at ``point``:
    ``mid-write`` (half the bytes of a checkpoint written), ``before-rename`` (temporary file
    whole, not yet renamed) or ``after-rename`` (between best.pt and last.pt)."""
    from posemoe.training import checkpoint

    calls = {"save": 0, "replace": 0}
    real_save, real_replace = torch.save, os.replace

    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    def save(obj, f, *args, **kwargs):
        calls["save"] += 1
        if point == "mid-write" and calls["save"] == occurrence:
            buffer = io.BytesIO()
            real_save(obj, buffer, *args, **kwargs)
            f.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
            f.flush()
            die()
        return real_save(obj, f, *args, **kwargs)

    def replace(src, dst):
        calls["replace"] += 1
        if point == "before-rename" and calls["replace"] == occurrence:
            die()
        real_replace(src, dst)
        if point == "after-rename" and calls["replace"] == occurrence:
            die()

    def patch() -> None:
        checkpoint.torch.save = save  # the same torch module, patched in the child only
        checkpoint.os.replace = replace

    return patch


@pytest.fixture(scope="module")
def one_thread():
    """Bitwise comparisons need one thread: a forked child may split its sums differently from its parent."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def uninterrupted(synthetic_dir, tmp_path_factory, one_thread):
    out = tmp_path_factory.mktemp("whole")
    train(_config(synthetic_dir, out), quiet=True)
    return load_checkpoint(out / "last.pt")


# best.pt then last.pt are written at the end of every epoch: occurrence 3 is epoch 2's best.pt
@pytest.mark.parametrize(
    "point, occurrence", [("mid-write", 4), ("before-rename", 3), ("after-rename", 3)]
)
def test_resume_after_kill_ends_on_the_same_weights(
    synthetic_dir, tmp_path, uninterrupted, count_cases, point, occurrence
):
    cfg = _config(synthetic_dir, tmp_path)
    patch = _dies_at(point, occurrence)

    def run() -> None:
        patch()
        with contextlib.redirect_stderr(io.StringIO()):
            train(cfg, quiet=True)

    status = _reap(_fork(run))
    assert os.WIFSIGNALED(status), "the run should have died at the kill point"
    count_cases("faults")
    last = load_checkpoint(tmp_path / "last.pt")
    assert last["state"]["epoch"] < 3
    if (tmp_path / "best.pt").exists():
        assert load_checkpoint(tmp_path / "best.pt")["state"]["epoch"] >= last["state"]["epoch"]

    train(cfg, resume=True, quiet=True)
    resumed = load_checkpoint(tmp_path / "last.pt")
    assert resumed["state"]["step"] == uninterrupted["state"]["step"]
    for name, tensor in uninterrupted["model"].items():
        assert torch.equal(tensor, resumed["model"][name]), name
    assert not list(tmp_path.glob(".*.tmp")), (
        "the resumed run should clear a killed run's temporary files"
    )
    steps = [
        int(r["step"])
        for r in csv.DictReader((tmp_path / "log.csv").open())
        if r["kind"] == "train"
    ]
    assert steps == sorted(set(steps)), "a step logged twice"


# ---------------------------------------------------------------------------------------------
# Two runs, one folder


def test_second_training_into_a_busy_folder_is_refused(
    synthetic_dir, tmp_path, capsys, count_cases
):
    out = tmp_path / "run"
    cfg = _config(synthetic_dir, out, epochs=10_000, time_budget=60.0, val_every=0)

    def first() -> None:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            train(cfg, quiet=True)

    pid = _fork(first)
    try:
        _wait_for(lambda: (out / "last.pt").exists())
        before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
        with pytest.raises(SystemExit) as exit_:
            main(
                [
                    "train",
                    "--data-dir",
                    str(synthetic_dir),
                    "--out",
                    str(out),
                    "--epochs",
                    "1",
                    "--set",
                    f"model_overrides={TINY}",
                    "--set",
                    "train_subjects=['S1']",
                    "--threads",
                    "1",
                ]
            )
        count_cases("faults")
        assert exit_.value.code == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert (
            len(lines) == 1
            and "another training run is using this folder" in lines[0]
            and str(out) in lines[0]
        )
        assert os.waitpid(pid, os.WNOHANG) == (0, 0), "the first run should still be going"
        assert set(before) <= {p.name for p in out.iterdir()}
    finally:
        _kill(pid)


# ---------------------------------------------------------------------------------------------
# A full disk


@pytest.fixture
def full_disk(tmp_path):
    """A 64 KiB tmpfs (root only; skipped elsewhere)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
            capture_output=True,
            check=False,
        ).returncode
        != 0
    ):
        pytest.skip("mounting a small tmpfs needs root")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


_run = quiet_cli


_FULL_DISK_COMMANDS = {
    "infer": lambda d, dets, lifter: [
        "infer",
        str(dets),
        "--image-size",
        "640",
        "480",
        "--model",
        str(lifter),
        "--threads",
        "1",
        "--out",
        str(d / "infer"),
    ],
    "synth": lambda d, dets, lifter: [
        "synth",
        str(d / "synth"),
        "--subjects",
        "S1",
        "--frames",
        "300",
    ],
    "export": lambda d, dets, lifter: ["export", str(lifter), str(d / "export" / "w.safetensors")],
}


@pytest.mark.parametrize("command", ["infer", "synth", "export"])
def test_full_disk_gives_one_line_and_no_partial_files(
    full_disk, tmp_path, tiny_lifter, count_cases, command
):
    dets = tmp_path / "dets.json"
    dets.write_text(json.dumps(coco_records(person_track(600))))
    (full_disk / "ballast").write_bytes(bytes(16 * 1024))  # the disk is nearly full already
    try:
        code, lines = _run(_FULL_DISK_COMMANDS[command](full_disk, dets, tiny_lifter))
    except Exception as err:  # noqa: BLE001 - reported as the failure it is
        pytest.fail(f"raw traceback: {type(err).__name__}: {err}", pytrace=False)
    count_cases("faults")
    assert code == 2 and len(lines) == 1, lines
    assert "no space left on" in lines[0].lower(), lines
    left = sorted(str(p.relative_to(full_disk)) for p in full_disk.rglob("*") if p.is_file())
    assert left == ["ballast"], left


def test_full_disk_during_training_leaves_no_partial_files(full_disk, synthetic_dir, count_cases):
    out = full_disk / "run"
    code, lines = _run(
        [
            "train",
            "--data-dir",
            str(synthetic_dir),
            "--out",
            str(out),
            "--epochs",
            "2",
            "--threads",
            "1",
            "--set",
            f"model_overrides={TINY}",
            "--set",
            "train_subjects=['S1']",
            "--set",
            "val_subjects=['S8']",
            "--set",
            "epoch_clips=16",
            "--set",
            "batch_size=8",
        ]
    )
    count_cases("faults")
    lines = [line for line in lines if "it/s]" not in line]  # the progress bar is no message
    assert code == 2 and len(lines) == 1 and "no space left on" in lines[0].lower(), lines
    assert not [p.name for p in out.iterdir() if p.name.endswith((".pt", ".tmp"))]


def test_full_disk_between_epochs_names_the_file_and_keeps_the_earlier_checkpoints(
    synthetic_dir, tmp_path, count_cases
):
    """Epoch 1's checkpoints fit; epoch 2's best.pt runs out of room part-way (torch reports that as
    "unexpected pos"): one line naming it, epoch 1's files whole, no temporary left."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
            capture_output=True,
            check=False,
        ).returncode
        != 0
    ):
        pytest.skip("mounting a small tmpfs needs root")
    try:
        out = mount / "run"
        argv = [
            "train",
            "--data-dir",
            str(synthetic_dir),
            "--out",
            str(out),
            "--threads",
            "1",
            "--set",
            f"model_overrides={TINY}",
            "--set",
            "train_subjects=['S1']",
            "--set",
            "val_subjects=['S8']",
            "--set",
            "epoch_clips=16",
            "--set",
            "batch_size=8",
        ]
        assert _run([*argv, "--epochs", "1"])[0] == 0
        before = {name: (out / name).read_bytes() for name in ("best.pt", "last.pt")}
        free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
        (mount / "ballast").write_bytes(
            bytes(free - 1100 * 1024)
        )  # room for most of one checkpoint
        code, lines = _run([*argv, "--epochs", "2", "--resume"])
        count_cases("faults")
        lines = [line for line in lines if "it/s]" not in line and not line.startswith("model ")]
        assert code == 2 and len(lines) == 1, lines
        assert "no space left on" in lines[0].lower() and str(out / "best.pt") in lines[0], lines
        assert {name: (out / name).read_bytes() for name in before} == before
        assert load_checkpoint(out / "last.pt")["state"]["epoch"] == 1
        assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_full_disk_while_writing_a_large_result_is_one_line_without_a_zipfile_traceback(
    tmp_path, tiny_lifter, count_cases, capfd
):
    """The npz runs out of room part-way: numpy.savez once left its archive open, whose clean-up then
    printed 'ZipFile.__del__ ... seek of closed file' after an error line that named no file."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
            capture_output=True,
            check=False,
        ).returncode
        != 0
    ):
        pytest.skip("mounting a small tmpfs needs root")
    try:
        dets = tmp_path / "dets.json"
        dets.write_text(json.dumps(coco_records(person_track(3000))))
        capfd.readouterr()
        code, lines = _run(
            [
                "infer",
                str(dets),
                "--image-size",
                "640",
                "480",
                "--model",
                str(tiny_lifter),
                "--threads",
                "1",
                "--out",
                str(mount / "out"),
            ]
        )
        import gc

        gc.collect()  # where a leaked archive would print its traceback
        count_cases("faults")
        assert code == 2 and len(lines) == 1, lines
        assert (
            "No space left on device" in lines[0] and str(mount / "out" / "dets.npz") in lines[0]
        ), lines
        assert "Traceback" not in capfd.readouterr().err
        assert not [str(p) for p in mount.rglob("*") if p.is_file()]
    finally:
        subprocess.run(["umount", str(mount)], check=False)


# ---------------------------------------------------------------------------------------------
# Two inferences, one folder; the temporaries of a killed one


def test_second_infer_into_a_busy_folder_is_refused(tmp_path, tiny_lifter, count_cases):
    from posemoe.export.results import hold_out_dir

    dets = tmp_path / "dets.json"
    dets.write_text(json.dumps(coco_records(person_track(60))))
    out = tmp_path / "out"
    ready, release = os.pipe(), os.pipe()

    def first() -> None:  # a run that has taken the folder and is still working
        with hold_out_dir(out):
            os.write(ready[1], b"x")
            os.read(release[0], 1)

    pid = _fork(first)
    try:
        os.read(ready[0], 1)
        code, lines = _run(
            [
                "infer",
                str(dets),
                "--image-size",
                "640",
                "480",
                "--model",
                str(tiny_lifter),
                "--threads",
                "1",
                "--out",
                str(out),
            ]
        )
        count_cases("faults")
        assert code == 2 and len(lines) == 1, lines
        assert (
            "another posemoe run is writing into this folder" in lines[0] and str(out) in lines[0]
        ), lines
        assert [p.name for p in out.iterdir()] == [".lock"], "the refused run wrote"
    finally:
        os.write(release[1], b"x")
        assert os.WEXITSTATUS(_reap(pid)) == 0
    assert not out.exists(), "the folder the first run made and left empty stays"
    assert (
        _run(
            [
                "infer",
                str(dets),
                "--image-size",
                "640",
                "480",
                "--model",
                str(tiny_lifter),
                "--threads",
                "1",
                "--out",
                str(out),
            ]
        )[0]
        == 0
    )
    assert sorted(p.name for p in out.iterdir()) == ["dets.csv", "dets.json", "dets.npz"]


def test_a_killed_infers_temporaries_are_removed_by_the_next_run(
    tmp_path, tiny_lifter, count_cases
):
    """Killed mid-write (kill -9): its ``.<name>.<pid>.tmp`` stay; the next run into the folder
    removes them, and leaves a live process's and other tools' files alone."""
    from posemoe.io.files import write_files

    out = tmp_path / "out"
    dets = tmp_path / "dets.json"
    dets.write_text(json.dumps(coco_records(person_track(60))))

    def killed_while_writing() -> None:
        def write(f) -> None:
            f.write(b"x" * 4096)
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)

        write_files({out / "dets.json": write}, binary=[out / "dets.json"])

    dead = _fork(killed_while_writing)
    assert os.WIFSIGNALED(_reap(dead))
    assert (out / f".dets.json.{dead}.tmp").exists()
    live = out / f".notes.csv.{os.getpid()}.tmp"  # a running process's (this one's)
    other = out / ".notes.tmp"  # no pid: not ours to remove
    live.write_text("x"), other.write_text("x")
    code, _ = _run(
        [
            "infer",
            str(dets),
            "--image-size",
            "640",
            "480",
            "--model",
            str(tiny_lifter),
            "--threads",
            "1",
            "--out",
            str(out),
        ]
    )
    count_cases("faults")
    assert code == 0
    assert not (out / f".dets.json.{dead}.tmp").exists()
    assert live.exists() and other.exists()


def test_resume_from_a_model_only_last_pt_says_so(synthetic_dir, tmp_path, count_cases):
    out = tmp_path / "run"
    argv = [
        "train",
        "--data-dir",
        str(synthetic_dir),
        "--out",
        str(out),
        "--threads",
        "1",
        "--epochs",
        "2",
        "--set",
        f"model_overrides={TINY}",
        "--set",
        "train_subjects=['S1']",
        "--set",
        "val_subjects=['S8']",
        "--set",
        "epoch_clips=8",
        "--set",
        "batch_size=8",
    ]
    out.mkdir()
    model = load_checkpoint(_tiny_run(synthetic_dir, tmp_path / "whole") / "last.pt")
    torch.save({"model_config": model["model_config"], "model": model["model"]}, out / "last.pt")
    for extra in ([], ["--allow-changes"]):
        code, lines = _run([*argv, "--resume", *extra])
        count_cases("faults")
        assert code == 2 and len(lines) == 1, lines
        assert (
            str(out / "last.pt") in lines[0]
            and "cannot be resumed" in lines[0]
            and "--restart" in lines[0]
        ), lines


def _tiny_run(data: Path, out: Path) -> Path:
    train(_config(data, out, epochs=1, epoch_clips=8), quiet=True)
    return out


# ---------------------------------------------------------------------------------------------
# Temporaries of the other writers: data files, BVH, checkpoints


def _write_npz(path: Path) -> None:
    from posemoe.io.npz import save_npz

    save_npz(path, positions_2d=np.zeros((50, 17, 2), np.float32))


def _write_bvh(path: Path) -> None:
    from posemoe.io.bvh import BvhSkeleton, write_bvh

    skeleton = BvhSkeleton(("Hips",), np.array([-1]), np.zeros((1, 3)), np.array([False]))
    write_bvh(
        path,
        skeleton,
        np.broadcast_to(np.eye(3), (50, 1, 3, 3)),
        np.zeros((50, 3)),
        frame_time=0.02,
    )


def _write_checkpoint(path: Path) -> None:
    save_atomic({"model_config": {}, "model": {"w": torch.zeros(1000)}}, path)


# name -> (file name, writer, (module, attribute) of the step that writes the bytes)
WRITERS = {
    "save_npz": ("data.npz", _write_npz, ("posemoe.io.npz", "save_npz_to")),
    "write_bvh": ("motion.bvh", _write_bvh, ("numpy", "savetxt")),
    "save_atomic": ("last.pt", _write_checkpoint, ("torch", "save")),
}


def _killed_writing(name: str, folder: Path) -> int:
    """Fork a child that dies (kill -9) part-way through ``WRITERS[name]`` into ``folder``,
    having written some bytes; -> its pid, reaped."""
    file, writer, (module, attribute) = WRITERS[name]

    def body() -> None:
        import importlib

        def dies(*args, **kwargs) -> None:
            stream = next(a for a in args if hasattr(a, "write"))
            stream.write(b"x" * 4096 if "b" in getattr(stream, "mode", "b") else "x" * 4096)
            stream.flush()
            os.kill(os.getpid(), signal.SIGKILL)

        setattr(importlib.import_module(module), attribute, dies)
        writer(folder / file)

    pid = _fork(body)
    assert os.WIFSIGNALED(_reap(pid)), f"{name}: the child should have died while writing"
    return pid


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_a_killed_writers_temporary_is_named_and_removed_when_the_file_is_written_again(
    tmp_path, count_cases, name
):
    """kill -9 inside ``save_npz``, BVH writing or a checkpoint: the file left is
    ``.<name>.<pid>.tmp`` (recognisable, not a random name); writing that file again removes it."""
    file, writer, _ = WRITERS[name]
    dead = _killed_writing(name, tmp_path)
    count_cases("faults")
    assert [p.name for p in tmp_path.iterdir()] == [f".{file}.{dead}.tmp"]
    writer(tmp_path / file)
    assert [p.name for p in tmp_path.iterdir()] == [file]


def test_a_killed_writers_temporaries_are_removed_by_the_next_infer_into_the_folder(
    tmp_path, tiny_lifter, count_cases
):
    out = tmp_path / "out"
    out.mkdir()
    left = [f".{WRITERS[name][0]}.{_killed_writing(name, out)}.tmp" for name in sorted(WRITERS)]
    assert sorted(p.name for p in out.iterdir()) == sorted(left)
    dets = tmp_path / "dets.json"
    dets.write_text(json.dumps(coco_records(person_track(60))))
    code, _ = _run(
        [
            "infer",
            str(dets),
            "--image-size",
            "640",
            "480",
            "--model",
            str(tiny_lifter),
            "--threads",
            "1",
            "--out",
            str(out),
        ]
    )
    count_cases("faults")
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["dets.csv", "dets.json", "dets.npz"]
