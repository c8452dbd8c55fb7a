"""Models and their registry: ``create_model("posemoe-t243-b")``, ``create_model("posemoe-t27-s", pretrained=...)``.

Each model is one file (``posemoe.py``, ``aitepose.py``); ``registry.py`` names configurations;
``pretrained.py`` holds the configs of shipped weights (layout, codec, frame rate, 2D sources,
training-data licence) and loads them; ``factory.py`` joins the two in ``create_model``. The names below are imported on first use (PEP 562), so
that ``posemoe.models.pretrained`` (what feeding weights needs) is read without torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_REGISTRY = (
    "FAMILIES",
    "MODEL_CONFIGS",
    "ModelConfig",
    "build_model",
    "config_from_dict",
    "count_parameters",
    "describe_input",
    "example_input",
    "get_config",
    "input_shape",
    "list_models",
    "macs_per_frame",
    "register_family",
    "register_model",
    "TASKS",
    "TaskIO",
    "task_of",
)
_HOMES = {
    "PoseMoE": "posemoe.models.posemoe",
    "EntangledPoseMoE": "posemoe.models.posemoe",
    "PoseMoEConfig": "posemoe.models.posemoe",
    "AITEPose": "posemoe.models.aitepose",
    "AITEPoseConfig": "posemoe.models.aitepose",
    "create_model": "posemoe.models.factory",
    **{name: "posemoe.models.registry" for name in _REGISTRY},
}
__all__ = sorted(_HOMES)

if TYPE_CHECKING:
    from posemoe.models.aitepose import AITEPose, AITEPoseConfig
    from posemoe.models.factory import create_model
    from posemoe.models.posemoe import EntangledPoseMoE, PoseMoE, PoseMoEConfig
    from posemoe.models.registry import (
        FAMILIES,
        MODEL_CONFIGS,
        TASKS,
        ModelConfig,
        TaskIO,
        build_model,
        config_from_dict,
        count_parameters,
        describe_input,
        example_input,
        get_config,
        input_shape,
        list_models,
        macs_per_frame,
        register_family,
        register_model,
        task_of,
    )


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        value = getattr(importlib.import_module(_HOMES[name]), name)
    else:  # a module of the package (posemoe.models.pretrained, ...)
        try:
            value = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module 'posemoe.models' has no attribute {name!r}") from None
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*__all__, *(name for name in globals() if name.startswith("__"))})
