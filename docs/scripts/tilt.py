"""README "Where TS5's error is": how often the training motion tilts the torso, and a lifter's S8
error by torso tilt. usage: python docs/scripts/tilt.py [CHECKPOINT]  (data/ -> the datasets)

Prints the share of motion-bank frames (configs/default-lifter.toml's sources) by torso tilt from
up, as stored and as drawn with tilt_balance 0.5, then the checkpoint's S8 MPJPE (GT 2D, 4,000 evenly
spaced windows, not blended) by the tilt measured from the camera's up (Human3.6M's cameras are
nearly level)."""

import sys

import numpy as np
import torch

from posemoe.codecs import dataset_encoding
from posemoe.datasets.h36m import load_sources
from posemoe.datasets.motion import MotionSource, motion_bank
from posemoe.evaluation.h36m import predict
from posemoe.models.pretrained import load_pretrained
from posemoe.training.config import TrainConfig
from posemoe.training.views import VirtualViewSampler, torso_tilt

BINS = [(0, 30), (30, 60), (60, 180)]
torch.set_num_threads(1)
cfg = TrainConfig.from_toml("configs/default-lifter.toml")
sources = [MotionSource.from_table(m) for m in cfg.motion_sources]
bank = motion_bank(sources, 50.0, min_frames=27)
tilt = torso_tilt(bank.positions)
drawn = {
    power: torso_tilt(
        VirtualViewSampler(bank, 27, tilt_balance=power)._clips(np.random.default_rng(0), 4000)[
            :, 13
        ]
    )
    for power in (0.0, 0.5)
}  # the tilt at each clip's middle frame
for lo, hi in BINS:
    print(
        f"torso tilt {lo}-{hi} deg: {((tilt >= lo) & (tilt < hi)).mean():.1%} of motion frames; of clips drawn "
        + ", ".join(
            f"{((d >= lo) & (d < hi)).mean():.1%} with tilt_balance {p}" for p, d in drawn.items()
        )
    )

model, pretrained = load_pretrained(
    sys.argv[1] if len(sys.argv) > 1 else "posemoe-t27-s-h36m-he-bvh-vcam"
)
data = load_sources("data/h36m", ["S8"], "gt", codec=dataset_encoding(pretrained.codec)[0])
pred, covered = predict(model, data, codec=pretrained.codec, max_windows=4000)
target = data.poses[covered]
err = 1000 * np.linalg.norm(pred[covered] - target, axis=-1).mean(-1)
camera_tilt = torso_tilt(target, up=(0.0, -1.0, 0.0))  # camera frame: y down
print(f"S8 GT, {len(err)} frames: {err.mean():.1f} mm")
for lo, hi in [(0, 20), (20, 40), (40, 60), (60, 180)]:
    m = (camera_tilt >= lo) & (camera_tilt < hi)
    print(f"  torso tilt {lo}-{hi} deg: {err[m].mean():.1f} mm, {m.mean():.1%} of frames")
