"""AITEPose: an end-to-end network from a person crop to root-relative 3D joints (Xie et al., 2025).

Shapes: B batch, S crop side (pixels), J joints, D output dims (3 for AITEPose, 2 for AITEPose2D),
h x w the head's feature grid (S / 16).

    image (B, 3, S, S) float in [0, 1], RGB
      --ResNet-style backbone (BasicBlocks, 4 stages, total stride 32)--> (B, C, S/32, S/32)
      --head: conv, x2 upsample, conv--> per joint: heat logits, D location maps, confidence logits
      --soft-argmax--> p_j = softmax(heat_j) over h x w
         3D: xyz_j = sum p_j * loc_j (metres, camera frame, root-relative)
         2D: xy_j  = sum p_j * grid  (crop coordinates, [-1, 1] left/top to right/bottom)
         confidence_j = sigmoid(sum p_j * conf_j)                 (B, J) in [0, 1]

The per-joint confidence is what the AITE adjustment network (posemoe/aite.py) uses in training
to decide which joint of a bone to move. Inference is this network alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from posemoe.errors import UserError

_MEAN = (0.485, 0.456, 0.406)  # the usual ImageNet statistics, a neutral default for RGB input
_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class AITEPoseConfig:
    """Hyper-parameters of an AITEPose network; a checkpoint stores this to rebuild it."""

    image_size: int = 256
    widths: tuple[int, ...] = (64, 128, 256, 512)
    blocks: tuple[int, ...] = (2, 2, 2, 2)
    head_width: int = 128
    num_joints: int = 17
    out_dims: int = 3  # 3: AITEPose (metres); 2: AITEPose2D (crop coordinates)
    layout: str = "h36m17"  # joint layout of the output (posemoe.layouts); AITEPose2D uses coco17
    family: str = "aitepose"

    def __post_init__(self) -> None:
        if self.out_dims not in (2, 3):
            raise UserError(f"out_dims must be 2 or 3, got {self.out_dims}")
        if len(self.widths) != len(self.blocks):
            raise UserError("widths and blocks need one entry per stage")
        if self.image_size % 32:
            raise UserError(f"image_size must be a multiple of 32, got {self.image_size}")

    def to_dict(self) -> dict:
        return asdict(self)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and an identity (or 1x1 projected) shortcut."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        nn.init.zeros_(self.bn2.weight)  # each residual branch starts as the identity
        self.shortcut = (
            nn.Identity()
            if stride == 1 and cin == cout
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        )

    def forward(self, x: Tensor) -> Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class Backbone(nn.Module):
    """ResNet-style: 7x7 stride-2 stem and max-pool, then stages of BasicBlocks (stride 2 after the first)."""

    def __init__(self, widths: tuple[int, ...], blocks: tuple[int, ...]) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, widths[0], 7, 2, 3, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
        )
        stages, cin = [], widths[0]
        for i, (cout, n) in enumerate(zip(widths, blocks)):
            layers = [BasicBlock(cin, cout, 1 if i == 0 else 2)] + [
                BasicBlock(cout, cout, 1) for _ in range(n - 1)
            ]
            stages.append(nn.Sequential(*layers))
            cin = cout
        self.stages = nn.Sequential(*stages)

    def forward(self, x: Tensor) -> Tensor:
        """(B, 3, S, S) -> (B, C_last, S / 2^(len(widths) + 1), same)."""
        return self.stages(self.stem(x))


class AITEPose(nn.Module):
    """Crop (B, 3, S, S) in [0, 1] -> pose (B, J, D); with ``aux`` also ``{"confidence": (B, J)}``."""

    def __init__(self, config: AITEPoseConfig) -> None:
        super().__init__()
        self.config = config
        j, d = config.num_joints, config.out_dims
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)
        self.backbone = Backbone(config.widths, config.blocks)
        self.neck = nn.Sequential(
            nn.Conv2d(config.widths[-1], config.head_width, 3, 1, 1, bias=False),
            nn.BatchNorm2d(config.head_width),
            nn.ReLU(inplace=True),
        )
        self.refine = nn.Sequential(
            nn.Conv2d(config.head_width, config.head_width, 3, 1, 1, bias=False),
            nn.BatchNorm2d(config.head_width),
            nn.ReLU(inplace=True),
        )
        self.heads = nn.Conv2d(config.head_width, j * (2 + (d if d == 3 else 0)), 1)

    def forward(
        self, image: Tensor, *, aux: bool = False
    ) -> Tensor | tuple[Tensor, dict[str, Tensor]]:
        cfg = self.config
        if (
            image.ndim != 4
            or image.shape[1] != 3
            or image.shape[2:] != (cfg.image_size, cfg.image_size)
        ):
            raise UserError(
                f"expected images of shape (B, 3, {cfg.image_size}, {cfg.image_size}), "
                f"got {tuple(image.shape)}"
            )
        feat = self.backbone((image - self.mean) / self.std)
        feat = F.interpolate(self.neck(feat), scale_factor=2, mode="bilinear", align_corners=False)
        maps = self.heads(self.refine(feat))  # (B, J * (2 [+3]), h, w)
        b, _, h, w = maps.shape
        maps = maps.view(b, cfg.num_joints, -1, h * w)
        prob = maps[:, :, 0].float().softmax(dim=-1)  # (B, J, h*w)
        confidence = torch.sigmoid((prob * maps[:, :, 1]).sum(-1))  # (B, J)
        if cfg.out_dims == 3:
            pose = (prob.unsqueeze(2) * maps[:, :, 2:]).sum(-1)  # (B, J, 3)
        else:
            ys, xs = torch.meshgrid(
                torch.linspace(-1, 1, h, device=image.device),
                torch.linspace(-1, 1, w, device=image.device),
                indexing="ij",
            )
            grid = torch.stack([xs, ys], dim=-1).view(h * w, 2)  # pixel centres, (h*w, 2)
            grid = grid * torch.tensor([(w - 1) / w, (h - 1) / h], device=image.device)
            pose = prob @ grid  # (B, J, 2)
        return (pose, {"confidence": confidence}) if aux else pose
