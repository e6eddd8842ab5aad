"""The final save of a training run: one complete Hugging Face model folder on every path.

``save_final_model(trainer, out_dir)`` writes, from the main process only,
``config.json``, ``model.safetensors``, ``generation_config.json``, the tokenizer files and
the stock Qwen3-VL processor files (``vlm3.model.processor.save_stock_processor``), so that
``AutoModelForImageTextToText`` + ``AutoProcessor``, ``Qwen3VLProcessor`` and ``vlm3 predict``
load it. Every path writes the same file: the stock transformers key names (the module names:
the published Qwen3-VL checkpoints use them), float32 master weights, the tied embedding once.
The full state dict is gathered first where the weights are sharded (``full_state_dict``):

- FSDP2 (``fully_shard``, configs/accelerate/fsdp2.yaml): ``Accelerator.get_state_dict``, i.e.
  torch's ``get_model_state_dict`` with ``full_state_dict=True, cpu_offload=True``: gathered one
  tensor at a time onto rank 0's CPU (a collective on every rank), at world size 1 too, so the
  save needs no second copy of the model on the GPU (FSDP1 at world size 1, NO_SHARD, cloned
  every parameter on the GPU: 18 GiB at 4B); the checkpoints stay sharded for fast resume;
- DeepSpeed ZeRO (any stage): the fp32 master weights from the optimizer partitions
  (``deepspeed.utils.safe_get_full_fp32_param``, a collective per parameter), not the 16-bit
  gather (bf16 under bf16 compute). Checkpoints are written the same way (``save_gathered_model``,
  from ``VLM3Trainer.save_model``) next to DeepSpeed's own ``global_step*/``;
- DDP / one device: the unwrapped model's own weights.

Why ``save_original_format=False``: transformers' ``save_pretrained`` reverses the weight
renamings it recorded at load time; under DeepSpeed it reversed a legacy renaming it never
applied and wrote the text weights as ``model.language_model.model.*`` (issue #27), which
vLLM's Qwen3-VL mapper reads as ``language_model.model.model.*``.

``Trainer.save_model`` alone writes only ``pytorch_model_fsdp_0/`` under SHARDED_STATE_DICT;
``save_sharded_checkpoint_metadata`` adds config.json, generation_config.json and the processor
files to such checkpoints (the weights stay sharded: resume loads them as before).
"""

from __future__ import annotations

from pathlib import Path

import torch


def _deepspeed_fp32_state_dict(trainer) -> dict[str, torch.Tensor]:
    """fp32 master weights of a DeepSpeed model on the main process's CPU ({} elsewhere). Collective."""
    from deepspeed import zero
    from deepspeed.utils import safe_get_full_fp32_param

    model = trainer.accelerator.unwrap_model(trainer.model)
    main = trainer.args.should_save
    state: dict[str, torch.Tensor] = {}
    for name, param in model.named_parameters():  # tied parameters once
        full = safe_get_full_fp32_param(param)
        if full is None:  # not trained (frozen): no fp32 master; gather the module's copy
            with zero.GatheredParameters([param]):
                full = param.data.detach().clone()
        if main:
            state[name] = full.detach().float().cpu()
    persistent = set(model.state_dict().keys())
    for name, buf in model.named_buffers():
        if main and name in persistent:
            state[name] = buf.detach().cpu()
    return state


def drop_tied_copies(state_dict: dict[str, torch.Tensor], model) -> dict[str, torch.Tensor]:
    """Remove the tied copies (``lm_head.weight`` of a tied embedding) a gathered state dict holds as
    separate tensors: ``save_pretrained`` drops aliases only when they share storage."""
    for target, source in (getattr(model, "all_tied_weights_keys", None) or {}).items():
        if target in state_dict and source in state_dict:
            del state_dict[target]
    return state_dict


def full_state_dict(trainer) -> dict[str, torch.Tensor] | None:
    """The whole model's state dict on the main process's CPU (None: let ``save_pretrained`` read the model).

    Must be called on every rank (FSDP and DeepSpeed gather with collectives).
    """
    if getattr(trainer, "is_deepspeed_enabled", False):
        return _deepspeed_fp32_state_dict(trainer)
    if getattr(trainer, "is_fsdp_enabled", False):  # FSDP2: get_model_state_dict(full, cpu_offload=True)
        return trainer.accelerator.get_state_dict(trainer.model)
    return None


def write_model_dir(trainer, out_dir: str | Path, state_dict: dict[str, torch.Tensor] | None) -> None:
    """Main process: config, weights (stock names, tied copy dropped), processor files, training_args.bin."""
    from transformers import PreTrainedModel

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = trainer.accelerator.unwrap_model(trainer.model)
    kwargs = {"save_original_format": False} if isinstance(model, PreTrainedModel) else {}  # PEFT: adapters only
    if state_dict is not None:
        state_dict = drop_tied_copies({k: v.contiguous() for k, v in state_dict.items()}, model)
    model.save_pretrained(str(out), state_dict=state_dict, is_main_process=True, **kwargs)
    if trainer.processing_class is not None:
        trainer.processing_class.save_pretrained(str(out))
    torch.save(trainer.args, out / "training_args.bin")


def save_final_model(trainer, out_dir: str | Path) -> None:
    """Write the trained model as a complete HF model folder into ``out_dir`` (collective; rank 0 writes)."""
    state_dict = full_state_dict(trainer)
    if trainer.args.should_save:
        write_model_dir(trainer, out_dir, state_dict)
    trainer.accelerator.wait_for_everyone()


def save_gathered_model(trainer, out_dir: str | Path) -> bool:
    """Under DeepSpeed, a checkpoint's model as ``save_final_model`` writes it (collective); False elsewhere
    (``Trainer.save_model`` writes it)."""
    if not getattr(trainer, "is_deepspeed_enabled", False):
        return False
    save_final_model(trainer, out_dir)
    return True


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
