"""Weights out as ONNX: a checkpoint, safetensors file or shipped name -> one ``.onnx`` file that
ONNX Runtime runs without torch (:mod:`posemoe.inference.runtime`).

The file carries what using it needs in its ``metadata_props``: the model config
(``model_config``), the :class:`~posemoe.models.pretrained.PretrainedConfig` (``pretrained_config``:
layout, codec, frame rate, channels, sources, training data, licence), the task (``lifting`` or
``image``, from the registry's families) and the names of its outputs. Lifters take keypoints
(B, T, J, C) and give ``joints`` (B, T, J, 3); image models take crops (B, 3, S, S) in [0, 1] and give
``pose`` (B, J, D) and ``confidence`` (B, J). The batch axis is dynamic. The graph is checked
against torch on random inputs before the file is written.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch import nn

from posemoe import __version__
from posemoe.errors import MissingDependency, UserError
from posemoe.models.pretrained import PretrainedConfig, load_pretrained
from posemoe.models.registry import TASKS, example_input, task_of

OPSET = 18
MAX_DIFFERENCE = (
    1e-5  # metres (lifters, 3D image models) or normalised units: far under the 0.1 mm asked of it
)


class _Exported(nn.Module):
    """The model's inference call as the exported graph sees it: no keyword arguments, plain outputs."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model, self.outputs = model, TASKS[task_of(model.config)].outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        if len(self.outputs) == 1:
            return self.model(x)
        pose, aux = self.model(x, aux=True)
        return pose, *(aux[name] for name in self.outputs[1:])


def export_onnx(
    source: str | Path, out: str | Path, *, half: bool = False, description: str = ""
) -> tuple[Path, float]:
    """Write ``source`` (shipped weights name, ``.safetensors`` or ``.pt``) as ``out`` (``.onnx``).
    ``half`` rounds the weights to float16 first (half the file, as ``posemoe export --half``).
    Weights that float16 holds exactly (all of them for the shipped files, which are float16) are
    stored as float16 and cast to float32 when the file is loaded, so nothing is lost either way.
    Returns the path and the largest absolute difference between ONNX Runtime's and torch's
    outputs on random inputs of batch 1 and 5."""
    out = Path(out)
    if out.suffix != ".onnx":
        raise UserError(f"{out}: ONNX models are written as .onnx, got {out.suffix or 'no suffix'}")
    model, pretrained = load_pretrained(source)
    if half:  # the reference is what the file holds
        model = model.half().float()
    if description:
        pretrained = PretrainedConfig.from_dict(pretrained.to_dict() | {"description": description})
    proto = to_onnx(model, pretrained, model_name=_name_of(source))
    _store_half(proto)
    data = proto.SerializeToString()
    difference = check_against_torch(data, model)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, out)
    return out, difference


def to_onnx(model: nn.Module, pretrained: PretrainedConfig, *, model_name: str = ""):
    """A model (eval mode, float32) -> ``onnx.ModelProto`` with a dynamic batch axis and the metadata above."""
    try:
        import onnx  # noqa: F401  (torch's exporter needs onnx and onnxscript)
        import onnxscript  # noqa: F401
    except ImportError as err:
        raise MissingDependency(
            f"posemoe export --onnx needs {err.name}: pip install 'posemoe[train]'"
        ) from None
    task = task_of(model.config)
    example = example_input(model.config, batch=2)
    with warnings.catch_warnings(), _quiet_exporter():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            _Exported(model.eval()),
            (example,),
            dynamo=True,
            opset_version=OPSET,
            input_names=[TASKS[task].input],
            output_names=list(TASKS[task].outputs),
            dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=1 << 16)},),
            verbose=False,
        )
    proto = program.model_proto
    meta = {
        "model_config": json.dumps(model.config.to_dict()),
        "pretrained_config": json.dumps(pretrained.to_dict()),
        "model_name": model_name,
        "task": task,
        "outputs": json.dumps(TASKS[task].outputs),
        "producer": f"posemoe {__version__}",
    }
    del proto.metadata_props[:]
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name, proto.producer_version = "posemoe", __version__
    return proto


def check_against_torch(data: bytes, model: nn.Module, seed: int = 0) -> float:
    """Run the ONNX graph and ``model`` on the same random inputs (batch 1 and 5) -> the largest
    absolute difference of any output; refuses a graph that differs by more than :data:`MAX_DIFFERENCE`."""
    from posemoe.inference.runtime import OnnxModel

    runner = OnnxModel(data, threads=1)
    generator = torch.Generator().manual_seed(seed)
    worst = 0.0
    for batch in (1, 5):
        shape = tuple(example_input(model.config, batch).shape)
        x = (
            torch.rand(shape, generator=generator)
            if runner.input == "images"
            else torch.randn(shape, generator=generator) * 0.5
        )
        with torch.no_grad():
            expected = _Exported(model)(x)
        expected = expected if isinstance(expected, tuple) else (expected,)
        got = runner.predict(x.numpy())
        for name, want in zip(TASKS[runner.task].outputs, expected):
            worst = max(worst, float(np.abs(got[name] - want.numpy()).max()))
    if not worst <= MAX_DIFFERENCE:
        raise RuntimeError(
            f"the exported graph differs from torch by {worst:.3g} (limit {MAX_DIFFERENCE:g})"
        )
    return worst


def _store_half(proto) -> None:
    """Float32 initializers that float16 holds exactly -> float16 ones, each cast back to float32 by a
    node at the graph's start (ONNX Runtime folds the casts once, when the session is made)."""
    from onnx import TensorProto, helper, numpy_helper

    graph = proto.graph
    for init in list(graph.initializer):
        if init.data_type != TensorProto.FLOAT or np.prod(init.dims, dtype=np.int64) < 64:
            continue
        values = numpy_helper.to_array(init)
        if not np.array_equal(values.astype(np.float16).astype(np.float32), values):
            continue
        stored = numpy_helper.from_array(values.astype(np.float16), f"{init.name}.f16")
        graph.initializer.remove(init)
        graph.initializer.append(stored)
        graph.node.insert(
            0,
            helper.make_node(
                "Cast", [stored.name], [init.name], to=TensorProto.FLOAT, name=f"{init.name}.cast"
            ),
        )


def _name_of(source: str | Path) -> str:
    path = Path(source)
    return path.stem if path.suffix in (".pt", ".safetensors") else str(source)


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """torch's exporter prints its progress and logs the optional packages it misses (torchvision)."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)
