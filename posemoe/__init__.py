"""posemoe: monocular 3D human pose estimation (PoseMoE lifting, AITE training, AITEPose images).

The names below are imported on first use (PEP 562): ``import posemoe`` and the command line's
``--help`` and ``--version`` do not wait a second for torch."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"
_HOMES = {
    "Lifter": "posemoe.inference.lifter",
    "OnlineLifter": "posemoe.inference.lifter",
    "load": "posemoe.inference.lifter",
    "infer_video": "posemoe.inference.pipeline",
    "infer_keypoints": "posemoe.inference.pipeline",
    "write_result": "posemoe.export",
    "create_model": "posemoe.models",
    "list_models": "posemoe.models",
}
__all__ = [
    "Lifter",
    "OnlineLifter",
    "load",
    "infer_video",
    "infer_keypoints",
    "write_result",
    "create_model",
    "list_models",
    "__version__",
]

if TYPE_CHECKING:
    from posemoe.export import write_result
    from posemoe.inference.lifter import Lifter, OnlineLifter, load
    from posemoe.inference.pipeline import infer_keypoints, infer_video
    from posemoe.models import create_model, list_models


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        value = getattr(importlib.import_module(_HOMES[name]), name)
    else:  # a subpackage (posemoe.camera, posemoe.layouts, ...), as when __init__ imported them all
        try:
            value = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module 'posemoe' has no attribute {name!r}") from None
    globals()[name] = value  # from now on a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*__all__, *(name for name in globals() if name.startswith("__"))})
