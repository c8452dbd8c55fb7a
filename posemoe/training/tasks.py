"""One task object per model family: its data, its forward pass and loss, its validation.

The loop (:mod:`posemoe.training.loop`) treats every family alike through these methods:
``batches(epoch)``, ``loss(net, batch, ...)``, ``validate(model)``; ``pretrained_config(cfg,
model_cfg)`` says what using the trained weights needs. The task of a model is its family's
(:func:`posemoe.models.task_of`); a new task is a class here and one entry in :data:`TASKS`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from posemoe.codecs import dataset_encoding
from posemoe.datasets.h36m import Protocol
from posemoe.datasets.images import ImageSet
from posemoe.datasets.motion import MotionSource, motion_bank
from posemoe.datasets.registry import get_dataset, load_sources
from posemoe.errors import UserError, refuse_unknown
from posemoe.evaluation.h36m import evaluate_predictions, predict
from posemoe.evaluation.images import score_images
from posemoe.inference.images import predict_images
from posemoe.layouts import get_layout
from posemoe.models import AITEPoseConfig, ModelConfig, PoseMoEConfig, task_of
from posemoe.training.aite import AITE
from posemoe.training.config import LICENCES, TrainConfig
from posemoe.training.distributed import Ranks, merge_shards
from posemoe.training.losses import keypoint_loss, lifting_loss
from posemoe.training.samplers import ClipSampler, ImageSampler
from posemoe.training.views import VirtualViewSampler, retarget_bones
from posemoe.training.virtual_camera import VirtualCameraConfig


@dataclass(frozen=True)
class Validation:
    score: float  # lower is better: MPJPE in mm, or a 2D model's keypoint error in % of the crop
    second: float  # P-MPJPE in mm, or PCK@10%
    text: str


def _cameras(options: dict[str, Any]) -> VirtualCameraConfig:
    """A config's ``virtual_cameras`` table -> :class:`VirtualCameraConfig`, unknown keys refused."""
    refuse_unknown("virtual_cameras", options, [f.name for f in fields(VirtualCameraConfig)])
    return VirtualCameraConfig(**options)


class LiftingTask:
    """2D keypoint clips -> 3D clips (PoseMoE): the dataset's own 2D and, with ``virtual_share``,
    3D motion seen by virtual cameras (:mod:`posemoe.training.views`)."""

    def __init__(self, cfg: TrainConfig, model_cfg: PoseMoEConfig, ranks: Ranks) -> None:
        self.cfg, self.model_cfg, self.ranks = cfg, model_cfg, ranks
        loaded, self.encode = dataset_encoding(cfg.codec)
        self.train_data = load_sources(
            cfg.data_dir,
            cfg.train_subjects,
            cfg.source,
            dataset=cfg.dataset,
            channels=model_cfg.in_channels,
            codec=loaded,
        )
        val_source = cfg.val_source or cfg.source.split("+")[0]
        self.val_data = (
            load_sources(
                cfg.data_dir,
                cfg.val_subjects,
                val_source,
                dataset=cfg.dataset,
                channels=model_cfg.in_channels,
                codec=loaded,
            )
            if cfg.val_subjects
            else None
        )
        self.sampler = ClipSampler(
            self.train_data,
            model_cfg.num_frames,
            stride=cfg.clip_stride,
            flip=cfg.flip_augment,
            channels=model_cfg.in_channels,
        )
        self.views = self._virtual_views(cfg, model_cfg)
        self.report = list(self.train_data.report)
        self.summary = f"{self.train_data.num_frames} frames ({', '.join(cfg.train_subjects)})"
        if self.views is not None:
            kinds = sorted({s[1] for s in self.views.bank.sequences})
            self.summary += (
                f" + {self.views.bank.num_frames} frames of {', '.join(kinds)} motion seen by virtual "
                f"cameras ({cfg.virtual_share:.0%} of batches)"
            )

    @staticmethod
    def pretrained_config(cfg: TrainConfig, model_cfg: PoseMoEConfig) -> dict[str, Any]:
        """What using the trained weights needs beyond the architecture (see
        :mod:`posemoe.models.pretrained`): H36M-17 keypoints in the run's codec at the dataset's
        frame rate, and the training data with its licences."""
        motion = (
            [f"{m['kind']} motion seen by virtual cameras" for m in cfg.motion_sources]
            if cfg.virtual_share
            else []
        )
        data = (
            f"{cfg.dataset} {' '.join(cfg.train_subjects)} ({', '.join(cfg.source.split('+'))} 2D)"
        )
        if cfg.virtual_share >= 1:
            data = ""
        kinds = ([] if cfg.virtual_share >= 1 else [cfg.dataset]) + [
            m["kind"] for m in cfg.motion_sources
        ]
        licence = "; ".join(dict.fromkeys(LICENCES.get(k, f"{k}: see its licence") for k in kinds))
        return {
            "layout": "h36m17",
            "codec": cfg.codec,
            "fps": get_dataset(cfg.dataset).fps,
            "in_channels": model_cfg.in_channels,
            "sources": cfg.source.split("+") + motion,
            "training_data": "; ".join(x for x in [data, *motion] if x),
            "licence": licence,
        }

    @staticmethod
    def _virtual_views(cfg: TrainConfig, model_cfg: PoseMoEConfig) -> VirtualViewSampler | None:
        if not cfg.virtual_share:
            return None
        if not cfg.motion_sources:
            raise UserError(
                "virtual_share > 0 needs motion_sources (3D motion for the virtual cameras)"
            )
        sources = [MotionSource.from_table(m) for m in cfg.motion_sources]
        leaked = sorted(
            {s for m in sources if m.kind == "h36m" for s in m.subjects} & set(Protocol().test)
        )
        if leaked:
            raise UserError(f"motion_sources: the test subjects {leaked} must not be trained on")
        bank = motion_bank(sources, get_dataset(cfg.dataset).fps, min_frames=model_cfg.num_frames)
        if cfg.retarget_bones:
            bank = retarget_bones(bank)
        return VirtualViewSampler(
            bank,
            model_cfg.num_frames,
            codec=cfg.codec,
            channels=model_cfg.in_channels,
            cameras=_cameras(cfg.virtual_cameras),
            flip=cfg.flip_augment,
            bone_jitter=cfg.bone_jitter,
            limb_mix=cfg.limb_mix,
            tilt_balance=cfg.tilt_balance,
        )

    def batches(self, epoch: int) -> list[tuple[str, Any]]:
        """The epoch's batches of this rank: ("real", (frame index (B, T), flip (B,))) from the dataset,
        ("virtual", seed) from virtual cameras, in an order fixed by (seed, epoch)."""
        cfg, ranks = self.cfg, self.ranks
        share = cfg.virtual_share
        real = (
            []
            if share >= 1
            else self.sampler.epoch(
                cfg.seed,
                epoch,
                cfg.batch_size,
                max_clips=cfg.epoch_clips,
                rank=ranks.rank,
                world_size=ranks.world,
            )
        )
        if self.views is None:
            return [("real", b) for b in real]
        count = (
            round(len(real) * share / (1 - share))
            if real
            else (cfg.epoch_clips or 4096) // cfg.batch_size // ranks.world
        )
        virtual = [("virtual", (cfg.seed, epoch, ranks.rank, k)) for k in range(count)]
        batches = [("real", b) for b in real] + virtual
        order = np.random.default_rng([cfg.seed, epoch, 7]).permutation(len(batches))
        return [batches[i] for i in order]

    def tensors(self, batch: tuple[str, Any], epoch: int, step: int) -> tuple[Tensor, Tensor]:
        """-> keypoints (B, T, J, C) normalised, with detector noise; poses (B, T, J, 3) metres."""
        kind, item = batch
        if kind == "virtual":
            inputs, targets = self.views.gather(item, self.cfg.batch_size)
        else:
            inputs, targets = self.sampler.gather(*item)
            if self.encode is not None:
                inputs = self.encode(inputs)
        rng = np.random.default_rng([self.cfg.seed, epoch, step, self.ranks.rank])
        inputs = self.cfg.detector_noise(inputs, self.sampler.flip_perm, rng)
        device = self.ranks.device
        return torch.from_numpy(inputs).to(device, non_blocking=True), torch.from_numpy(targets).to(
            device, non_blocking=True
        )

    def loss(
        self, net: nn.Module, x: Tensor, y: Tensor, aite: AITE | None, autocast
    ) -> tuple[Tensor, dict[str, float]]:
        with autocast:
            pred, aux = net(x, aux=True)
        pred = pred.float()
        loss, terms = lifting_loss(pred, y, aux["balance"].float(), self.cfg.loss_weights)
        if aite is not None:
            extra, aite_terms = aite.loss(pred, y, x[..., 2].float() if x.shape[-1] == 3 else None)
            loss, terms = loss + extra, terms | aite_terms
        return loss, terms

    def validate(self, model: nn.Module) -> Validation | None:
        """Every rank predicts a share of the windows; all ranks get the merged score."""
        if self.val_data is None:
            return None
        pred, _ = predict(
            model,
            self.val_data,
            flip=self.cfg.flip_test,
            device=self.ranks.device,
            max_windows=self.cfg.val_max_windows,
            shard=(self.ranks.rank, self.ranks.world),
            codec=self.cfg.codec,
        )
        pred = merge_shards(pred, self.ranks)
        report = evaluate_predictions(
            pred, self.val_data, flip=self.cfg.flip_test, mask=~np.isnan(pred[:, 0, 0])
        )
        val = report.frame_weighted
        return Validation(
            val["mpjpe"],
            val["p_mpjpe"],
            f"val MPJPE {val['mpjpe']:.2f} mm, P-MPJPE {val['p_mpjpe']:.2f} mm",
        )


class ImageTask:
    """Person crops -> 3D pose (AITEPose) or COCO-17 2D keypoints (AITEPose2D)."""

    def __init__(self, cfg: TrainConfig, model_cfg: AITEPoseConfig, ranks: Ranks) -> None:
        self.cfg, self.model_cfg, self.ranks = cfg, model_cfg, ranks
        if not cfg.train_images:
            raise UserError(
                f"model {cfg.model} trains on images: set train_images (and val_images) to an ImageSet "
                ".npz made by `posemoe render-bodies` or `posemoe import-images`"
            )
        self.train_data = ImageSet.load(cfg.train_images)
        self.val_data = ImageSet.load(cfg.val_images) if cfg.val_images else None
        protocol = Protocol(train=(), val=())
        for path, data in ((cfg.train_images, self.train_data), (cfg.val_images, self.val_data)):
            if data is None:
                continue
            if data.images.shape[1] != model_cfg.image_size:
                raise UserError(
                    f"{path}: crops are {data.images.shape[1]} px but {cfg.model} takes "
                    f"{model_cfg.image_size} px"
                )
            leaked = sorted({s.subject for s in data.labels.sequences} & set(protocol.test))
            if leaked:
                raise UserError(
                    f"{path}: holds crops of the test subjects {leaked}; training and validation "
                    "must not see them"
                )
        self.sampler = ImageSampler(
            self.train_data, get_layout(model_cfg.layout), flip=cfg.flip_augment
        )
        self.report: list[str] = []
        self.summary = f"{len(self.train_data.images)} images ({cfg.train_images})"

    @staticmethod
    def pretrained_config(cfg: TrainConfig, model_cfg: AITEPoseConfig) -> dict[str, Any]:
        """What using the trained weights needs beyond the architecture: crops (3 channels, no frame
        rate) in the model's layout, and the image set trained on."""
        return {
            "layout": model_cfg.layout,
            "codec": "crop",
            "fps": None,
            "in_channels": 3,
            "sources": [Path(cfg.train_images or "").name],
            "training_data": f"image set {cfg.train_images}",
        }

    def batches(self, epoch: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """The epoch's ``(image index (B,), flip (B,))`` batches of this rank."""
        return self.sampler.epoch(
            self.cfg.seed,
            epoch,
            self.cfg.batch_size,
            max_clips=self.cfg.epoch_clips,
            rank=self.ranks.rank,
            world_size=self.ranks.world,
        )

    def tensors(
        self, batch: tuple[np.ndarray, np.ndarray], epoch: int, step: int
    ) -> tuple[Tensor, Tensor]:
        """-> images (B, 3, S, S) in [0, 1]; targets (B, J, 3) poses or (B, J, 2|3) keypoints (+ visibility)."""
        images, targets = self.sampler.gather(*batch, self.model_cfg.out_dims)
        device = self.ranks.device
        return torch.from_numpy(images).to(device, non_blocking=True), torch.from_numpy(targets).to(
            device, non_blocking=True
        )

    def loss(
        self, net: nn.Module, x: Tensor, y: Tensor, aite: AITE | None, autocast
    ) -> tuple[Tensor, dict[str, float]]:
        with autocast:
            pred, aux = net(x, aux=True)
        pred, confidence = pred.float(), aux["confidence"].float()
        visible = None
        if self.model_cfg.out_dims == 2:
            loss = keypoint_loss(pred, y)
            terms = {"mpjpe": float(loss.detach())}
            visible, y = (y[..., 2] if y.shape[-1] == 3 else None), y[..., :2]
        else:
            loss, terms = lifting_loss(
                pred.unsqueeze(1), y.unsqueeze(1), pred.new_zeros(()), self.cfg.loss_weights
            )
        if aite is not None:
            extra, aite_terms = aite.loss(pred, y, confidence, visible)
            loss, terms = loss + extra, terms | aite_terms
        return loss, terms

    def validate(self, model: nn.Module) -> Validation | None:
        if self.val_data is None:
            return None
        rank, world = self.ranks.rank, self.ranks.world
        share = np.arange(len(self.val_data.images))[rank::world]
        pred = np.full(
            (len(self.val_data.images), self.model_cfg.num_joints, self.model_cfg.out_dims),
            np.nan,
            np.float32,
        )
        pred[share] = predict_images(
            model, self.val_data.images[share], flip=self.cfg.flip_test, device=self.ranks.device
        )[0]
        report = score_images(
            merge_shards(pred, self.ranks),
            self.val_data,
            out_dims=self.model_cfg.out_dims,
            flip=self.cfg.flip_test,
        )
        val = report.frame_weighted
        if "mpjpe" in val:
            return Validation(
                val["mpjpe"],
                val["p_mpjpe"],
                f"val MPJPE {val['mpjpe']:.2f} mm, P-MPJPE {val['p_mpjpe']:.2f} mm",
            )
        return Validation(
            val["keypoint_error"],
            val["pck10"],
            f"val keypoint error {val['keypoint_error']:.2f}% of crop, PCK@10% {val['pck10']:.1f}%",
        )


Task = LiftingTask | ImageTask
TASKS: dict[str, type[Task]] = {"lifting": LiftingTask, "image": ImageTask}  # by task_of's answer


def make_task(cfg: TrainConfig, model_cfg: ModelConfig, ranks: Ranks) -> Task:
    return TASKS[task_of(model_cfg)](cfg, model_cfg, ranks)


def pretrained_config(cfg: TrainConfig, model_cfg: ModelConfig) -> dict[str, Any]:
    """What using weights that ``cfg`` trains needs beyond the architecture, as the model's task
    says (the :class:`~posemoe.models.pretrained.PretrainedConfig` fields)."""
    return TASKS[task_of(model_cfg)].pretrained_config(cfg, model_cfg)
