"""train.embedding_grad=used_rows: the tied embedding trains through a table of the rows the
training set uses. It must give the dense run's weights and losses, save plain Qwen3-VL
weights, resume exactly, and refuse the settings where it would not be the same run."""

from __future__ import annotations

import copy
import json

import pytest
import torch
import yaml
from safetensors.torch import load_file

from _train_helpers import MICRO_PRESET, write_micro_preset, write_nyu_depth_set
from vlm3.config import ConfigError
from vlm3.model.factory import load_model_and_processor
from vlm3.train.config import load_config
from vlm3.train.small.embedding_rows import MODULE_NAME, EmbeddingRowsError, attach_used_rows
from vlm3.train.trainer import run_training


def _cfg(tmp_path, data, out, *extra):
    return load_config(None, [
        f"model.name_or_path={write_micro_preset(tmp_path)}", "model.min_pixels=1024", f"data.train_path={data}",
        f"train.output_dir={out}", "train.max_steps=4", "train.per_device_batch_size=2", "train.global_batch_size=2",
        "train.save_steps=2", "train.logging_steps=1", "train.learning_rate=1e-2", "train.report_to=[]",
        "train.disable_tqdm=true", "train.answer_vocab=answers", *extra])


def _losses(out):
    lines = [json.loads(x) for x in (out / "logs.jsonl").read_text().splitlines()]
    return [r["loss"] for r in lines if "loss" in r]


def test_used_rows_train_like_the_dense_matrix(tmp_path):
    data = write_nyu_depth_set(tmp_path / "data", n_per_image=2, questions=2)
    run_training(_cfg(tmp_path, data, tmp_path / "dense"))
    run_training(_cfg(tmp_path, data, tmp_path / "rows", "train.embedding_grad=used_rows"))
    wd = load_file(str(tmp_path / "dense" / "model.safetensors"))
    wr = load_file(str(tmp_path / "rows" / "model.safetensors"))
    assert set(wr) == set(wd) and not any(MODULE_NAME in k for k in wr)
    for k in wd:
        torch.testing.assert_close(wr[k], wd[k], rtol=1e-4, atol=1e-5)
    assert _losses(tmp_path / "rows") == pytest.approx(_losses(tmp_path / "dense"), rel=1e-4)
    init, _ = load_model_and_processor(write_micro_preset(tmp_path), dtype="float32")
    emb_key = next(k for k in wd if k.endswith("embed_tokens.weight"))
    moved = (wr[emb_key] != init.get_input_embeddings().weight.detach()).any(dim=1)
    assert 0 < int(moved.sum()) < 1000  # the used rows trained, the other ~151k did not move


def test_used_rows_resume_like_an_uninterrupted_run(tmp_path):
    from test_train_resume import Crash

    data = write_nyu_depth_set(tmp_path / "data", n_per_image=2, questions=2)
    rows = ("train.embedding_grad=used_rows", "train.save_total_limit=null")
    run_training(_cfg(tmp_path, data, tmp_path / "a", *rows))
    with pytest.raises(KeyboardInterrupt):
        run_training(_cfg(tmp_path, data, tmp_path / "b", *rows), callbacks=[Crash(3)])
    res = run_training(_cfg(tmp_path, data, tmp_path / "b", *rows))
    assert res["resumed_from"].endswith("checkpoint-2") and res["global_step"] == 4
    wa = load_file(str(tmp_path / "a" / "model.safetensors"))
    wb = load_file(str(tmp_path / "b" / "model.safetensors"))
    for k in wa:
        torch.testing.assert_close(wb[k], wa[k], rtol=1e-5, atol=1e-6)


def test_settings_that_would_change_the_run_are_refused(tmp_path):
    base = [f"model.name_or_path={write_micro_preset(tmp_path)}", f"data.train_path={tmp_path}",
            f"train.output_dir={tmp_path / 'o'}"]
    cases = [(["train.embedding_grad=sparse"], "embedding_grad must be one of"),
             (["train.embedding_grad=used_rows"], "answer_vocab=answers"),
             (["train.embedding_grad=used_rows", "train.answer_vocab=answers", "train.weight_decay=0.1"],
              "weight_decay=0"),
             (["train.embedding_grad=used_rows", "train.answer_vocab=answers", "model.lora.enabled=true"], "LoRA")]
    for extra, message in cases:
        with pytest.raises(ConfigError, match=message):
            run_training(load_config(None, base + extra))


def test_table_adds_rows_folds_and_stays_out_of_the_state_dict(tmp_path):
    model, _ = load_model_and_processor(write_micro_preset(tmp_path), dtype="float32")
    emb = model.get_input_embeddings()
    keys = set(model.state_dict())
    rows = attach_used_rows(model, [11, 12, 13])
    with torch.no_grad():
        rows.delta.copy_(torch.randn_like(rows.delta))
    ids = torch.tensor([[11, 13, 500]])
    expect = emb.weight[ids].detach().clone()
    expect[0, :2] += rows.delta[[0, 2]].detach()
    with torch.no_grad():  # an id outside the table is the plain row when nothing trains
        torch.testing.assert_close(emb(ids), expect)
    with pytest.raises(EmbeddingRowsError, match=r"\[500\]"):
        emb(ids)  # ... and an error in a training pass, never a silently frozen row
    head_rows = rows.rows(torch.tensor([11, 13])).detach().clone()
    rows.fold()
    assert not rows.delta.any()
    torch.testing.assert_close(emb.weight[[11, 13]], head_rows)
    torch.testing.assert_close(model.lm_head.weight[[11, 13]], head_rows)  # tied
    state = model.state_dict()
    assert set(state) == keys
    model.load_state_dict(state, strict=True)


def test_untied_embeddings_are_refused(tmp_path):
    preset = copy.deepcopy(MICRO_PRESET)
    preset["qwen3_vl_config"]["tie_word_embeddings"] = False
    preset["qwen3_vl_config"]["text_config"]["tie_word_embeddings"] = False
    path = tmp_path / "untied.yaml"
    path.write_text(yaml.safe_dump(preset), encoding="utf-8")
    model, _ = load_model_and_processor(path, dtype="float32")
    assert model.lm_head.weight is not model.get_input_embeddings().weight
    with pytest.raises(EmbeddingRowsError, match="tied input/output embeddings"):
        attach_used_rows(model, [11, 12])
