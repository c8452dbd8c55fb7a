"""Joint layouts as data: one table per skeleton (names, parents, left/right pairs) and the
converters between them. Every joint index in the package comes from these tables.

Adding a skeleton: a module here that calls :func:`register_layout` (and
:func:`register_converter` for its way to H36M-17), imported below.
"""

from posemoe.layouts.base import (
    LAYOUTS,
    JointLayout,
    averaging_converter,
    convert,
    get_layout,
    layout_for,
    named_layout,
    register_converter,
    register_layout,
    selecting_converter,
)
from posemoe.layouts.detectors import BLAZEPOSE33, COCO17, HALPE26, OPENPOSE25
from posemoe.layouts.h36m import H36M17, H36M32, h36m32_to_h36m17_indices
from posemoe.layouts.humaneva import HUMANEVA15
from posemoe.layouts.mpi_inf_3dhp import MPI_INF_3DHP17

__all__ = [
    "JointLayout",
    "LAYOUTS",
    "get_layout",
    "layout_for",
    "convert",
    "named_layout",
    "register_layout",
    "register_converter",
    "averaging_converter",
    "selecting_converter",
    "H36M17",
    "H36M32",
    "h36m32_to_h36m17_indices",
    "COCO17",
    "OPENPOSE25",
    "HALPE26",
    "BLAZEPOSE33",
    "HUMANEVA15",
    "MPI_INF_3DHP17",
]
