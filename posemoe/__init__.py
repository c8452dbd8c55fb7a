"""posemoe: monocular 3D human pose estimation (PoseMoE lifting, AITE training)."""

from posemoe.checkpoint import model_from_checkpoint
from posemoe.models import create_model, list_models

__version__ = "0.1.0"
__all__ = ["create_model", "list_models", "model_from_checkpoint", "__version__"]
