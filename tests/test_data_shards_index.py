"""The shard index: token counts stored once by the writer, lines found by offset, stale sets refused.

``write_shard`` (the data engine's writer) puts ``<stem>.index.json`` beside each shard;
``build_index`` gathers them into ``<root>/index/<split>/`` (memory-mapped columns);
``vlm3 data index`` does the same for a set written before indexes existed.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from vlm3.data.cli import data as data_cli
from vlm3.data.shard_index import build_index
from vlm3.data.synthetic_shards import write_synthetic_set
from vlm3.io.shard_index import INDEX_DIRNAME, ShardIndex, find_shards, open_index, sidecar_path
from vlm3.model.chat import tokenize_chats
from vlm3.model.processor import build_processor
from vlm3.model.tokenizer import load_qwen_tokenizer
from vlm3.train.dataset import ShardDataset


@pytest.fixture()
def root(tmp_path):
    return write_synthetic_set(tmp_path / "set", 150, shard_size=64)


def test_writer_stores_offsets_token_counts_and_image_sizes(root):
    tok = load_qwen_tokenizer()
    shard = root / "shards/train/depth-synth-00000.jsonl"
    side = json.loads(sidecar_path(shard).read_text())
    raw = shard.read_bytes()
    rows = side["rows"]
    assert side["nbytes"] == len(raw) and len(rows["offset"]) == 64
    for j in range(64):
        line = raw[rows["offset"][j]: rows["offset"][j] + rows["nbytes"][j]]
        s = json.loads(line)
        assert line.endswith(b"\n") and rows["line"][j] == j + 1
        [(ids, _)] = tokenize_chats(tok, [(s["messages"], 1)])
        assert rows["text_tokens"][j] == len(ids)  # the collator's own rendering, one <|image_pad|>
        assert rows["num_turns"][j] == 4 and rows["images"][j] == [[320, 256]]


def test_index_reads_every_line_and_a_changed_shard_makes_it_stale(root, capsys):
    files, base = find_shards(root, "train")
    index = open_index(files, base, "train")
    assert index is not None and len(index) == 150
    lines = [ln for f in files for ln in f.read_bytes().splitlines(keepends=True)]
    assert [index.read_line(i) for i in range(150)] == lines
    assert index["text_tokens"].dtype == np.int32 and isinstance(index["offset"], np.memmap)
    assert index.location(149) == (files[-1], 150 - 128)
    with open(files[0], "ab") as f:  # edited after indexing
        f.write(lines[0])
    assert open_index(files, base, "train") is None
    ds = ShardDataset(root)
    assert not ds.indexed and len(ds) == 151
    err = capsys.readouterr().err
    assert "stale shard index" in err and "vlm3 data index" in err and len(err.strip().splitlines()) == 1


def test_data_index_command_indexes_an_old_set(root):
    for p in list((root / "shards").rglob("*.index.json")):
        p.unlink()
    import shutil

    shutil.rmtree(root / INDEX_DIRNAME)  # as written before indexes existed
    assert not ShardDataset(root).indexed
    res = CliRunner().invoke(data_cli, ["index", str(root), "--quiet"])
    assert res.exit_code == 0, res.output
    assert "train: 150 samples" in res.output
    ds = ShardDataset(root)
    assert ds.indexed and ds[149]["id"] == "synth-00000149"
    assert sidecar_path(root / "shards/train/depth-synth-00000.jsonl").is_file()  # counted once, kept


def test_data_index_command_names_a_bad_line(tmp_path):
    folder = tmp_path / "jsonl"
    folder.mkdir()
    (folder / "a.jsonl").write_text('{"messages": [{"role": "user", "content": "q"}, '
                                    '{"role": "assistant", "content": "a"}]}\n{"messages": [\n')
    res = CliRunner().invoke(data_cli, ["index", str(folder), "--split", "all"])
    assert res.exit_code == 2
    assert res.output.strip().splitlines()[-1].endswith("a.jsonl:2: not valid JSON (Expecting value)")


def test_folder_of_mixed_splits_is_filtered_like_the_dataset(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    qa = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    rows = [{"id": str(i), "split": sp, "messages": qa} for i, sp in enumerate(["train", "val", None, "val"])]
    (folder / "x.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = build_index(folder, "val", progress=False)
    assert out == folder / INDEX_DIRNAME / "x.val"  # one file at the top of its folder: named after it
    assert len(ShardIndex(out, folder)) == 3  # val, val and the sample without a split
    ds = ShardDataset(folder, "val")
    assert ds.indexed and [ds[i]["id"] for i in range(3)] == ["1", "2", "3"]
    proc = build_processor()
    assert np.array_equal(ds.lengths(proc), ShardDataset(folder, "val", use_index=False).lengths(proc))


def test_data_build_writes_the_index_training_reads(tmp_path):
    from data_helpers import small_world
    from vlm3.data.build import build
    from vlm3.data.config import config_from_dict

    small = {"focal_px": 150, "max_pixels": 160 * 128}
    cfg = {"seed": 1, "output_dir": str(tmp_path / "ds"), "shard_size": 3,
           "tasks": {"depth": {**small, "samples": {"train": 5, "val": 2}},
                     "correspondence": {**small, "questions_per_sample": 2, "samples": {"train": 2}}},
           "sources": [{"name": "world", "adapter": "scene_format", "path": str(small_world(tmp_path)),
                        "split": "source", "weights": {"depth": 1, "correspondence": 1},
                        "options": {"world_up": [0, 0, 1]}}]}
    manifest = build(config_from_dict(cfg), progress=False)
    root = tmp_path / "ds"
    assert (root / INDEX_DIRNAME / "train" / "meta.json").is_file()
    new, old = ShardDataset(root), ShardDataset(root, use_index=False)
    assert new.indexed and len(new) == len(old) == sum(manifest["counts"]["train"]["depth"].values()) + \
        sum(manifest["counts"]["train"]["correspondence"].values())
    assert all(new[i] == old[i] for i in range(len(new)))
    proc = build_processor(min_pixels=32 * 32, max_pixels=96 * 96)  # a smaller budget than the images
    assert np.array_equal(new.lengths(proc), old.lengths(proc)) and new.num_labels() == old.num_labels()
