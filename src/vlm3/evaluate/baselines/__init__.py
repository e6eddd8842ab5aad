"""Baselines behind the predictor interface: text-codec oracle, trivial answers, SIFT."""
