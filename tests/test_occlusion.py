"""Hidden correspondence targets (issue #20, item 3), measured against the synthetic
world's exact visibility (tests/occlusion_bench.py ray casts every checked match).

Old engine (nearest pixel, 3 % depth tolerance): 0.89 % of the demo-size matches below
hidden, 1.3 % at release size; the strict test must stay at or under 0.5 % at both."""

from __future__ import annotations

import numpy as np
import pytest

import occlusion_bench as ob
from vlm3.geometry.camera import Camera
from vlm3.tasks.correspondence.build import match_pixels


def test_hidden_targets_at_demo_size_are_at_most_half_a_percent():
    r = ob.hidden_rate("demo", n_scenes=2, max_checked=5000)
    print(r)
    assert r["n_matches"] > 10_000
    assert r["hidden_rate"] <= 0.005, r


@pytest.mark.slow
def test_hidden_targets_at_release_size_are_at_most_half_a_percent():
    r = ob.hidden_rate("release", n_scenes=3, max_checked=5000)
    print(r)
    assert r["n_matches"] > 10_000
    assert r["hidden_rate"] <= 0.005, r


def test_a_target_next_to_an_occluding_edge_is_refused():
    """A wall at 4 m seen by both cameras, a box edge at 2 m one pixel beside the target in
    view 1: the nearest pixel shows the wall (the old test accepted it), the window does not."""
    cam = Camera.from_fx_fy_cx_cy(100.0, 100.0, 31.5, 23.5, 64, 48)
    z0 = np.full((48, 64), 4.0)
    z1 = np.full((48, 64), 4.0)
    z1[:, 33:] = 2.0                                    # occluder edge between x = 32 and 33
    T = np.eye(4)                                       # same camera: the query maps onto itself
    xy0, xy1, ok, n_valid, n_covis = match_pixels(cam, z0, cam, z1, T)
    at = {tuple(p): k for k, p in zip(ok, xy0)}
    assert at[(20, 10)] and not at[(32, 10)] and not at[(40, 10)]
    assert n_valid == 64 * 48 and n_covis == 33 * 48     # the lenient covisibility test is unchanged
