"""``posemoe bench --video``'s busy-core rows: the busy process that stands in for another program's
work, and the rows built around it (infer_video replaced by a stub that reports given timings)."""

import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest

from posemoe.apps import bench
from posemoe.apps.bench import busy_cores, slowdown
from posemoe.errors import UserError


def _ended(pid: int) -> bool:
    """The process is gone, or a zombie no one has reaped (it runs no more)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] == "Z"
    except FileNotFoundError:
        return True


def _until_ended(pid: int, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while not _ended(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


linux = pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="reads /proc")


@linux
def test_busy_cores_run_for_the_block_and_stop_after_it():
    with busy_cores(2) as processes:
        assert len(processes) == 2 and all(p.poll() is None for p in processes)
        pids = [p.pid for p in processes]
        assert all(not _ended(pid) for pid in pids)
    assert all(p.returncode is not None for p in processes) and all(_ended(pid) for pid in pids)
    with busy_cores(0) as none:
        assert none == []


@linux
@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_busy_cores_stop_on_an_error_or_ctrl_c(error):
    with pytest.raises(error):
        with busy_cores(1) as processes:
            assert processes[0].poll() is None
            raise error()
    assert processes[0].returncode is not None and _ended(processes[0].pid)


@linux
def test_a_busy_core_stops_by_itself_when_the_benchmark_is_killed(tmp_path):
    """A benchmark killed outright (no finally runs) leaves no busy process behind."""
    script = (
        "import os, sys\n"
        "from posemoe.apps.bench import busy_cores\n"
        "with busy_cores(1) as processes:\n"
        "    print(processes[0].pid, flush=True)\n"
        "    os._exit(9)\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 9, run.stderr
    assert _until_ended(int(run.stdout.split()[0]))


def test_slowdown_is_the_default_against_the_fastest_setting():
    assert slowdown({1: 0.040, 2: 0.050}, 2) == pytest.approx(1.25)
    assert slowdown({1: 0.040, 2: 0.030}, 2) == 1.0
    assert slowdown({1: 0.030}, 1) == 1.0


def test_the_busy_rows_run_every_setting_quiet_and_busy_and_show_the_median(monkeypatch, capsys):
    """Each (people, machine state, workers) runs once a round with the order alternated, the busy
    runs (and only they) beside a live busy process; the table shows each setting's median and
    the default against the best."""
    runs, live = [], []

    @contextmanager
    def watched(count: int = 1):
        with busy_cores(count) as processes:
            live[:] = processes
            yield processes
        live.clear()

    seconds = {  # seconds per frame, end to end: (people, busy?, workers) -> the rounds' timings
        (1, False, 1): [0.030, 0.031, 0.100],
        (1, False, 2): [0.025, 0.026, 0.027],
        (1, True, 1): [0.040, 0.041, 0.042],
        (1, True, 2): [0.060, 0.062, 0.061],
    }

    def fake_infer_video(clip, model, *, detect_workers):
        busy = bool(live) and all(p.poll() is None for p in live)
        key = (int(Path(clip).stem[len("clip") :]), busy, detect_workers)
        runs.append(key)
        total = seconds[key][sum(1 for k in runs if k == key) - 1] * 10
        return SimpleNamespace(
            frames=10, stages=SimpleNamespace(seconds={"detect": total / 2, "lift": total / 2})
        )

    monkeypatch.setattr(bench, "busy_cores", watched)
    monkeypatch.setattr("posemoe.inference.pipeline.infer_video", fake_infer_video)
    monkeypatch.setattr("posemoe.inference.detectors.DETECT_WORKERS", 2)
    figures = bench.benchmark_busy_core("tiny", frames=3, size=(64, 48), people=(1,), rounds=3)
    assert sorted(runs) == sorted(list(seconds) * 3)
    assert runs[:4] == [(1, False, 1), (1, False, 2), (1, True, 1), (1, True, 2)]
    assert runs[4:8] == [(1, True, 2), (1, True, 1), (1, False, 2), (1, False, 1)]  # reversed
    assert figures["1 people, busy, 2 detect worker(s)"] == pytest.approx(0.061)
    assert figures["1 people, quiet, 1 detect worker(s)"] == pytest.approx(0.031)
    out = capsys.readouterr().out
    assert "| 1 | quiet | 32.3 (15.5 ms) | 38.5 (13.0 ms) | 1.00 |" in out
    assert "| 1 | busy | 24.4 (20.5 ms) | 16.4 (30.5 ms) | 1.49 |" in out
    assert "load average" in out and "--detect-workers 2 (default)" in out


def test_the_busy_rows_need_a_round():
    with pytest.raises(UserError, match="rounds must be >= 1"):
        bench.benchmark_busy_core("tiny", frames=3, rounds=0)
