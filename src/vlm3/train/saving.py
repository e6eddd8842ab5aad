"""The final save of a training run: one complete Hugging Face model folder on every path.

``save_final_model(trainer, out_dir)`` writes, from the main process only,
``config.json``, ``model.safetensors``, ``generation_config.json``, the tokenizer files and
the stock Qwen3-VL processor files (``vlm3.model.processor.save_stock_processor``), so that
``AutoModelForImageTextToText`` + ``AutoProcessor``, ``Qwen3VLProcessor`` and ``vlm3 predict``
load it. The full state dict is gathered first where the weights are sharded:

- FSDP (any ``fsdp_state_dict_type``, SHARDED_STATE_DICT included): ``Accelerator.get_state_dict``
  switches to FULL_STATE_DICT with rank-0 CPU offload for this one call (a collective on every
  rank); the checkpoints stay sharded for fast resume;
- DeepSpeed ZeRO-3: the consolidated 16-bit state dict (``zero3_save_16bit_model: true`` in
  configs/accelerate/deepspeed_zero3.yaml);
- DDP / one device: the unwrapped model's own weights.

``Trainer.save_model`` alone writes only ``pytorch_model_fsdp_0/`` under SHARDED_STATE_DICT;
``save_sharded_checkpoint_metadata`` adds config.json, generation_config.json and the processor
files to such checkpoints (the weights stay sharded: resume loads them as before).
"""

from __future__ import annotations

from pathlib import Path

import torch


def full_state_dict(trainer) -> dict[str, torch.Tensor] | None:
    """The whole model's state dict on the main process (None: let ``save_pretrained`` read the model).

    Must be called on every rank (FSDP and ZeRO-3 gather with collectives).
    """
    if getattr(trainer, "is_deepspeed_enabled", False):
        return trainer.accelerator.get_state_dict(trainer.deepspeed)
    if getattr(trainer, "is_fsdp_enabled", False):
        return trainer.accelerator.get_state_dict(trainer.model)
    return None


def save_final_model(trainer, out_dir: str | Path) -> None:
    """Write the trained model as a complete HF model folder into ``out_dir`` (collective; rank 0 writes)."""
    out = Path(out_dir)
    model = trainer.accelerator.unwrap_model(trainer.model)
    state_dict = full_state_dict(trainer)
    if trainer.args.should_save:
        out.mkdir(parents=True, exist_ok=True)
        if state_dict is not None:
            state_dict = {k: v.contiguous() for k, v in state_dict.items()}
        model.save_pretrained(str(out), state_dict=state_dict, is_main_process=True)
        if trainer.processing_class is not None:
            trainer.processing_class.save_pretrained(str(out))
        torch.save(trainer.args, out / "training_args.bin")
    trainer.accelerator.wait_for_everyone()


def save_sharded_checkpoint_metadata(trainer, out_dir: str | Path) -> None:
    """Under FSDP SHARDED_STATE_DICT ``Trainer`` writes only ``pytorch_model_fsdp_0/`` into a
    checkpoint: add config.json, generation_config.json and the processor files (main process), so
    that a checkpoint says what model it holds (``vlm3.train.checkpoints.refuse_other_model``)."""
    if not getattr(trainer, "is_fsdp_enabled", False) or not trainer.args.should_save:
        return
    if "FULL_STATE_DICT" in str(trainer.accelerator.state.fsdp_plugin.state_dict_type):
        return  # Trainer saved the whole model already
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = trainer.accelerator.unwrap_model(trainer.model)
    model.config.save_pretrained(str(out))
    if getattr(model, "generation_config", None) is not None:
        model.generation_config.save_pretrained(str(out))
    if trainer.processing_class is not None:
        trainer.processing_class.save_pretrained(str(out))
