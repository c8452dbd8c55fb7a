"""Where a model runs: ONNX Runtime (the default; no torch) or torch, behind one numpy interface.

A *runner* has ``config`` (the model config: ``num_frames``, ``num_joints``, ``in_channels`` for
lifters; ``image_size``, ``layout``, ``out_dims`` for image models), ``task`` (``"lifting"`` or
``"image"``), ``input`` (what it takes: ``"keypoints"`` or ``"images"``, as
:data:`posemoe.models.registry.TASKS` names them) and ``predict(x) -> {output name: array}``;
calling it gives the first output. Lifters
take keypoints (B, T, J, C) float32 and give ``joints`` (B, T, J, 3) metres; image models take crops
(B, 3, S, S) float32 in [0, 1] and give ``pose`` (B, J, D) and ``confidence`` (B, J).

:class:`OnnxModel` runs a file written by ``posemoe export --onnx`` (or a shipped ``<name>.onnx``);
:class:`TorchModel` wraps a torch module. :func:`load_runner` picks one for a name or file.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Protocol

import numpy as np

from posemoe.errors import MissingDependency, UserError
from posemoe.models.pretrained import PretrainedConfig, available_onnx, resolve
from posemoe.weights import WEIGHTS_DIR

RUNTIMES = ("onnx", "torch")
_threads: int | None = None


class Runner(Protocol):
    config: Any
    task: str
    input: str

    def predict(self, x: np.ndarray) -> dict[str, np.ndarray]: ...

    def __call__(self, x: np.ndarray) -> np.ndarray: ...


def set_threads(threads: int | None) -> None:
    """Threads of the ONNX Runtime sessions made from now on, and torch's when the torch runtime
    loads (process-wide: the command line sets it, library functions do not)."""
    global _threads
    _threads = threads


def cpu_session_options(threads: int | None = None) -> Any:
    """ONNX Runtime options for posemoe's CPU sessions: ``threads`` intra-op threads (None: ONNX
    Runtime's choice), operators one after another, errors only in the log (warnings too under
    ``posemoe --verbose``), and pool threads that sleep while they wait instead of spinning: a
    spinning pool fights another process for the core it wants, which made lifting 1.5 times slower
    with one of two cores busy (docs/results/detector-threads.md)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 2 if os.environ.get("POSEMOE_VERBOSE") == "1" else 3
    for pool in ("intra_op", "inter_op"):
        options.add_session_config_entry(f"session.{pool}.allow_spinning", "0")
    return options


class OnnxModel:
    """An exported posemoe model run by ONNX Runtime on the CPU. ``source``: a ``.onnx`` file or
    its bytes; ``threads``: intra-op threads (None: :func:`set_threads`'s, else ONNX Runtime's choice)."""

    def __init__(self, source: str | Path | bytes, *, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise MissingDependency(
                "running ONNX models needs onnxruntime: pip install onnxruntime "
                "(a dependency of posemoe)"
            ) from None
        where = "the ONNX model" if isinstance(source, bytes) else str(source)
        try:
            self.session = ort.InferenceSession(
                source if isinstance(source, bytes) else str(source),
                cpu_session_options(threads or _threads),
                providers=["CPUExecutionProvider"],
            )
        except Exception as err:  # onnxruntime raises its own error types for unreadable files
            raise UserError(
                f"{where}: not an ONNX model ONNX Runtime can run ({str(err).strip()[:200]})"
            ) from None
        meta = self.session.get_modelmeta().custom_metadata_map
        missing = sorted({"model_config", "task"} - set(meta))
        if missing:
            raise UserError(
                f"{where}: no {' or '.join(missing)} in its metadata; was it written by posemoe export --onnx?"
            )
        try:
            self.config = SimpleNamespace(**json.loads(meta["model_config"]))
            self.pretrained = PretrainedConfig.from_dict(
                json.loads(meta.get("pretrained_config", "{}"))
            )
        except (json.JSONDecodeError, TypeError) as err:
            raise UserError(
                f"{where}: its metadata is not the JSON posemoe export writes ({err})"
            ) from None
        self.task = meta["task"]
        self.model_name = meta.get("model_name", "")
        self.input = self.session.get_inputs()[0].name
        self._outputs = [o.name for o in self.session.get_outputs()]
        want = self._input_shape()
        found = tuple(self.session.get_inputs()[0].shape[1:])
        if found != want:
            raise UserError(
                f"{where}: takes inputs of shape (B, {', '.join(map(str, found))}) but its model config "
                f"says (B, {', '.join(map(str, want))})"
            )

    def _input_shape(self) -> tuple[int, ...]:
        cfg = self.config
        if self.task == "image":
            return (3, cfg.image_size, cfg.image_size)
        return (cfg.num_frames, cfg.num_joints, cfg.in_channels)

    def predict(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """x: (B, ...) the model's input -> every output by name (float32)."""
        want = self._input_shape()
        if x.ndim != len(want) + 1 or tuple(x.shape[1:]) != want:
            raise UserError(
                f"expected an input of shape (B, {', '.join(map(str, want))}), got {tuple(x.shape)}"
            )
        values = self.session.run(None, {self.input: np.ascontiguousarray(x, dtype=np.float32)})
        return dict(zip(self._outputs, values))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.predict(x)[self._outputs[0]]


class TorchModel:
    """A posemoe torch module behind the runner interface (put in eval mode; inputs go to ``device``,
    by default the module's)."""

    def __init__(self, module: Any, device: Any = None) -> None:
        import torch

        from posemoe.models.registry import TASKS, task_of

        self.module = module.eval()
        self.config = module.config
        self.task = task_of(module.config)
        self.input, self._outputs = TASKS[self.task].input, TASKS[self.task].outputs
        self.device = next(module.parameters()).device if device is None else torch.device(device)
        if _threads:
            torch.set_num_threads(_threads)

    def predict(self, x: np.ndarray) -> dict[str, np.ndarray]:
        import torch

        with torch.no_grad():
            tensor = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(self.device)
            if len(self._outputs) == 1:
                return {self._outputs[0]: self.module(tensor).float().cpu().numpy()}
            pose, aux = self.module(tensor, aux=True)
            values = {self._outputs[0]: pose, **{name: aux[name] for name in self._outputs[1:]}}
            return {name: value.float().cpu().numpy() for name, value in values.items()}

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return next(iter(self.predict(x).values()))


def as_runner(model: Any, device: Any = None) -> Runner:
    """A runner as it is; a torch module wrapped in :class:`TorchModel` (inputs sent to ``device``)."""
    return (
        model if hasattr(model, "predict") and hasattr(model, "task") else TorchModel(model, device)
    )


def torch_installed() -> bool:
    return importlib.util.find_spec("torch") is not None


def default_device(device: str | None = None) -> str:
    """The device a torch model runs on: ``device`` as given, and for None CUDA where torch sees
    one, else the CPU. The one rule of the command line (``--device``) and of the Python API
    (``posemoe.load``, ``infer_video``, ...); ONNX Runtime runs on the CPU whatever it says."""
    if device is not None:
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_runner(
    name_or_path: str | Path, *, runtime: str | None = None, device: str | None = None
) -> tuple[Runner, PretrainedConfig]:
    """Shipped weights by name, or a ``.onnx`` / ``.safetensors`` / ``.pt`` file -> (runner, its
    pretrained config). ``runtime``: ``"onnx"``, ``"torch"`` or None: ONNX Runtime for ``.onnx``
    files and for shipped weights that ship as ONNX, torch for the rest. ``device`` (torch only):
    cpu, cuda, cuda:N, mps; None: :func:`default_device` (CUDA where available)."""
    if runtime not in (None, *RUNTIMES):
        raise UserError(f"runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    path = resolve(name_or_path)
    twin = WEIGHTS_DIR / f"{name_or_path}.onnx"
    shipped = (
        path.parent == WEIGHTS_DIR
        and path.suffix == ".safetensors"
        and path.stem == str(name_or_path)
    )
    if path.suffix == ".onnx":
        if runtime == "torch":
            raise UserError(
                f"{path}: an ONNX model runs on ONNX Runtime; --runtime torch takes shipped names and "
                ".safetensors / .pt files"
            )
        onnx_source: Path | None = path
    elif shipped and runtime != "torch" and twin.is_file():
        onnx_source = twin
    elif runtime == "onnx":
        also = f" (shipped as ONNX: {', '.join(available_onnx()) or 'none'})" if shipped else ""
        raise UserError(
            f"{name_or_path}: no ONNX model of these weights{also}; run them with --runtime torch, or "
            f"convert them once: posemoe export --onnx {name_or_path} OUT.onnx"
        )
    else:
        onnx_source = None
    if onnx_source is not None:
        if device not in (None, "cpu"):
            raise UserError(
                f"device {device!r}: the ONNX runtime runs on the CPU; add --runtime torch to use {device}"
            )
        runner = OnnxModel(onnx_source)
        return runner, runner.pretrained
    if not torch_installed():
        onnx_names = ", ".join(available_onnx()) or "none"
        raise MissingDependency(
            f"{name_or_path} is stored for torch, which is not installed: pip install "
            f"'posemoe[train]', or use weights shipped as ONNX ({onnx_names}) or a .onnx file "
            "(posemoe export --onnx converts, where torch is installed)"
        )
    from posemoe.models.pretrained import load_pretrained

    model, pretrained = load_pretrained(name_or_path, map_location=default_device(device))
    return TorchModel(model), pretrained
