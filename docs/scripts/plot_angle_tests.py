"""The synthetic motions of ``tests/inference/test_angles.py`` (a knee bending 0-120 degrees, a raised
arm, a forward lean) seen by a randomly placed camera: the true angles against those
``posemoe.inference.angles`` recovers from the exact 3D and from 3D with 1 cm of noise per joint
(about a lifter's jitter). Prints the largest errors; for the README figure (needs matplotlib).

    python3 docs/scripts/plot_angle_tests.py docs/images/angle-tests.png
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from posemoe.inference.angles import joint_angles  # noqa: E402

TESTS = Path(__file__).resolve().parents[2] / "tests" / "inference" / "test_angles.py"
FPS, FRAMES = 30.0, 60


def _tests():
    spec = importlib.util.spec_from_file_location("test_angles", TESTS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(png: str) -> None:
    tests, rng = _tests(), np.random.default_rng(0)
    ramp = np.linspace(0, 1, FRAMES)
    motions = {
        "knee bending 0-120 deg": (
            {"right_knee_flexion": 120 * ramp, "right_hip_flexion": 60 * np.sin(np.pi * ramp)},
            None,
            ["right_knee_flexion", "right_hip_flexion"],
        ),
        "arm raised forward 0-170 deg, and sideways 0-85 deg": (
            {"right_shoulder_flexion": 170 * ramp, "left_shoulder_abduction": 85 * ramp},
            None,
            ["right_shoulder_flexion", "left_shoulder_abduction"],
        ),
        "leaning forward -10 to 45 deg": ({}, -10 + 55 * ramp, ["trunk_tilt", "pelvis_tilt"]),
    }
    time = np.arange(FRAMES) / FPS
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), dpi=80, layout="constrained")
    for ax, (title, (truth, tilt, names)) in zip(axes, motions.items()):
        joints, up = tests._seen_by_a_camera(tests.synthetic_body(truth, FRAMES, tilt=tilt), seed=1)
        exact = joint_angles(joints, fps=FPS, up=up)
        noisy = joint_angles(joints + rng.normal(0, 0.01, joints.shape), fps=FPS, up=up)
        for name, colour in zip(names, ("tab:green", "tab:red")):
            expected = truth.get(name, tilt)
            ax.plot(
                time,
                expected,
                color="black",
                lw=3,
                alpha=0.25,
                label="truth" if colour == "tab:green" else None,
            )
            ax.plot(
                time,
                exact[name],
                color=colour,
                lw=1.2,
                label=f"{name.replace('_', ' ')}: from exact 3D",
            )
            ax.plot(time, noisy[name], ".", color=colour, ms=3, label="  from 3D + 1 cm noise")
            print(
                f"{name}: largest error {np.abs(exact[name] - expected).max():.2g} deg from exact 3D, "
                f"{np.abs(noisy[name] - expected).max():.2f} deg (median {np.median(np.abs(noisy[name] - expected)):.2f})"
                " with 1 cm noise"
            )
        ax.set(title=title, xlabel="time (s)", ylabel="degrees")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.savefig(png)


if __name__ == "__main__":
    main(*sys.argv[1:])
