"""From frames or keypoint files to 3D, through one pipeline of stages:

    frame source -> 2D detector -> tracker -> gap filler -> lifter -> smoother -> writers

Video files, image folders, webcams/streams and 2D keypoint files of other tools all go through it:
:func:`infer_video` and :func:`infer_stream` start at the frame source, :func:`infer_keypoints` at
the tracker. Every stage works per person (:class:`PersonResult`); the result is a
:class:`Result` that the CLI writes. Each stage's wall time is kept for the speed report.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from posemoe.camera import DEFAULT_FOV_DEG, Intrinsics, check_focal, focal_from_fov
from posemoe.errors import UserError
from posemoe.inference.camera_motion import CameraMotion
from posemoe.inference.cleanup import fix_left_right_swaps
from posemoe.inference.detectors import DETECT_PEOPLE, DETECT_WORKERS
from posemoe.inference.lifter import Lifter, load
from posemoe.inference.result import PersonResult, Result, Stages
from posemoe.inference.smoothing import one_euro
from posemoe.inference.tracking import fill_gaps, select_tracks
from posemoe.inference.unseen import unseen_joints, unseen_summary
from posemoe.inference.upright import UPRIGHT_LIMIT
from posemoe.io.files import refuse_inputs, write_files
from posemoe.io.keypoints import KeypointFrames, read_keypoints
from posemoe.io.npz import save_npz_to
from posemoe.layouts import H36M17, JointLayout, convert
from posemoe.weights import DEFAULT_LIFTER


@dataclass(frozen=True)
class CameraOptions:
    """The video camera, for the lifter (camera-codec lifters read the intrinsics) and the root
    trajectory: focal length in pixels, or a field of view of the longer image side in degrees
    (default 60, see :data:`posemoe.camera.DEFAULT_FOV_DEG`), principal point at the image centre;
    ``world``: fit a ground plane from foot contacts and give a y-up world frame."""

    focal_px: float | None = None
    fov_deg: float | None = None
    world: bool = False

    def __post_init__(self) -> None:
        if self.fov_deg is not None:
            focal_from_fov((1, 1), self.fov_deg)  # refuses a field of view outside 1-170 degrees
        if self.focal_px is not None and not (np.isfinite(self.focal_px) and self.focal_px > 0):
            raise UserError(
                f"the focal length must be a positive number of pixels, got {self.focal_px}"
            )

    def check(self, image_size: tuple[int, int]) -> None:
        """Refuse a focal length that no lens has at ``image_size`` (:func:`~posemoe.camera.check_focal`)."""
        if self.focal_px is not None:
            check_focal(self.focal_px, image_size)

    def intrinsics(self, image_size: tuple[int, int]) -> Intrinsics:
        self.check(image_size)
        return Intrinsics.guess(
            image_size, DEFAULT_FOV_DEG if self.fov_deg is None else self.fov_deg, self.focal_px
        )


def fit_motion(
    result: Result, camera: CameraOptions, camera_motion: CameraMotion | None = None
) -> None:
    """The motion stage, per person: a skeleton with constant bone lengths and joint rotations
    (:mod:`~posemoe.inference.skeleton`), the root's path in camera coordinates
    (:mod:`~posemoe.inference.trajectory`); with ``camera.world``, one ground plane and world frame
    for everyone (foot contacts of all the people pooled). ``camera_motion`` (the background's):
    a camera turning about its centre has its turning taken out of the root path, a camera that
    moves otherwise is reported, its root path camera-relative (:mod:`~posemoe.inference.camera_motion`);
    None: the report says the path assumes a still camera."""
    from posemoe.inference.skeleton import fit_skeleton
    from posemoe.inference.trajectory import estimate_trajectory, fit_ground, world_transform

    for person in result.people:
        who = f"person {person.track}: " if len(result.people) > 1 else ""
        fit = fit_skeleton(
            person.joints_3d, confidence=person.keypoints[..., 2], visible=person.visible
        )
        person.fitted, person.rotations = fit.fitted, fit.rotations
        result.report.append(who + fit.report())
        try:
            track = estimate_trajectory(
                fit.fitted,
                person.keypoints,
                image_size=result.image_size,
                fps=result.fps,
                focal_px=camera.focal_px,
                fov_deg=camera.fov_deg,
                visible=person.visible,
                unseen=person.unseen,
            )
        except UserError as err:  # the 3D stands; only its place in the scene is unknown
            result.report.append(f"{who}no root path ({err})")
            continue
        person.root, person.focal_px = track.root, track.focal_px
        result.report.append(who + track.report())
    placed = [p for p in result.people if getattr(p, "root", None) is not None]
    if placed:
        _judge_camera(result, placed, camera_motion)
    if (
        camera.world and placed
    ):  # one floor and one origin for everyone: under the first placed person at first sight
        ground = fit_ground(
            [p.fitted + p.root[:, None] for p in placed],
            result.fps,
            visible=[p.visible for p in placed],
        )
        transform = world_transform(ground, placed[0].root[int(np.argmax(placed[0].visible))])
        for person in placed:
            person.world_from_camera = transform
        shared = (
            f" (shared by {len(placed)} people, origin under person {placed[0].track})"
            if len(placed) > 1
            else ""
        )
        result.report.append(ground.report() + shared)


def _judge_camera(
    result: Result, placed: list[PersonResult], camera_motion: CameraMotion | None
) -> None:
    """Say what the root paths of ``placed`` may claim, and take a turning camera out of them."""
    if camera_motion is None:
        result.report.append(
            "camera motion unknown (no frames): the root path assumes a still camera"
        )
        return
    judged = camera_motion.judge(placed[0].focal_px)
    result.extra["camera_motion"] = judged.to_dict()
    result.report.append(judged.report())
    for person in placed:
        turned = judged.compensate(person.root)
        if turned is not person.root:
            who = f"person {person.track}: " if len(result.people) > 1 else ""
            result.report.append(
                f"{who}root path {_path_m(person.root):.2f} m as the turning camera saw it, "
                f"{_path_m(turned):.2f} m with its turning taken out"
            )
        person.root = turned


def _path_m(root: np.ndarray) -> float:
    """Length of a (T, 3) path, metres."""
    return float(np.linalg.norm(np.diff(root, axis=0), axis=-1).sum())


class Pipeline:
    """The stages after detection: track -> undo left/right swaps -> fill gaps -> lift -> smooth -> motion, for every frame
    of a recording. ``smooth`` is None or One-Euro parameters ``{"min_cutoff": Hz, "beta": ...}``;
    ``camera`` sets the focal length for camera-codec lifters and the root trajectory (None: no
    motion stage, and the lifter guesses 60 degrees); ``swap_fix``: undo the detector's left/right
    swaps (:func:`~posemoe.inference.cleanup.fix_left_right_swaps`), or keep its labels as they are."""

    def __init__(
        self,
        lifter: Lifter,
        *,
        model_name: str = "",
        min_confidence: float = 0.3,
        smooth: dict | None = None,
        camera: CameraOptions | None = CameraOptions(),
        swap_fix: bool = True,
    ) -> None:
        self.lifter, self.model_name = lifter, model_name
        self.min_confidence, self.smooth, self.camera, self.swap_fix = (
            min_confidence,
            smooth,
            camera,
            swap_fix,
        )

    def lift_people(
        self,
        frames: KeypointFrames,
        *,
        image_size: tuple[int, int],
        fps: float,
        name: str,
        source: str,
        track: int | None = None,
        max_people: int | None = None,
        stages: Stages | None = None,
        camera_motion: CameraMotion | None = None,
    ) -> Result:
        """Per-frame detections of any layout -> a :class:`Result` with every person chosen by
        :func:`~posemoe.inference.tracking.select_tracks` (``track``: that id only). ``camera_motion``:
        the video's background motion, which decides what the root path may claim (None: unknown,
        as for keypoint files)."""
        stages = stages or Stages()
        with stages.time("lift"):
            chosen, report = select_tracks(frames, track=track, max_people=max_people)
            people = []
            for pid, raw in chosen:
                person, notes = self._lift_track(pid, raw, frames.layout, image_size, fps)
                people.append(person)
                report += [f"person {pid}: {line}" for line in notes] if len(chosen) > 1 else notes
        result = Result(
            name,
            source,
            self.model_name,
            fps,
            image_size,
            self.lifter.layout,
            people,
            report,
            stages,
        )
        if self.camera is not None and self.lifter.layout == H36M17:
            with stages.time("motion"):
                fit_motion(result, self.camera, camera_motion)
        return result

    def _lift_track(
        self,
        pid: int,
        raw: np.ndarray,
        layout: JointLayout,
        image_size: tuple[int, int],
        fps: float,
    ) -> tuple[PersonResult, list[str]]:
        """One track (T, J, 3) in ``layout`` -> undo swaps, convert, fill gaps, lift, smooth."""
        visible = ~np.isnan(raw[:, :, :2]).all(axis=(1, 2))
        unswapped, swaps = (
            fix_left_right_swaps(raw, layout)[::2]
            if self.swap_fix
            else (raw, ["left/right clean-up off: the detector's labels are kept"])
        )
        converted = convert(unswapped, layout, self.lifter.layout)
        unseen, partial = unseen_joints(converted, image_size, layout=self.lifter.layout)
        if (
            visible.any() and not visible.all()
        ):  # frames without the person are unseen, but not news
            seen = int(visible.sum())
            partial = (
                unseen_summary(unseen[visible], layout=self.lifter.layout)
                + f" (counted over the {seen} frames the person is detected in)"
                if unseen[visible].any()
                else f"every joint seen in all {seen} frames the person is detected in"
            )
        filled, more = fill_gaps(converted, self.min_confidence)
        intrinsics = (self.camera or CameraOptions()).intrinsics(image_size)
        joints = self.lifter.lift(
            filled,
            layout=self.lifter.layout.name,
            image_size=image_size,
            fps=fps,
            intrinsics=intrinsics,
        )
        if self.smooth is not None:
            joints = one_euro(joints, fps, **self.smooth).astype(np.float32)
        return PersonResult(
            pid, filled.astype(np.float32), joints, visible, unseen
        ), swaps + more + [partial]


def output_stem(source: str | Path) -> str:
    """The name a recording's outputs take: a file's stem, a folder's name."""
    path = Path(str(source))
    return (path.stem if path.is_file() else path.name) or "video"


def make_pipeline(
    model: str = DEFAULT_LIFTER,
    *,
    smooth: dict | bool | None = None,
    device: str | None = None,
    camera: CameraOptions | None = CameraOptions(),
    upright: float | None = UPRIGHT_LIMIT,
    runtime: str | None = None,
    swap_fix: bool = True,
) -> Pipeline:
    """A :class:`Pipeline` with the named lifter (shipped weights name or file); ``upright``: see
    :class:`~posemoe.inference.lifter.Lifter`; ``runtime`` and ``device``: see
    :func:`~posemoe.inference.lifter.load`; ``swap_fix``: see :class:`Pipeline`."""
    smooth = {} if smooth is True else (smooth or None)
    return Pipeline(
        load(model, device=device, upright=upright, runtime=runtime),
        model_name=str(model),
        smooth=smooth,
        camera=camera,
        swap_fix=swap_fix,
    )


def infer_keypoints(
    path: str | Path,
    model: str = DEFAULT_LIFTER,
    *,
    image_size: tuple[int, int] | None = None,
    layout: str | None = None,
    fps: float | None = None,
    track: int | None = None,
    max_people: int | None = None,
    smooth: dict | bool | None = None,
    device: str | None = None,
    camera: CameraOptions | None = CameraOptions(),
    upright: float | None = UPRIGHT_LIMIT,
    max_frames: int | None = None,
    runtime: str | None = None,
    swap_fix: bool = True,
) -> Result:
    """2D keypoint file(s) of another tool -> 3D (read, track people, pick them (every person seen
    long enough, the top ``max_people``, or the id ``track``), fill gaps, lift, smooth). ``image_size`` and
    ``fps`` default to what the file records (an .npz that ``posemoe infer`` wrote), else fps is 50;
    ``max_frames`` keeps the first frames; ``runtime``: see :func:`~posemoe.inference.lifter.load`;
    ``swap_fix=False`` keeps the detector's left/right labels."""
    frames = read_keypoints(path, layout)
    image_size = image_size or frames.image_size
    if image_size is None:
        raise UserError(
            f"{path}: keypoint files need --image-size WIDTH HEIGHT (of the video they came from)"
        )
    if max_frames is not None:
        frames = replace(frames, people=frames.people[:max_frames])
    frames.check_pixels(image_size)
    if camera is not None:
        camera.check(image_size)
    stem = output_stem(path)
    pipeline = make_pipeline(
        model,
        smooth=smooth,
        device=device,
        camera=camera,
        upright=upright,
        runtime=runtime,
        swap_fix=swap_fix,
    )
    return pipeline.lift_people(
        frames,
        image_size=image_size,
        fps=fps or frames.fps or 50.0,
        name=stem,
        source=str(path),
        track=track,
        max_people=max_people,
    )


def timed_detections(
    frames: Iterable[np.ndarray], detector: Callable[[np.ndarray], np.ndarray], stages: Stages
) -> Iterator[np.ndarray]:
    """Detect on each frame, timing decoding and detection: yields (P, J, 3) keypoints per frame."""
    iterator = iter(frames)
    while True:
        with stages.time("decode"):
            frame = next(iterator, None)
        if frame is None:
            return
        with stages.time("detect"):
            points = detector(frame)
        yield points


def detect_video(
    source: str | Path | int,
    *,
    fps: float | None = None,
    max_frames: int | None = None,
    max_people: int | None = None,
    detect_workers: int = DETECT_WORKERS,
    stages: Stages | None = None,
    quiet: bool = False,
    camera: CameraOptions | None = None,
) -> tuple[KeypointFrames, dict]:
    """Decode ``source`` and run BlazePose on every frame, finding up to ``max_people`` people
    (default :data:`DETECT_PEOPLE`) with ``detect_workers`` threads -> (per-frame people, info: name,
    kind, fps, size, frames, camera_motion: the background's motion between frames,
    :class:`~posemoe.inference.camera_motion.CameraMotion`, detector: the BlazePose backend that ran).
    The progress bar's total is the container's estimate until decoding ends. ``camera`` is checked
    against the frame size before any frame is detected."""
    from tqdm import tqdm

    from posemoe.inference.camera_motion import CameraMotionTracker
    from posemoe.inference.detectors import BlazePose
    from posemoe.io.video import open_frames

    stages = stages if stages is not None else Stages()
    with stages.time("decode"):
        frames = open_frames(source, fps=fps)
    try:
        if camera is not None:
            camera.check(frames.size)
    except UserError:
        frames.close()
        raise
    people: list[np.ndarray] = []
    video = frames.kind != "images" or (frames.frame_count or 0) > 1
    with (
        frames,
        BlazePose(
            max_people=max_people or DETECT_PEOPLE, video=video, threads=detect_workers
        ) as detector,
    ):
        total = (
            frames.frame_count
            if max_frames is None
            else min(max_frames, frames.frame_count or max_frames)
        )
        bar = tqdm(total=total, unit="frame", desc="detect", disable=quiet)
        wanted = frames if max_frames is None else itertools.islice(frames, max_frames)
        motion, last = CameraMotionTracker(frames.size), []
        for points in timed_detections(_holding_last(wanted, last), detector, stages):
            people.append(points)
            for ago, found in detector.late:  # a newcomer, followed back into earlier frames
                earlier = np.concatenate([people[-1 - ago], found[None]])
                size = [np.ptp(p[:, :2], axis=0).prod() for p in earlier]
                people[-1 - ago] = earlier[np.argsort(size)[::-1]]  # largest first, as detected
            with stages.time("camera"):
                motion.push(last[0], points)
            bar.update()
        bar.total = len(people)  # containers can misstate their frame count
        bar.refresh()
        bar.close()
    if not people:
        raise UserError(f"{frames.name}: no frames decoded")
    expected = min(
        frames.frame_count or 0, max_frames or np.inf
    )  # the container's count, up to --max-frames
    if frames.kind == "video" and len(people) < 0.8 * expected:
        warnings.warn(
            f"{frames.name}: decoded {len(people)} of the {expected} frames its container's count "
            "promised; the file may be truncated or damaged (the frames decoded are used)",
            stacklevel=2,
        )
    info = {
        "name": frames.name,
        "kind": frames.kind,
        "fps": frames.fps,
        "size": frames.size,
        "frames": len(people),
        "camera_motion": motion.result(),
        "detector": detector.backend.name,
    }
    return KeypointFrames(people, BlazePose.layout), info


def _holding_last(frames: Iterable[np.ndarray], last: list[np.ndarray]) -> Iterator[np.ndarray]:
    """``frames`` as they are, the one last yielded kept as ``last[0]``."""
    for frame in frames:
        last[:] = [frame]
        yield frame


def infer_video(
    source: str | Path,
    model: str = DEFAULT_LIFTER,
    *,
    smooth: dict | bool | None = None,
    fps: float | None = None,
    max_frames: int | None = None,
    max_people: int | None = None,
    track: int | None = None,
    detect_workers: int = DETECT_WORKERS,
    device: str | None = None,
    camera: CameraOptions | None = CameraOptions(),
    upright: float | None = UPRIGHT_LIMIT,
    quiet: bool = True,
    runtime: str | None = None,
    swap_fix: bool = True,
) -> Result:
    """A video file, image or image folder -> 3D for every frame, for every person seen long enough
    (the top ``max_people``; ``track``: that id only). Frames without a person are filled over time and
    marked not visible. BlazePose runs on ``detect_workers`` threads; ``swap_fix=False`` keeps its
    left/right labels. The result keeps the raw BlazePose-33 detections in ``detections`` and the
    per-stage timing in ``stages``. ``runtime`` (``"onnx"``, ``"torch"``, None) and ``device``: see
    :func:`~posemoe.inference.lifter.load`."""
    stages = Stages()
    detections, info = detect_video(
        source,
        fps=fps,
        max_frames=max_frames,
        max_people=max_people,
        detect_workers=detect_workers,
        stages=stages,
        quiet=quiet,
        camera=camera,
    )
    seen = sum(len(p) > 0 for p in detections.people)
    if not seen:
        raise UserError(f"{info['name']}: no person found in any of its {info['frames']} frames")
    stem = output_stem(source)
    pipeline = make_pipeline(
        model,
        smooth=smooth,
        device=device,
        camera=camera,
        upright=upright,
        runtime=runtime,
        swap_fix=swap_fix,
    )
    result = pipeline.lift_people(
        detections,
        image_size=info["size"],
        fps=info["fps"],
        name=stem,
        source=str(source),
        track=track,
        max_people=max_people,
        stages=stages,
        camera_motion=info["camera_motion"],
    )
    result.report.insert(
        0,
        f"{info['name']}: {info['kind']}, {info['size'][0]}x{info['size'][1]}, {info['fps']:.3g} fps, "
        f"{info['frames']} frames, someone seen in {seen} (BlazePose on {info['detector']})",
    )
    result.detections = detections
    return result


def write_detections(result: Result, out_dir: str | Path) -> Path:
    """``<stem>_blazepose33.npz``: the raw detections, ``keypoints`` (T, P, 33, 3), with ``layout``,
    ``fps`` and ``image_size``, as a keypoint file ``posemoe infer`` reads back as it is."""
    detections = result.detections
    if detections is None:
        raise UserError(
            f"{result.name}: no detections to write (the result came from keypoint files)"
        )
    most = max(
        1, max(len(p) for p in detections.people)
    )  # (T, P, 33, 3), NaN where fewer people were found
    raw = np.full(
        (len(detections.people), most, detections.layout.num_joints, 3), np.nan, np.float32
    )
    for t, people in enumerate(detections.people):
        raw[t, : len(people)] = people
    path = Path(out_dir) / f"{result.name}_{detections.layout.name}.npz"
    refuse_inputs([path], [result.source])
    return write_files(
        {
            path: lambda f: save_npz_to(
                f,
                keypoints=raw,
                layout=detections.layout.name,
                fps=np.float64(result.fps),
                image_size=np.array(result.image_size, np.int32),
            )
        },
        binary=[path],
    )[0]
