"""Which checkpoint a run resumes from, and whether ``train.output_dir`` may be written at all.

- ``complete_checkpoints(out)``: the ``checkpoint-N`` folders that hold weights and a
  trainer state (a save cut short by a crash leaves a folder without them), oldest first;
- ``last_complete_checkpoint(out)``: the newest of those, with one printed line for every
  newer folder it skips;
- ``optimizer_state_missing(ckpt)``: a line to print when a checkpoint has weights but no
  optimizer state (``Trainer`` would silently start AdamW afresh);
- ``find_resume_checkpoint(cfg)``: the checkpoint ``train.resume`` (auto / never / a path) names;
  ``finished_step``: the step of a run that already reached ``train.max_steps``;
- ``refuse_other_model(out, new_config)``: a ``ConfigError`` before anything is written when
  ``out`` already holds a model of another architecture (``vlm3 train tiny_cpu`` into the
  folder of a trained micro model would overwrite its config.yaml, then die in a
  size-mismatch traceback on resume).

Weight layouts recognised: ``model.safetensors`` (+ index), ``pytorch_model.bin``, FSDP
``pytorch_model_fsdp_0/`` (SHARDED_STATE_DICT) or ``pytorch_model_fsdp.bin``, DeepSpeed
``global_step*/`` and PEFT ``adapter_model.safetensors``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Callable

from vlm3.config import ConfigError
from vlm3.train.config import RunConfig

_CKPT = re.compile(r"^checkpoint-(\d+)$")
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model_fsdp.bin",
                "adapter_model.safetensors")
#: Architecture fields compared by ``refuse_other_model`` (section of config.json, key).
ARCH_KEYS = (("text_config", "hidden_size"), ("text_config", "num_hidden_layers"),
             ("text_config", "intermediate_size"), ("text_config", "num_attention_heads"),
             ("text_config", "num_key_value_heads"), ("text_config", "vocab_size"),
             ("vision_config", "depth"), ("vision_config", "hidden_size"), ("vision_config", "out_hidden_size"))


def has_weights(ckpt: Path) -> bool:
    """True when ``ckpt`` holds model weights in any layout the ``Trainer`` writes."""
    ckpt = Path(ckpt)
    if any((ckpt / f).is_file() for f in WEIGHT_FILES):
        return True
    return any(p.is_dir() and (p.name.startswith("pytorch_model_fsdp") or p.name.startswith("global_step"))
               for p in ckpt.iterdir()) if ckpt.is_dir() else False


def is_complete(ckpt: Path) -> bool:
    """Weights and ``trainer_state.json``: enough to resume from."""
    return has_weights(ckpt) and (Path(ckpt) / "trainer_state.json").is_file()


def checkpoint_dirs(out: Path) -> list[Path]:
    """Every ``checkpoint-N`` folder in ``out``, by step (oldest first)."""
    out = Path(out)
    if not out.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in out.iterdir() if p.is_dir() and (m := _CKPT.match(p.name))]
    return [p for _, p in sorted(found)]


def last_complete_checkpoint(out: Path, say: Callable[[str], None] = print) -> str | None:
    """The newest complete checkpoint in ``out`` (None if none); ``say`` gets one line per skipped folder."""
    for ckpt in reversed(checkpoint_dirs(out)):
        if is_complete(ckpt):
            return str(ckpt)
        what = "no model weights" if not has_weights(ckpt) else "no trainer_state.json"
        say(f"note: skipping {ckpt} ({what}: an interrupted save); looking for the previous checkpoint")
    return None


def optimizer_state_missing(ckpt: str | Path) -> str | None:
    """A one-line warning when ``ckpt`` has no optimizer state, else None."""
    ckpt = Path(ckpt)
    if (ckpt / "optimizer.pt").is_file() or (ckpt / "optimizer.bin").is_file():
        return None
    if any(p.is_dir() and (p.name.startswith("optimizer") or p.name.startswith("global_step")) for p in ckpt.iterdir()):
        return None
    return (f"warning: {ckpt} has no optimizer state (optimizer.pt): resuming its weights and data position "
            "with a fresh AdamW state and learning-rate schedule (the loss may jump)")


def saved_model_config(out: Path) -> tuple[Path, dict] | None:
    """(path, contents) of the config.json of the model in ``out``: the final one, else the newest checkpoint's."""
    candidates = [Path(out) / "config.json"] + [c / "config.json" for c in reversed(checkpoint_dirs(out))]
    for path in candidates:
        if path.is_file():
            try:
                return path, json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                continue
    return None


def _arch(config: dict) -> dict[str, object]:
    return {f"{section}.{key}": (config.get(section) or {}).get(key) for section, key in ARCH_KEYS}


def refuse_other_model(out: Path, new_config: dict, out_key: str = "train.output_dir") -> None:
    """``ConfigError`` when ``out`` holds a model whose architecture differs from ``new_config`` (config.json dicts)."""
    found = saved_model_config(out)
    if found is None:
        return
    path, old = found
    old_arch, new_arch = _arch(old), _arch(new_config)
    diff = [f"{k} {old_arch[k]} there, {new_arch[k]} in this run" for k in old_arch
            if old_arch[k] is not None and new_arch[k] is not None and old_arch[k] != new_arch[k]]
    if diff:
        raise ConfigError(f"{out_key}={out} already holds a different model ({path.name}: {diff[0]}); nothing was "
                          f"written: choose a new {out_key}=... (or delete that folder to start over)")


def find_resume_checkpoint(cfg: RunConfig) -> str | None:
    """The checkpoint to resume from per ``train.resume`` (auto / never / a path)."""
    r = cfg.train.resume
    if r == "never":
        return None
    if r == "auto":
        found = last_complete_checkpoint(Path(cfg.train.output_dir), say=say_main)
    elif not Path(r).is_dir():
        raise ConfigError(f"train.resume={r!r} is not a checkpoint directory")
    else:
        found = r
    if found is not None and (line := optimizer_state_missing(found)):
        say_main(line)
    return found


def say_main(line: str) -> None:
    """Print once per run (the main process), not once per rank."""
    if int(os.environ.get("RANK", "0")) == 0:
        print(line, flush=True)


def finished_step(resume: str | None, cfg: RunConfig) -> int | None:
    """The global step of ``resume`` when it already reached train.max_steps (a finished run)."""
    state = Path(resume) / "trainer_state.json" if resume else None
    if state is None or cfg.train.max_steps <= 0 or not state.is_file():
        return None
    step = int(json.loads(state.read_text()).get("global_step", 0))
    final = Path(cfg.train.output_dir) / "config.json"
    return step if step >= cfg.train.max_steps and final.is_file() else None
