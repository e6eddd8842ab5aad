"""ShardDataset reads an indexed set memory-mapped: nothing parsed or tokenised at start.

Sets are written by the data engine's writer (``vlm3.data.synthetic_shards``, which counts
tokens once per shard); the old way (``use_index=False``: every sample parsed into memory,
re-tokenised for ``lengths``) is the reference the indexed reading must equal.
"""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest
from torch.utils.data import DataLoader

from vlm3.data.synthetic_shards import write_synthetic_set
from vlm3.model.processor import build_processor
from vlm3.train.dataset import ShardDataset


@pytest.fixture(scope="module")
def proc():
    return build_processor(min_pixels=32 * 32, max_pixels=128 * 128)  # resizes the 320 x 256 images


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    base = tmp_path_factory.mktemp("sets")
    return {n: write_synthetic_set(base / f"n{n}", n, shard_size=64, unique=300) for n in (300, 3000)}


def _counting(monkeypatch, obj, name):
    calls = {"n": 0}
    orig = getattr(obj, name)

    def wrapped(*a, **k):
        calls["n"] += 1
        return orig(*a, **k)

    monkeypatch.setattr(obj, name, wrapped)
    return calls


def test_start_parses_and_tokenises_no_sample(sets, proc, monkeypatch):
    parsed = _counting(monkeypatch, json, "loads")
    tokenised = _counting(monkeypatch, proc.tokenizer, "apply_chat_template")
    ds = ShardDataset(sets[3000])
    lengths = ds.lengths(proc)
    assert len(ds) == len(lengths) == 3000 and ds.num_labels() == 4 * 3000
    assert parsed["n"] <= 1 and tokenised["n"] == 0  # (1: the index's meta.json)
    before = parsed["n"]
    assert ds[1234]["id"] == f"synth-{1234 % 300:08d}"  # the set repeats its 300 unique samples
    assert parsed["n"] == before + 1  # one line read for one item


def test_indexed_reading_equals_the_old_reading(sets, proc):
    new, old = ShardDataset(sets[300]), ShardDataset(sets[300], use_index=False)
    assert new.indexed and not old.indexed
    assert len(new) == len(old) == 300
    assert all(new[i] == old[i] for i in range(300))
    assert np.array_equal(new.lengths(proc), old.lengths(proc))  # image tokens at this processor's budget
    assert new.num_labels() == old.num_labels()
    assert list(new.samples[:5]) == old.samples[:5] and new.samples[-1] == old.samples[-1]
    cut = ShardDataset(sets[3000], max_samples=10)
    assert len(cut) == 10 and len(cut.lengths(proc)) == 10 and cut.num_labels() == 40
    with pytest.raises(IndexError):
        cut[10]


def test_memory_at_start_does_not_grow_with_the_set(sets):
    def grow(**kw):
        sizes = []
        for n in (300, 3000):
            tracemalloc.start()
            ds = ShardDataset(sets[n], **kw)
            sizes.append(tracemalloc.get_traced_memory()[0])
            tracemalloc.stop()
            del ds
        return sizes[1] - sizes[0]

    old, new = grow(use_index=False), grow()
    print(f"Python memory held for 2,700 more samples: old {old / 1e6:.2f} MB, indexed {new / 1e3:.1f} kB")
    assert old > 2_000_000  # the old reading keeps every sample (> 0.7 kB each)
    assert new < 100_000  # the index is mapped: per-shard names only (42 more shards)


def test_dataloader_workers_read_through_the_index(sets):
    ds = ShardDataset(sets[3000])
    loader = DataLoader(ds, batch_size=50, num_workers=2, collate_fn=lambda b: [s["id"] for s in b])
    ids = [i for batch in loader for i in batch]
    assert len(ids) == 3000
    assert ids[:300] == [f"synth-{i:08d}" for i in range(300)] == ids[300:600]  # shards repeat as links


def test_sampler_keeps_transformers_order_on_numpy_lengths():
    """vlm3.train.sampler gives transformers' length-grouped order (resumed runs see the same data)."""
    import numpy as np
    import torch
    from transformers.trainer_pt_utils import LengthGroupedSampler as HFSampler
    from transformers.trainer_pt_utils import get_length_grouped_indices

    from vlm3.train.sampler import LengthGroupedSampler, length_grouped_indices

    rng = np.random.default_rng(0)
    for n, bs in [(1, 4), (7, 4), (1000, 32), (5003, 12)]:
        lengths = rng.integers(100, 130, n).astype(np.int32)  # many ties: the sort must be stable
        ref = get_length_grouped_indices(lengths.tolist(), bs, generator=torch.Generator().manual_seed(3))
        got = length_grouped_indices(lengths, bs, generator=torch.Generator().manual_seed(3))
        assert got.tolist() == ref
        torch.manual_seed(5)
        ref = list(HFSampler(bs, lengths=lengths.tolist()))
        torch.manual_seed(5)
        assert list(LengthGroupedSampler(bs, lengths=lengths)) == ref
    assert LengthGroupedSampler(4, lengths=np.arange(10)).lengths.dtype == np.int32
