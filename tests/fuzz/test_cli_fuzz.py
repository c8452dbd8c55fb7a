"""Every command, run in-process as ``posemoe.cli.main([...])``, with malformed, hostile and extreme
inputs and options. A failing case must exit with status 2 and ONE line on stderr that names the
file or option, with no traceback and no warning; a case that can be answered must be answered
correctly. Either way no file outside the output folder is touched, no input changes and no
temporary file is left behind."""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import io
import json
import os
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from fuzz_background import background, result
from fuzz_corpus import (
    DATA_DIRS,
    ERROR,
    GOOD,
    HUGE_IMAGES,
    IMAGE_SETS,
    IMAGES,
    KEYPOINT_ARRAYS,
    KEYPOINT_JSON,
    OK,
    OPENPOSE,
    PHOTO,
    TINY,
    WEIGHTS,
    Builder,
    _checkpoint,
    _image,
    _json_case,
    _pt,
    joined_streams,
    person_track,
    write_data_dir,
)

from posemoe.cli import main

ARGPARSE = (
    "argparse"  # an error argparse reports: usage lines, then the error line naming the option
)
LIFT_OPTIONS = ["--image-size", "640", "480", "--threads", "1", "--device", "cpu"]
LIFT = [*LIFT_OPTIONS, "--model", "{lifter}"]  # a tiny lifter: the shipped one takes 50 ms to load
TRAIN = [
    "--epochs",
    "1",
    "--threads",
    "1",
    "--device",
    "cpu",
    "--set",
    "train_subjects=['S1']",
    "--set",
    "val_subjects=['S8']",
    "--set",
    "model_overrides=" + str(TINY).replace("{", "{{").replace("}", "}}"),
    "--set",
    "epoch_clips=8",
    "--set",
    "batch_size=4",
    "--set",
    "val_max_windows=4",
]


@dataclass
class Case:
    """``argv`` is formatted with the built inputs (``{name}`` is the path ``files[name]`` built,
    ``{out}`` the output folder); ``names``, formatted alike, are what the error line must contain
    (one of them)."""

    argv: list[str]
    files: dict[str, Builder] = field(default_factory=dict)
    expect: str = ERROR
    names: tuple[str, ...] = ()
    check: Callable[[Path, str], None] | None = None
    out: str = "{out}"  # the output folder, where the command may write


def _data(d: Path) -> Path:
    return _cached("data-dir", lambda c: write_data_dir(c / "data"), d)


def _lifter(d: Path) -> Path:
    return _cached("tiny-lifter", _pt(_checkpoint()), d)


def _nan_lifter(d: Path) -> Path:
    import torch

    def payload() -> dict:
        ckpt = _checkpoint()()
        ckpt["model"] = {
            k: torch.full_like(v, float("nan")) if v.is_floating_point() else v
            for k, v in ckpt["model"].items()
        }
        return ckpt

    return _pt(payload)(d)


_CACHE: dict[str, Path] = {}


def _cached(key: str, build: Builder, d: Path) -> Path:
    """Build once per session (in a folder of its own), then copy into ``d``."""
    import tempfile

    if key not in _CACHE:
        folder = Path(tempfile.mkdtemp(prefix="posemoe-fuzz-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _CACHE[key] = build(folder)
    source = _CACHE[key]
    target = d / source.name
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copy2(source, target)
    return target


def _file(name: str, text: str | bytes) -> Builder:
    def build(d: Path) -> Path:
        (d / name).write_bytes(text.encode() if isinstance(text, str) else text)
        return d / name

    return build


# ---------------------------------------------------------------------------------------------
# Checks of answers


def _main_person(out: Path, stem: str = "dets") -> str:
    """The stem of the most present person's files: ``stem`` alone, or ``stem_person0`` of several."""
    return stem if (out / f"{stem}.npz").exists() else f"{stem}_person0"


def _finite_result(out: Path, stdout: str, *, stem: str = "dets", missing: bool = False) -> None:
    stems = (
        [stem]
        if (out / f"{stem}.npz").exists()
        else sorted(p.stem for p in out.glob(f"{stem}_person*.npz"))
    )
    assert stems, f"no {stem}.npz nor {stem}_person*.npz"
    for each in stems:
        with np.load(out / f"{each}.npz") as result:
            assert (
                np.isfinite(result["joints_3d"]).all() and np.isfinite(result["keypoints_2d"]).all()
            )
        record = json.loads((out / f"{each}.json").read_text())
        assert len(record["frames"]) == len(record["person_visible"])
    if missing:
        assert "count as missing" in stdout, stdout


def _walker_lifted(out: Path, stdout: str) -> None:
    """The walking person (x ~ 320 + 1.5 t px) was lifted, not a ghost made of one wild value."""
    _finite_result(out, stdout, missing=True)
    with np.load(out / f"{_main_person(out)}.npz") as result:
        centre = result["keypoints_2d"][:, :, 0].mean(1)
    expected = person_track()[:, :, 0].mean(1)
    np.testing.assert_allclose(centre, expected, atol=40)


def _assert(condition: bool) -> None:
    assert condition


def _outputs_of(stem: str) -> Callable[[Path, str], None]:
    return lambda out, stdout: _finite_result(out, stdout, stem=stem)


def _image_result(out: Path, stdout: str) -> None:
    record = json.loads((out / "photo.json").read_text())
    assert np.isfinite(np.asarray(record["joints_3d_m"])).all()


# ---------------------------------------------------------------------------------------------
# The cases

CASES: dict[str, Case] = {}


def _add(prefix: str, table: dict, make: Callable[[str, Builder, str], Case | None]) -> None:
    for name, (build, expect) in table.items():
        key = f"{id(table)}-{name}"  # the same file for every command that reads it: built once
        case = make(name, lambda d, b=build, k=key: _cached(k, b, d), expect)
        if case is not None:
            CASES[f"{prefix}/{name}"] = case


def _infer_json(name: str, build: Builder, expect: str) -> Case:
    extra = ["--layout", "halpe26"] if name.startswith("halpe") else []
    check = None
    if expect == OK:
        hijack = name.startswith(("1e30", "inf", "nan-coord", "minus"))
        check = _walker_lifted if hijack else (lambda out, stdout: _finite_result(out, stdout))
    return Case(
        ["infer", "{in}", *LIFT, *extra, "--out", "{out}"],
        {"in": build},
        expect,
        ("{in.name}",),
        check,
    )


def _infer_openpose(name: str, build: Builder, expect: str) -> Case:
    return Case(
        ["infer", "{in}", *LIFT, "--out", "{out}"],
        {"in": build},
        expect,
        ("{in.name}",),
        _outputs_of("openpose") if expect == OK else None,
    )


def _infer_array(name: str, build: Builder, expect: str) -> Case | None:
    if "mutation" in name:
        return None  # damaged archives: the reader suite runs them
    check = _outputs_of("keypoints") if expect == OK else None
    if "x-1000-people" in name:
        check = _crowd_lifted
    return Case(
        ["infer", "{in}", *LIFT, "--layout", "coco17", "--out", "{out}"],
        {"in": build},
        expect,
        ("{in.name}",),
        check,
    )


def _crowd_lifted(out: Path, stdout: str) -> None:
    """A crowd beyond the caps: 256 people a frame kept, 64 lifted, both said."""
    _finite_result(out, stdout, stem="keypoints")
    assert len(list(out.glob("keypoints_person*.npz"))) == 64
    assert (
        "held more than 256 people (up to 1000)" in stdout
        and "the 64 most present are lifted" in stdout
    )


def _infer_model(name: str, build: Builder, expect: str) -> Case | None:
    if expect == OK:
        return None
    return Case(
        ["infer", "{dets}", *LIFT_OPTIONS, "--model", "{model}", "--out", "{out}"],
        {"dets": _json_case(GOOD), "model": build},
        ERROR,
        ("{model.name}",),
    )


def _infer_image(name: str, build: Builder, expect: str) -> Case:
    if name == "folder-named-png":  # a folder with neither images nor OpenPose keypoints
        return Case(["infer", "{in}", "--out", "{out}"], {"in": build}, ERROR, ("no images",))
    if expect == OK:  # the image model answers; BlazePose would be too slow for a fuzz suite
        return Case(
            ["infer", "{in}", "--model", "aitepose-s-bodies", "--out", "{out}"],
            {"in": build},
            OK,
            check=lambda out, stdout: (
                _image_result(out, stdout) if (out / "photo.json").exists() else None
            ),
        )
    return Case(
        ["infer", "{in}", "--out", "{out}", "--threads", "1"], {"in": build}, ERROR, ("{in.name}",)
    )


_add("infer-json", KEYPOINT_JSON, _infer_json)
_add("infer-openpose", OPENPOSE, _infer_openpose)
_add("infer-array", KEYPOINT_ARRAYS, _infer_array)
_add("infer-model", WEIGHTS, _infer_model)
_add("infer-image", IMAGES, _infer_image)

_DETS = {"dets": _json_case(GOOD)}
_PHOTO = {"photo": _image(PHOTO)}


def _one(option: str, value: str, expect: str, name: str | None = None) -> Case:
    """``posemoe infer`` on the walking person's detections with one option set to ``value``; the
    error must name ``name`` (default: the option)."""
    return Case(
        ["infer", "{dets}", *LIFT, option, value, "--out", "{out}"],
        _DETS,
        expect,
        (name or option,),
    )


CASES.update(
    {
        # options of `posemoe infer`
        "infer/default-lifter": Case(
            ["infer", "{dets}", *LIFT_OPTIONS, "--smooth", "--out", "{out}"],
            _DETS,
            OK,
            check=lambda out, stdout: _finite_result(out, stdout),
        ),
        "infer/default-lifter-1e30-bystander": Case(
            ["infer", "{dets}", *LIFT_OPTIONS, "--out", "{out}"],
            {"dets": KEYPOINT_JSON["1e30-bystander-throughout"][0]},
            OK,
            check=_walker_lifted,
        ),
        "infer/image-size-0-0": Case(
            ["infer", "{dets}", "--image-size", "0", "0", "--out", "{out}"],
            _DETS,
            ARGPARSE,
            ("--image-size",),
        ),
        "infer/image-size-negative": Case(
            ["infer", "{dets}", "--image-size", "-640", "480", "--out", "{out}"],
            _DETS,
            ARGPARSE,
            ("--image-size",),
        ),
        "infer/image-size-words": Case(
            ["infer", "{dets}", "--image-size", "wide", "480", "--out", "{out}"],
            _DETS,
            ARGPARSE,
            ("--image-size",),
        ),
        "infer/image-size-missing": Case(
            ["infer", "{dets}", "--out", "{out}"], _DETS, ERROR, ("--image-size",)
        ),
        "infer/image-size-10^12": Case(
            ["infer", "{dets}", "--image-size", "1000000000000", "480", "--out", "{out}"],
            _DETS,
            ARGPARSE,
            ("--image-size",),
        ),
        "infer/focal-1e9": _one("--focal", "1e9", ERROR, "focal length of 1e+09 px"),
        "infer/focal-1e9-bvh": Case(
            ["infer", "{dets}", *LIFT, "--focal", "1e9", "--world", "--bvh", "--out", "{out}"],
            _DETS,
            ERROR,
            ("focal length of 1e+09 px",),
        ),
        "infer/focal-0.5": _one("--focal", "0.5", ERROR, "focal length of 0.5 px"),
        "infer/focal-1000": _one("--focal", "1000", OK),
        "infer/fps-0": _one("--fps", "0", ARGPARSE),
        "infer/fps-negative": _one("--fps", "-25", ARGPARSE),
        "infer/fps-nan": _one("--fps", "nan", ARGPARSE),
        "infer/fps-inf": _one("--fps", "inf", ARGPARSE),
        "infer/fps-1e-300": _one("--fps", "1e-300", ERROR),
        "infer/max-frames-0": _one("--max-frames", "0", ARGPARSE),
        "infer/track-negative": _one("--track", "-1", ERROR),
        "infer/track-99": _one("--track", "99", ERROR),
        "infer/layout-unknown": _one("--layout", "smpl24", ERROR, "smpl24"),
        "infer/layout-openpose-for-json": _one("--layout", "openpose25", ERROR),
        "infer/model-unknown-name": Case(
            ["infer", "{dets}", *LIFT_OPTIONS, "--model", "posemoe-t999", "--out", "{out}"],
            _DETS,
            ERROR,
            ("posemoe-t999",),
        ),
        "infer/model-missing-file": Case(
            ["infer", "{dets}", *LIFT_OPTIONS, "--model", "none.safetensors", "--out", "{out}"],
            _DETS,
            ERROR,
            ("none.safetensors",),
        ),
        "infer/model-image-model-for-keypoints": Case(
            ["infer", "{dets}", *LIFT_OPTIONS, "--model", "aitepose-s-bodies", "--out", "{out}"],
            _DETS,
            ERROR,
            ("aitepose",),
        ),
        "infer/model-nan-weights": Case(
            ["infer", "{dets}", *LIFT_OPTIONS, "--model", "{model}", "--out", "{out}"],
            _DETS | {"model": _nan_lifter},
            ERROR,
            ("{model.name}",),
        ),
        "infer/render-mp4-of-keypoints": _one("--render", "mp4", ERROR),
        "infer/render-unknown": _one("--render", "gif", ARGPARSE),
        "infer/smooth-cutoff-0": Case(
            ["infer", "{dets}", *LIFT, "--smooth", "--smooth-cutoff", "0", "--out", "{out}"],
            _DETS,
            ARGPARSE,
            ("--smooth-cutoff",),
        ),
        "infer/smooth-beta-nan": Case(
            ["infer", "{dets}", *LIFT, "--smooth", "--smooth-beta", "nan", "--out", "{out}"],
            _DETS,
            ERROR,
            ("--smooth-beta",),
        ),
        "infer/threads-0": _one("--threads", "0", ARGPARSE),
        "infer/device-default": Case(  # no --device: a torch lifter runs where the API's would
            [
                "infer",
                "{dets}",
                "--image-size",
                "640",
                "480",
                "--threads",
                "1",
                "--model",
                "{lifter}",
                "--out",
                "{out}",
            ],
            _DETS,
            OK,
            check=lambda out, stdout: _finite_result(out, stdout),
        ),
        "infer/device-cuda-absent": _one("--device", "cuda", ERROR),
        "infer/device-bogus": _one("--device", "toaster", ERROR),
        "infer/out-is-the-input-folder": Case(
            ["infer", "{dets}", *LIFT, "--out", "{dets.parent}"],
            _DETS,
            ERROR,
            ("{dets.name}",),
            out="{dets.parent}",
        ),
        "infer/out-is-the-input-folder-npy": Case(
            ["infer", "{arr}", *LIFT, "--layout", "coco17", "--out", "{arr.parent}"],
            {"arr": KEYPOINT_ARRAYS["npy-float16"][0]},
            OK,
            check=_outputs_of("keypoints"),
            out="{arr.parent}",
        ),
        "infer/out-over-npz-input": Case(
            ["infer", "{arr}", *LIFT, "--layout", "coco17", "--out", "{arr.parent}"],
            {"arr": KEYPOINT_ARRAYS["npz-people-with-nan"][0]},
            ERROR,
            ("{arr.name}",),
            out="{arr.parent}",
        ),
        "infer/out-is-a-file": Case(
            ["infer", "{dets}", *LIFT, "--out", "{dets}"], _DETS, ERROR, ("{dets.name}", "--out")
        ),
        "infer/input-missing": Case(
            ["infer", "missing.json", *LIFT, "--out", "{out}"], {}, ERROR, ("missing.json",)
        ),
        "infer/input-unknown-suffix": Case(
            ["infer", "{txt}", "--out", "{out}"],
            {"txt": _file("notes.txt", "hello")},
            ERROR,
            ("notes.txt",),
        ),
        "infer/input-garbage-mp4": Case(
            ["infer", "{mp4}", "--out", "{out}"],
            {"mp4": _file("clip.mp4", b"\x00\x01" * 999)},
            ERROR,
            ("clip.mp4",),
        ),
        "infer/video-frame-size-changes": Case(
            ["infer", "{ts}", "--out", "{out}"],
            {"ts": joined_streams},
            ERROR,
            ("{ts.name}: its frames change size part-way (640x360, then 1280x720)",),
        ),
        "infer/input-empty-mp4": Case(
            ["infer", "{mp4}", "--out", "{out}"],
            {"mp4": _file("clip.mp4", b"")},
            ERROR,
            ("clip.mp4",),
        ),
        "infer/camera-99": Case(["infer", "99", "--out", "{out}"], {}, ERROR, ("camera 99",)),
        "infer/stream-with-render": Case(
            ["infer", "rtsp://127.0.0.1:9/none", "--render", "html", "--out", "{out}"],
            {},
            ERROR,
            ("--render",),
        ),
        "infer/track-with-video": Case(
            ["infer", "{mp4}", "--track", "1", "--out", "{out}"],
            {"mp4": _file("clip.mp4", b"\x00")},
            ERROR,
            ("clip.mp4",),
        ),
        "infer/bbox-outside-image": Case(
            [
                "infer",
                "{photo}",
                "--model",
                "aitepose-s-bodies",
                "--bbox",
                "1000",
                "1000",
                "50",
                "50",
                "--out",
                "{out}",
            ],
            _PHOTO,
            ERROR,
            ("--bbox", "bbox"),
        ),
        "infer/bbox-empty": Case(
            [
                "infer",
                "{photo}",
                "--model",
                "aitepose-s-bodies",
                "--bbox",
                "10",
                "10",
                "0",
                "0",
                "--out",
                "{out}",
            ],
            _PHOTO,
            ERROR,
            ("--bbox", "bbox"),
        ),
        "infer/bbox-nan": Case(
            [
                "infer",
                "{photo}",
                "--model",
                "aitepose-s-bodies",
                "--bbox",
                "nan",
                "10",
                "20",
                "20",
                "--out",
                "{out}",
            ],
            _PHOTO,
            ERROR,
            ("--bbox", "bbox"),
        ),
        "infer/bbox-1e30": Case(
            [
                "infer",
                "{photo}",
                "--model",
                "aitepose-s-bodies",
                "--bbox",
                "0",
                "0",
                "1e30",
                "1e30",
                "--out",
                "{out}",
            ],
            _PHOTO,
            ERROR,
            ("--bbox", "bbox"),
        ),
        "infer/bbox-partly-outside": Case(
            [
                "infer",
                "{photo}",
                "--model",
                "aitepose-s-bodies",
                "--bbox",
                "100",
                "60",
                "120",
                "100",
                "--out",
                "{out}",
            ],
            _PHOTO,
            OK,
            check=_image_result,
        ),
        "infer/image-out-is-input-folder": Case(
            ["infer", "{photo}", "--model", "aitepose-s-bodies", "--out", "{photo.parent}"],
            _PHOTO,
            OK,
            check=_image_result,
            out="{photo.parent}",
        ),
    }
)


# `posemoe train`
def _data_case(name: str, build: Builder) -> Builder:
    return lambda d: _cached(f"data-{name}", build, d)


def _train_data(name: str, build: Builder, expect: str) -> Case | None:
    return Case(
        ["train", "--data-dir", "{data}", "--out", "{out}", *TRAIN],
        {"data": _data_case(name, build)},
        ERROR,
        ("data_3d_h36m.npz", "data_2d_h36m_gt.npz"),
    )


_add("train-data", DATA_DIRS, _train_data)


def _toml(text: str) -> Builder:
    return _file("run.toml", text)


CASES.update(
    {
        "train/data-dir-missing": Case(
            ["train", "--data-dir", "nowhere", "--out", "{out}", *TRAIN],
            {},
            ERROR,
            ("nowhere",),
        ),
        "train/config-missing": Case(
            ["train", "--config", "none.toml", "--out", "{out}"], {}, ERROR, ("none.toml",)
        ),
        "train/config-not-toml": Case(
            ["train", "--config", "{cfg}", "--out", "{out}"],
            {"cfg": _toml("lr = = 3\n[")},
            ERROR,
            ("{cfg.name}",),
        ),
        "train/config-binary": Case(
            ["train", "--config", "{cfg}", "--out", "{out}"],
            {"cfg": _toml(b"\xff\xfe\x00")},
            ERROR,
            ("{cfg.name}",),
        ),
        "train/config-lr-string": Case(
            ["train", "--config", "{cfg}", "--data-dir", "{data}", "--out", "{out}", *TRAIN],
            {"cfg": _toml('lr = "fast"\n'), "data": _data},
            ERROR,
            ("lr",),
        ),
        "train/config-unknown-key": Case(
            ["train", "--config", "{cfg}", "--out", "{out}"],
            {"cfg": _toml("learning_rate = 1\n")},
            ERROR,
            ("learning_rate",),
        ),
        "train/set-lr-words": Case(
            ["train", "--data-dir", "{data}", "--out", "{out}", *TRAIN, "--set", "lr=fast"],
            {"data": _data},
            ERROR,
            ("lr",),
        ),
        "train/set-lr-nan": Case(
            ["train", "--data-dir", "{data}", "--out", "{out}", *TRAIN, "--set", "lr=nan"],
            {"data": _data},
            ERROR,
            ("lr",),
        ),
        "train/set-batch-size-0": Case(
            [
                "train",
                "--data-dir",
                "{data}",
                "--out",
                "{out}",
                *TRAIN,
                "--set",
                "batch_size=0",
            ],
            {"data": _data},
            ERROR,
            ("batch_size",),
        ),
        "train/set-no-equals": Case(
            ["train", "--data-dir", "{data}", "--out", "{out}", *TRAIN, "--set", "lr"],
            {"data": _data},
            ERROR,
            ("--set",),
        ),
        "train/set-dim-string": Case(
            [
                "train",
                "--data-dir",
                "{data}",
                "--out",
                "{out}",
                *TRAIN,
                "--set",
                "model_overrides={{'dim': 'x'}}",
            ],
            {"data": _data},
            ERROR,
            ("dim",),
        ),
        "train/model-unknown": Case(
            ["train", "--data-dir", "{data}", "--out", "{out}", *TRAIN, "--model", "gpt-5"],
            {"data": _data},
            ERROR,
            ("gpt-5",),
        ),
        "train/source-missing": Case(
            ["train", "--data-dir", "{data}", "--out", "{out}", *TRAIN, "--source", "cpn"],
            {"data": _data},
            ERROR,
            ("data_2d_h36m_cpn.npz",),
        ),
        "train/val-on-test-subject": Case(
            [
                "train",
                "--data-dir",
                "{data}",
                "--out",
                "{out}",
                *TRAIN,
                "--set",
                "val_subjects=['S9']",
            ],
            {"data": _data},
            ERROR,
            ("S9",),
        ),
        "train/resume-without-last": Case(
            ["train", "--data-dir", "{data}", "--out", "{out}", *TRAIN, "--resume"],
            {"data": _data},
            ERROR,
            ("last.pt",),
        ),
        "train/out-dir-old-spelling": Case(  # read as --out, with a deprecation line
            ["train", "--data-dir", "{data}", "--out-dir", "{out}", *TRAIN],
            {"data": _data},
            OK,
            check=lambda out, stdout: _assert((out / "last.pt").is_file()),
        ),
        "train/out-is-a-file": Case(
            ["train", "--data-dir", "{data}", "--out", "{data}/data_3d_h36m.npz", *TRAIN],
            {"data": _data},
            ERROR,
            ("data_3d_h36m.npz",),
        ),
        "train/epochs-0": Case(["train", "--epochs", "0"], {}, ARGPARSE, ("--epochs",)),
        "train/time-budget-nan": Case(
            ["train", "--time-budget", "nan"], {}, ARGPARSE, ("--time-budget",)
        ),
    }
)


# `posemoe eval`
# `posemoe infer --model` runs every weights case and `train` every data folder; eval repeats a sample
_EVAL_WEIGHTS = {
    "pt-garbage",
    "pt-pickle-exploit",
    "pt-config-string",
    "pt-tensors-do-not-fit",
    "st-garbage",
    "st-header-length-2^60",
    "st-config-string",
    "st-dim-32768-20MB",
    "st-heads-not-dividing-dim",
}
_EVAL_DATA = {
    "3d-1e30-joint",
    "2d-1e30-joint",
    "3d-nan-joint",
    "3d-bomb-1.2GB",
    "2d-pickle-exploit",
    "3d-not-a-dict",
    "2d-view-objects",
}
_EVAL_SETS = {
    "images-not-square",
    "poses-nan",
    "layout-pickled-dict",
    "images-pickled-exploit",
    "images-bomb-1.2GB",
    "valid",
}


def _eval_checkpoint(name: str, build: Builder, expect: str) -> Case | None:
    if name not in _EVAL_WEIGHTS:
        return None
    return Case(
        [
            "eval",
            "{ckpt}",
            "--data-dir",
            "{data}",
            "--subjects",
            "S8",
            "--threads",
            "1",
            "--device",
            "cpu",
            "--out",
            "{out}",
        ],
        {"ckpt": build, "data": _data},
        ERROR,
        ("{ckpt.name}",),
    )


def _eval_data(name: str, build: Builder, expect: str) -> Case | None:
    if name not in _EVAL_DATA:
        return None
    return Case(
        [
            "eval",
            "{ckpt}",
            "--data-dir",
            "{data}",
            "--subjects",
            "S1",
            "S8",
            "--threads",
            "1",
            "--device",
            "cpu",
            "--out",
            "{out}",
        ],
        {"ckpt": _lifter, "data": _data_case(name, build)},
        ERROR,
        ("data_3d_h36m.npz", "data_2d_h36m_gt.npz"),
    )


def _eval_images(name: str, build: Builder, expect: str) -> Case | None:
    if name not in _EVAL_SETS:
        return None
    return Case(
        [
            "eval",
            "aitepose-s-bodies",
            "--images",
            "{set}",
            "--threads",
            "1",
            "--device",
            "cpu",
            "--out",
            "{out}",
        ],
        {"set": build},
        ERROR,
        ("{set.name}",),
    )


_add("eval-checkpoint", WEIGHTS, _eval_checkpoint)
_add("eval-data", DATA_DIRS, _eval_data)
_add("eval-images", IMAGE_SETS, _eval_images)
_EVAL = {"ckpt": _lifter, "data": _data}
CASES.update(
    {
        "eval/checkpoint-missing": Case(
            ["eval", "none.pt", "--data-dir", "{data}"], {"data": _data}, ERROR, ("none.pt",)
        ),
        "eval/subject-unknown": Case(
            ["eval", "{ckpt}", "--data-dir", "{data}", "--subjects", "S99", "--threads", "1"],
            _EVAL,
            ERROR,
            ("S99",),
        ),
        "eval/dataset-unknown": Case(
            ["eval", "{ckpt}", "--data-dir", "{data}", "--dataset", "smpl", "--threads", "1"],
            _EVAL,
            ERROR,
            ("data_3d_smpl.npz",),
        ),
        "eval/lifter-without-data-dir": Case(
            ["eval", "{ckpt}", "--threads", "1"], _EVAL, ERROR, ("--data-dir",)
        ),
        "eval/image-model-without-images": Case(
            ["eval", "aitepose-s-bodies", "--threads", "1"], {}, ERROR, ("--images",)
        ),
        "eval/images-a-checkpoint": Case(
            ["eval", "aitepose-s-bodies", "--images", "{ckpt}", "--threads", "1"],
            _EVAL,
            ERROR,
            ("{ckpt.name}",),
        ),
        "eval/h36m-virtual-seed-minus-1": Case(
            ["eval", "{ckpt}", "--data-dir", "{data}", "--dataset", "h36m-virtual", "--seed", "-1"],
            _EVAL,
            ARGPARSE,
            ("--seed",),
        ),
        "eval/batch-size-0": Case(
            ["eval", "{ckpt}", "--batch-size", "0"], _EVAL, ARGPARSE, ("--batch-size",)
        ),
        "eval/windows-unknown": Case(
            ["eval", "{ckpt}", "--windows", "some"], _EVAL, ARGPARSE, ("--windows",)
        ),
        "eval/out-is-a-file": Case(
            [
                "eval",
                "{ckpt}",
                "--data-dir",
                "{data}",
                "--subjects",
                "S8",
                "--threads",
                "1",
                "--out",
                "{ckpt}",
            ],
            _EVAL,
            ERROR,
            ("{ckpt.name}", "--out"),
        ),
        "eval/nan-weights": Case(
            [
                "eval",
                "{ckpt}",
                "--data-dir",
                "{data}",
                "--subjects",
                "S8",
                "--threads",
                "1",
                "--out",
                "{out}",
            ],
            {"ckpt": _nan_lifter, "data": _data},
            ERROR,
            ("{ckpt.name}",),
        ),
        "eval/ok": Case(
            [
                "eval",
                "{ckpt}",
                "--data-dir",
                "{data}",
                "--subjects",
                "S8",
                "--threads",
                "1",
                "--out",
                "{out}",
            ],
            _EVAL,
            OK,
            check=lambda out, stdout: _assert(
                json.loads((out / "eval.json").read_text())["frames"] > 0
            ),
        ),
    }
)


# `posemoe analyze`
_ANALYZE_WEIGHTS = {"pt-garbage", "pt-pickle-exploit", "st-garbage", "st-header-length-2^60"}
_ANALYZE_DATA = {"3d-nan-joint", "2d-pickle-exploit", "3d-not-a-dict"}
_MI = [
    "--subjects",
    "S8",
    "--threads",
    "1",
    "--device",
    "cpu",
    "--dims",
    "2",
    "--seeds",
    "2",
    "--out",
    "{out}",
]


def _analyze_checkpoint(name: str, build: Builder, expect: str) -> Case | None:
    if name not in _ANALYZE_WEIGHTS:
        return None
    return Case(
        ["analyze", "mi", "{ckpt}", "--data-dir", "{data}", *_MI],
        {"ckpt": build, "data": _data},
        ERROR,
        ("{ckpt.name}",),
    )


def _analyze_data(name: str, build: Builder, expect: str) -> Case | None:
    if name not in _ANALYZE_DATA:
        return None
    return Case(
        ["analyze", "mi", "{ckpt}", "--data-dir", "{data}", *_MI],
        {"ckpt": _lifter, "data": _data_case(name, build)},
        ERROR,
        ("data_3d_h36m.npz", "data_2d_h36m_gt.npz"),
    )


_add("analyze-checkpoint", WEIGHTS, _analyze_checkpoint)
_add("analyze-data", DATA_DIRS, _analyze_data)
CASES.update(
    {
        "analyze/checkpoint-missing": Case(
            ["analyze", "mi", "none.pt", "--data-dir", "{data}"],
            {"data": _data},
            ERROR,
            ("none.pt",),
        ),
        "analyze/image-model": Case(
            ["analyze", "mi", "aitepose-s-bodies", "--data-dir", "{data}", *_MI],
            {"data": _data},
            ERROR,
            ("aitepose-s-bodies",),
        ),
        "analyze/without-data-dir": Case(
            ["analyze", "mi", "{ckpt}"], _EVAL, ARGPARSE, ("--data-dir",)
        ),
        "analyze/subject-unknown": Case(
            [
                "analyze",
                "mi",
                "{ckpt}",
                "--data-dir",
                "{data}",
                *_MI[:-2],
                "--subjects",
                "S99",
                "--out",
                "{out}",
            ],
            _EVAL,
            ERROR,
            ("S99",),
        ),
        "analyze/too-few-windows": Case(
            ["analyze", "mi", "{ckpt}", "--data-dir", "{data}", *_MI, "--max-windows", "3"],
            _EVAL,
            ERROR,
            ("--max-windows",),
        ),
        "analyze/dims-0": Case(
            ["analyze", "mi", "{ckpt}", "--data-dir", "{data}", "--dims", "0"],
            _EVAL,
            ARGPARSE,
            ("--dims",),
        ),
        "analyze/one-label-for-two": Case(
            ["analyze", "mi", "{ckpt}", "{ckpt}", "--data-dir", "{data}", *_MI, "--labels", "a"],
            _EVAL,
            ERROR,
            ("--labels",),
        ),
        "analyze/out-is-a-file": Case(
            ["analyze", "mi", "{ckpt}", "--data-dir", "{data}", *_MI[:-2], "--out", "{ckpt}"],
            _EVAL,
            ERROR,
            ("{ckpt.name}", "--out"),
        ),
        "analyze/ok": Case(
            ["analyze", "mi", "{ckpt}", "--data-dir", "{data}", *_MI, "--labels", "tiny"],
            _EVAL,
            OK,
            check=lambda out, stdout: _assert(
                len(json.loads((out / "tiny.mi.json").read_text())["layers"]) > 0
                and (out / "mi.png").is_file()
            ),
        ),
        "analyze/estimators-samples-0": Case(
            ["analyze", "estimators", "--samples", "0"], {}, ARGPARSE, ("--samples",)
        ),
        "analyze/estimators-ok": Case(
            ["analyze", "estimators", "--samples", "200", "--seeds", "1", "--dims", "1"], {}, OK
        ),
    }
)


# `posemoe export`
def _export(name: str, build: Builder, expect: str) -> Case | None:
    if not name.startswith("pt-") or expect == OK:
        return None
    return Case(
        ["export", "{ckpt}", "{out}/w.safetensors"], {"ckpt": build}, ERROR, ("{ckpt.name}",)
    )


_add("export", WEIGHTS, _export)
CASES.update(
    {
        "export/out-not-safetensors": Case(
            ["export", "{ckpt}", "{out}/w.bin"], {"ckpt": _lifter}, ERROR, ("w.bin",)
        ),
        "export/checkpoint-is-safetensors": Case(
            ["export", "{st}", "{out}/w.safetensors"],
            {"st": WEIGHTS["st-valid"][0]},
            ERROR,
            ("{st.name}",),
        ),
        "export/ok": Case(
            ["export", "{ckpt}", "{out}/w.safetensors", "--half"],
            {"ckpt": _lifter},
            OK,
            check=lambda out, stdout: _assert((out / "w.safetensors").stat().st_size > 0),
        ),
    }
)


# `posemoe prepare-2d`, `synth`, `render-bodies`, `import-images`
def _prepare(name: str, build: Builder, expect: str) -> Case | None:
    if not name.startswith("3d-"):
        return None
    return Case(
        ["prepare-2d", "--data-dir", "{data}"],
        {"data": _data_case(name, build)},
        ERROR,
        ("data_3d_h36m.npz",),
    )


def _render(name: str, build: Builder, expect: str) -> Case | None:
    if name not in ("3d-1e30-joint", "3d-bomb-1.2GB", "2d-pickle-exploit", "3d-not-a-dict"):
        return None
    return Case(
        [
            "render-bodies",
            "--data-dir",
            "{data}",
            "--subjects",
            "S1",
            "--count",
            "2",
            "--size",
            "16",
            "--out",
            "{out}/set.npz",
        ],
        {"data": _data_case(name, build)},
        ERROR,
        ("data_3d_h36m.npz", "data_2d_h36m_gt.npz"),
    )


_add("prepare-2d", DATA_DIRS, _prepare)
_add("render-bodies", DATA_DIRS, _render)
_SCENE = np.zeros((120, 160, 3), np.uint8)
_JOINTS = (np.random.default_rng(0).normal(0, 300, (17, 3)) + [0, 0, 5000]).round(1)


def _annotations(
    fmt: str, *, image: object = None, ann: object = None, top: object = None
) -> Builder:
    """A one-image annotation file (Human3.6M JSON or COCO) and its image; ``image``/``ann`` update
    the image / annotation entries, ``top`` replaces the whole object."""

    def build(d: Path) -> Path:
        _image(_SCENE, "s_09_act_02_subact_01_ca_03_000001.png")(d)
        entry = {
            "id": 7,
            "file_name": "s_09_act_02_subact_01_ca_03_000001.png",
            "width": 160,
            "height": 120,
            "cam_param": {"f": [1000, 1000], "c": [80, 60]},
        }
        label = (
            {"id": 1, "image_id": 7, "bbox": [40, 20, 60, 80], "h36m_joints": _JOINTS.tolist()}
            if fmt == "h36m"
            else {
                "id": 1,
                "image_id": 7,
                "bbox": [40, 20, 60, 80],
                "num_keypoints": 17,
                "iscrowd": 0,
                "keypoints": [v for x in range(17) for v in (50 + x, 30 + 2 * x, 2)],
            }
        )
        entry.update(image or {})
        label.update(ann or {})
        data = top if top is not None else {"images": [entry], "annotations": [label]}
        path = d / "labels.json"
        path.write_text(json.dumps(data, allow_nan=True))
        return path

    return build


def _z(value: float, joint: int = 4) -> list:
    joints = _JOINTS.copy()
    joints[joint, 2] = value
    return joints.tolist()


_IMPORT = {
    "h36m/joint-at-z-0": ("h36m", {"ann": {"h36m_joints": _z(0.0)}}, ERROR),
    "h36m/joint-behind-camera": ("h36m", {"ann": {"h36m_joints": _z(-100.0)}}, ERROR),
    "h36m/joint-z-1e-9": ("h36m", {"ann": {"h36m_joints": _z(1e-9)}}, ERROR),
    "h36m/joint-nan": ("h36m", {"ann": {"h36m_joints": _z(float("nan"))}}, ERROR),
    "h36m/joint-1e30": ("h36m", {"ann": {"h36m_joints": _z(1e30)}}, ERROR),
    "h36m/joints-strings": ("h36m", {"ann": {"h36m_joints": "many"}}, ERROR),
    "h36m/joints-16": ("h36m", {"ann": {"h36m_joints": _JOINTS[:16].tolist()}}, ERROR),
    "h36m/cam-f-string": ("h36m", {"image": {"cam_param": {"f": "1000", "c": [80, 60]}}}, ERROR),
    "h36m/cam-null-f": ("h36m", {"image": {"cam_param": {"c": [80, 60]}}}, ERROR),
    "h36m/image-id-list": ("h36m", {"ann": {"image_id": [7]}}, ERROR),
    "h36m/image-id-unknown": ("h36m", {"ann": {"image_id": 8}}, ERROR),
    "h36m/image-without-id": ("h36m", {"image": {"id": None}}, ERROR),
    "h36m/file-name-number": ("h36m", {"image": {"file_name": 5}}, ERROR),
    "h36m/file-missing": (
        "h36m",
        {"image": {"file_name": "nothing.png"}},
        ERROR,
    ),  # names the image
    "h36m/bbox-strings": ("h36m", {"ann": {"bbox": ["a", "b", "c", "d"]}}, ERROR),
    "h36m/bbox-3-numbers": ("h36m", {"ann": {"bbox": [1, 2, 3]}}, ERROR),
    "h36m/bbox-outside-image": ("h36m", {"ann": {"bbox": [5000, 5000, 60, 80]}}, ERROR),
    "h36m/bbox-nan": ("h36m", {"ann": {"bbox": [float("nan"), 20, 60, 80]}}, ERROR),
    "h36m/annotation-null": ("h36m", {"top": {"images": [], "annotations": [None]}}, ERROR),
    "h36m/images-null": ("h36m", {"top": {"images": None, "annotations": []}}, ERROR),
    "h36m/top-list": ("h36m", {"top": [1, 2]}, ERROR),
    "h36m/no-annotations": ("h36m", {"top": {"images": [], "annotations": []}}, ERROR),
    "coco/keypoints-nan": ("coco", {"ann": {"keypoints": [float("nan")] * 51}}, ERROR),
    "coco/keypoints-1e30-visible": ("coco", {"ann": {"keypoints": [1e30, 1e30, 2] * 17}}, ERROR),
    "coco/keypoints-dict": ("coco", {"ann": {"keypoints": {"x": 1}}}, ERROR),
    "coco/num-keypoints-string": ("coco", {"ann": {"num_keypoints": "17"}}, ERROR),
    "coco/annotation-number": ("coco", {"top": {"images": [], "annotations": [5]}}, ERROR),
    "h36m/ok": ("h36m", {}, OK),
    "coco/ok": ("coco", {}, OK),
}
for _name, (_fmt, _changes, _expect) in _IMPORT.items():
    CASES[f"import-images/{_name}"] = Case(
        [
            "import-images",
            "--format",
            _fmt,
            "--json",
            "{json}",
            "--images",
            "{json.parent}",
            "--size",
            "16",
            "--out",
            "{out}/set.npz",
        ],
        {"json": _annotations(_fmt, **_changes)},
        _expect,
        ("{json.name}", "nothing.png"),
        (lambda out, stdout: _assert(len(np.load(out / "set.npz")["images"]) == 1))
        if _expect == OK
        else None,
    )

CASES.update(
    {
        "import-images/huge-png-header": Case(
            [
                "import-images",
                "--format",
                "coco",
                "--json",
                "{json}",
                "--images",
                "{json.parent}",
                "--out",
                "{out}/set.npz",
            ],
            {
                "json": _annotations("coco", image={"file_name": "huge.png"}),
                "png": HUGE_IMAGES["png-30000x30000-0.9MB"],
            },
            ERROR,
            ("huge.png",),
        ),
        "import-images/size-100000": Case(
            [
                "import-images",
                "--format",
                "coco",
                "--json",
                "{json}",
                "--images",
                "{json.parent}",
                "--size",
                "100000",
                "--out",
                "{out}/set.npz",
            ],
            {"json": _annotations("coco")},
            ERROR,
            ("{json.name}", "--size"),
        ),
        "import-images/out-is-the-json": Case(
            [
                "import-images",
                "--format",
                "coco",
                "--json",
                "{json}",
                "--images",
                "{json.parent}",
                "--size",
                "16",
                "--out",
                "{json}",
            ],
            {"json": _annotations("coco")},
            OK,
            check=lambda out, stdout: _assert((out / "labels.json.npz").is_file()),
            out="{json.parent}",
        ),
        "prepare-2d/cameras-garbage": Case(
            ["prepare-2d", "--data-dir", "{data}", "--cameras", "{cams}"],
            {"data": _data, "cams": _file("cams.json", "{oops")},
            ERROR,
            ("cams.json",),
        ),
        "prepare-2d/cameras-wrong-structure": Case(
            ["prepare-2d", "--data-dir", "{data}", "--cameras", "{cams}"],
            {"data": _data, "cams": _file("cams.json", '{"S1": 5}')},
            ERROR,
            ("cams.json",),
        ),
        "prepare-2d/data-dir-missing": Case(
            ["prepare-2d", "--data-dir", "nowhere"], {}, ERROR, ("nowhere",)
        ),
        "synth/out-dir-is-a-file": Case(
            ["synth", "{f}", "--frames", "10"], {"f": _file("taken", "x")}, ERROR, ("taken",)
        ),
        "synth/frames-0": Case(["synth", "{out}", "--frames", "0"], {}, ARGPARSE, ("--frames",)),
        "render-bodies/count-0": Case(
            [
                "render-bodies",
                "--data-dir",
                "{data}",
                "--subjects",
                "S1",
                "--count",
                "0",
                "--out",
                "x.npz",
            ],
            {"data": _data},
            ARGPARSE,
            ("--count",),
        ),
        "render-bodies/test-subject": Case(
            ["render-bodies", "--data-dir", "{data}", "--subjects", "S9", "--out", "{out}/x.npz"],
            {"data": _data},
            ERROR,
            ("S9",),
        ),
        "render-bodies/out-over-the-3d-input": Case(
            [
                "render-bodies",
                "--data-dir",
                "{data}",
                "--subjects",
                "S1",
                "--count",
                "2",
                "--size",
                "16",
                "--out",
                "{data}/data_3d_h36m.npz",
            ],
            {"data": _data},
            ERROR,
            ("data_3d_h36m.npz",),
        ),
        "bench/model-unknown": Case(["bench", "gpt-5", "--seconds", "0.1"], {}, ERROR, ("gpt-5",)),
        "bench/rounds-zero": Case(
            ["bench", "--video", "--rounds", "0"], {}, ARGPARSE, ("--rounds",)
        ),
        "bench/rounds-too-many": Case(
            ["bench", "--video", "--rounds", "1000"], {}, ARGPARSE, ("--rounds",)
        ),
        "demo/model-missing": Case(
            ["demo", "--model", "none.safetensors", "--out", "{out}"],
            {},
            ERROR,
            ("none.safetensors",),
        ),
        "demo/seconds-nan": Case(
            ["demo", "--train", "--seconds", "nan"], {}, ARGPARSE, ("--seconds",)
        ),
        "demo/out-dir-old-spelling-then-bad-seconds": Case(
            ["demo", "--train", "--out-dir", "{out}", "--seconds", "nan"],
            {},
            ARGPARSE,
            ("--seconds",),
        ),
        "compare-aite/out-is-a-file": Case(
            [
                "compare-aite",
                "--data-dir",
                "{data}",
                "--train-images",
                "a.npz",
                "--val-images",
                "b.npz",
                "--out",
                "{data}/data_3d_h36m.npz",
            ],
            {"data": _data},
            ERROR,
            ("a.npz", "data_3d_h36m.npz"),
        ),
        "compare-aite/data-missing": Case(
            [
                "compare-aite",
                "--data-dir",
                "nowhere",
                "--train-images",
                "a.npz",
                "--val-images",
                "b.npz",
                "--out",
                "{out}",
            ],
            {},
            ERROR,
            ("nowhere", "a.npz"),
        ),
        "cli/unknown-command": Case(["fly"], {}, ARGPARSE, ("fly",)),
        "cli/no-command": Case([], {}, ARGPARSE, ("COMMAND", "command")),
    }
)


# ---------------------------------------------------------------------------------------------
# The harness


def _snapshot(root: Path) -> dict[str, tuple[int, str]]:
    """Every file under ``root``: (size, sha1), folders as (-1, '')."""
    out = {}
    for path in root.rglob("*"):
        rel = str(path.relative_to(root))
        if path.is_dir():
            out[rel] = (-1, "")
        else:
            out[rel] = (path.stat().st_size, hashlib.sha1(path.read_bytes()).hexdigest())
    return out


@dataclass
class Run:
    code: int
    stdout: str
    stderr: list[str]
    warned: list[str]
    changed: list[str]  # paths outside the output folder created, changed or removed
    created_in_out: list[str]
    temporary: list[str]
    raw: str = ""  # an exception other than SystemExit: the traceback a user would see


def run_cli(argv: list[str], workspace: Path, out: Path) -> Run:
    """``main(argv)`` in ``workspace`` (the current folder)."""
    repo = Path(__file__).parents[2]
    repo_before = sorted(p.name for p in repo.iterdir())
    before = _snapshot(workspace)
    stdout, stderr = io.StringIO(), io.StringIO()
    code, raw = 0, ""
    with (
        warnings.catch_warnings(record=True) as caught,
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
    ):
        warnings.simplefilter("always")
        try:
            main(argv)
        except SystemExit as exit_:
            code = 0 if exit_.code is None else exit_.code
        except Exception as err:  # noqa: BLE001 - any other exception is the bug this suite looks for
            code, raw = 1, f"{type(err).__name__}: {str(err)[:500]}"
    after = _snapshot(workspace)
    out_rel = str(out.relative_to(workspace))

    def inside_out(rel: str) -> bool:
        return out_rel == "." or rel == out_rel or rel.startswith(out_rel + "/")

    changed = sorted(
        k for k in set(before) | set(after) if before.get(k) != after.get(k) and not inside_out(k)
    )
    changed += [
        f"repository: {n}" for n in sorted({p.name for p in repo.iterdir()} ^ set(repo_before))
    ]
    return Run(
        code,
        stdout.getvalue(),
        [line for line in stderr.getvalue().splitlines() if line.strip()],
        [f"{w.category.__name__}: {w.message}" for w in caught],
        changed,
        sorted(k for k in after if k not in before and inside_out(k) and k != out_rel),
        sorted(k for k in after if k.endswith(".tmp")),
        raw,
    )


def problems_of(run: Run, case: Case, names: list[str]) -> list[str]:
    """What is wrong with ``run`` for ``case`` (nothing: an empty list)."""
    if run.raw:
        return [f"raw traceback: {run.raw}"]
    problems = []
    if run.changed:
        problems.append(f"touched outside the output folder: {run.changed}")
    if run.temporary:
        problems.append(f"temporary files left: {run.temporary}")
    if case.expect == OK:
        if run.code != 0:
            problems.append(f"exit {run.code}: {run.stderr}")
        return problems
    line = run.stderr[-1] if run.stderr else ""
    if run.code != 2:
        problems.append(f"exit {run.code}, stderr {run.stderr}")
    if case.expect == ERROR and len(run.stderr) != 1:
        problems.append(f"{len(run.stderr)} lines on stderr: {run.stderr}")
    if case.expect == ERROR and run.warned:
        problems.append(f"warnings printed besides the error: {run.warned}")
    if "error:" not in line or any("Traceback" in x for x in run.stderr):
        problems.append(f"no error line: {run.stderr}")
    if not any(n in line for n in names):
        problems.append(f"the error names none of {names}: {line}")
    if {Path(p).name for p in run.created_in_out} - {".lock"}:
        problems.append(f"an error left files: {run.created_in_out}")
    return problems


@pytest.mark.parametrize("name", sorted(CASES))
def test_command(tmp_path, monkeypatch, count_cases, name):
    case = CASES[name]
    workspace = tmp_path / "w"
    workspace.mkdir()
    monkeypatch.chdir(workspace)
    files = case.files | ({"lifter": _lifter} if any("{lifter}" in a for a in case.argv) else {})
    built = {key: build(workspace) for key, build in files.items()}
    values = built | {"out": workspace / "out"}
    out = Path(case.out.format(**values))
    argv = [a.format(**values) for a in case.argv]
    names = [n.format(**values) for n in case.names]
    inputs = {p: _snapshot(p) if p.is_dir() else p.read_bytes() for p in built.values()}
    count_cases("commands")
    run = run_cli(argv, workspace, out)

    problems = problems_of(run, case, names)
    problems += [
        f"input {p.name} changed"
        for p, content in inputs.items()
        if (_snapshot(p) if p.is_dir() else p.read_bytes()) != content
    ]
    if (workspace / "pwned.txt").exists():
        problems.append("a pickle ran code")
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)
    if case.expect == OK and case.check is not None:
        case.check(out if out.exists() else workspace, run.stdout)


def test_option_errors_are_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = run_cli(["infer", "dets.json", "--fps", "0"], tmp_path, tmp_path / "out")
    assert run.code == 2 and len(run.stderr) == 1, run.stderr


def test_every_command_is_fuzzed():
    from posemoe.cli import build_parser

    commands = set(build_parser()._subparsers._group_actions[0].choices)
    fuzzed = {case.argv[0] for case in CASES.values() if case.argv}
    assert commands - {"models"} <= fuzzed, sorted(commands - fuzzed)


# ---------------------------------------------------------------------------------------------
# The video pipeline, as a user runs it (a subprocess: native code such as ONNX Runtime's logs to
# file descriptor 2)

_CHATTER = (":onnxruntime:", "absl::", "TensorFlow Lite", "W0000", "I0000", "E0000")


_VIDEO_SCRIPT = r"""
import json, os, sys
from posemoe.cli import main

runs = {}
for name, argv in json.loads(sys.argv[1]).items():
    log = f".{name}.stderr"
    sys.stderr.flush()
    saved, target = os.dup(2), os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(target, 2)  # what a terminal would show, native libraries' lines included
    try:
        main(argv)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved), os.close(target)
    runs[name] = [code, open(log, errors="replace").read()]
    os.unlink(log)
print(json.dumps(runs))
"""


@background("video_runs")
def _start_video_runs():
    """In one fresh process (BlazePose's native code logs to file descriptor 2): a clip whose
    --render mp4 would land on the clip itself, then a photo of a person lifted."""
    import subprocess
    import sys
    import tempfile

    from posemoe.assets import astronaut
    from posemoe.io.video import moving_still, write_video

    folder = Path(tempfile.mkdtemp(prefix="posemoe-fuzz-video-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    _image(astronaut(), "person.png")(folder)
    write_video(folder / "clip.mp4", moving_still(astronaut(), 4, (320, 240)), 30)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    commands = {
        "render-over-source": [
            "infer",
            "clip.mp4",
            "--render",
            "mp4",
            "--out",
            ".",
            "--threads",
            "1",
        ],
        "photo": ["infer", "person.png", "--out", "out", "--threads", "1"],
    }
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH")])
        ),
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", _VIDEO_SCRIPT, json.dumps(commands)],
        cwd=folder,
        text=True,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )

    def finish():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
        runs = {
            name: (code, [line for line in text.replace("\r", "\n").splitlines() if line.strip()])
            for name, (code, text) in json.loads(out.strip().splitlines()[-1]).items()
        }
        return runs, folder, before

    return finish


@pytest.fixture(scope="module")
def video_runs():
    """-> ({name: (exit status, stderr lines)}, the folder, its files before the runs)."""
    pytest.importorskip("cv2")
    return result("video_runs")


def test_render_over_the_source_video_is_refused(video_runs, count_cases):
    runs, folder, before = video_runs
    count_cases("commands")
    code, lines = runs["render-over-source"]
    assert code == 2 and "clip.mp4" in lines[-1] and "overwrite an input" in lines[-1], lines
    assert (folder / "clip.mp4").read_bytes() == before["clip.mp4"]


def test_render_over_the_source_video_is_refused_before_any_work(video_runs):
    runs, folder, _ = video_runs
    _, lines = runs["render-over-source"]
    assert len(lines) == 1, lines
    assert not [
        p.name for p in folder.iterdir() if p.name.startswith("clip.") and p.name != "clip.mp4"
    ], "outputs written before the error"


def test_no_third_party_log_lines(video_runs, count_cases):
    runs, _, _ = video_runs
    count_cases("commands")
    code, lines = runs["photo"]
    assert code == 0, lines
    chatter = [line for line in lines if any(mark in line for mark in _CHATTER)]
    assert not chatter, chatter


def test_resume_with_other_settings_is_refused_unless_allowed(
    synthetic_dir, tmp_path, capsys, count_cases
):
    out = tmp_path / "run"
    base = [
        "train",
        "--data-dir",
        str(synthetic_dir),
        "--out",
        str(out),
        "--threads",
        "1",
        "--device",
        "cpu",
        "--set",
        f"model_overrides={TINY}",
        "--set",
        "epoch_clips=16",
        "--set",
        "batch_size=8",
        "--set",
        "val_max_windows=4",
    ]
    main([*base, "--epochs", "1", "--set", "train_subjects=['S1']", "--set", "val_subjects=['S8']"])
    capsys.readouterr()
    last = (out / "last.pt").read_bytes()
    changes = {
        "batch size": (
            [
                "--set",
                "batch_size=4",
                "--set",
                "train_subjects=['S1']",
                "--set",
                "val_subjects=['S8']",
            ],
            "batch_size",
        ),
        "swapped subjects": (
            ["--set", "train_subjects=['S8']", "--set", "val_subjects=['S1']"],
            "train_subjects",
        ),
    }
    for what, (extra, name) in changes.items():
        with pytest.raises(SystemExit) as exit_:
            main([*base, "--epochs", "2", "--resume", *extra])
        count_cases("commands")
        lines = capsys.readouterr().err.strip().splitlines()
        assert (
            exit_.value.code == 2
            and len(lines) == 1
            and name in lines[0]
            and "--allow-changes" in lines[0]
        ), (what, lines)
        assert (out / "last.pt").read_bytes() == last, what
    main([*base, "--epochs", "2", "--resume", "--allow-changes", *changes["batch size"][0]])
    assert (out / "last.pt").read_bytes() != last
