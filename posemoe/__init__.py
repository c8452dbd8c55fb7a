"""posemoe: monocular 3D human pose estimation (PoseMoE lifting, AITE training, AITEPose images)."""

from posemoe.checkpoint import model_from_checkpoint
from posemoe.lift import Lifter, load
from posemoe.models import create_model, list_models

__version__ = "0.1.0"
__all__ = ["Lifter", "load", "create_model", "list_models", "model_from_checkpoint", "__version__"]
