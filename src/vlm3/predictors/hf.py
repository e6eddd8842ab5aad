"""Transformers ``generate`` backend, with image-prefix reuse for many questions per image.

Each question is asked independently, in the layout training uses: one user turn holding
the image placeholder(s) and then the question text, followed by the assistant header.
All questions of a Request share the tokens up to where their texts first differ (chat
header, all image tokens, the common start of the prompt). With ``reuse_prefix`` (default)
that prefix is encoded ONCE (vision tower + language model, giving a KV cache); the
questions are then grouped by suffix length and decoded in batches from a copy of that
cache, so a 32x24 dense depth grid costs one image encoding and a few batched decodes.
With ``reuse_prefix=False`` every question is one full ``generate`` call (the reference).

How the questions are decoded from the prefix cache (``decoding``): ``"exact"`` (default)
and ``"template"`` run `vlm3.predictors.dense` -- all questions of a chunk in one padded
batch, the answer template's fixed tokens fed as runs (checked against the greedy argmax in
``"exact"``: the answers of greedy ``generate`` for any model; unchecked in ``"template"``:
the same answers whenever the model writes the template, the head evaluated only at the
numbers); ``"generate"`` is ``model.generate`` on batches of equal suffix length (the
previous path). A ``decoding_processor`` or a generation config with processors other than
``suppress_tokens`` (e.g. a repetition penalty) always takes the ``generate`` path.

Greedy decoding under the model's own ``generation_config`` (a model trained with the demo's
answer-vocabulary head suppresses the other tokens there, as plain transformers does), plus
an optional ``decoding_processor`` (a logits-processor class, built per ``generate`` call:
the demo's median number decoding, ``vlm3.train.small.number_decoding``, passed in by
``vlm3.evaluate`` / ``vlm3 predict``). Answers are raw text with special tokens stripped.
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from transformers import LogitsProcessor, LogitsProcessorList

from vlm3.io.images import read_rgb_pil
from vlm3.errors import InputError
from vlm3.predictors.base import Prediction, Request, check_decoding
from vlm3.predictors.dense import DECODING_MODES, Head, _cache_kwarg, decode_from_prefix
from vlm3.predictors.templates import grammar_for

#: generation-config settings that add logits processors ``vlm3.predictors.dense`` does not apply
_PROCESSOR_SETTINGS = {"repetition_penalty": (None, 1.0), "no_repeat_ngram_size": (None, 0), "bad_words_ids": (None,),
                       "begin_suppress_tokens": (None,), "min_new_tokens": (None, 0), "min_length": (None, 0),
                       "forced_bos_token_id": (None,), "forced_eos_token_id": (None,), "sequence_bias": (None,),
                       "encoder_repetition_penalty": (None, 1.0)}


class HFPredictor:
    """A Qwen3-VL model + processor answering Requests with ``model.generate``.

    Args:
        model: a ``Qwen3VLForConditionalGeneration`` (eval mode is set here).
        processor: its processor (``vlm3.model`` builds one offline).
        name: label for reports.
        batch_size: questions decoded together from one prefix cache.
        max_new_tokens: answer length cap (tokens).
        reuse_prefix: encode image + common prompt prefix once per Request.
        fingerprint_text: identifies the weights for prediction caching.
        decoding_processor: called with the tokenizer before every ``generate`` call, gives a
            logits processor applied after the model's own (None: plain greedy); its ``name``
            (or class name) goes into the fingerprint.
        decoding: "exact" (template-drafted greedy, checked), "template" (template-forced,
            unchecked: fastest) or "generate" (module docstring).
    """

    def __init__(self, model: Any, processor: Any, name: str = "model", batch_size: int = 64,
                 max_new_tokens: int = 48, reuse_prefix: bool = True, fingerprint_text: str = "",
                 decoding_processor: Callable[[Any], LogitsProcessor] | None = None,
                 decoding: str = "exact") -> None:
        check_decoding(decoding)
        self.model = model.eval()
        self.processor = processor
        self.name = name
        self.batch_size = int(batch_size)
        self.max_new_tokens = int(max_new_tokens)
        self.reuse_prefix = bool(reuse_prefix)
        self._fingerprint = fingerprint_text
        self.decoding_processor = decoding_processor
        if decoding_processor is not None:
            label = getattr(decoding_processor, "name", getattr(decoding_processor, "__name__", "custom"))
            self._fingerprint += f"|numbers={label}"
        tok = processor.tokenizer
        self.pad_token_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        gen = getattr(model, "generation_config", None)
        suppressed = getattr(gen, "suppress_tokens", None)
        self._suppressed = SuppressedTokens(suppressed) if suppressed else None
        eos = getattr(gen, "eos_token_id", None)
        eos = tok.eos_token_id if eos is None else eos
        self.eos_ids = [int(e) for e in (eos if isinstance(eos, (list, tuple)) else [eos])]
        self.decoding = decoding
        if decoding == "template":
            self._fingerprint += "|decoding=template"
        self._head: Head | None = None  # built on first use (dense decoding)
        self._dense_ok = decoding_processor is None and not any(
            getattr(gen, k, None) not in ok for k, ok in _PROCESSOR_SETTINGS.items())

    @classmethod
    def from_pretrained(cls, name_or_path: str = "tiny", name: str | None = None, tiny_preset: str | None = None,
                        device: str | None = None, dtype: str = "auto", max_pixels: int | None = None,
                        **kwargs: Any) -> "HFPredictor":
        """Load through the model factory (preset name, checkpoint dir, or cached hub id).

        Raises InputError (one line) when the path is not a loadable Qwen3-VL model.
        """
        from vlm3.model.factory import ModelLoadError, load_model_and_processor

        p = Path(name_or_path)
        try:
            model, processor = load_model_and_processor(name_or_path, dtype=dtype, tiny_preset=tiny_preset,
                                                        device=device, max_pixels=max_pixels)
        except (ModelLoadError, OSError) as err:
            raise InputError(str(err).splitlines()[0]) from None
        fp = file_fingerprint(p) if p.exists() else f"preset:{tiny_preset or name_or_path}"
        return cls(model, processor, name=name or p.name or str(name_or_path), fingerprint_text=fp, **kwargs)

    def fingerprint(self) -> str:
        return f"hf|{self._fingerprint}|tokens={self.max_new_tokens}"

    # ------------------------------------------------------------------ inputs
    def _chat_text(self, n_images: int, question: str) -> str:
        content = [{"type": "image"} for _ in range(n_images)] + [{"type": "text", "text": question}]
        messages = [{"role": "user", "content": content}]
        return self.processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def _full_inputs(self, images: list, question: str) -> dict[str, torch.Tensor]:
        text = self._chat_text(len(images), question)
        batch = self.processor(text=[text], images=images or None, return_tensors="pt")
        return {k: v.to(self.model.device) for k, v in batch.items()}

    def _decode(self, out: torch.Tensor, prompt_len: int) -> list[str]:
        return self.processor.tokenizer.batch_decode(out[:, prompt_len:], skip_special_tokens=True)

    def _generate(self, **inputs: Any) -> torch.Tensor:
        processors = LogitsProcessorList()
        if self._suppressed is not None:  # the generation config's suppress_tokens, with a cached mask
            processors.append(self._suppressed)
            inputs["suppress_tokens"] = None
        if self.decoding_processor is not None:  # may be stateful: a fresh one per generate call
            processors.append(self.decoding_processor(self.processor.tokenizer))
        return self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False,
                                   pad_token_id=self.pad_token_id, temperature=None, top_p=None, top_k=None,
                                   logits_processor=processors)

    # ------------------------------------------------------------------ predict
    def predict(self, requests: Sequence[Request]) -> list[Prediction]:
        """Answer every question of every request (see module doc for the two paths)."""
        out = []
        for req in requests:
            t0 = time.perf_counter()
            images = [read_rgb_pil(im) for im in req.images]
            if not req.questions:
                texts: list[str] = []
            elif self.reuse_prefix:
                texts = self.answer_with_prefix_reuse(images, req.questions, req.task, req.format_version,
                                                      req.question_ids)
            else:
                texts = self.answer_one_by_one(images, req.questions)
            out.append(Prediction(req.id, texts, time.perf_counter() - t0))
        return out

    @torch.inference_mode()
    def answer_one_by_one(self, images: list, questions: Sequence[str]) -> list[str]:
        """One full ``generate`` (image encoding included) per question."""
        texts = []
        for q in questions:
            inputs = self._full_inputs(images, q)
            texts += self._decode(self._generate(**inputs), inputs["input_ids"].shape[1])
        return texts

    @torch.inference_mode()
    def answer_with_prefix_reuse(self, images: list, questions: Sequence[str], task: str | None = None,
                                 format_version: str | None = None,
                                 question_ids: Sequence[str] | None = None) -> list[str]:
        """Encode the shared prefix once, decode the questions in batches from its KV cache.

        ``task`` / ``format_version`` / ``question_ids`` (a Request's) pick each question's answer
        template for the dense decoding modes; without them every question is decoded freely
        (still exact)."""
        tok = self.processor.tokenizer
        first = self._full_inputs(images, questions[0])
        raw_ids = [tok(self._chat_text(len(images), q), add_special_tokens=False)["input_ids"] for q in questions]
        # Common prefix of the *unexpanded* token ids; image placeholders expand by a fixed count.
        lcp = _common_prefix_len(raw_ids)
        expansion = first["input_ids"].shape[1] - len(raw_ids[0])
        prefix_len = lcp + expansion
        ids0 = first["input_ids"]
        prefix_kwargs = {k: v for k, v in first.items() if k not in ("input_ids", "attention_mask", "mm_token_type_ids")}
        mm = first.get("mm_token_type_ids")
        if mm is not None:
            prefix_kwargs["mm_token_type_ids"] = mm[:, :prefix_len]
        # Only the KV cache of the prefix is needed: skip the vocabulary head (logits_to_keep=1).
        prefix_out = self.model(input_ids=ids0[:, :prefix_len], attention_mask=torch.ones_like(ids0[:, :prefix_len]),
                                use_cache=True, logits_to_keep=1, **prefix_kwargs)
        cache = prefix_out[_cache_kwarg(self.model)]  # `cache` since transformers 5.24, was `past_key_values`
        rope_deltas = getattr(getattr(self.model, "model", None), "rope_deltas", None)
        if self.decoding in DECODING_MODES and self._dense_ok:
            if self._head is None:
                self._head = Head(self.model, getattr(self.model.generation_config, "suppress_tokens", None))
            qids = list(question_ids) if question_ids else [None] * len(questions)
            grammars = [grammar_for(tok, task, format_version, self.eos_ids, q) if task else None for q in qids]
            delta = int(rope_deltas.flatten()[0]) if rope_deltas is not None else 0
            texts = []
            for start in range(0, len(questions), self.batch_size):
                end = start + self.batch_size
                out = decode_from_prefix(self.model, self._head, cache, prefix_len, delta,
                                         [ids[lcp:] for ids in raw_ids[start:end]], grammars[start:end],
                                         self.eos_ids, self.max_new_tokens, self.pad_token_id, self.decoding)
                texts += tok.batch_decode(out, skip_special_tokens=True)
            return texts
        groups: dict[int, list[int]] = defaultdict(list)
        for i, ids in enumerate(raw_ids):
            groups[len(ids) - lcp].append(i)
        texts: list[str] = [""] * len(questions)
        for idx in groups.values():
            for start in range(0, len(idx), self.batch_size):
                chunk = idx[start:start + self.batch_size]
                texts_chunk = self._decode_from_cache(cache, rope_deltas, ids0[:, :prefix_len], mm, first,
                                                      [raw_ids[i][lcp:] for i in chunk])
                for i, t in zip(chunk, texts_chunk):
                    texts[i] = t
        return texts

    def _decode_from_cache(self, cache: Any, rope_deltas: Any, prefix_ids: torch.Tensor, mm: Any,
                           first: dict, suffixes: list[list[int]]) -> list[str]:
        b = len(suffixes)
        c = copy.deepcopy(cache)
        if b > 1:
            c.batch_repeat_interleave(b)
        suffix = torch.tensor(suffixes, dtype=prefix_ids.dtype, device=prefix_ids.device)
        ids = torch.cat([prefix_ids.expand(b, -1), suffix], dim=1)
        kwargs: dict[str, Any] = {"input_ids": ids, "attention_mask": torch.ones_like(ids),
                                  _cache_kwarg(self.model): c}
        if mm is not None:
            mm_prefix = mm[:, :prefix_ids.shape[1]].expand(b, -1)
            kwargs["mm_token_type_ids"] = torch.cat([mm_prefix, torch.zeros_like(suffix)], dim=1)
        if "image_grid_thw" in first:
            kwargs["image_grid_thw"] = first["image_grid_thw"].repeat(b, 1)
        if rope_deltas is not None:  # positions continue from the prefix, whatever ran in between
            self.model.model.rope_deltas = rope_deltas
        return self._decode(self._generate(**kwargs), ids.shape[1])


class SuppressedTokens(LogitsProcessor):
    """``generation_config.suppress_tokens`` as one cached boolean mask: the same -inf scores
    as transformers' own processor, which rebuilds its mask with ``torch.isin`` at every step.
    A model trained with the demo's answer vocabulary suppresses ~152k ids, and that rebuild
    was most of its decode time (micro preset, 10 questions per 256x256 image, median numbers,
    2 loaded CPU cores: 2.15 s per request unrestricted, 6.8-8.5 s restricted through
    transformers' processor, 1.8-2.3 s with this one; same answers)."""

    def __init__(self, token_ids: Sequence[int]):
        self.token_ids = torch.tensor(sorted({int(t) for t in token_ids}), dtype=torch.long)
        self._mask: torch.Tensor | None = None

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self._mask is None or self._mask.shape[-1] != scores.shape[-1] or self._mask.device != scores.device:
            mask = torch.zeros(scores.shape[-1], dtype=torch.bool, device=scores.device)
            mask[self.token_ids[self.token_ids < scores.shape[-1]].to(scores.device)] = True
            self._mask = mask
        return scores.masked_fill(self._mask, float("-inf"))


def _common_prefix_len(seqs: list[list[int]]) -> int:
    """Length of the longest common prefix, at most len(shortest) - 1 (one token left to decode)."""
    shortest = min(len(s) for s in seqs)
    n = 0
    while n < shortest - 1 and all(s[n] == seqs[0][n] for s in seqs):
        n += 1
    return n


def file_fingerprint(path: str | Path, max_files: int = 64) -> str:
    """sha1 over names, sizes and mtimes of a file or a directory's files (cheap, no content):
    identifies a model's weights and settings (generation_config.json included) for caching."""
    p = Path(path)
    h = hashlib.sha1()
    # the folder's own files (the final weights) before those of checkpoint-*/ subfolders
    files = sorted((x for x in p.rglob("*") if x.is_file()), key=lambda x: (len(x.relative_to(p).parts), x)
                   )[:max_files] if p.is_dir() else [p]
    for f in files:
        st = f.stat()
        h.update(f"{f.relative_to(p) if p.is_dir() else f.name}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()[:16]


def check_model_dir(path: str) -> None:
    """InputError unless ``path`` is a directory holding a Qwen3-VL ``config.json``."""
    p = Path(path)
    if not p.is_dir():
        raise InputError(f"model directory not found: {p}")
    cfg = p / "config.json"
    if not cfg.is_file():
        raise InputError(f"{p} is not a model directory: no config.json (point --model at a Qwen3-VL checkpoint)")
    try:
        model_type = json.loads(cfg.read_text()).get("model_type")
    except json.JSONDecodeError:
        raise InputError(f"{cfg} is not valid JSON") from None
    if model_type != "qwen3_vl":
        raise InputError(f"{p} holds a {model_type!r} model; vlm3 needs a Qwen3-VL checkpoint (model_type 'qwen3_vl')")
