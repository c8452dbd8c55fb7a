"""PoseMoE: a mixture-of-experts 2D-to-3D lifting transformer (Liu et al., 2025).

Shapes: B batch, T frames, J joints, C input channels (2, or 3 with confidence), D width.

    keypoints (B, T, J, C) --embed--> 2D stream (B, T, J, D)
                           --embed + Gaussian depth prior--> depth stream (B, T, J, D)
    encoder:  each stream alone: [spatial attn, temporal attn, MoE feed-forward] x L
              (2D experts for the 2D stream, depth experts for the depth stream; an expert is an
              MLP over a frame's flattened joint features (J*D), routed per frame)
    decoder:  cross-expert aggregation: 2D <-> depth cross-attention over joints and frames
    head:     (B, T, J, 2D) -> (B, T, J, 3) metres, camera frame, root-relative

``EntangledPoseMoE`` is the paper's ablation baseline of the same size: one stream carries 2D
and depth together, with twice the encoder layers and self-attention in the decoder.
See docs/posemoe.md for the design decisions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from posemoe.errors import UserError


@dataclass(frozen=True)
class PoseMoEConfig:
    """Hyper-parameters of a PoseMoE model; a checkpoint stores this to rebuild the model."""

    num_frames: int = 27
    num_joints: int = 17
    in_channels: int = 2
    dim: int = 16  # per-joint token width D
    encoder_layers: int = 2
    decoder_layers: int = 1
    heads: int = 2
    num_experts: int = 4
    top_k: int = 2
    expert_hidden: int = 512  # hidden width of each frame-level expert MLP
    dropout: float = 0.0
    entangled: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


class Attention(nn.Module):
    """Multi-head attention over the second-to-last axis; ``context`` gives keys/values."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        if dim % heads:
            raise UserError(f"dim {dim} is not divisible by heads {heads}")
        self.heads = heads
        self.dropout = dropout
        self.to_q = nn.Linear(dim, dim)
        self.to_kv = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        """x: (N, S, D), context: (N, S', D) or None -> (N, S, D)."""
        context = x if context is None else context
        q = rearrange(self.to_q(x), "n s (h d) -> n h s d", h=self.heads)
        k, v = rearrange(self.to_kv(context), "n s (two h d) -> two n h s d", two=2, h=self.heads)
        y = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0
        )
        return self.out(rearrange(y, "n h s d -> n s (h d)"))


class SpatioTemporalAttention(nn.Module):
    """Attention across joints within each frame, then across frames for each joint (pre-norm)."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.norm_s, self.norm_t = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.spatial = Attention(dim, heads, dropout)
        self.temporal = Attention(dim, heads, dropout)

    def forward(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        """x, context: (B, T, J, D) -> (B, T, J, D). With ``context``, attention is cross-attention."""
        b, t, j, _ = x.shape
        ctx = context if context is not None else x
        xs = rearrange(x, "b t j d -> (b t) j d")
        cs = rearrange(ctx, "b t j d -> (b t) j d")
        xs = xs + self.spatial(self.norm_s(xs), self.norm_s(cs) if context is not None else None)
        x = rearrange(xs, "(b t) j d -> (b j) t d", b=b)
        ct = rearrange(ctx, "b t j d -> (b j) t d")
        x = x + self.temporal(self.norm_t(x), self.norm_t(ct) if context is not None else None)
        return rearrange(x, "(b j) t d -> b t j d", b=b)


class MoEFeedForward(nn.Module):
    """Mixture of expert MLPs over whole-frame features, routed per frame.

    A token here is one frame of one stream: its J joint features flattened to J*D. A router
    keeps each token's ``top_k`` experts and only those run on it. Besides its output, forward
    returns the Switch-Transformer load-balancing term ``E * sum_e fraction_e * mean_prob_e``,
    1 when tokens are spread evenly over experts.
    """

    def __init__(
        self, width: int, hidden: int, num_experts: int, top_k: int, dropout: float
    ) -> None:
        super().__init__()
        if not 1 <= top_k <= num_experts:
            raise UserError(f"top_k must be in [1, {num_experts}], got {top_k}")
        self.top_k = top_k
        self.router = nn.Linear(width, num_experts)
        self.experts = nn.ModuleList(
            nn.Sequential(
                nn.Linear(width, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, width)
            )
            for _ in range(num_experts)
        )

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x: (..., W) -> output (..., W) and the balance loss (scalar)."""
        tokens = x.reshape(-1, x.shape[-1])
        probs = self.router(tokens).float().softmax(dim=-1)  # (N, E)
        gate, chosen = probs.topk(self.top_k, dim=-1)  # (N, k)
        gate = gate / gate.sum(dim=-1, keepdim=True)
        out = torch.zeros_like(tokens)
        for e, expert in enumerate(self.experts):
            # an expert chosen by no token runs on an empty batch: no branch on the data, so the
            # graph exports (posemoe export --onnx) with the routing as it is
            token_idx, slot = torch.nonzero(chosen == e, as_tuple=True)
            y = expert(tokens[token_idx]) * gate[token_idx, slot, None].to(tokens.dtype)
            out.index_add_(0, token_idx, y.to(out.dtype))
        fraction = F.one_hot(chosen, probs.shape[-1]).sum(dim=1).float().mean(dim=0) / self.top_k
        balance = probs.shape[-1] * torch.sum(fraction * probs.mean(dim=0))
        return out.reshape(x.shape), balance


class FrameFeedForward(nn.Module):
    """Pre-norm residual feed-forward over each frame's flattened joint features (J*D)."""

    def __init__(self, cfg: PoseMoEConfig, experts: int | None = None) -> None:
        super().__init__()
        width = cfg.num_joints * cfg.dim
        self.norm = nn.LayerNorm(width)
        self.mlp = (
            MoEFeedForward(width, cfg.expert_hidden, experts, cfg.top_k, cfg.dropout)
            if experts
            else nn.Sequential(
                nn.Linear(width, cfg.expert_hidden),
                nn.GELU(),
                nn.Dropout(cfg.dropout),
                nn.Linear(cfg.expert_hidden, width),
            )
        )

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x: (B, T, J, D) -> (B, T, J, D) and the balance loss (0 without experts)."""
        flat = self.norm(rearrange(x, "b t j d -> b t (j d)"))
        y, balance = (
            self.mlp(flat)
            if isinstance(self.mlp, MoEFeedForward)
            else (self.mlp(flat), flat.new_zeros(()))
        )
        return x + rearrange(y, "b t (j d) -> b t j d", j=x.shape[2]), balance


class EncoderLayer(nn.Module):
    """Spatio-temporal self-attention, then a mixture-of-experts feed-forward per frame."""

    def __init__(self, cfg: PoseMoEConfig) -> None:
        super().__init__()
        self.attention = SpatioTemporalAttention(cfg.dim, cfg.heads, cfg.dropout)
        self.moe = FrameFeedForward(cfg, experts=cfg.num_experts)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x: (B, T, J, D) -> (B, T, J, D) and the layer's balance loss."""
        return self.moe(self.attention(x))


class AggregationLayer(nn.Module):
    """Cross-expert knowledge aggregation: each stream attends to the other over joints and frames."""

    def __init__(self, cfg: PoseMoEConfig) -> None:
        super().__init__()
        self.pose_from_depth = SpatioTemporalAttention(cfg.dim, cfg.heads, cfg.dropout)
        self.depth_from_pose = SpatioTemporalAttention(cfg.dim, cfg.heads, cfg.dropout)
        self.ff_pose = FrameFeedForward(cfg)
        self.ff_depth = FrameFeedForward(cfg)

    def forward(self, pose: Tensor, depth: Tensor) -> tuple[Tensor, Tensor]:
        """pose, depth: (B, T, J, D) -> both updated, (B, T, J, D)."""
        pose, depth = self.pose_from_depth(pose, depth), self.depth_from_pose(depth, pose)
        return self.ff_pose(pose)[0], self.ff_depth(depth)[0]


class SelfAggregationLayer(nn.Module):
    """The entangled decoder's counterpart of ``AggregationLayer``: self-attention, one stream."""

    def __init__(self, cfg: PoseMoEConfig) -> None:
        super().__init__()
        self.attention = SpatioTemporalAttention(cfg.dim, cfg.heads, cfg.dropout)
        self.ff = FrameFeedForward(cfg)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self.ff(self.attention(x))


class _Lifter(nn.Module):
    """Parts both variants share: positional embeddings, Gaussian depth prior, router loss."""

    def __init__(self, cfg: PoseMoEConfig) -> None:
        super().__init__()
        self.config = cfg
        self.depth_mean = nn.Parameter(torch.zeros(cfg.num_joints))
        self.depth_log_std = nn.Parameter(torch.zeros(cfg.num_joints))
        self.depth_embed = nn.Linear(1, cfg.dim)

    def _pose_embedding(self) -> nn.Linear:
        """Whole-frame embedding: every joint token sees the full 2D pose from the first layer."""
        cfg = self.config
        return nn.Linear(cfg.num_joints * cfg.in_channels, cfg.num_joints * cfg.dim)

    def embed(self, x: Tensor, joint: nn.Linear, frame: nn.Linear, pos: nn.ParameterList) -> Tensor:
        """x (B, T, J, C) -> tokens (B, T, J, D): per-joint + whole-frame linear maps + positions."""
        whole = rearrange(
            frame(rearrange(x, "b t j c -> b t (j c)")), "b t (j d) -> b t j d", j=x.shape[2]
        )
        return joint(x) + whole + pos[0] + pos[1]

    def _positional(self) -> nn.ParameterList:
        """Factorised embedding: a (T, 1, D) frame part and a (J, D) joint part."""
        cfg = self.config
        return nn.ParameterList(
            [
                nn.Parameter(torch.randn(cfg.num_frames, 1, cfg.dim) * 0.02),
                nn.Parameter(torch.randn(cfg.num_joints, cfg.dim) * 0.02),
            ]
        )

    def _check_input(self, x: Tensor) -> None:
        want = (self.config.num_frames, self.config.num_joints, self.config.in_channels)
        if x.ndim != 4 or tuple(x.shape[1:]) != want:
            raise UserError(
                f"expected keypoints of shape (B, {want[0]}, {want[1]}, {want[2]}), got {tuple(x.shape)}"
            )

    def depth_prior(self, x: Tensor) -> Tensor:
        """Embedded per-joint Gaussian depth prior, (B, T, J, D); sampled in training, its mean otherwise."""
        b, t, j, _ = x.shape
        mean = self.depth_mean.view(1, 1, j, 1).expand(b, t, j, 1)
        if self.training:
            mean = mean + self.depth_log_std.exp().view(1, 1, j, 1) * torch.randn_like(mean)
        return self.depth_embed(mean.to(x.dtype))

    @staticmethod
    def _output(
        y: Tensor, balance: list[Tensor], aux: bool
    ) -> Tensor | tuple[Tensor, dict[str, Tensor]]:
        """Root-relative pose, and with ``aux`` the mean router balance loss (1 = perfectly even)."""
        y = y - y[:, :, :1]
        return (y, {"balance": torch.stack(balance).mean()}) if aux else y


class PoseMoE(_Lifter):
    """Disentangled PoseMoE: keypoints (B, T, J, C) -> 3D (B, T, J, 3), root-relative metres."""

    def __init__(self, cfg: PoseMoEConfig) -> None:
        super().__init__(cfg)
        self.pose_embed = nn.Linear(cfg.in_channels, cfg.dim)
        self.pose_frame_embed = self._pose_embedding()
        self.depth_input = nn.Linear(cfg.in_channels, cfg.dim)
        self.depth_frame_embed = self._pose_embedding()
        self.pos_pose = self._positional()
        self.pos_depth = self._positional()
        self.pose_encoder = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.encoder_layers))
        self.depth_encoder = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.encoder_layers))
        self.decoder = nn.ModuleList(AggregationLayer(cfg) for _ in range(cfg.decoder_layers))
        self.head = nn.Sequential(nn.LayerNorm(2 * cfg.dim), nn.Linear(2 * cfg.dim, 3))

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor, list[Tensor]]:
        """Disentangled encoding: x (B, T, J, C) -> 2D and depth features, each (B, T, J, D), and
        the balance loss of every MoE layer."""
        self._check_input(x)
        pose = self.embed(x, self.pose_embed, self.pose_frame_embed, self.pos_pose)
        depth = self.embed(
            x, self.depth_input, self.depth_frame_embed, self.pos_depth
        ) + self.depth_prior(x)
        balance = []
        for pose_layer, depth_layer in zip(self.pose_encoder, self.depth_encoder):
            (pose, b_pose), (depth, b_depth) = pose_layer(pose), depth_layer(depth)
            balance += [b_pose, b_depth]
        return pose, depth, balance

    def forward(self, x: Tensor, *, aux: bool = False) -> Tensor | tuple[Tensor, dict[str, Tensor]]:
        """x (B, T, J, C) -> (B, T, J, 3); with ``aux`` also ``{"balance": router loss}``."""
        pose, depth, balance = self.encode(x)
        for layer in self.decoder:
            pose, depth = layer(pose, depth)
        return self._output(self.head(torch.cat([pose, depth], dim=-1)), balance, aux)


class EntangledPoseMoE(_Lifter):
    """Same size as ``PoseMoE`` (2L encoder layers of E experts, 2 self-attention decoder layers
    per aggregation layer), but 2D and depth share one stream and every expert sees both."""

    def __init__(self, cfg: PoseMoEConfig) -> None:
        super().__init__(cfg)
        self.joint_embed = nn.Linear(cfg.in_channels, cfg.dim)
        self.frame_embed = self._pose_embedding()
        self.pos = self._positional()
        self.encoder = nn.ModuleList(EncoderLayer(cfg) for _ in range(2 * cfg.encoder_layers))
        self.decoder = nn.ModuleList(
            SelfAggregationLayer(cfg) for _ in range(2 * cfg.decoder_layers)
        )
        self.head = nn.Sequential(nn.LayerNorm(cfg.dim), nn.Linear(cfg.dim, 3))

    def forward(self, x: Tensor, *, aux: bool = False) -> Tensor | tuple[Tensor, dict[str, Tensor]]:
        """x (B, T, J, C) -> (B, T, J, 3); with ``aux`` also ``{"balance": router loss}``."""
        self._check_input(x)
        h = self.embed(x, self.joint_embed, self.frame_embed, self.pos) + self.depth_prior(x)
        balance = []
        for layer in self.encoder:
            h, b = layer(h)
            balance.append(b)
        for layer in self.decoder:
            h = layer(h)[0]
        return self._output(self.head(h), balance, aux)


def resample_frames(state: dict[str, Tensor], num_frames: int) -> dict[str, Tensor]:
    """A PoseMoE state dict made for windows of ``num_frames``: each frame positional embedding
    (T, 1, D) resampled linearly along T (every other weight is the same for any T). To start a
    model of another window length from trained weights; it needs training at its own length."""

    def frames(name: str) -> bool:
        return (
            name.endswith(".0")
            and name.split(".")[-2] in ("pos", "pos_pose", "pos_depth")
            and state[name].ndim == 3
            and state[name].shape[1] == 1
        )

    out = dict(state)
    for name in filter(frames, state):
        table = state[name].float().permute(1, 2, 0)  # (1, D, T)
        out[name] = F.interpolate(
            table, size=num_frames, mode="linear", align_corners=True
        ).permute(2, 0, 1)
    return out
