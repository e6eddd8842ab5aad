"""The predictor registry: unknown names and a missing vLLM extra / GPU are one clear line."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from vlm3.predictors import PREDICTORS, make_predictor
from vlm3.errors import InputError


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


# --------------------------------------------------------------------------- devices (issue 18, item 6)
import numpy as np  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from PIL import Image  # noqa: E402

from vlm3.predictors import resolve_device  # noqa: E402

no_gpu = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the answers on a machine without a GPU")


def test_resolve_device_values():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda:0" if torch.cuda.is_available() else "cpu")
    assert resolve_device(None) == resolve_device("auto")
    for bad in ("gpu", "cuda:x", "tpu:0", "cuda:-1"):
        with pytest.raises(InputError, match="unknown device") as err:
            resolve_device(bad)
        assert "\n" not in str(err.value)


@no_gpu
def test_resolve_device_without_gpu_is_one_line():
    for asked in ("cuda", "cuda:1"):
        with pytest.raises(InputError, match="no CUDA GPU is visible: use --device cpu") as err:
            resolve_device(asked)
        assert "\n" not in str(err.value)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_resolve_device_past_the_gpu_count():
    with pytest.raises(InputError, match="GPU\\(s\\) are visible"):
        resolve_device(f"cuda:{torch.cuda.device_count()}")


def test_hf_predictor_is_placed_on_the_device():
    from vlm3.predictors.hf import HFPredictor

    p = make_predictor("model:tiny", max_new_tokens=2, device=resolve_device("auto"))
    assert isinstance(p, HFPredictor)
    assert str(p.model.device).startswith("cuda" if torch.cuda.is_available() else "cpu")


@pytest.fixture()
def image_path(tmp_path):
    p = tmp_path / "img.png"
    Image.fromarray((np.random.default_rng(0).random((96, 128, 3)) * 255).astype(np.uint8)).save(p)
    return p


def _invoke(cmd, args):
    r = CliRunner().invoke(cmd, args)
    assert "Traceback" not in r.output, r.output
    return r


def test_predict_device_flag(image_path, tmp_path):
    from vlm3.infer.cli import predict

    base = ["depth", str(image_path), "--intrinsics", "100,100,64,48", "--points", "10,10", "--model", "tiny",
            "--out", str(tmp_path / "o")]
    r = _invoke(predict, base + ["--device", "gpu"])
    assert r.exit_code == 2 and "unknown device 'gpu'" in r.output.strip().splitlines()[-1]
    r = _invoke(predict, base + ["--device", "cpu"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "o" / "depth.json").is_file()


@no_gpu
def test_predict_cuda_without_gpu_is_one_line(image_path, tmp_path):
    from vlm3.infer.cli import predict

    r = _invoke(predict, ["depth", str(image_path), "--intrinsics", "100,100,64,48", "--points", "10,10",
                          "--device", "cuda:0", "--out", str(tmp_path / "o")])
    assert r.exit_code == 2
    assert "no CUDA GPU is visible" in r.output.strip().splitlines()[-1]


def test_eval_device_flag_and_vllm_spec(tmp_path):
    from vlm3.evaluate.cli import eval_cmd

    r = _invoke(eval_cmd, ["--model", "tiny", "--device", "npu", "--baselines", "", "--out", str(tmp_path / "e")])
    assert r.exit_code == 2 and "unknown device 'npu'" in r.output.strip().splitlines()[-1]
    # vllm:DIR goes to the vLLM backend (not to the transformers loader as a path named "vllm:...")
    model_dir = tmp_path / "ckpt"
    model_dir.mkdir()
    (model_dir / "config.json").write_text('{"model_type": "qwen3_vl"}')
    r = _invoke(eval_cmd, ["--model", f"vllm:{model_dir}", "--baselines", "", "--out", str(tmp_path / "e")])
    if importlib.util.find_spec("vllm") is None:
        assert r.exit_code == 2, r.output
        assert "pip install 'vlm3[vllm]'" in r.output.strip().splitlines()[-1]
    elif not torch.cuda.is_available():
        assert r.exit_code == 2 and "CUDA GPU" in r.output.strip().splitlines()[-1]


def test_eval_pipeline_builds_the_vllm_predictor_for_vllm_specs(monkeypatch, tmp_path):
    """``build_predictors`` hands ``vllm:DIR`` to the registry's vllm entry, with the eval's
    answer length, and refuses the transformers-only median numbers in one line."""
    from vlm3.evaluate import pipeline
    from vlm3.evaluate.config import load_eval_config

    seen = {}

    class Fake:
        name = "x"

    def fake_make(spec, **kw):
        seen["spec"], seen["kw"] = spec, kw
        return Fake()

    import vlm3.predictors as registry

    monkeypatch.setattr(registry, "make_predictor", fake_make)
    cfg = load_eval_config("synthetic", ["max_new_tokens=7"])
    preds = pipeline.build_predictors(cfg, f"vllm:{tmp_path}/run", [], device="auto")
    assert seen["spec"] == f"vllm:{tmp_path}/run" and seen["kw"]["max_new_tokens"] == 7
    assert preds[0].name == "run"
    cfg = load_eval_config("synthetic", ["numbers=median"])
    with pytest.raises(InputError, match="needs the transformers backend"):
        pipeline.build_predictors(cfg, f"vllm:{tmp_path}/run", [])


# --------------------------------------------------------------------------- vLLM engine (issue 18, item 9)
def test_vllm_engine_profiles_no_video():
    """The engine arguments allow two images and zero videos, so vLLM's start-up profile run
    reserves no memory for video (its default is 999 items of every modality). The module
    imports without vllm installed: the missing package is reported when a predictor is made."""
    from vlm3.predictors.vllm import MM_LIMITS, engine_kwargs

    kw = engine_kwargs("/ckpt", max_model_len=4096)
    assert kw["limit_mm_per_prompt"] == {"image": 2, "video": 0} == MM_LIMITS
    assert kw["enable_prefix_caching"] is True and kw["max_model_len"] == 4096 and kw["model"] == "/ckpt"


def test_vllm_predictor_refuses_a_non_gpu_device():
    from vlm3.predictors.vllm import VLLMPredictor

    with pytest.raises(InputError, match="vlm3\\[vllm\\]|first visible CUDA GPU"):
        VLLMPredictor("/nonexistent", device="cpu")
