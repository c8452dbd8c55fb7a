"""Plot a person's root path from a ``posemoe infer`` result (.npz): top view (x right, z depth)
and depth over time. For the README figure; needs matplotlib (not a posemoe dependency).

    python3 docs/scripts/plot_root.py out/sports2d_demo_person1.npz docs/images/sports2d-root-path.png
"""

from __future__ import annotations

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def main(npz: str, png: str) -> None:
    data = np.load(npz)
    root, seen, fps = data["root"], data["person_visible"], float(data["fps"])
    t = np.arange(len(root)) / fps
    fig, (top, depth) = plt.subplots(1, 2, figsize=(10, 3.6), dpi=100)
    path = top.scatter(root[seen, 0], root[seen, 2], c=t[seen], s=8, cmap="viridis")
    top.plot(root[:, 0], root[:, 2], color="grey", lw=0.6, zorder=0)
    top.set(
        xlabel="x, camera right (m)",
        ylabel="z, depth (m)",
        title="root path, seen from above",
        aspect="equal",
    )
    fig.colorbar(path, ax=top, label="time (s)")
    depth.plot(t, root[:, 2], color="grey", lw=0.8, label="all frames (gaps filled)")
    depth.plot(t[seen], root[seen, 2], ".", ms=3, label="person detected")
    depth.set(
        xlabel="time (s)",
        ylabel="depth z (m)",
        title="depth over time",
        ylim=(0, max(8.0, root[:, 2].max() + 1)),
    )
    depth.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(png)


if __name__ == "__main__":
    main(*sys.argv[1:3])
