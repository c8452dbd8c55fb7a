"""Datasets and motion sources: one module per dataset (loading, splits, protocols, preparation),
registered by name in :mod:`posemoe.datasets.registry`."""

from posemoe.datasets.registry import DATASETS, Dataset, get_dataset, register_dataset

__all__ = ["DATASETS", "Dataset", "get_dataset", "register_dataset"]
