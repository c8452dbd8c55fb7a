"""README "Where TS5's error is": how much of a lifter's error is systematic (oracles that use the
answers, for diagnosis only) on TS5 and on validation views of S8.
usage: python docs/scripts/bias.py [CHECKPOINT]   (data/ -> the datasets; about 3 minutes on one thread)

Per set: MPJPE; minus each joint's mean error in the camera frame; minus it in the body's frame
(pelvis, hips, thorax of the truth); times the best single scale (median of per-frame optima);
the ratio of predicted to true total bone length; the mean error of the hips' width."""

import sys

import numpy as np
import torch

import posemoe
from posemoe.datasets.motion import h36m_motion
from posemoe.datasets.mpi_inf_3dhp import load_mpi_inf_3dhp
from posemoe.evaluation.cross_dataset import virtual_views
from posemoe.inference.skeleton import bone_lengths
from posemoe.layouts import H36M17

J = H36M17.index


def body_frames(poses: np.ndarray) -> np.ndarray:
    """(N, 17, 3) -> (N, 3, 3) rows: right->left hip, up to the thorax, forward."""
    x = poses[:, J("LHip")] - poses[:, J("RHip")]
    x /= np.linalg.norm(x, axis=-1, keepdims=True)
    y = poses[:, J("Thorax")] - poses[:, J("Hip")]
    y -= (y * x).sum(-1, keepdims=True) * x
    y /= np.linalg.norm(y, axis=-1, keepdims=True)
    return np.stack([x, y, np.cross(x, y)], 1)


def report(name: str, pred: np.ndarray, truth: np.ndarray) -> None:
    pred, truth = pred - pred[:, :1], truth - truth[:, :1]

    def err(p):
        return float(np.linalg.norm(p - truth, axis=-1).mean() * 1000)

    camera_bias = (pred - truth).mean(0)
    frames = body_frames(truth)
    body_bias = np.einsum("nij,nkj->nki", frames, pred - truth).mean(0)
    scale = float(np.median((pred * truth).sum((1, 2)) / (pred * pred).sum((1, 2))))
    ratio = float(np.median(bone_lengths(pred).sum(1) / bone_lengths(truth).sum(1)))
    hips = (body_bias[J("LHip"), 0] - body_bias[J("RHip"), 0]) * 1000
    print(
        f"{name}: MPJPE {err(pred):.1f} mm; minus each joint's mean error {err(pred - camera_bias):.1f} "
        f"(in the body's frame {err(pred - np.einsum('nij,ki->nkj', frames, body_bias)):.1f}); x {scale:.3f} "
        f"{err(pred * scale):.1f}; bone length ratio {ratio:.3f}; hip width {hips:+.0f} mm (predicted - true)"
    )


torch.set_num_threads(1)
lifter = posemoe.load(sys.argv[1] if len(sys.argv) > 1 else None)
for seq in load_mpi_inf_3dhp("data/mpi-inf-3dhp"):
    report(
        seq.name,
        lifter.lift(
            seq.keypoints_2d,
            layout="h36m17",
            image_size=(seq.width, seq.height),
            fps=seq.fps,
            intrinsics=seq.intrinsics,
        ),
        seq.poses_3d,
    )
preds, truths = [], []
for k, clip in enumerate(h36m_motion("data/h36m", ("S8",))[::5]):
    for pixels, camera, size, intrinsics, _ in virtual_views(
        clip.positions[::2].astype(np.float64)[:600], 2, k
    ):
        preds.append(lifter.lift(pixels, image_size=size, fps=25.0, intrinsics=intrinsics))
        truths.append(camera)
report(
    "S8 virtual views (every 5th sequence, 2 views)", np.concatenate(preds), np.concatenate(truths)
)
