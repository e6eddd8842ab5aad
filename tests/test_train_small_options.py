"""The small-model speed-ups stay out of the 4B path: every 4B recipe resolves with them off,
and then nothing is attached to the model; bad combinations are one-line config errors."""

from __future__ import annotations

import pytest

from vlm3.config import ConfigError
from vlm3.train.config import load_config, recipe_names
from vlm3.train.small.options import check_options, prepare


@pytest.mark.parametrize("recipe", [r for r in recipe_names() if r.startswith("qwen3_vl_4b")])
def test_4b_recipes_resolve_without_small_model_options(recipe):
    cfg = load_config(recipe)
    assert (cfg.train.answer_vocab, cfg.train.embedding_grad) == ("full", "dense")
    check_options(cfg)
    # nothing is collected or attached: the model and tokenizer are not even looked at
    assert prepare(cfg, model=None, tokenizer=None, samples=iter(())) is None


def test_unknown_modes_are_named():
    with pytest.raises(ConfigError, match="train.embedding_grad must be one of dense, used_rows"):
        check_options(load_config(None, ["train.embedding_grad=sparse"]))
    with pytest.raises(ConfigError, match="train.answer_vocab must be one of full, answers"):
        check_options(load_config(None, ["train.answer_vocab=some"]))
