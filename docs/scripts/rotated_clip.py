"""README "Bodies that lean": a real clip and the same clip turned 90 degrees clockwise (a phone held
sideways), each through `posemoe infer` with and without upright turning; how far each person's 3D
from the turned clip is from the upright clip's 3D turned the same way.
usage: python docs/scripts/rotated_clip.py VIDEO OUT_DIR  (about 2 minutes for the Sports2D clip)

People are matched by their 2D (the upright clip's turned onto the turned clip); frames count where
both runs saw the person (joints filled in or out of the frame included)."""

import glob
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

video, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
turned = out / f"{video.stem}_turned.mp4"
capture, writer = cv2.VideoCapture(str(video)), None
while True:
    ok, frame = capture.read()
    if not ok:
        break
    frame = cv2.rotate(frame, cv2.ROTATE_90_CLOCKWISE)
    if writer is None:
        writer = cv2.VideoWriter(
            str(turned),
            cv2.VideoWriter_fourcc(*"mp4v"),
            capture.get(cv2.CAP_PROP_FPS),
            (frame.shape[1], frame.shape[0]),
        )
        height = frame.shape[1]  # the upright clip's height
    writer.write(frame)
writer.release()

for source, name, options in (
    (video, "upright", []),
    (turned, "turned", []),
    (turned, "turned-off", ["--no-upright"]),
):
    subprocess.run(
        ["posemoe", "infer", str(source), "--out", str(out / name), "--format", "npz", *options],
        check=True,
        capture_output=True,
    )


def turn_2d(points: np.ndarray) -> np.ndarray:  # upright clip's pixels -> the turned clip's
    return np.stack([height - 1 - points[..., 1], points[..., 0]], -1)


def turn_3d(
    joints: np.ndarray,
) -> np.ndarray:  # camera frame turned 90 degrees about the optical axis
    return np.stack([-joints[..., 1], joints[..., 0], joints[..., 2]], -1)


def people(
    folder: Path,
) -> list[str]:  # the result files of `posemoe infer` (one per person), not the raw 2D
    return [
        p for p in sorted(glob.glob(str(folder / "*.npz"))) if not p.endswith("_blazepose33.npz")
    ]


for path in people(out / "upright"):
    person = np.load(path)
    matches = []
    for other in people(out / "turned"):
        candidate = np.load(other)
        both = person["person_visible"] & candidate["person_visible"]
        if both.sum() >= 10:
            gap = np.linalg.norm(
                candidate["keypoints_2d"][both, :, :2]
                - turn_2d(person["keypoints_2d"][both, :, :2]),
                axis=-1,
            )
            matches.append((gap.mean(), Path(other).name, both))
    if not matches:
        continue
    gap, other, both = min(matches, key=lambda m: m[0])
    errors = {
        name: np.linalg.norm(
            np.load(out / name / other)["joints_3d"][both] - turn_3d(person["joints_3d"][both]),
            axis=-1,
        ).mean()
        * 1000
        for name in ("turned", "turned-off")
    }
    print(
        f"{Path(path).name} <-> {other}: {both.sum()} frames, 2D apart {gap:.1f} px; 3D apart "
        f"{errors['turned']:.1f} mm with upright turning, {errors['turned-off']:.1f} mm without"
    )
