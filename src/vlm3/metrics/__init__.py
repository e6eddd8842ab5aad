"""Metrics as pure functions ``f(pred, gt)`` with no hidden alignment.

`depth` (δ1/δ2/δ3, AbsRel, RMSE, log10), `correspondence` (EPE in pixels of a stated
image, PCK), `pose` (geodesic rotation error, translation angle, binned and trapezoid
AUC), `objects` (qualitative accuracy, quantitative success rate, AbsRel), and
`summary.summarize_with_parse_rate` (the parse-failure policy). See docs/metrics.md.
"""

from vlm3.metrics.summary import summarize_with_parse_rate

__all__ = ["summarize_with_parse_rate"]
