"""Coordinate codecs: release rounding rules, bounds, round-trip error bounds, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vlm3.protocol import codecs

sizes = st.integers(16, 4096)


def test_python_round_half_even_matches_release():
    # 1024 x 768 image: y = 432 -> 432 / 768 * 1000 = 562.5 -> 562 (half to even), as released
    assert codecs.encode_box_norm1000([6, 292, 233, 432], 1024, 768).tolist() == [6, 380, 228, 562]
    # 2000-grid: x / W * 2000 = 0.5 -> 0 and 1.5 -> 2 (Python round)
    assert codecs.encode_xy_norm2000([0.25, 0.75], 1000, 1000).tolist() == [round(0.5), round(1.5)]


@settings(max_examples=300, deadline=None)
@given(w=sizes, h=sizes, fx=st.floats(0, 1, exclude_max=True), fy=st.floats(0, 1, exclude_max=True))
def test_norm2000_matches_python_round_and_round_trips(w, h, fx, fy):
    x, y = fx * w, fy * h
    n = codecs.encode_xy_norm2000([x, y], w, h)
    assert n.tolist() == [min(max(round(x / w * 2000), 0), 1999), min(max(round(y / h * 2000), 0), 1999)]
    assert 0 <= n.min() and n.max() <= 1999
    back = codecs.decode_xy_norm2000(n, w, h)
    # half a grid step, or the right/bottom clamp (x > 1999.5 / 2000 * W)
    bound = np.array([w, h]) / 4000 + 1e-9
    clamp_ok = (n == 1999) & (np.array([x, y]) >= 1999.5 / 2000 * np.array([w, h]) - 1e-9)
    assert np.all((np.abs(back - [x, y]) <= bound) | clamp_ok)


@settings(max_examples=300, deadline=None)
@given(w=sizes, h=sizes, fx=st.floats(0, 1), fy=st.floats(0, 1))
def test_norm1000_matches_int_round_and_round_trips(w, h, fx, fy):
    x, y = fx * w, fy * h
    n = codecs.encode_xy_norm1000([x, y], w, h)
    assert n.tolist() == [int(round(x / w * 1000)), int(round(y / h * 1000))]
    back = codecs.decode_xy_norm1000(n, w, h)
    assert np.all(np.abs(back - [x, y]) <= np.array([w, h]) / 2000 + 1e-9)


@settings(max_examples=200, deadline=None)
@given(w=sizes, h=sizes, a=st.lists(st.floats(0, 1), min_size=4, max_size=4))
def test_box_encoding_is_ordered_and_bounded(w, h, a):
    x1, x2 = sorted([a[0] * w, a[1] * w])
    y1, y2 = sorted([a[2] * h, a[3] * h])
    b = codecs.encode_box_norm1000([x1, y1, x2, y2], w, h)
    assert b[0] <= b[2] and b[1] <= b[3] and b.min() >= 0 and b.max() <= 1000
    back = codecs.decode_box_norm1000(b, w, h)
    assert np.all(np.abs(back - [x1, y1, x2, y2]) <= np.array([w, h, w, h]) / 2000 + 1e-9)


def test_batches_and_single_points():
    pts = np.array([[10, 488], [1182, 773]])
    assert codecs.encode_xy_norm2000(pts, 1215, 920).tolist() == [[16, 1061], [1946, 1680]]
    assert codecs.encode_xy_norm2000(pts[0], 1215, 920).shape == (2,)
    assert codecs.encode_xy_norm2000([5000, -3], 100, 100).tolist() == [1999, 0]  # clamped


@pytest.mark.parametrize("call,match", [
    (lambda: codecs.encode_xy_norm2000([1, 2], 0, 10), "positive"),
    (lambda: codecs.encode_xy_norm2000([1, 2, 3], 10, 10), "shape"),
    (lambda: codecs.encode_xy_norm1000([np.nan, 2], 10, 10), "NaN"),
    (lambda: codecs.encode_box_norm1000([5, 0, 1, 1], 10, 10), "x1 <= x2"),
    (lambda: codecs.decode_box_norm1000([1, 2, 3], 10, 10), "shape"),
])
def test_bad_input_names_the_problem(call, match):
    with pytest.raises(ValueError, match=match):
        call()
