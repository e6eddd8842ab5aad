"""Evaluation: YAML benchmarks, the two-stage harness (cached predictions, CPU scoring),
baselines on the predictor interface, and the HTML/JSON report (`vlm3 eval`, `vlm3 report`)."""
