"""posemoe: monocular 3D human pose estimation (PoseMoE lifting, AITE training, AITEPose images)."""

from posemoe.inference.lifter import Lifter, load
from posemoe.models import create_model, list_models
from posemoe.training.checkpoint import model_from_checkpoint

__version__ = "0.1.0"
__all__ = ["Lifter", "load", "create_model", "list_models", "model_from_checkpoint", "__version__"]
