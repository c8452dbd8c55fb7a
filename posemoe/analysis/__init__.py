"""Analyses of trained models: how much PoseMoE's 2D and depth streams depend on each other,
layer by layer (:mod:`posemoe.analysis.streams`), with the estimators of
:mod:`posemoe.analysis.dependence`."""
