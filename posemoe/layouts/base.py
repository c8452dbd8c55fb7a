"""The joint-layout type, the registry of layouts and the converters between them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from posemoe.errors import UserError


@dataclass(frozen=True)
class JointLayout:
    """A skeleton definition.

    ``parents[j]`` is the parent of joint ``j`` (-1 for the root); ``left``/``right`` are
    paired joints, ``left[i]`` mirroring ``right[i]``.
    """

    name: str
    joints: tuple[str, ...]
    parents: tuple[int, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.parents) != len(self.joints):
            raise UserError(
                f"{self.name}: {len(self.joints)} joints but {len(self.parents)} parents"
            )
        if len(self.left) != len(self.right):
            raise UserError(f"{self.name}: left and right lists differ in length")

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    @property
    def root(self) -> int:
        return self.parents.index(-1)

    @property
    def bones(self) -> list[tuple[int, int]]:
        """(parent, child) pairs, one per non-root joint."""
        return [(p, j) for j, p in enumerate(self.parents) if p >= 0]

    def flip_permutation(self) -> np.ndarray:
        """Index array that swaps left and right joints: ``x_mirrored = x[..., perm, :]``."""
        perm = np.arange(self.num_joints)
        perm[list(self.left)] = self.right
        perm[list(self.right)] = self.left
        return perm

    def index(self, joint: str) -> int:
        return self.joints.index(joint)


def named_layout(name: str, tree: dict[str, str | None]) -> JointLayout:
    """A layout from ``{joint: parent or None}`` in index order; left/right pairs come from
    names ("L" + X mirrors "R" + X)."""
    joints = tuple(tree)
    pairs = [
        (joints.index(j), joints.index("R" + j[1:]))
        for j in joints
        if j.startswith("L") and "R" + j[1:] in tree
    ]
    return JointLayout(
        name=name,
        joints=joints,
        parents=tuple(-1 if p is None else joints.index(p) for p in tree.values()),
        left=tuple(a for a, _ in pairs),
        right=tuple(b for _, b in pairs),
    )


Converter = Callable[[np.ndarray], np.ndarray]
LAYOUTS: dict[str, JointLayout] = {}
_CONVERTERS: dict[tuple[str, str], Converter] = {}


def register_layout(layout: JointLayout) -> JointLayout:
    LAYOUTS[layout.name] = layout
    return layout


def register_converter(source: JointLayout, target: JointLayout, convert_fn: Converter) -> None:
    """``convert_fn`` maps ``(..., J_source, C)`` to ``(..., J_target, C)``."""
    _CONVERTERS[source.name, target.name] = convert_fn


def get_layout(name: str) -> JointLayout:
    try:
        return LAYOUTS[name]
    except KeyError:
        raise UserError(
            f"unknown joint layout {name!r}; known: {', '.join(sorted(LAYOUTS))}"
        ) from None


def layout_for(num_joints: int, name: str | None) -> JointLayout:
    """The layout ``name`` names; for None, the one registered layout with ``num_joints`` joints.
    A count that several layouts share (17: H36M, COCO and MPI-INF-3DHP, each in its own order) is
    refused: taking one of them would lift the others' joints as the wrong ones, silently."""
    if name is not None:
        return get_layout(name)
    fits = sorted(n for n, layout in LAYOUTS.items() if layout.num_joints == num_joints)
    if len(fits) == 1:
        return LAYOUTS[fits[0]]
    if not fits:
        counts = ", ".join(f"{n} ({LAYOUTS[n].num_joints})" for n in sorted(LAYOUTS))
        raise UserError(f"no joint layout has {num_joints} joints; known: {counts}")
    raise UserError(
        f"keypoints of {num_joints} joints could be in any of {', '.join(fits)}, which order the "
        f"joints differently: pass layout= one of them"
    )


def mean_weights(
    source: JointLayout, target: JointLayout, recipe: dict[str, tuple[str, ...]]
) -> np.ndarray:
    """(J_target, J_source) weights: each target joint the mean of the source joints ``recipe`` names."""
    weights = np.zeros((target.num_joints, source.num_joints))
    for i, joint in enumerate(target.joints):
        for name in recipe[joint]:
            weights[i, source.index(name)] = 1.0 / len(recipe[joint])
    return weights


def weighted_mean(weights: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(K, J) weights, (..., J, C) points -> (..., K, C); a target joint is NaN where a source joint it
    uses is not finite, and only there (a plain product would spread 0 x NaN to every joint)."""
    bad = ~np.isfinite(points).all(-1)
    out = np.einsum("kj,...jc->...kc", weights, np.where(bad[..., None], 0.0, points))
    if bad.any():
        out[
            np.einsum("kj,...j->...k", (weights != 0).astype(np.float32), bad.astype(np.float32))
            > 0
        ] = np.nan
    return out


def averaging_converter(
    source: JointLayout, target: JointLayout, recipe: dict[str, tuple[str, ...]]
) -> Converter:
    """A converter where each target joint is the mean of named source joints; a confidence
    channel (C = 3) takes the lowest confidence of the joints averaged."""
    weights = mean_weights(source, target, recipe).astype(np.float32)

    def convert_fn(points: np.ndarray) -> np.ndarray:
        out = weighted_mean(weights, points[..., :2].astype(np.float32))
        if points.shape[-1] == 2:
            return out
        conf = np.where(weights > 0, points[..., None, :, 2], np.inf).min(-1)
        return np.concatenate([out, conf[..., None].astype(np.float32)], -1)

    convert_fn.weights = weights  # type: ignore[attr-defined]
    return convert_fn


def selecting_converter(
    source: JointLayout, target: JointLayout, recipe: dict[str, str]
) -> Converter:
    """A converter that picks, for each target joint, the named source joint (any channels)."""
    index = np.array([source.index(recipe[name]) for name in target.joints])

    def convert_fn(points: np.ndarray) -> np.ndarray:
        return points[..., index, :]

    convert_fn.index = index  # type: ignore[attr-defined]
    return convert_fn


def convert(points: np.ndarray, source: JointLayout, target: JointLayout) -> np.ndarray:
    """Convert ``(..., J_source, C)`` keypoints to ``(..., J_target, C)`` with the registered converter."""
    if points.shape[-2] != source.num_joints:
        raise UserError(
            f"expected keypoints with {source.num_joints} joints ({source.name}), got shape {points.shape}"
        )
    if source == target:
        return points
    try:
        convert_fn = _CONVERTERS[source.name, target.name]
    except KeyError:
        raise UserError(f"no converter from {source.name} to {target.name}") from None
    return convert_fn(points)
