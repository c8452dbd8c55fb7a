"""Training: the loop (``loop.py``), one task per model family (``tasks.py``), samplers,
augmentation, AITE, losses, checkpoints, logging and distributed helpers."""

from posemoe.training.loop import TrainConfig, train

__all__ = ["TrainConfig", "train"]
