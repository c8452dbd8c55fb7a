"""The weights shipped inside the package (``*.safetensors``, read by :mod:`posemoe.models.pretrained`)
and which of them the pipeline and ``create_model(name, pretrained=True)`` use by default. No torch
here: the command line reads these names to show its defaults."""

from __future__ import annotations

from pathlib import Path

WEIGHTS_DIR = Path(__file__).parent

# The weights used where several ship for one architecture.
DEFAULT_WEIGHTS = {"posemoe-t27-s": "posemoe-t27-s-h36m-he-bvh-vcam-rt6k"}
DEFAULT_LIFTER = DEFAULT_WEIGHTS[
    "posemoe-t27-s"
]  # trained across cameras (README: the default lifter)
