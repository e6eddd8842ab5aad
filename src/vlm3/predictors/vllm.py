"""Optional vLLM backend (extra ``vllm``): same interface as the transformers backend.

Used when vLLM and a CUDA GPU are present. Importing this module needs the ``vllm``
package (``make_predictor("vllm:DIR")`` turns its absence into one line saying what to
install). vLLM's automatic prefix caching plays the role of the transformers backend's
image-prefix reuse: all questions of a Request share the same image + prompt prefix, so
their KV blocks are computed once and reused. Greedy decoding; prompts are built with the
same chat template as training; the ``suppress_tokens`` of the checkpoint's
``generation_config.json`` (a model trained with the demo's answer-vocabulary head) become
``allowed_token_ids``, since vLLM does not read them itself.

Only images are profiled: vLLM reserves memory for the worst-case multimodal prompt of
every modality the model accepts (999 videos by default for Qwen3-VL), and vlm3 never sends
video, so ``limit_mm_per_prompt`` allows two images and zero videos (``engine_kwargs``).
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import torch
from transformers import AutoConfig, GenerationConfig

from vlm3.io.images import read_rgb_pil
from vlm3.model.factory import load_model_and_processor
from vlm3.errors import InputError
from vlm3.predictors.base import Prediction, Request, check_decoding
from vlm3.predictors.hf import check_model_dir, file_fingerprint
from vlm3.predictors.templates import structured_sampling_params

try:
    import vllm
except ModuleNotFoundError as _err:  # the extra is not installed: one line when a VLLMPredictor is made
    if _err.name is None or _err.name.split(".")[0] != "vllm":
        raise
    vllm = None

#: images per prompt (correspondence and pose ask about two) and no video: vLLM profiles only these
MM_LIMITS = {"image": 2, "video": 0}


def engine_kwargs(model_dir: str, max_model_len: int = 16384, gpu_memory_utilization: float = 0.85,
                  **llm_kwargs: Any) -> dict[str, Any]:
    """Keyword arguments of ``vllm.LLM`` for a checkpoint: prefix caching on, at most
    ``MM_LIMITS`` items per prompt (no video profiling), plus the caller's own."""
    return {"model": model_dir, "enable_prefix_caching": True, "max_model_len": max_model_len,
            "gpu_memory_utilization": gpu_memory_utilization, "limit_mm_per_prompt": dict(MM_LIMITS), **llm_kwargs}


def allowed_token_ids(model_dir: str) -> list[int] | None:
    """Token ids outside the checkpoint's ``generation_config.suppress_tokens`` (None: no restriction)."""
    try:
        suppressed = GenerationConfig.from_pretrained(model_dir).suppress_tokens
    except OSError:  # no generation_config.json
        return None
    if not suppressed:
        return None
    vocab_size = AutoConfig.from_pretrained(model_dir).get_text_config().vocab_size
    drop = set(suppressed)
    return [i for i in range(vocab_size) if i not in drop]


class VLLMPredictor:
    """A Qwen3-VL checkpoint served in-process by ``vllm.LLM`` with prefix caching on."""

    def __init__(self, model_dir: str, name: str | None = None, max_new_tokens: int = 64,
                 max_model_len: int = 16384, gpu_memory_utilization: float = 0.85, device: str | None = None,
                 batch_size: int | None = None, decoding: str = "exact", **llm_kwargs: Any) -> None:
        """``device``: None, ``auto`` or ``cuda[:0]`` (vLLM uses the first visible GPU; pick
        another with CUDA_VISIBLE_DEVICES). ``batch_size`` is accepted for the common
        interface and unused (vLLM schedules its own batches). ``decoding``: "template" forces the
        answers into the task's answer template by vLLM's structured output
        (`vlm3.predictors.templates.structured_sampling_params`; untested, no vLLM here);
        "exact" and "generate" are plain greedy (vLLM has no checked draft)."""
        self.structured_templates = check_decoding(decoding) == "template"
        if vllm is None:
            raise InputError("predictor 'vllm' needs the 'vllm' package, which is not installed: "
                             "pip install 'vlm3[vllm]' (see README, Environments)")
        if device not in (None, "auto", "cuda", "cuda:0"):
            raise InputError(f"vLLM runs on the first visible CUDA GPU, not {device!r}: use --device auto "
                             f"(CUDA_VISIBLE_DEVICES=N picks GPU N), or drop vllm: for the transformers backend")
        if not torch.cuda.is_available():
            raise InputError("vLLM needs a CUDA GPU and none is visible (use model:DIR for the transformers backend)")
        check_model_dir(model_dir)
        _, self.processor = load_model_and_processor(model_dir, with_model=False)
        self.llm = vllm.LLM(**engine_kwargs(model_dir, max_model_len, gpu_memory_utilization, **llm_kwargs))
        self.params = vllm.SamplingParams(temperature=0.0, max_tokens=max_new_tokens,
                                          allowed_token_ids=allowed_token_ids(model_dir))
        self.name = name or model_dir.rstrip("/").split("/")[-1]
        self._fp = f"vllm|{file_fingerprint(model_dir)}|tokens={max_new_tokens}" + (
            "|decoding=template" if self.structured_templates else "")

    def fingerprint(self) -> str:
        return self._fp

    def _prompt(self, n_images: int, question: str) -> str:
        content = [{"type": "image"} for _ in range(n_images)] + [{"type": "text", "text": question}]
        return self.processor.apply_chat_template([{"role": "user", "content": content}], tokenize=False,
                                                  add_generation_prompt=True)

    def predict(self, requests: Sequence[Request]) -> list[Prediction]:
        """All questions of all requests in one ``generate`` call (vLLM schedules and caches)."""
        t0 = time.perf_counter()
        prompts, owners, params = [], [], []
        for k, r in enumerate(requests):
            images = [read_rgb_pil(im) for im in r.images]
            ids = r.question_ids or [None] * len(r.questions)
            for q, qid in zip(r.questions, ids):
                prompts.append({"prompt": self._prompt(len(images), q), "multi_modal_data": {"image": images}})
                owners.append(k)
                params.append(structured_sampling_params(self.params, r.task, r.format_version, qid)
                              if self.structured_templates else self.params)
        outs = self.llm.generate(prompts, params, use_tqdm=False) if prompts else []
        texts: list[list[str]] = [[] for _ in requests]
        for k, o in zip(owners, outs):
            texts[k].append(o.outputs[0].text)
        share = (time.perf_counter() - t0) / max(len(requests), 1)
        return [Prediction(r.id, t, share) for r, t in zip(requests, texts)]
