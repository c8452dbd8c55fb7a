"""``posemoe infer`` over many inputs: folders, globs, shards, failures recorded, resume after a kill."""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from posemoe.cli import main
from posemoe.cli.batch import _shard, expand_inputs

CLIP = Path(__file__).parents[2] / "posemoe" / "assets" / "sports2d_walk.mp4"  # 104 frames, 30 fps


def _summary(path: Path) -> dict[str, dict]:
    return {Path(row["file"]).name: row for row in csv.DictReader(path.open())}


def test_inputs_expand_from_folders_and_globs_and_shards_split_them(tmp_path):
    for name in ("b.mp4", "a.MOV", "notes.txt", "sub/c.mkv", "sub/d.json"):
        (tmp_path / "in" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "in" / name).write_text("x")
    jobs, ignored = expand_inputs([str(tmp_path / "in")], Path("out"))
    assert [j.source.name for j in jobs] == ["a.MOV", "b.mp4", "c.mkv"] and ignored == 2
    assert [j.out for j in jobs] == [
        Path("out"),
        Path("out"),
        Path("out/sub"),
    ]  # subfolders mirrored
    globbed, _ = expand_inputs([str(tmp_path / "in" / "**" / "*.m*")], Path("out"))
    assert sorted(j.source.name for j in globbed) == ["b.mp4", "c.mkv"]
    shards = [[j.source.name for j in jobs][i::3] for i in range(3)]
    assert sorted(sum(shards, [])) == sorted(j.source.name for j in jobs) and all(
        len(s) == 1 for s in shards
    )
    assert _shard("2/3") == (2, 3)
    for bad in ("3/3", "1", "a/b", "-1/2"):
        with pytest.raises(Exception, match="expected"):
            _shard(bad)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "b.mp4").write_text("x")
    with pytest.raises(Exception, match="same name"):
        expand_inputs(
            [str(tmp_path / "in" / "b.mp4"), str(tmp_path / "other" / "b.mp4")], Path("out")
        )
    with pytest.raises(Exception, match="matches no file"):
        expand_inputs([str(tmp_path / "none*.mp4")], Path("out"))


def test_a_folder_with_good_truncated_and_non_video_files(tmp_path, capsys):
    folder = tmp_path / "clips"
    (folder / "day2").mkdir(parents=True)
    shutil.copy(CLIP, folder / "good.mp4")
    (folder / "day2" / "truncated.mp4").write_bytes(
        CLIP.read_bytes()[:100_000]
    )  # 9 of its 104 frames decode
    (folder / "notes.mp4").write_text("not a video\n")
    (folder / "readme.txt").write_text("left out: not a video\n")
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as stop:
        main(
            [
                "infer",
                str(folder),
                "--out",
                str(out),
                "--max-frames",
                "15",
                "--format",
                "json",
                "--angles",
            ]
        )
    assert stop.value.code == 2
    printed = capsys.readouterr()
    assert (
        "1 of 3 input(s) failed" in printed.err
        and "1 file(s) in the folders are not videos" in printed.out
    )
    rows = _summary(out / "summary.csv")
    assert list(rows) == ["truncated.mp4", "good.mp4", "notes.mp4"]  # sorted by path: day2/ first
    assert (
        rows["good.mp4"]["status"] == "ok"
        and rows["good.mp4"]["frames"] == "15"
        and rows["good.mp4"]["people"] == "1"
    )
    assert rows["truncated.mp4"]["status"] == "ok" and rows["truncated.mp4"]["frames"] == "9"
    assert "truncated or damaged" in rows["truncated.mp4"]["note"]
    assert rows["notes.mp4"]["status"] == "failed" and "could not open" in rows["notes.mp4"]["note"]
    assert float(rows["good.mp4"]["seconds"]) > 0
    assert (out / "good.json").is_file() and (out / "good_angles.png").is_file()
    assert (out / "day2" / "truncated.json").is_file() and not (out / "notes.json").exists()
    manifest = json.loads((out / "good_run.json").read_text())
    assert (
        manifest["frames"] == 15
        and "good_angles.csv" in manifest["files"]
        and "good.json" in manifest["files"]
    )
    assert "could not open" in (out / "logs" / "notes.log").read_text()
    assert "summary" in printed.out and "good.mp4" in printed.out


def test_a_killed_run_resumes_with_skip_existing(tmp_path, capsys):
    folder = tmp_path / "clips"
    folder.mkdir()
    for name in ("a", "b", "c"):
        shutil.copy(CLIP, folder / f"{name}.mp4")
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "posemoe",
        "infer",
        str(folder),
        "--out",
        str(out),
        "--max-frames",
        "12",
        "--format",
        "json",
    ]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 240
    while (
        not (out / "a_run.json").exists() and process.poll() is None and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert (out / "a_run.json").exists() and not (out / "c_run.json").exists(), (
        "killed too late to test a resume"
    )
    first = (out / "a.json").stat().st_mtime_ns
    main(command[3:] + ["--skip-existing"])
    rows = _summary(out / "summary.csv")
    assert rows["a.mp4"]["status"] == "skipped" and rows["a.mp4"]["frames"] == "12"
    assert rows["c.mp4"]["status"] == "ok" and rows["b.mp4"]["status"] in ("ok", "skipped")
    assert (out / "a.json").stat().st_mtime_ns == first  # not redone
    assert len(json.loads((out / "c.json").read_text())["frames"]) == 12
    (out / "a.json").unlink()  # a file of a finished input gone: it is done again
    main(command[3:] + ["--skip-existing"])
    assert _summary(out / "summary.csv")["a.mp4"]["status"] == "ok" and (out / "a.json").is_file()
    capsys.readouterr()


def test_jobs_run_inputs_in_parallel_processes_and_shards_write_their_own_summary(
    tmp_path, tiny_lifter, capsys
):
    rng = np.random.default_rng(0)
    base = np.concatenate([rng.uniform(200, 400, (17, 2)), np.ones((17, 1))], -1)
    names = ["p1.json", "p2.json", "p3.json"]
    for k, name in enumerate(names):
        results = [
            {"image_id": t, "keypoints": (base + [t + k, 0, 0]).ravel().tolist(), "score": 1.0}
            for t in range(16 + k)
        ]
        (tmp_path / name).write_text(json.dumps(results))
    out = tmp_path / "out"
    common = [
        "--model",
        str(tiny_lifter),
        "--image-size",
        "640",
        "480",
        "--fps",
        "25",
        "--out",
        str(out),
        "--trc",
    ]
    main(["infer", *[str(tmp_path / n) for n in names], "--jobs", "2", *common])
    rows = _summary(out / "summary.csv")
    assert [rows[n]["frames"] for n in names] == ["16", "17", "18"] and {
        r["status"] for r in rows.values()
    } == {"ok"}
    assert all((out / n.replace(".json", ".trc")).is_file() for n in names)
    main(["infer", str(tmp_path / "p*.json"), "--shard", "1/2", "--skip-existing", *common])
    shard = _summary(out / "summary_shard1of2.csv")
    assert list(shard) == ["p2.json"] and shard["p2.json"]["status"] == "skipped"
    assert "[1/1] " not in capsys.readouterr().out  # nothing was run again
