"""Datasets and motion sources: one module per dataset (loading, splits, protocols, preparation)."""
