"""README "Bodies that lean": how the body leans in the default lifter's training views, and the
validation that chose the upright limit. usage: python docs/scripts/upright.py [CHECKPOINT [LIMIT ...]]
(data/ -> the datasets; LIMIT "off" for no turning; about 2 minutes per limit on one thread)

1. The |lean| of the body's axis from image-up in 4,000 virtual-camera training clips
   (configs/default-lifter.toml's sources and cameras): percentiles and shares.
2. Per limit: MPJPE on S8 virtual views (every 5th sequence, 2 seeded views each, first 600
   frames at 25 fps; intrinsics known, as `posemoe eval --dataset h36m-virtual` gives them) as seen
   and each view rolled by a seeded random angle about its optical axis, and HumanEva's validation
   P-MPJPE."""

import sys

import numpy as np
import torch

import posemoe
from posemoe.datasets.motion import MotionSource, h36m_motion, motion_bank
from posemoe.evaluation.cross_dataset import evaluate_humaneva, virtual_views
from posemoe.evaluation.metrics import mpjpe
from posemoe.inference.lifter import Lifter
from posemoe.inference.upright import body_lean, turn_back, turn_keypoints
from posemoe.layouts import H36M17
from posemoe.training.config import TrainConfig
from posemoe.training.views import VirtualViewSampler
from posemoe.training.virtual_camera import VirtualCameraConfig, project, sample_cameras

torch.set_num_threads(1)
cfg = TrainConfig.from_toml("configs/default-lifter.toml")
sources = [MotionSource.from_table(m) for m in cfg.motion_sources]
rng = np.random.default_rng(0)
clips = (
    VirtualViewSampler(motion_bank(sources, 50.0, min_frames=27), 27)
    ._clips(rng, 4000)
    .astype(np.float64)
)
cams = sample_cameras(VirtualCameraConfig(), rng, clips)
pixels, _ = project(clips, cams)
lean = np.abs(
    np.degrees(
        np.concatenate(
            [
                body_lean(p, H36M17, cams.intrinsics(k), 50.0, smooth_s=0.0)
                for k, p in enumerate(pixels)
            ]
        )
    )
)
print(
    "training views, |lean| percentiles 50/90/95/99:",
    np.percentile(lean, [50, 90, 95, 99]).round(1).tolist(),
    "; share over 15/30/45/90 degrees:",
    [round(float(np.mean(lean > a)), 4) for a in (15, 30, 45, 90)],
)

base = posemoe.load(sys.argv[1] if len(sys.argv) > 1 else None)
limits = [None if a == "off" else float(a) for a in sys.argv[2:]] or [None, 0.0, 15.0, 30.0, 45.0]
views = []
for k, clip in enumerate(h36m_motion("data/h36m", ("S8",))[::5]):
    for px, camera, size, intrinsics, _ in virtual_views(
        clip.positions[::2].astype(np.float64)[:600], 2, k
    ):
        views.append(
            (px, camera - camera[:, :1], size, intrinsics, np.radians(rng.uniform(-180, 180)))
        )
for limit in limits:
    lifter = Lifter(base.model, base.pretrained, upright=limit)
    row = []
    for rolled in (False, True):
        errors = []
        for px, truth, size, intrinsics, roll in views:
            turn = np.full(
                len(px), roll if rolled else 0.0
            )  # the camera rolled about its optical axis
            pred = lifter.lift(
                turn_keypoints(px, turn, intrinsics),
                image_size=size,
                fps=25.0,
                intrinsics=intrinsics,
            )
            errors.append(mpjpe(pred, turn_back(truth, -turn)) * 1000)
        row.append(np.concatenate(errors).mean())
    he = evaluate_humaneva(lifter, "data/humaneva")
    print(
        f"limit {'off' if limit is None else f'{limit:g}'}: S8 views {row[0]:.1f} mm, rolled {row[1]:.1f} mm, "
        f"HumanEva P-MPJPE {he.average('P-MPJPE'):.1f} mm",
        flush=True,
    )
