"""2D keypoints from frames: the bundled offline detector, MediaPipe BlazePose (full), for every
person in view.

``mediapipe==0.10.21`` ships the BlazePose models inside its wheel (``modules/pose_detection`` and
``modules/pose_landmark``; later wheels dropped them), so nothing is downloaded. Its Tasks API
(``PoseLandmarker``, which takes ``num_poses``) wants them as a ``.task`` bundle with input
metadata: :func:`_bundle` makes one in memory. In video mode each person is followed from frame
to frame and the person detector runs again when someone is lost. mediapipe pins numpy<2, which is
why it lives in the ``posemoe[video]`` extra.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from posemoe.errors import MissingDependency, UserError
from posemoe.layouts import BLAZEPOSE33


@contextmanager
def _silenced(active: bool) -> Iterator[None]:
    """Point file descriptor 2 at /dev/null: mediapipe's absl and TFLite loggers write there
    directly (not through Python) while the graph is built and the first frames run, and no
    environment variable reaches them. ``POSEMOE_VERBOSE=1`` (``posemoe --verbose``) keeps them."""
    if not active:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def require_mediapipe() -> Any:
    """Import mediapipe's Tasks vision API or explain how to get it."""
    try:
        from mediapipe.tasks.python import vision
    except ImportError:
        raise MissingDependency("the BlazePose detector needs mediapipe 0.10.21: pip install 'posemoe[video]'") from None
    return vision


def _bundle() -> bytes:
    """A PoseLandmarker ``.task`` bundle (a zip) made in memory from the two BlazePose models inside
    the mediapipe wheel, with the input metadata the Tasks graph needs: the person detector takes
    pixels scaled to [-1, 1], the landmark model (full) pixels in [0, 1], as in mediapipe's own graphs."""
    import io
    import zipfile
    from pathlib import Path

    import mediapipe
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer

    modules = Path(mediapipe.__file__).parent / "modules"
    models = {"pose_detector.tflite": (modules / "pose_detection" / "pose_detection.tflite", 127.5, 127.5, 2),
              "pose_landmarks_detector.tflite": (modules / "pose_landmark" / "pose_landmark_full.tflite", 0.0, 255.0, 5)}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, (path, mean, std, outputs) in models.items():
            if not path.is_file():
                raise MissingDependency(f"{path} is missing: reinstall mediapipe==0.10.21 (pip install 'posemoe[video]')")
            writer = metadata_writer.MetadataWriter.create(bytearray(path.read_bytes()))
            writer.add_general_info(name, "BlazePose from the mediapipe wheel").add_image_input([mean], [std])
            for _ in range(outputs):
                writer.add_feature_output()
            bundle.writestr(name, bytes(writer.populate()[0]))
    return buffer.getvalue()


class BlazePose:
    """Every person in a frame, up to ``max_people``: MediaPipe's PoseLandmarker (Tasks API) running
    the offline BlazePose models (full) inside the mediapipe wheel. ``detector(rgb)`` -> (N, 33, 3) pixels
    x, y and visibility, N >= 0, largest first. ``video=True`` follows people between consecutive
    frames (the person detector runs again when one is lost). :meth:`map` runs a whole video on
    several landmarkers at once."""

    layout = BLAZEPOSE33

    def __init__(self, *, max_people: int = 4, video: bool = True, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5) -> None:
        vision = require_mediapipe()
        from mediapipe.tasks.python import BaseOptions

        if not 1 <= max_people <= 64:
            raise UserError(f"max_people must be 1..64, got {max_people}")
        self._quiet_frames = 0 if os.environ.get("POSEMOE_VERBOSE") == "1" else 2
        mode = vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE
        self._options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_buffer=_bundle()), running_mode=mode, num_poses=max_people,
            min_pose_detection_confidence=min_detection_confidence, min_pose_presence_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence)
        self._landmarkers = [self._landmarker()]
        self._video, self._frame = video, 0

    def _landmarker(self):
        from mediapipe.tasks.python import vision

        with _silenced(self._quiet_frames > 0):
            return vision.PoseLandmarker.create_from_options(self._options)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        with _silenced(self._quiet_frames > 0):
            people = self._detect(self._landmarkers[0], rgb, self._frame)
        self._quiet_frames = max(self._quiet_frames - 1, 0)
        self._frame += 1
        return people

    def map(self, frames: Iterable[np.ndarray], workers: int = 2) -> Iterator[np.ndarray]:
        """``self(frame)`` of each frame, in order, with ``workers`` landmarkers taking turns frame by
        frame in threads (mediapipe releases the GIL while it runs, so they use that many cores).
        Each follows people across the frames it sees (``workers`` frames apart); the first frame
        goes to every landmarker, so all start from the same people."""
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor

        if workers < 2 or not self._video:
            yield from (self(frame) for frame in frames)
            return
        iterator = iter(frames)
        first = next(iterator, None)
        if first is None:
            return
        while len(self._landmarkers) < workers:
            self._landmarkers.append(self._landmarker())
        with _silenced(self._quiet_frames > 0):
            results = [self._detect(landmarker, first, self._frame) for landmarker in self._landmarkers[:workers]]
        yield results[0]
        pools = [ThreadPoolExecutor(max_workers=1) for _ in range(workers)]
        pending: deque = deque()
        k = 0
        try:
            for k, frame in enumerate(iterator, start=1):
                landmarker = self._landmarkers[k % workers]
                pending.append(pools[k % workers].submit(self._detect, landmarker, frame, self._frame + k))
                if len(pending) >= workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for pool in pools:
                pool.shutdown(cancel_futures=True)
        self._frame += k + 1
        self._quiet_frames = 0

    def _detect(self, landmarker, rgb: np.ndarray, frame: int) -> np.ndarray:
        import mediapipe as mp

        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise UserError(f"expected an RGB uint8 image (H, W, 3), got {rgb.dtype} {rgb.shape}")
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        if self._video:  # the graph needs rising timestamps; their spacing does not matter to it
            result = landmarker.detect_for_video(image, frame * 33)
        else:
            result = landmarker.detect(image)
        h, w = rgb.shape[:2]
        people = np.array([[(p.x * w, p.y * h, p.visibility) for p in person] for person in result.pose_landmarks],
                          np.float32).reshape(-1, self.layout.num_joints, 3)
        people[..., 2] = np.clip(people[..., 2], 0.0, 1.0)
        size = [np.ptp(p[:, :2], axis=0).prod() for p in people]
        return people[np.argsort(size)[::-1]] if len(people) > 1 else people

    def close(self) -> None:
        for landmarker in self._landmarkers:
            landmarker.close()

    def __enter__(self) -> BlazePose:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
