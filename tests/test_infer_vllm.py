"""The vLLM backend refuses cleanly without vLLM/GPU; runs only where both exist (marker gpu)."""

from __future__ import annotations

import pytest

from vlm3.predictors.base import InputError, make_predictor
from vlm3.predictors.vllm import vllm_available


def test_unavailable_vllm_is_a_clear_error():
    ok, why = vllm_available()
    if ok:
        pytest.skip("vLLM and a GPU are present")
    with pytest.raises(InputError, match="vLLM"):
        make_predictor("vllm:/nonexistent")
    assert why


def test_unknown_predictor_spec():
    with pytest.raises(InputError, match="unknown predictor"):
        make_predictor("magic")
