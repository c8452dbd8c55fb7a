"""Window seams on a real clip: the 3D step between consecutive frames when the lifter's windows
are laid end to end, and when they overlap by half and are blended (what inference does). For
the README figure; needs matplotlib (not a posemoe dependency).

    python3 docs/scripts/plot_boundaries.py out/sports2d_demo_person1.npz 1768 994 docs/images/window-seams.png
"""

from __future__ import annotations

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from posemoe.inference.lifter import Lifter  # noqa: E402
from posemoe.models.pretrained import load_pretrained  # noqa: E402


def main(npz: str, width: str, height: str, png: str, model: str = "posemoe-t27-s-h36m") -> None:
    data = np.load(npz)
    keypoints, fps, seen = data["keypoints_2d"], float(data["fps"]), data["person_visible"]
    net, pretrained = load_pretrained(model)
    steps, size = {}, (int(width), int(height))
    for name, stride in (
        ("end to end", net.config.num_frames),
        ("half-overlapping, blended", None),
    ):
        joints = Lifter(net, pretrained, stride=stride).lift(
            keypoints, layout="h36m17", image_size=size, fps=fps
        )
        steps[name] = 1000 * np.linalg.norm(np.diff(joints, axis=0), axis=-1).mean(
            -1
        )  # mm per frame
    # window starts, in the clip's frames: the track is lifted at the model's rate
    ratio = fps / pretrained.fps
    starts = np.arange(net.config.num_frames, len(keypoints) / ratio, net.config.num_frames) * ratio
    at_seam = np.zeros(len(keypoints) - 1, bool)
    at_seam[np.clip(np.floor(starts - 0.5).astype(int), 0, len(at_seam) - 1)] = True
    both_seen = seen[1:] & seen[:-1]
    fig, ax = plt.subplots(figsize=(10, 3.2), dpi=100)
    for name, step in steps.items():
        ratio_here = step[at_seam & both_seen].mean() / step[~at_seam & both_seen].mean()
        ax.plot(
            np.arange(1, len(keypoints)),
            step,
            lw=1,
            label=f"{name}: step at seams / elsewhere = {ratio_here:.2f}",
        )
        print(
            f"{name}: mean 3D step {step[at_seam & both_seen].mean():.1f} mm at window seams, "
            f"{step[~at_seam & both_seen].mean():.1f} mm elsewhere (frames where the person is seen)"
        )
    for s in starts:
        ax.axvline(s, color="grey", lw=0.5, ls=":")
    ax.set(
        xlabel="frame",
        ylabel="mean joint step (mm)",
        title="3D step between frames; dotted: window seams end to end",
    )
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(png)


if __name__ == "__main__":
    main(*sys.argv[1:])
