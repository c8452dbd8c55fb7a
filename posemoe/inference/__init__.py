"""From 2D tracks to 3D: windows and test-time flip, Lifter / OnlineLifter, clean-up, the pipeline."""
