"""``create_model(name, pretrained=...)``: a registered architecture, freshly initialised or with
weights (shipped or a file). Above both the registry and the weights' loader, which it joins."""

from __future__ import annotations

from torch import nn

from posemoe.errors import UserError
from posemoe.models.pretrained import default_weights, load_pretrained
from posemoe.models.registry import build_model, get_config


def create_model(name: str, *, pretrained: bool | str = False, **overrides) -> nn.Module:
    """A model of the named configuration: freshly initialised (fields can be overridden), or with
    weights: ``pretrained=True`` takes the shipped weights of this architecture, a string names
    shipped weights or a ``.safetensors`` / ``.pt`` file (which must be of this architecture)."""
    if not pretrained:
        return build_model(get_config(name, **overrides))
    if overrides:
        raise UserError("pretrained weights fix the architecture; drop the overrides")
    model, _ = load_pretrained(default_weights(name) if pretrained is True else pretrained)
    if model.config != get_config(name):
        raise UserError(f"weights {pretrained!r} are not of architecture {name}")
    return model
