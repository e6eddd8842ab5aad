"""The final training output is a complete Hugging Face model folder (issue #18 items 2-4).

One single-process run of the micro preset: the output (and each checkpoint) holds config.json,
model.safetensors, generation_config.json, the tokenizer and the stock Qwen3-VL processor
files; stock transformers classes load it and it answers (greedy) as the in-memory model did.
fp32 master weights: the recipes' model dtype trains float32 weights under bf16 compute and
one step moves the RMSNorm weights; bf16 master weights are refused in one line.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from transformers import TrainerCallback

from _train_helpers import write_micro_preset, write_synthetic_depth_set
from vlm3.config import ConfigError
from vlm3.train.config import load_config
from vlm3.train.trainer import run_training

QUESTION = "What is the depth at pixel (20, 30)?"
HF_FILES = ("config.json", "model.safetensors", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
            "preprocessor_config.json", "video_preprocessor_config.json", "chat_template.jinja")


def probe_image() -> Image.Image:
    rng = np.random.default_rng(7)
    return Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))


def greedy_answer(model, processor, image: Image.Image, question: str = QUESTION, max_new_tokens: int = 6) -> dict:
    """What the model answers for one image + question (chat template, generation prompt):
    ``ids`` generated greedily, and ``top``: the 20 largest first-step logits as [token id, value]."""
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    inputs = processor(text=[text], images=[image], return_tensors="pt")
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False, use_cache=True,
                             output_logits=True, return_dict_in_generate=True)
    model.train(was_training)
    values, ids = out.logits[0][0].float().topk(20)
    return {"ids": out.sequences[0, inputs["input_ids"].shape[1]:].tolist(),
            "top": [[int(i), float(v)] for i, v in zip(ids, values)]}


def assert_same_answer(got: dict, expected: dict) -> None:
    assert got["ids"] == expected["ids"]
    assert [i for i, _ in got["top"]] == [i for i, _ in expected["top"]]
    assert [v for _, v in got["top"]] == pytest.approx([v for _, v in expected["top"]], rel=1e-4, abs=1e-4)


def stock_processor(out: Path):
    """The processor as stock transformers loads it: ``Qwen3VLProcessor`` where torchvision is installed
    (its video processor needs it), else the stock image processor + tokenizer + chat template files."""
    try:
        import torchvision  # noqa: F401
    except ImportError:
        from transformers import AutoImageProcessor, AutoTokenizer

        from vlm3.model.processor import Qwen3VLImageProcessor

        return Qwen3VLImageProcessor(image_processor=AutoImageProcessor.from_pretrained(str(out)),
                                     tokenizer=AutoTokenizer.from_pretrained(str(out)),
                                     chat_template=(out / "chat_template.jinja").read_text(encoding="utf-8"))
    from transformers import Qwen3VLProcessor

    return Qwen3VLProcessor.from_pretrained(str(out))


class Remember(TrainerCallback):
    """Greedy answer of the in-memory model at the end of training (before the final save)."""

    def __init__(self, path: Path | None = None):
        self.answer = None
        self.path = path

    def on_train_end(self, args, state, control, model=None, processing_class=None, **kwargs):
        if state.is_world_process_zero:
            self.answer = greedy_answer(model, processing_class, probe_image())
            if self.path is not None:
                self.path.write_text(json.dumps(self.answer))


def micro_overrides(tmp: Path, data: Path, out: Path) -> list[str]:
    return [f"model.name_or_path={write_micro_preset(tmp)}", "model.min_pixels=1024", f"data.train_path={data}",
            f"train.output_dir={out}", "train.max_steps=2", "train.per_device_batch_size=2",
            "train.global_batch_size=2", "train.save_steps=1", "train.logging_steps=1", "train.report_to=[]",
            "train.disable_tqdm=true", "train.save_total_limit=null"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("save")
    data = write_synthetic_depth_set(tmp / "data")
    remember = Remember()
    run_training(load_config(None, micro_overrides(tmp, data, tmp / "out")), callbacks=[remember])
    return tmp / "out", remember.answer


def check_hf_model_dir(out: Path, expected_answer: dict | None) -> None:
    """Everything a stock loader needs is there, names Qwen3-VL's classes, and answers as expected."""
    from transformers import AutoModelForImageTextToText
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor

    missing = [f for f in HF_FILES if not (out / f).is_file()]
    assert not missing, f"{out} lacks {missing}"
    assert not (out / "processor_config.json").exists()  # an image-only one would shadow the stock files
    pre = json.loads((out / "preprocessor_config.json").read_text())
    assert pre["processor_class"] == "Qwen3VLProcessor" and pre["image_processor_type"] == "Qwen2VLImageProcessorFast"
    assert (pre["patch_size"], pre["merge_size"], pre["temporal_patch_size"]) == (16, 2, 2)
    assert pre["size"] == {"longest_edge": 16777216, "shortest_edge": 1024}
    assert json.loads((out / "tokenizer_config.json").read_text())["processor_class"] == "Qwen3VLProcessor"
    video = Qwen3VLVideoProcessor.from_pretrained(str(out))
    assert video.size.longest_edge == 25165824 and video.merge_size == 2
    model = AutoModelForImageTextToText.from_pretrained(str(out), dtype=torch.float32)
    assert type(model).__name__ == "Qwen3VLForConditionalGeneration"
    processor = stock_processor(out)
    assert processor.image_processor.size.shortest_edge == 1024
    if expected_answer is not None:
        assert_same_answer(greedy_answer(model, processor, probe_image()), expected_answer)
    from vlm3.model.factory import load_model_and_processor  # what vlm3 predict loads

    ours, proc = load_model_and_processor(str(out))
    if expected_answer is not None:
        assert_same_answer(greedy_answer(ours, proc, probe_image()), expected_answer)


def test_final_output_is_a_complete_hf_model_that_answers_as_trained(trained):
    out, answer = trained
    assert len(answer["ids"]) == 6 and len(answer["top"]) == 20
    check_hf_model_dir(out, answer)
    for ckpt in ("checkpoint-1", "checkpoint-2"):  # checkpoints are loadable model folders too
        assert all((out / ckpt / f).is_file() for f in HF_FILES)
    # the checkpoint of the last step holds the weights of the final output
    final, last = load_file(str(out / "model.safetensors")), load_file(str(out / "checkpoint-2" / "model.safetensors"))
    assert final.keys() == last.keys() and all(torch.equal(final[k], last[k]) for k in final)


def test_stock_qwen3vl_processor_and_autoprocessor_load_the_output(trained):
    pytest.importorskip("torchvision", reason="Qwen3VLVideoProcessor (part of the stock Qwen3VLProcessor) needs "
                                              "torchvision, not installed here (no CPU wheel for this torch)")
    from transformers import AutoProcessor, Qwen3VLProcessor

    out, answer = trained
    for loaded in (Qwen3VLProcessor.from_pretrained(str(out)), AutoProcessor.from_pretrained(str(out))):
        assert type(loaded).__name__ == "Qwen3VLProcessor" and loaded.video_processor is not None


def test_recipe_dtype_trains_float32_master_weights_and_norms_move(tmp_path):
    """The 4B recipes' model dtype with bf16 compute: float32 weights, and one step at the depth
    recipe's learning rate moves every RMSNorm weight (bf16 master weights round it away)."""
    recipe = load_config("qwen3_vl_4b_depth")
    data = write_synthetic_depth_set(tmp_path / "data", images=1)
    cfg = load_config(None, micro_overrides(tmp_path, data, tmp_path / "out") + [
        f"model.dtype={recipe.model.dtype}", f"train.learning_rate={recipe.train.learning_rate}",
        "train.bf16=true", "train.max_steps=1", "train.warmup_ratio=0", "train.save_steps=10"])
    run_training(cfg)
    weights = load_file(str(tmp_path / "out" / "model.safetensors"))
    assert {w.dtype for w in weights.values()} == {torch.float32}
    norms = [k for k in weights if "language_model" in k and "norm" in k and k.endswith(".weight")]
    assert len(norms) == 2 * 4 + 1  # per layer: input, post-attention, q and k norms; plus the final norm
    still = [k for k in norms if torch.all(weights[k] == 1.0)]  # RMSNorm weights start at exactly 1
    assert not still, f"norm weights that did not move in one step: {still}"


def test_bf16_master_weights_are_refused_in_one_line(tmp_path):
    data = write_synthetic_depth_set(tmp_path / "data", images=1)
    cfg = load_config(None, micro_overrides(tmp_path, data, tmp_path / "out") + ["model.dtype=bfloat16"])
    with pytest.raises(ConfigError, match=r"^model.dtype=bfloat16 would train bfloat16 master weights .* use "
                                          r"model.dtype=float32 with train.bf16=true") as err:
        run_training(cfg)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "out").exists()  # refused before anything was written
