"""The checks of a training run that need no torch: every path and name the run reads or
writes, made before the model, the tokenizer or torch load (a typo costs a second, not the
minute a 4B model takes to build).

``check_run_paths(cfg)`` raises one-line ``ConfigError``s naming the key: the training and
evaluation sets (shards found by ``vlm3.io.shard_index.find_shards``), the output folder
(``vlm3.io.paths.check_out_dir``), the model name (``vlm3.model.presets``), a resume path.
The trainer checks the rest (the shards' samples, the model's files) as it loads them.
"""

from __future__ import annotations

from pathlib import Path

from vlm3.config import ConfigError
from vlm3.io.paths import OutputPathError, check_out_dir
from vlm3.io.shard_index import DatasetFormatError, find_shards
from vlm3.model.presets import model_spec_problem
from vlm3.train.config import RunConfig


def check_run_paths(cfg: RunConfig) -> None:
    """ConfigError (one line naming the key) for a path or name of ``cfg`` that cannot work."""
    d = cfg.data
    if not d.train_path:
        raise ConfigError("data.train_path is empty: point it at a dataset built by `vlm3 data build`")
    for key, path, split in (("data.train_path", d.train_path, d.split), ("data.eval_path", d.eval_path, d.eval_split)):
        if path is None:
            continue
        try:
            find_shards(path, split)
        except (DatasetFormatError, OSError) as err:
            raise ConfigError(f"{key}: {err} (give a dataset built by `vlm3 data build`)") from None
    try:
        check_out_dir(cfg.train.output_dir, "train.output_dir")
    except OutputPathError as err:
        raise ConfigError(str(err)) from None
    problem = model_spec_problem(cfg.model.name_or_path)
    if problem is not None:
        raise ConfigError(f"model.name_or_path: {problem}")
    resume = cfg.train.resume
    if resume not in ("auto", "never") and not Path(resume).is_dir():
        raise ConfigError(f"train.resume={resume!r} is not a checkpoint directory (or auto / never)")


__all__ = ["check_run_paths"]
