"""One ``vlm3 eval`` run over an eval config: its predictors, then both stages per benchmark.

``run_eval`` reads the config (benchmarks, decoding options), builds the model predictor and
the baselines, runs stage 1 (``vlm3.evaluate.stages.predict_benchmark``, cached under
``RUN_DIR/predictions``: rerunning resumes) for every available benchmark and predictor,
then stage 2 (``score_run``: summary.json, report.json, table.md). ``vlm3 eval`` and
``vlm3 demo`` both call it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from vlm3.config import save, to_dict
from vlm3.evaluate.config import EvalConfig, load_eval_config
from vlm3.evaluate.own_queries import EVAL_PREPROCESSING
from vlm3.evaluate.stages import config_hash, predict_benchmark, score_run
from vlm3.errors import InputError
from vlm3.tasks import get_task

BASELINES = ("oracle", "trivial", "sift")


def _fit_trivial(fit_root: str | None, split: str):
    from vlm3.predictors.trivial import TrivialPredictor

    triv = TrivialPredictor()
    if fit_root:
        from vlm3.data.shards import read_samples, shard_paths

        paths = shard_paths(Path(fit_root).expanduser(), split)
        if not paths:
            raise InputError(f"no {split} shards under {fit_root} to fit the trivial baseline (set trivial_fit.root)")
        triv.fit(read_samples(paths))
    return triv


def published_checkpoint(model: str) -> bool:
    """True for weights trained elsewhere (a model folder without ``vlm3.json``, e.g. the
    release's checkpoints): their records benchmarks are built with the release's own
    preprocessing (``vlm3.standardize.release``: uncropped resize), not the project's grid crop.
    Presets and vlm3 training outputs are not."""
    from vlm3.tasks.asking import AskingError, read_asking
    from vlm3.model.factory import preset_names

    if model in preset_names() or not Path(model).is_dir():
        return False
    try:
        return read_asking(model) is None
    except AskingError:
        return False


def use_release_preprocessing(benches: list, log: Callable[[str], None] = print) -> None:
    """Set ``options.preprocessing: release`` on every records benchmark that does not choose (how a
    published checkpoint is asked: ``vlm3.tasks.asking.PUBLISHED_PREPROCESSING``, as ``vlm3 predict``)."""
    from vlm3.tasks.asking import PUBLISHED_PREPROCESSING

    for b in benches:
        adapter_opts = b.options.setdefault("options", {}) if b.kind == "records" else None
        if adapter_opts is not None and "preprocessing" not in adapter_opts:
            adapter_opts["preprocessing"] = PUBLISHED_PREPROCESSING
            log(f"{b.name}: release preprocessing (the model has no vlm3.json: a published "
                f"checkpoint; set options.preprocessing: project to change)")


def _model_name(model: str) -> str:
    """The name a model reports under: the one its training saved (vlm3.json, e.g. vlm3-micro),
    else its folder's or preset's name."""
    from vlm3.tasks.asking import AskingError, read_asking

    try:
        asking = read_asking(model) if Path(model).is_dir() else None
    except AskingError:
        asking = None
    return (asking.name if asking is not None and asking.name not in (None, "", "model") else None) \
        or Path(model).name or model


def build_predictors(cfg: EvalConfig, model: str | None, baselines: list[str], batch_size: int = 64,
                     model_name: str | None = None, device: str | None = None) -> list:
    """The model predictor (when given) followed by the named baselines, on one interface.

    ``model``: a preset, checkpoint dir or cached hub id (transformers backend, on ``device``:
    auto / cpu / cuda[:N], ``vlm3.predictors.resolve_device``), or ``vllm:DIR`` (vLLM, greedy
    numbers only)."""
    unknown = set(baselines) - set(BASELINES)
    if unknown:
        raise InputError(f"unknown baselines {sorted(unknown)}; choose from {', '.join(BASELINES)}")
    predictors = []
    if model:
        from vlm3.predictors import make_predictor, resolve_device
        from vlm3.train.small.number_decoding import NumberDecodingError, predictor_kwargs

        if model.startswith("vllm:"):
            if cfg.numbers != "greedy":
                raise InputError(f"numbers={cfg.numbers!r} needs the transformers backend: drop the vllm: prefix "
                                 f"or set numbers=greedy")
            mp = make_predictor(model, max_new_tokens=cfg.max_new_tokens, device=device, decoding=cfg.decoding)
        else:
            try:
                numbers_kwargs = predictor_kwargs(cfg.numbers)
            except NumberDecodingError as err:
                raise InputError(str(err)) from None
            mp = make_predictor(f"model:{model}", batch_size=batch_size, max_new_tokens=cfg.max_new_tokens,
                                device=resolve_device(device), decoding=cfg.decoding, **numbers_kwargs)
        mp.name = model_name or _model_name(model.removeprefix("vllm:"))
        predictors.append(mp)
    fit = cfg.trivial_fit
    triv = _fit_trivial(fit.root, fit.split) if {"trivial", "sift"} & set(baselines) else None
    for n in baselines:
        if n == "oracle":
            from vlm3.predictors.oracle import OraclePredictor

            predictors.append(OraclePredictor())
        elif n == "trivial":
            predictors.append(triv)
        else:
            from vlm3.predictors.sift import SiftPredictor

            predictors.append(SiftPredictor(distance_m=get_task("pose").mean_distance_m(triv.stats["pose"])))
    if not predictors:
        raise InputError("nothing to evaluate: give a model and/or baselines")
    return predictors


def images_protocol(b: Any) -> str:
    """What a benchmark's images get, in words (run.json ``images``, paper.md): the records
    kind's ``preprocessing`` (pad unless set; release for a published checkpoint) and focal."""
    if b.kind == "shards":
        return "as the data engine built them (its shards)"
    if b.kind == "pairs_txt":
        side = b.options.get("resize_max_side")
        return f"original images{f' resized to a {side}-px long side' if side else ''} (baselines only)"
    from vlm3.standardize.release import preprocessing_of
    from vlm3.tasks import TASKS, Task, get_task

    mode = preprocessing_of(b.options.get("options"), EVAL_PREPROCESSING)
    task = str(b.options.get("task"))
    unit_focal = get_task(task).focal_px if task in TASKS else Task.focal_px
    if unit_focal is None:  # asked on the image as given (calibration)
        return "the image as given, downsized to the image budget (no focal normalisation)"
    focal = float(b.options.get("focal_px") or unit_focal)
    what = {"pad": "whole image padded to the 32-px grid", "release": "the release's resize, uncropped",
            "project": "training's grid crop within max_pixels"}[mode]
    return f"{mode}: focal {focal:g} px, {what}"


def _guessed_cameras(cases: Sequence[Any]) -> int:
    """How many images of ``cases`` were standardised with a guessed camera (labels ``camera_from``)."""
    from vlm3.evaluate.coverage import camera_sources, is_guess

    return sum(is_guess(name) for c in cases for name in camera_sources(c.truth.labels))


def run_eval(config: str | Path | EvalConfig, run_dir: str | Path, model: str | None = None,
             baselines: list[str] | tuple[str, ...] = BASELINES, max_samples: int | None = None,
             batch_size: int = 64, model_name: str | None = None,
             log: Callable[[str], Any] = print, overrides: Sequence[str] = (),
             device: str | None = None) -> dict[str, Any]:
    """Stage 1 (cached predictions) + stage 2 (scores) for every benchmark of ``config``
    (an eval YAML, a shipped name with dotted ``overrides``, or a loaded EvalConfig).

    Returns the report dict (also written to RUN_DIR/report.json). Optional benchmarks whose
    data is missing are skipped with the reason recorded in run.json. The resolved config
    goes to RUN_DIR/config.yaml. ``device``: where the model runs (``build_predictors``).
    """
    run_dir = Path(run_dir)
    cfg = config if isinstance(config, EvalConfig) else load_eval_config(config, overrides)
    benches = [b.benchmark() for b in cfg.benchmarks]
    if model and published_checkpoint(model.removeprefix("vllm:")):
        use_release_preprocessing(benches, log)
    predictors = build_predictors(cfg, model, list(baselines), batch_size, model_name, device)
    run_dir.mkdir(parents=True, exist_ok=True)
    save(cfg, run_dir / "config.yaml")
    timing: dict[str, float] = {}
    skipped, primary = [], None
    skipped_inputs: dict[str, list[dict[str, str]]] = {}
    inputs_cut: dict[str, int] = {}  # inputs left out by max_samples: counted in each cell's coverage
    images: dict[str, str] = {}  # what each benchmark's images got (run.json, paper.md)
    for b in benches:
        ok, why = b.available()
        if not ok:
            if not b.optional:
                raise InputError(f"benchmark {b.name!r}: {why}")
            skipped.append(f"{b.name}: {why}")
            log(f"skip benchmark {b.name} ({why})")
            continue
        t0 = time.perf_counter()
        cases = b.cases(cache_dir=run_dir / "bench_cache" / b.name)
        if b.skipped:
            from collections import Counter
            top = "; ".join(f"{n} x {r}" for r, n in Counter(x["reason"] for x in b.skipped).most_common(3))
            skipped_inputs[b.name] = b.skipped
            log(f"{b.name}: {len(b.skipped)} input(s) skipped ({top})")
        images[b.name] = images_protocol(b)
        if max_samples and len(cases) > max_samples:
            inputs_cut[b.name] = len(cases) - max_samples
            log(f"{b.name}: {inputs_cut[b.name]} of {len(cases)} inputs left out (--max-samples {max_samples})")
            cases = cases[:max_samples]
        guessed = _guessed_cameras(cases)
        if guessed:
            log(f"{b.name}: {guessed} image(s) on a guessed camera (no intrinsics and no AnyCalib: a stated "
                f"field-of-view guess; marked in the tables)")
        if not cases:
            skipped.append(f"{b.name}: no samples")
            log(f"skip benchmark {b.name} (no samples)")
            continue
        primary = primary or b.name
        timing[f"load:{b.name}"] = round(time.perf_counter() - t0, 3)
        for p in predictors:
            refusal = b.model_refusal(cases) if model and p is predictors[0] else None
            if refusal:
                skipped.append(f"{b.name}: model {p.name} not run ({refusal})")
                log(f"model {p.name} not run on {b.name}: it {refusal}")
                continue
            stats = predict_benchmark(p, b.name, cases, run_dir,
                                      config={"benchmark": b.options, "format": cfg.format_version})
            timing[f"predict:{p.name}:{b.name}"] = round(stats["seconds"], 3)
            log(f"{p.name} on {b.name}: {stats['predicted']} predicted, {stats['reused']} reused from cache")
    if primary is None:
        raise InputError(f"no benchmark could run ({'; '.join(skipped)}); put the data where the config "
                         f"says (e.g. set VLM3_BENCH_ROOT), or use --config synthetic on a built set")
    model_path = str(Path(model.removeprefix("vllm:")).resolve()) if model else None  # report: vlm3.json, logs
    meta = {"model_name": predictors[0].name if model else None, "model_path": model_path, "primary_benchmark": primary,
            "config": to_dict(cfg), "config_hash": config_hash(to_dict(cfg)), "skipped_benchmarks": skipped,
            "skipped_inputs": skipped_inputs, "inputs_cut": inputs_cut, "images": images, "timing_s": timing}
    (run_dir / "run.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")
    score_run(run_dir)
    return json.loads((run_dir / "report.json").read_text())
