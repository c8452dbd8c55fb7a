"""Metrics, reports and per-dataset evaluation protocols."""
