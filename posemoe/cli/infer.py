"""``posemoe infer``: a video, images, a webcam or stream, or 2D keypoint files -> 3D files."""

from __future__ import annotations

import argparse
from pathlib import Path

from posemoe.cli.batch import add_batch_options, is_batch, run_batch, run_child
from posemoe.cli.common import (
    FORMATTER,
    add_runtime_option,
    add_upright_options,
    bounded_int,
    check_out_dir,
    float_in,
    pick_device,
    positive_float,
    positive_int,
    set_inference_threads,
    upright,
    upright_given,
)
from posemoe.errors import UserError

KEYPOINT_SUFFIXES = (".json", ".npy", ".npz")
MOTION_FILES = {  # flag -> what it writes; each needs the fitted skeleton on a ground (they imply --world)
    "bvh": "<name>.bvh: the fitted skeleton moving along its root path (metres, Y up; Blender's default BVH import "
    "brings it in upright)",
    "trc": "<name>.trc: the fitted joints as OpenSim markers (Pose2Sim's names, metres, Y up, the video's rate)",
    "c3d": "<name>.c3d: the same as C3D points (millimetres, Z up, labels and rate)",
    "glb": "<name>.glb: the fitted skeleton animated at the video's rate (glTF 2.0: Blender, three.js, browsers)",
    "angles": "<name>_angles.csv/.json/.png: joint angles per frame (degrees, ISB-style, NaN where unseen) and "
    "their curves",
}


def cmd_infer(args: argparse.Namespace) -> None:
    from posemoe.export.results import hold_out_dir

    set_inference_threads(args.threads)
    if (
        args.device is not None
    ):  # the torch runtime's; without it, ONNX models run on the CPU and torch ones where best
        args.device = pick_device(args.device)
    if args.render_height and "mp4" not in args.render:
        raise UserError(
            "--render-height sizes the video that --render mp4 writes; add --render mp4"
        )
    check_out_dir(args.out)
    with hold_out_dir(args.out):  # one run at a time per folder; a killed run's temporaries go
        if is_batch(args):
            return run_batch(args, infer_one)
        args.input = args.inputs[0]
        infer_one(args)


def infer_one(args: argparse.Namespace):
    """One input (``args.input``) -> ``(result, paths written)``; None for one image with an image model."""
    from posemoe.io.video import IMAGE_SUFFIXES

    text, path = str(args.input), Path(args.input)
    if text.isdigit() or "://" in text:
        return _stream(args)
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    _refuse_planned_outputs(args, path)
    if path.is_dir() and not any(p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir()):
        if not any(path.glob("*_keypoints.json")):
            raise UserError(
                f"{path}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) and no OpenPose *_keypoints.json "
                "files in this folder"
            )
        return _keypoints(args)
    if path.suffix.lower() in KEYPOINT_SUFFIXES:
        return _keypoints(args)
    if (
        path.suffix.lower() in IMAGE_SUFFIXES
        and args.model
        and _takes_images(args.model, args.runtime)
    ):
        from posemoe.inference.images import infer_image

        if upright_given(args):
            raise UserError(
                f"--upright / --no-upright turn bodies before lifting; {args.model} estimates 3D from the "
                "image itself"
            )
        _refuse_unused(args, _KEYPOINT_ONLY, f"an image with {args.model}", "keypoint files")
        _refuse_unused(
            args, _TRACKS_ONLY, f"an image with {args.model}", "recorded videos and keypoint files"
        )
        infer_image(
            path,
            args.model,
            out_dir=args.out,
            bbox=args.bbox,
            flip=not args.no_flip,
            runtime=args.runtime,
        )
        return None
    return _video(args)


_KEYPOINT_ONLY = {"layout": "--layout", "image_size": "--image-size"}
_IMAGE_MODEL_ONLY = {"bbox": "--bbox", "no_flip": "--no-flip"}
_TRACKS_ONLY = {"no_swap_fix": "--no-swap-fix"}


def _refuse_unused(
    args: argparse.Namespace, options: dict[str, str], what: str, where: str
) -> None:
    """An option given where it cannot apply is refused, not silently ignored."""
    given = [flag for name, flag in options.items() if getattr(args, name)]
    if given:
        raise UserError(
            f"{' and '.join(given)} appl{'y' if len(given) > 1 else 'ies'} to {where}, not to {what}"
        )


def _refuse_planned_outputs(args: argparse.Namespace, path: Path) -> None:
    """Before any work: no file this run would write may be the input (each writer checks again)."""
    from posemoe.export import person_name
    from posemoe.inference.pipeline import output_stem
    from posemoe.io.files import refuse_inputs

    stem = output_stem(path)
    person = (
        person_name(stem, args.track) if args.track else stem
    )  # one id's files: see export.per_person
    kinds = {*args.format, *args.render, *_motion_formats(args)}
    planned = [
        Path(args.out) / (f"{person}_angles.csv" if kind == "angles" else f"{person}.{kind}")
        for kind in sorted(kinds)
    ]
    planned.append(Path(args.out) / f"{stem}_blazepose33.npz")
    refuse_inputs(planned, [path])


def _takes_images(name: str, runtime: str | None) -> bool:
    """Whether the model ``name`` estimates the pose from the image itself (an image model)."""
    from posemoe.inference.runtime import load_runner

    return load_runner(name, runtime=runtime)[0].input == "images"


def _smoothing(args: argparse.Namespace) -> dict | None:
    return {"min_cutoff": args.smooth_cutoff, "beta": args.smooth_beta} if args.smooth else None


def _camera(args: argparse.Namespace):
    from posemoe.inference.pipeline import CameraOptions

    if args.focal and args.fov:
        raise UserError("give --focal or --fov, not both")
    return CameraOptions(
        focal_px=args.focal, fov_deg=args.fov, world=args.world or bool(_motion_formats(args))
    )


def _motion_formats(args: argparse.Namespace) -> tuple[str, ...]:
    """The result formats that need the fitted skeleton on a ground: asked by flag (--bvh, --trc, --c3d,
    --glb, --angles) or in --format."""
    return tuple(kind for kind in MOTION_FILES if getattr(args, kind, False) or kind in args.format)


def _finish(args: argparse.Namespace, result, extra_paths: list[Path] = ()) -> tuple:
    from posemoe.export import write_result

    formats = tuple(dict.fromkeys((*args.format, *_motion_formats(args))))
    paths = write_result(result, args.out, formats) + list(extra_paths)
    for line in result.report:
        print(line)
    print("speed (rendering apart):")
    print("\n".join(result.stages.report(result.frames)))
    print("wrote " + ", ".join(str(p) for p in paths))
    return result, paths


def _video(args: argparse.Namespace) -> tuple:
    from posemoe.inference.pipeline import infer_video, write_detections
    from posemoe.viz.render import render_result

    _refuse_unused(args, _KEYPOINT_ONLY, "videos and images", "keypoint files")
    _refuse_unused(
        args,
        _IMAGE_MODEL_ONLY,
        "videos, image folders or lifters",
        "one image with an image model (aitepose-*)",
    )
    result = infer_video(
        args.input,
        args.model,
        smooth=_smoothing(args),
        fps=args.fps,
        max_frames=args.max_frames,
        max_people=args.max_people,
        track=args.track,
        detect_workers=args.detect_workers,
        device=args.device,
        camera=_camera(args),
        upright=upright(args),
        quiet=getattr(args, "quiet", False),
        runtime=args.runtime,
        swap_fix=not args.no_swap_fix,
    )
    with result.stages.time("write"):
        raw = write_detections(result, args.out)
    _, paths = _finish(args, result, [raw])
    return result, paths + render_result(
        Path(args.out),
        result,
        tuple(args.render),
        inputs=[args.input],
        quiet=getattr(args, "quiet", False),
        height=args.render_height,
    )


def _keypoints(args: argparse.Namespace) -> tuple:
    from posemoe.inference.pipeline import infer_keypoints
    from posemoe.viz.render import render_result

    _refuse_unused(
        args, _IMAGE_MODEL_ONLY, "keypoint files", "one image with an image model (aitepose-*)"
    )
    if "mp4" in args.render:
        raise UserError(
            "--render mp4 draws over the video's frames, which a keypoint file does not have; "
            "use --render html, or run posemoe infer on the video itself"
        )
    result = infer_keypoints(
        args.input,
        args.model,
        image_size=tuple(args.image_size) if args.image_size else None,
        layout=args.layout,
        fps=args.fps,
        track=args.track,
        max_people=args.max_people,
        smooth=_smoothing(args),
        device=args.device,
        camera=_camera(args),
        upright=upright(args),
        max_frames=args.max_frames,
        runtime=args.runtime,
        swap_fix=not args.no_swap_fix,
    )
    _, paths = _finish(args, result)
    return result, paths + render_result(
        Path(args.out), result, tuple(args.render), inputs=[args.input]
    )


def _stream(args: argparse.Namespace) -> tuple:
    from posemoe.inference.stream import infer_stream

    if args.render:
        raise UserError(
            "--render applies to recorded videos and keypoint files, not to live streams"
        )
    _refuse_unused(args, _KEYPOINT_ONLY, "live streams", "keypoint files")
    _refuse_unused(args, _TRACKS_ONLY, "live streams", "recorded videos and keypoint files")
    _refuse_unused(
        args, _IMAGE_MODEL_ONLY, "live streams", "one image with an image model (aitepose-*)"
    )
    return _finish(
        args,
        infer_stream(
            args.input,
            args.model,
            max_frames=args.max_frames,
            max_people=args.max_people,
            detect_workers=args.detect_workers,
            device=args.device,
            quiet=False,
            camera=_camera(args),
            upright=upright(args),
            runtime=args.runtime,
        ),
    )


def add_commands(sub: argparse._SubParsersAction) -> None:
    from posemoe.inference.detectors import DETECT_WORKERS
    from posemoe.io.keypoints import MAX_IMAGE_SIDE
    from posemoe.weights import DEFAULT_LIFTER

    p = sub.add_parser(
        "infer",
        help="3D pose from a video, images, a webcam or stream, or 2D keypoint files",
        formatter_class=FORMATTER,
    )
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="input",
        help="a video file; an image or a folder of frames; a webcam index (0) or stream URL "
        "(lifted online); or keypoints: COCO/MMPose or AlphaPose .json, an OpenPose folder, "
        ".npy/.npz. Several inputs, folders holding videos or globs ('clips/*.mp4') are processed "
        "one after the other (--jobs: in parallel), with a summary",
    )
    p.add_argument(
        "--model",
        default=DEFAULT_LIFTER,
        help="lifter, or an image model (aitepose-*) for one image: shipped weights name or a "
        ".onnx/.safetensors/.pt file",
    )
    p.add_argument("--out", default="posemoe-out", help="folder for the outputs")
    p.add_argument(
        "--render",
        nargs="*",
        default=[],
        choices=["mp4", "html"],
        help="also write <name>.mp4 (2D over the video beside 3D) and/or <name>.html (rotatable 3D)",
    )
    p.add_argument(
        "--render-height",
        type=bounded_int(4320),
        metavar="PX",
        help="--render mp4: output height in pixels, the video scaled to it beside a square 3D panel "
        "(default: the video's height, at most 720)",
    )
    p.add_argument("--smooth", action="store_true", help="One-Euro smoothing of the 3D joints")
    p.add_argument(
        "--smooth-cutoff",
        type=positive_float,
        default=1.5,
        help="--smooth: cut-off frequency at rest, Hz (lower = smoother, more lag)",
    )
    p.add_argument(
        "--smooth-beta",
        type=float_in(0.0, 1e3),
        default=0.5,
        help="--smooth: how fast the cut-off rises with speed",
    )
    p.add_argument(
        "--fps",
        type=float_in(0.1, 1000.0),
        help="frame rate of the input (default: the video's; 30 for image folders; for keypoint files the "
        "file's, else 50)",
    )
    p.add_argument("--max-frames", type=positive_int, help="stop after this many frames")
    p.add_argument(
        "--layout",
        help="joint layout of keypoint files (halpe26 for AlphaPose; needed for arrays "
        "unless the .npz records it)",
    )
    p.add_argument(
        "--image-size",
        type=bounded_int(MAX_IMAGE_SIDE),
        nargs=2,
        metavar=("W", "H"),
        help="keypoint files: frame size of the video they came from, pixels (default: the file's, "
        "where it records it)",
    )
    p.add_argument(
        "--max-people",
        type=bounded_int(64),
        help="lift at most this many people, the most present first (default: everyone tracked long "
        "enough); a video is searched for up to 4 people per frame, or for this many (the largest "
        "in view are followed), which is faster",
    )
    p.add_argument(
        "--track",
        type=int,
        help="lift only this person id (ids rank people by presence, 0 = the most)",
    )
    p.add_argument(
        "--bbox",
        type=float,
        nargs=4,
        metavar=("X", "Y", "W", "H"),
        help="image models: the person's box in pixels (default: the whole image)",
    )
    p.add_argument(
        "--no-flip", action="store_true", help="disable test-time flip augmentation of image models"
    )
    add_upright_options(p)
    p.add_argument(
        "--no-swap-fix",
        action="store_true",
        help="keep the detector's left/right labels as they are (default: undo runs of frames where it "
        "swapped a whole limb chain, a limb's end or the whole body)",
    )
    p.add_argument(
        "--format",
        nargs="+",
        default=["npz", "json", "csv"],
        choices=["npz", "json", "csv", *MOTION_FILES],
        help="result files to write",
    )
    for kind, text in MOTION_FILES.items():
        p.add_argument(f"--{kind}", action="store_true", help=f"also write {text}")
    p.add_argument(
        "--focal",
        type=positive_float,
        help="the video camera's focal length in pixels, for the root path and lifters trained with the "
        "camera codec (the principal point is taken at the image centre)",
    )
    p.add_argument(
        "--fov",
        type=positive_float,
        help="or its field of view across the longer image side, degrees (default when neither "
        "is given: 60)",
    )
    p.add_argument(
        "--world",
        action="store_true",
        help="fit one ground plane from everyone's foot contacts and store a y-up world frame "
        "(world_from_camera; --bvh, --trc, --c3d, --glb and --angles imply it)",
    )
    p.add_argument(
        "--threads",
        type=positive_int,
        default=1,
        help="threads for lifting (one leaves the other cores to decoding and the 2D detector)",
    )
    p.add_argument(
        "--detect-workers",
        type=bounded_int(64),
        default=DETECT_WORKERS,
        help="videos and streams: BlazePose's threads (at most the cores this process may use); with 2 "
        "or more, the look for newcomers runs beside following the people already found",
    )
    add_runtime_option(p)
    p.add_argument(
        "--device",
        help="cpu, cuda, cuda:1 for a lifter the torch runtime runs (default: cuda if available; "
        "the ONNX runtime runs on the CPU)",
    )
    add_batch_options(p)
    p.set_defaults(func=cmd_infer)


if __name__ == "__main__":  # one input of a batch run with --jobs, in a process of its own
    import sys

    run_child(sys.argv[1], infer_one)
