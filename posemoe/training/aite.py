"""AITE: Auxiliary-Information-Driven Training Enhancement (Xie et al., 2025), for any pose model.

During training only, a cascade of Disturbance-Correction Modules (DCM) sits between the
network's prediction and the loss. Each module perturbs the pose it receives (disturbance) and
then moves the two joints of every bone along that bone so its length approaches the
ground-truth bone length, the less confident joint moving more, scaled by a learned gate
(correction). The adjusted pose is an online teacher for the raw prediction. Inference uses the
plain network: none of this is saved with its weights. See docs/aite.md.

Shapes: B poses (batch x frames flattened), J joints, K bones.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from posemoe.errors import UserError
from posemoe.layouts import H36M17, JointLayout
from posemoe.training.losses import keypoint_loss, mpjpe_loss


@dataclass(frozen=True)
class AITEConfig:
    num_modules: int = 2
    disturbance_std: float = 0.01  # metres of Gaussian noise added by each module in training
    gate_init: float = 0.5  # initial share of the bone-length error a correction removes
    w_adjusted: float = 1.0  # MPJPE of the adjusted (teacher) pose
    w_distill: float = 0.5  # MPJPE of the raw prediction to the adjusted pose (teacher detached)


def bone_lengths(pose: Tensor, layout: JointLayout = H36M17) -> Tensor:
    """(..., J, 3) -> (..., K) lengths of the layout's bones."""
    parents, children = zip(*layout.bones)
    return torch.linalg.vector_norm(
        pose[..., list(children), :] - pose[..., list(parents), :], dim=-1
    )


class DisturbanceCorrectionModule(nn.Module):
    """One DCM: pose (B, J, 3), confidence (B, J) in [0, 1], GT bone lengths (B, K) -> pose (B, J, 3)."""

    def __init__(
        self, layout: JointLayout = H36M17, *, disturbance_std: float = 0.01, gate_init: float = 0.5
    ) -> None:
        super().__init__()
        if not 0.0 < gate_init < 1.0:
            raise UserError(f"gate_init must be in (0, 1), got {gate_init}")
        self.disturbance_std = disturbance_std
        parents, children = zip(*layout.bones)
        self.register_buffer("bone_parent", torch.tensor(parents), persistent=False)
        self.register_buffer("bone_child", torch.tensor(children), persistent=False)
        self.gate_logit = nn.Parameter(
            torch.full((len(parents),), float(torch.logit(torch.tensor(gate_init))))
        )

    def disturb(self, pose: Tensor) -> Tensor:
        """Gaussian perturbation in training (so the cascade learns to correct errors), identity otherwise."""
        if not self.training or self.disturbance_std == 0:
            return pose
        return pose + self.disturbance_std * torch.randn_like(pose)

    def correct(self, pose: Tensor, confidence: Tensor, lengths: Tensor) -> Tensor:
        """Move each bone's joints along the bone towards its GT length; all bones at once."""
        vec = pose[:, self.bone_child] - pose[:, self.bone_parent]  # (B, K, 3)
        length = torch.linalg.vector_norm(vec, dim=-1, keepdim=True).clamp_min(1e-6)
        error = lengths.unsqueeze(-1) - length  # (B, K, 1): > 0 means the bone is too short
        step = torch.sigmoid(self.gate_logit).unsqueeze(-1) * error * vec / length  # (B, K, 3)
        # The less confident joint takes the larger share; two fully confident joints split evenly.
        doubt_child, doubt_parent = (
            1 - confidence[:, self.bone_child],
            1 - confidence[:, self.bone_parent],
        )
        total = doubt_child + doubt_parent
        share_child = torch.where(
            total > 0, doubt_child / total.clamp_min(1e-12), torch.full_like(total, 0.5)
        )
        moves = torch.zeros_like(pose)
        moves = moves.index_add(1, self.bone_child, step * share_child.unsqueeze(-1))
        moves = moves.index_add(1, self.bone_parent, -step * (1 - share_child).unsqueeze(-1))
        return pose + moves

    def forward(self, pose: Tensor, confidence: Tensor, lengths: Tensor) -> Tensor:
        return self.correct(self.disturb(pose), confidence, lengths)


class AITE(nn.Module):
    """The training-time adjustment network: a cascade of DCMs plus the AITE loss terms.

    Models that predict no confidence use a learned per-joint confidence.
    """

    def __init__(self, config: AITEConfig = AITEConfig(), layout: JointLayout = H36M17) -> None:
        super().__init__()
        self.config = config
        self.layout = layout
        self.cascade = nn.ModuleList(
            DisturbanceCorrectionModule(
                layout, disturbance_std=config.disturbance_std, gate_init=config.gate_init
            )
            for _ in range(config.num_modules)
        )
        self.confidence_logit = nn.Parameter(torch.zeros(layout.num_joints))

    def adjust(
        self,
        pred: Tensor,
        target: Tensor,
        confidence: Tensor | None = None,
        visible: Tensor | None = None,
    ) -> Tensor:
        """pred, target: (..., J, D) with D = 3 (or 2 for 2D models); confidence (..., J) or None;
        visible (..., J) marks labelled joints (bones with an unlabelled end are left as they are)
        -> adjusted pose (..., J, D)."""
        shape = pred.shape
        pose = pred.reshape(-1, *shape[-2:])
        lengths = bone_lengths(target.reshape(-1, *shape[-2:]), self.layout)
        if visible is not None:
            vis = visible.reshape(-1, shape[-2]).bool()
            parents, children = zip(*self.layout.bones)
            known = vis[:, list(parents)] & vis[:, list(children)]
            lengths = torch.where(known, lengths, bone_lengths(pose, self.layout).detach())
        if confidence is None:
            conf = torch.sigmoid(self.confidence_logit).expand(pose.shape[0], -1)
        else:
            conf = confidence.reshape(-1, shape[-2])
        for module in self.cascade:
            pose = module(pose, conf, lengths)
        return pose.reshape(shape)

    def loss(
        self,
        pred: Tensor,
        target: Tensor,
        confidence: Tensor | None = None,
        visible: Tensor | None = None,
    ) -> tuple[Tensor, dict[str, float]]:
        """Extra loss terms for the raw prediction ``pred`` (whose own MPJPE the caller adds)."""
        adjusted = self.adjust(pred, target, confidence, visible)
        if visible is None:
            terms = {
                "aite_adjusted": mpjpe_loss(adjusted, target),
                "aite_distill": mpjpe_loss(pred, adjusted.detach()),
            }
        else:
            with_vis = torch.cat([target, visible.unsqueeze(-1)], -1)
            terms = {
                "aite_adjusted": keypoint_loss(adjusted, with_vis),
                "aite_distill": keypoint_loss(
                    pred, torch.cat([adjusted.detach(), visible.unsqueeze(-1)], -1)
                ),
            }
        total = (
            self.config.w_adjusted * terms["aite_adjusted"]
            + self.config.w_distill * terms["aite_distill"]
        )
        return total, {k: float(v.detach()) for k, v in terms.items()}
