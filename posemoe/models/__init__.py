"""Models and their registry: ``create_model("posemoe-t243-b")``, ``create_model("posemoe-t27-s", pretrained=...)``.

Each model is one file (``posemoe.py``, ``aitepose.py``); ``registry.py`` names configurations;
``pretrained.py`` holds the configs of shipped weights (layout, codec, frame rate, 2D sources,
training-data licence) and loads them.
"""

from posemoe.models.aitepose import AITEPose, AITEPoseConfig
from posemoe.models.posemoe import EntangledPoseMoE, PoseMoE, PoseMoEConfig
from posemoe.models.registry import (FAMILIES, MODEL_CONFIGS, ModelConfig, build_model, config_from_dict,
                                     count_parameters, create_model, example_input, get_config, is_image_model,
                                     list_models, macs_per_frame, register_family, register_model)

__all__ = ["PoseMoE", "EntangledPoseMoE", "PoseMoEConfig", "AITEPose", "AITEPoseConfig", "ModelConfig",
           "MODEL_CONFIGS", "build_model", "create_model", "get_config", "config_from_dict", "is_image_model",
           "example_input", "list_models", "count_parameters", "macs_per_frame", "FAMILIES", "register_family",
           "register_model"]
