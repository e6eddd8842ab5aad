"""How much memory a training recipe needs per GPU, before a GPU is touched (``vlm3 train RECIPE --plan``).

The recipe's model is built on the meta device (no weights: a hub id that is not in the local
cache falls back to the shipped preset of the same published architecture, ``PUBLISHED``) and
every figure is per GPU, for FSDP2 full sharding over ``world`` GPUs (world 1 = one GPU holding
everything, as DDP), in GiB:

- ``params`` fp32 master weights, ``grads`` fp32, ``adamw`` two fp32 moments: 4 + 4 + 8 bytes
  per parameter (grads and moments: per trainable one), divided by ``world``;
- ``gathered``: what FSDP2 unshards at once: the largest unit (the root module: embeddings,
  final norm, vision merger) as bf16 parameters plus its fp32 gradient, plus one prefetched
  decoder layer (bf16), not divided (at world 1 too: the bf16 compute copy of each unit);
- ``activations`` of the recipe's largest micro-batch (``per_device_batch_size`` x
  ``data.max_length`` tokens, every token assumed visual for the vision tower): measured by
  running the real text model at 2 decoder layers under ``FakeTensorMode`` (full width, the
  full token count, bf16, no memory used) and summing the bytes autograd keeps for backward
  inside the second layer (``layer_activation_bytes``), with gradient checkpointing as the
  recipe sets it; total = layers x saved-per-layer + one layer's recompute + the vision tower
  (``vision_activation_bytes``, a formula: ~9 x width + 2 x MLP width bf16 values per patch per
  block, checkpointed the same way);
- ``save``: the final save (``vlm3.train.saving``) gathers one tensor at a time onto rank 0's
  CPU: GPU peak = the largest tensor in fp32, rank-0 CPU RAM = the whole model in fp32.

tests/test_memory_plan.py checks ``layer_activation_bytes`` against a real CPU run of the
same micro-batch at 2 layers (reduced width), measured with the same saved-tensor count on real
storages. Not counted (``RESERVE_GIB`` is kept free for them): the CUDA context and NCCL buffers,
allocator fragmentation, data-loader pinned memory.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from vlm3.train.config import RunConfig

GIB = 1024 ** 3
#: Published checkpoints whose architecture is shipped as a preset (their config.json values).
PUBLISHED = {"Qwen/Qwen3-VL-4B-Instruct": "qwen3_vl_4b", "Qwen/Qwen3-VL-4B-Thinking": "qwen3_vl_4b"}
WORLDS = (1, 8, 32)
CARDS_GIB = {"80 GiB (H100)": 80.0, "141 GiB (H200)": 141.0}
#: Kept free on every card for what the plan does not count (CUDA context, NCCL buffers, fragmentation).
RESERVE_GIB = 3.0


def plan_config(name_or_path: str):
    """``Qwen3VLConfig`` of the model a recipe names, without weights or network."""
    from transformers import Qwen3VLConfig

    from vlm3.model.factory import build_config, model_config_dict

    found = model_config_dict(name_or_path)
    if found is not None:
        return Qwen3VLConfig(**{k: v for k, v in found.items() if k not in ("architectures", "model_type")})
    if name_or_path in PUBLISHED:
        return build_config(PUBLISHED[name_or_path])
    from vlm3.model.factory import ModelLoadError

    raise ModelLoadError(f"--plan: cannot resolve the architecture of {name_or_path!r} offline (not a preset, a "
                         f"checkpoint directory, a cached hub id or one of {', '.join(PUBLISHED)})")


def _build(config, dtype: torch.dtype):
    from transformers import Qwen3VLForConditionalGeneration

    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        return Qwen3VLForConditionalGeneration(config)
    finally:
        torch.set_default_dtype(old)


def layer_activation_bytes(config, tokens: int, dtype: torch.dtype = torch.bfloat16, fake: bool = True,
                           checkpointing: bool = False) -> dict[str, int]:
    """Bytes autograd saves for backward in one forward of ``tokens`` text tokens (batch 1) through
    the model with 2 decoder layers: ``{"layer0", "layer1", "outside"}`` (unique storages, parameters
    excluded; ``outside``: embeddings, final norm, the last position's logits).

    ``fake=True`` runs under ``FakeTensorMode`` (no memory is allocated: full-size shapes are fine);
    ``fake=False`` runs for real (small configs only) with the same count.
    """
    import copy

    from torch._subclasses.fake_tensor import FakeTensorMode

    config = copy.deepcopy(config)
    config.text_config.num_hidden_layers = 2
    config.vision_config.depth = 1
    config.vision_config.deepstack_visual_indexes = [0]
    config._attn_implementation = "sdpa"
    where: list[str] = ["outside"]
    counts = {"layer0": 0, "layer1": 0, "outside": 0}
    seen: set = set()
    with FakeTensorMode() if fake else contextlib.nullcontext():
        model = _build(config, dtype)
        if checkpointing:
            model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        model.train()
        params = {id(p.untyped_storage()) for p in model.parameters()}
        for i, layer in enumerate(model.model.language_model.layers):
            layer.register_forward_pre_hook(lambda m, a, i=i: where.__setitem__(0, f"layer{i}"))
            layer.register_forward_hook(lambda m, a, o: where.__setitem__(0, "outside"))

        def pack(t: torch.Tensor) -> torch.Tensor:
            storage = t.untyped_storage()
            key = id(storage) if fake else storage.data_ptr()
            if key not in seen and id(storage) not in params and not isinstance(t, torch.nn.Parameter):
                seen.add(key)
                counts[where[0]] += storage.nbytes()
            return t

        ids = torch.randint(0, config.text_config.vocab_size, (1, tokens))
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            model(input_ids=ids, logits_to_keep=1)
    return counts


def vision_activation_bytes(config, patches: int, checkpointing: bool, bytes_per: int = 2) -> int:
    """Vision tower activations (formula): per block ~9 x hidden + 2 x MLP width values per patch saved
    without checkpointing; with it, each block keeps its input (hidden per patch) and one block is
    recomputed at a time."""
    v = config.vision_config
    full = patches * (9 * v.hidden_size + 2 * v.intermediate_size) * bytes_per
    kept = patches * v.hidden_size * bytes_per
    return v.depth * kept + full if checkpointing else v.depth * full


@dataclass
class MemoryPlan:
    """Per-GPU bytes of one recipe (see the module docstring for each figure)."""

    recipe: str
    parameters: int  # all of them: fp32 weights on the GPUs and in the save
    trainable: int  # those with gradients and AdamW moments (fewer with model.freeze_vision)
    largest_unit: int
    largest_tensor: int
    tokens: int
    activations: int
    act_per_layer_full: int
    act_per_layer_kept: int

    def per_gpu(self, world: int) -> dict[str, float]:
        n = self.trainable
        row = {"params": 4 * self.parameters / world, "grads": 4 * n / world, "adamw": 8 * n / world,
               "gathered": (2 + 4) * self.largest_unit,
               "activations": float(self.activations), "save": 4.0 * self.largest_tensor}
        row["total"] = sum(row.values())
        return {k: v / GIB for k, v in row.items()}


def _units(model) -> tuple[int, int]:
    """(largest FSDP unit outside the wrapped layers + one decoder layer, largest single tensor) in parameters."""
    layers = list(model.model.language_model.layers) + list(model.model.visual.blocks)
    in_layers = {id(p) for m in layers for p in m.parameters()}
    root = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values() if id(p) not in in_layers)
    one_layer = sum(p.numel() for p in model.model.language_model.layers[0].parameters())
    return root + one_layer, max(p.numel() for p in model.parameters())


def build_plan(cfg: RunConfig, recipe: str) -> MemoryPlan:
    """The recipe's plan: its model on the meta device, activations under FakeTensorMode."""
    from vlm3.model.factory import count_parameters

    config = plan_config(cfg.model.name_or_path)
    with torch.device("meta"):
        model = _build(config, torch.float32)
    parameters = trainable = count_parameters(model)
    if cfg.model.freeze_vision:
        trainable -= sum(p.numel() for p in model.model.visual.parameters())
    unit, largest = _units(model)
    tokens = cfg.train.per_device_batch_size * cfg.data.max_length
    ckpt = bool(cfg.train.gradient_checkpointing)
    full = layer_activation_bytes(config, tokens, torch.bfloat16, fake=True, checkpointing=False)
    kept = layer_activation_bytes(config, tokens, torch.bfloat16, fake=True, checkpointing=True) if ckpt else full
    layers = config.text_config.num_hidden_layers
    text = layers * kept["layer1"] + (full["layer1"] if ckpt else 0) + full["outside"]
    vision = vision_activation_bytes(config, 4 * tokens, ckpt)
    return MemoryPlan(recipe, parameters, trainable, unit, largest, tokens, text + vision, full["layer1"],
                      kept["layer1"])


def format_plan(plan: MemoryPlan, worlds=WORLDS, cards=CARDS_GIB) -> str:
    """A text table: one row per world size, GiB per GPU, and whether it fits each card."""
    head = ["world", "params", "grads", "adamw", "gathered", "activations", "save", "total"]
    lines = [f"memory plan for {plan.recipe}: {plan.trainable / 1e9:.2f}B trainable parameters, micro-batch "
             f"{plan.tokens} tokens; activations per decoder layer {plan.act_per_layer_full / GIB:.2f} GiB "
             f"(kept with checkpointing {plan.act_per_layer_kept / GIB:.3f} GiB); GiB per GPU, FSDP2 full shard",
             " | ".join(head + [f"fits {c}" for c in cards])]
    for world in worlds:
        row = plan.per_gpu(world)
        fits = ["yes" if row["total"] + RESERVE_GIB <= gib else "no" for gib in cards.values()]
        lines.append(" | ".join([str(world)] + [f"{row[k]:.1f}" for k in head[1:]] + fits))
    lines.append(f"fits: total + {RESERVE_GIB:.0f} GiB kept free for what is not counted (CUDA context, NCCL "
                 "buffers, fragmentation); the final save also needs "
                 f"{4 * plan.parameters / GIB:.1f} GiB of CPU RAM on rank 0")
    return "\n".join(lines)
