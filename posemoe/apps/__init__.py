"""Applications built on the package: the demo, the benchmarks, reproducible experiments."""
