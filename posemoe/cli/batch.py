"""``posemoe infer`` over many inputs: lists of files, folders of videos, globs.

Each input is processed as ``posemoe infer <input>`` would process it alone (by the function the
command passes in, :func:`posemoe.cli.infer.infer_one`); one that fails is recorded and the rest go
on. Outputs of a video found in a folder go to the same relative subfolder of ``--out``. After each
input a manifest ``<stem>_run.json`` (frames, people, seconds, files written) is written last,
atomically: ``--skip-existing`` skips the inputs whose manifest and files are all there, so a run
killed or stopped resumes where it was. ``--jobs N`` runs N inputs at once, each in its own process
(a crash of a native library in one takes only that input with it), BlazePose's threads split among
them; ``--shard i/N`` keeps every N-th input of the sorted list, starting at the i-th (0-based), so
that N machines (a scheduler's array job: ``--shard $SLURM_ARRAY_TASK_ID/N``) share a corpus
without talking to each other. A summary table (file, frames, people, seconds, status, note) is
printed and written to ``<out>/summary.csv`` (``summary_shard<i>of<N>.csv`` for a shard); a skipped
input's row carries the frames, people and seconds of the run that finished it.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import glob
import io
import json
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from posemoe.cli.common import quiet_third_party, set_threads
from posemoe.errors import UserError

SUMMARY_FIELDS = ("file", "frames", "people", "seconds", "status", "note")
_GLOB = set("*?[")


@dataclass(frozen=True)
class Job:
    """One input and where its outputs go: ``out`` a folder, ``stem`` the outputs' name."""

    source: Path
    out: Path
    stem: str

    @property
    def manifest(self) -> Path:
        return self.out / f"{self.stem}_run.json"

    @property
    def log(self) -> Path:
        return self.out / "logs" / f"{self.stem}.log"


def add_batch_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--jobs",
        type=_jobs,
        default=1,
        help="several inputs: how many to process at once, each in its own process (BlazePose's "
        "threads are split among them)",
    )
    p.add_argument(
        "--shard",
        type=_shard,
        metavar="I/N",
        help="several inputs: keep every N-th of the sorted list, starting at the I-th (0-based), e.g. "
        "--shard $SLURM_ARRAY_TASK_ID/8",
    )
    p.add_argument(
        "--skip-existing",
        action="store_true",
        help="skip inputs whose outputs a previous run finished (<stem>_run.json and its files are "
        "there): resumes a killed run",
    )


def _jobs(text: str) -> int:
    from posemoe.cli.common import bounded_int

    return bounded_int(64)(text)


def _shard(text: str) -> tuple[int, int]:
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected I/N with integers, e.g. 0/4, got {text!r}"
        ) from None
    if count < 1 or not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"expected 0 <= I < N, got {text}")
    return index, count


def is_batch(args: argparse.Namespace) -> bool:
    """Several inputs, a glob, a folder of videos, or a batch option: processed by :func:`run_batch`."""
    from posemoe.io.video import VIDEO_SUFFIXES

    if len(args.inputs) > 1 or args.jobs > 1 or args.shard or args.skip_existing:
        return True
    text = args.inputs[0]
    path = Path(text)
    if not path.exists():
        return bool(_GLOB & set(text))
    return path.is_dir() and any(
        p.suffix.lower() in VIDEO_SUFFIXES for p in path.rglob("*") if p.is_file()
    )


def expand_inputs(inputs: list[str], out: Path) -> tuple[list[Job], int]:
    """Inputs -> the jobs, sorted by path, and how many files the folders held that are not videos.
    A folder holding videos gives each of them (its subfolders too); a folder without any is one
    recording (frames or keypoint files); a glob gives what it matches; anything else is one input."""
    from posemoe.inference.pipeline import output_stem
    from posemoe.io.video import VIDEO_SUFFIXES

    jobs, ignored = [], 0
    for text in inputs:
        if text.isdigit() or "://" in text:
            raise UserError(
                f"{text}: webcams and streams are lifted one at a time, not among several inputs"
            )
        path = Path(text)
        if not path.exists() and _GLOB & set(text):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise UserError(f"{text}: the pattern matches no file")
            jobs += [Job(Path(m), out, output_stem(m)) for m in matches]
        elif path.is_dir() and any(
            p.suffix.lower() in VIDEO_SUFFIXES for p in path.rglob("*") if p.is_file()
        ):
            files = sorted(p for p in path.rglob("*") if p.is_file())
            videos = [p for p in files if p.suffix.lower() in VIDEO_SUFFIXES]
            ignored += len(files) - len(videos)
            jobs += [Job(v, out / v.parent.relative_to(path), output_stem(v)) for v in videos]
        elif not path.exists():
            raise FileNotFoundError(f"no such file or folder: {path}")
        else:
            jobs.append(Job(path, out, output_stem(path)))
    jobs = sorted(dict.fromkeys(jobs), key=lambda job: str(job.source))
    clashes = _clashes(jobs)
    if clashes:
        raise UserError(
            f"inputs whose outputs would have the same name in one folder: {'; '.join(clashes[:3])}; "
            "give them separately with different --out folders, or rename them"
        )
    return jobs, ignored


def _clashes(jobs: list[Job]) -> list[str]:
    seen: dict[tuple[Path, str], Path] = {}
    clashes = []
    for job in jobs:
        key = (job.out, job.stem)
        if key in seen:
            clashes.append(f"{seen[key]} and {job.source} -> {job.out / job.stem}.*")
        seen[key] = job.source
    return clashes


def finished(job: Job) -> dict | None:
    """The manifest of a job a previous run finished (every file it lists still there), else None."""
    try:
        manifest = json.loads(job.manifest.read_text())
        files = [job.out / name for name in manifest["files"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return manifest if all(f.is_file() for f in files) else None


def _row(
    job: Job,
    frames: int | str = "",
    people: int | str = "",
    seconds: float | str = "",
    status: str = "ok",
    note: str = "",
) -> dict:
    return {
        "file": str(job.source),
        "frames": frames,
        "people": people,
        "seconds": f"{seconds:.1f}" if isinstance(seconds, float) else seconds,
        "status": status,
        "note": note,
    }


OneInput = Callable[[argparse.Namespace], "tuple | None"]
"""One input (``args.input``) -> ``(result, paths written)``, or None when nothing is reported."""


def run_one(args: argparse.Namespace, job: Job, one_input: OneInput) -> dict:
    """Process one job as ``posemoe infer`` does one input, its printout into its log; a summary row.
    Errors become the row's status; KeyboardInterrupt stops everything."""
    from posemoe.io.files import write_files

    one = argparse.Namespace(
        **{**vars(args), "input": str(job.source), "out": str(job.out), "quiet": True}
    )
    job.log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with (
        job.log.open("w") as log,
        contextlib.redirect_stdout(log),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        try:
            outcome = one_input(one)
        except Exception as err:  # noqa: BLE001  one input's failure, whatever it is, is recorded, not fatal
            traceback.print_exc(file=log)
            kind = "" if isinstance(err, (UserError, OSError)) else f"{type(err).__name__}: "
            return _row(
                job,
                seconds=time.perf_counter() - start,
                status="failed",
                note=f"{kind}{err}".replace("\n", " ")[:300],
            )
        for w in caught:
            print(f"warning: {w.message}", file=log)
    seconds = time.perf_counter() - start
    note = "; ".join(
        dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, UserWarning))
    )[:300]
    result, paths = outcome if outcome is not None else (None, [])
    frames, people = (result.frames, len(result.people)) if result is not None else ("", "")
    manifest = {
        "source": str(job.source),
        "frames": frames,
        "people": people,
        "seconds": round(seconds, 2),
        "files": sorted(str(Path(p).relative_to(job.out)) for p in paths),
    }
    write_files({job.manifest: lambda f: f.write(json.dumps(manifest, indent=1) + "\n")})
    return _row(job, frames, people, seconds, "ok", note)


def _child_command(
    args: argparse.Namespace, job: Job, workers: int, row_path: Path, one_input: OneInput
) -> list[str]:
    """``python -m <the module of one_input> <payload>``: that module runs :func:`run_child`."""
    options = {k: v for k, v in vars(args).items() if k != "func"}
    options["detect_workers"] = workers
    payload = json.dumps(
        {"args": options, "job": [str(job.source), str(job.out), job.stem], "row": str(row_path)}
    )
    return [sys.executable, "-m", one_input.__module__, payload]


def _run_parallel(args: argparse.Namespace, jobs: list[Job], on_row, one_input: OneInput) -> None:
    """At most ``args.jobs`` children at once, one per job; a child that dies leaves a failed row."""
    from posemoe.inference.detectors import usable_cores

    workers = max(1, min(args.detect_workers, usable_cores() // args.jobs))
    pending, running = list(jobs), []
    with tempfile.TemporaryDirectory(prefix="posemoe-batch-") as folder:
        try:
            while pending or running:
                while pending and len(running) < args.jobs:
                    job = pending.pop(0)
                    row_path = Path(folder) / f"{len(pending)}.json"
                    with row_path.with_suffix(".err").open(
                        "w"
                    ) as err:  # a file: a pipe could fill and block
                        process = subprocess.Popen(
                            _child_command(args, job, workers, row_path, one_input),
                            stdout=subprocess.DEVNULL,
                            stderr=err,
                        )
                    running.append((process, job, row_path, time.perf_counter()))
                time.sleep(0.2)
                for entry in [e for e in running if e[0].poll() is not None]:
                    running.remove(entry)
                    process, job, row_path, start = entry
                    err = row_path.with_suffix(".err").read_text(errors="replace").strip()
                    try:
                        row = json.loads(row_path.read_text())
                    except (OSError, ValueError):
                        last = err.splitlines()[-1] if err else ""
                        row = _row(
                            job,
                            seconds=time.perf_counter() - start,
                            status="failed",
                            note=f"the process ended with status {process.returncode} {last}".strip()[
                                :300
                            ],
                        )
                    on_row(row)
        finally:
            for process, *_ in running:
                process.kill()
                process.wait()


def print_table(rows: list[dict], file=None) -> None:
    widths = {k: max(len(k), *(len(str(r[k])) for r in rows)) for k in SUMMARY_FIELDS[:-1]}
    print(
        "  ".join(k.ljust(widths[k]) for k in SUMMARY_FIELDS[:-1]) + "  note", file=file
    )  # the note unpadded: last
    for r in rows:
        print(
            (
                "  ".join(str(r[k]).ljust(widths[k]) for k in SUMMARY_FIELDS[:-1])
                + f"  {r['note']}"
            ).rstrip(),
            file=file,
        )


def write_summary(path: Path, rows: list[dict]) -> Path:
    from posemoe.io.files import write_files

    def write(f) -> None:
        writer = csv.DictWriter(f, fieldnames=SUMMARY_FIELDS)
        writer.writeheader()
        writer.writerows(rows)

    return write_files({path: write})[0]


def run_batch(args: argparse.Namespace, one_input: OneInput) -> None:
    """Every input of ``args.inputs`` (this shard's), skipped when done before with --skip-existing,
    one by one or ``args.jobs`` at once; prints and writes the summary; fails (exit 2) if any input did."""
    jobs, ignored = expand_inputs(args.inputs, Path(args.out))
    total = len(jobs)
    if args.shard:
        index, count = args.shard
        jobs = jobs[index::count]
    print(
        f"{len(jobs)} input(s) to process"
        + (f" (shard {args.shard[0]}/{args.shard[1]} of {total})" if args.shard else "")
        + (
            f"; {ignored} file(s) in the folders are not videos and were left out"
            if ignored
            else ""
        )
    )
    rows: dict[Path, dict] = {}
    todo = []
    for job in jobs:
        manifest = finished(job) if args.skip_existing else None
        if manifest is not None:
            rows[job.source] = _row(
                job,
                manifest.get("frames", ""),
                manifest.get("people", ""),
                manifest.get("seconds", ""),
                "skipped",
                "finished by an earlier run",
            )
        else:
            todo.append(job)
    done = len(rows)

    def on_row(row: dict) -> None:
        nonlocal done
        done += 1
        rows[Path(row["file"])] = row
        tail = (
            f", {row['frames']} frames, {row['people']} people"
            if row["status"] == "ok"
            else f": {row['note']}"
        )
        print(
            f"[{done}/{len(jobs)}] {row['file']}: {row['status']} in {row['seconds']} s{tail}",
            flush=True,
        )

    start = time.perf_counter()
    if args.jobs > 1 and len(todo) > 1:
        _run_parallel(args, todo, on_row, one_input)
    else:
        for job in todo:
            on_row(run_one(args, job, one_input))
    ordered = [rows[job.source] for job in jobs]
    name = f"summary_shard{args.shard[0]}of{args.shard[1]}.csv" if args.shard else "summary.csv"
    path = write_summary(Path(args.out) / name, ordered)
    print()
    print_table(ordered)
    failed = sum(r["status"] == "failed" for r in ordered)
    print(
        f"{len(ordered) - failed} of {len(ordered)} ok in {time.perf_counter() - start:.1f} s "
        f"(--jobs {args.jobs}); summary: {path}"
    )
    if failed:
        raise UserError(
            f"{failed} of {len(ordered)} input(s) failed; see {path}, and logs/<name>.log beside each "
            "input's outputs"
        )


def run_child(payload: str, one_input: OneInput) -> None:
    """One job in a process of its own (:func:`_run_parallel`): its row goes to the file it is told.
    Run by the module that holds ``one_input`` (``python -m posemoe.cli.infer <payload>``), its
    printout dropped."""
    with contextlib.redirect_stdout(io.StringIO()):
        spec = json.loads(payload)
        args = argparse.Namespace(**spec["args"])
        quiet_third_party(args.verbose)
        set_threads(args.threads)
        source, out, stem = spec["job"]
        row = run_one(args, Job(Path(source), Path(out), stem), one_input)
        Path(spec["row"]).write_text(json.dumps(row))
