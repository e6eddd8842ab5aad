"""The predictor registry: unknown names and a missing vLLM extra / GPU are one clear line."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from vlm3.predictors import PREDICTORS, make_predictor
from vlm3.predictors.base import InputError


def test_unavailable_vllm_is_a_clear_error():
    if importlib.util.find_spec("vllm") is not None and torch.cuda.is_available():
        pytest.skip("vLLM and a GPU are present")
    with pytest.raises(InputError, match="vlm3\\[vllm\\]|CUDA GPU") as err:
        make_predictor("vllm:/nonexistent")
    assert "\n" not in str(err.value)


def test_registry_specs_are_checked():
    with pytest.raises(InputError, match="unknown predictor 'magic': use model:<"):
        make_predictor("magic")
    with pytest.raises(InputError, match="takes no argument"):
        make_predictor("oracle:x")
    with pytest.raises(InputError, match="needs vllm:<checkpoint dir>"):
        make_predictor("vllm")


def test_registry_builds_baselines_lazily():
    from vlm3.predictors.oracle import OraclePredictor
    from vlm3.predictors.trivial import TrivialPredictor

    assert set(PREDICTORS) == {"model", "vllm", "oracle", "trivial", "sift"}
    assert isinstance(make_predictor("oracle"), OraclePredictor)
    assert isinstance(make_predictor("trivial"), TrivialPredictor)
    assert make_predictor("model", max_new_tokens=4).fingerprint().startswith("hf|preset:tiny")
