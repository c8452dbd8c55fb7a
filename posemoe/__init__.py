"""posemoe: monocular 3D human pose estimation (PoseMoE lifting, AITE training, AITEPose images)."""

from posemoe.inference.lifter import Lifter, OnlineLifter, load
from posemoe.inference.pipeline import infer_keypoints, infer_video
from posemoe.models import create_model, list_models

__version__ = "0.2.0"
__all__ = ["Lifter", "OnlineLifter", "load", "infer_video", "infer_keypoints", "create_model", "list_models",
           "__version__"]
