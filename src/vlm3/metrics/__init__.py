"""Metrics as pure functions ``f(pred, gt)`` with no hidden alignment.

`depth` (δ1/δ2/δ3, AbsRel, RMSE, log10), `correspondence` (EPE in pixels of a stated
image, PCK), `pose` (geodesic rotation error, translation angle, binned and trapezoid
AUC), `objects` (qualitative accuracy, quantitative success rate, AbsRel, clock success),
`calibration` (field-of-view error, fractions under 1/2/5 deg); `values` (the shared input check). How answers
that did not parse enter the numbers is not a metric: ``vlm3.tasks.failure_policy``.
See docs/metrics.md.
"""
