"""Test-only patches that let accelerate run FSDP2 and DeepSpeed ZeRO-3 on CPU processes (gloo).

accelerate (1.15 / 1.16) picks FSDP or DeepSpeed only when an accelerator device exists: on a
CPU-only machine ``AcceleratorState`` keeps ``MULTI_CPU`` (plain DDP) although
``accelerate launch --config_file fsdp2.yaml`` set ``ACCELERATE_USE_FSDP=true``. torch's
``fully_shard`` and DeepSpeed's CPU accelerator both work on gloo, so ``apply()`` (called by the
worker of tests/test_train_distributed.py before ``run_training``) does what accelerate does on
a GPU: after ``AcceleratorState`` is built on ``MULTI_CPU`` with a plugin asked for by the
launcher, it switches the distributed type to FSDP / DEEPSPEED and installs the plugin, exactly
as accelerate's own GPU branch (accelerate/state.py, ``AcceleratorState.__init__``) does.

Nothing here is imported by ``src/``: the shipped code runs the unpatched accelerate on GPUs.
"""

from __future__ import annotations

import os

import torch


def _flag(name: str) -> bool:
    return os.environ.get(name, "false").lower() == "true"


def apply() -> None:
    """Patch ``AcceleratorState.__init__`` (idempotent). Only for CPU processes."""
    from accelerate.state import AcceleratorState, PartialState
    from accelerate.utils import DistributedType

    if torch.cuda.is_available() or getattr(AcceleratorState.__init__, "_vlm3_cpu_patch", False):
        return
    original = AcceleratorState.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if self.distributed_type != DistributedType.MULTI_CPU:
            return
        fsdp_plugin, ds_plugin = kwargs.get("fsdp_plugin"), kwargs.get("deepspeed_plugin")
        if _flag("ACCELERATE_USE_DEEPSPEED") and ds_plugin is not None:
            import deepspeed

            deepspeed.comm.init_distributed(dist_backend="gloo", auto_mpi_discovery=False)
            self.distributed_type = DistributedType.DEEPSPEED
            self._mixed_precision = "no"  # DeepSpeed handles precision itself (as in accelerate's branch)
            plugins = ds_plugin if isinstance(ds_plugin, dict) else {"default": ds_plugin}
            for plugin in plugins.values():
                plugin.set_mixed_precision(kwargs.get("mixed_precision") or "no")
            next(iter(plugins.values())).select(_from_accelerator_state=True)
            self.deepspeed_plugins = ds_plugin
        elif _flag("ACCELERATE_USE_FSDP") and fsdp_plugin is not None:
            self.distributed_type = DistributedType.FSDP
            if self._mixed_precision != "no":
                fsdp_plugin.set_mixed_precision(self._mixed_precision)
            self.fsdp_plugin = fsdp_plugin
        else:
            return
        # as accelerate does: later ``AcceleratorState()`` calls copy PartialState's type over this one
        PartialState._shared_state["distributed_type"] = self.distributed_type

    init._vlm3_cpu_patch = True
    AcceleratorState.__init__ = init
    _fsdp1_cpu_device()


def _fsdp1_cpu_device() -> None:
    """FSDP1 (kept to show its resume failure) compares its compute device ``cpu:0`` (from the CPU
    device handle) with accelerate's ``device_id`` ``cpu`` and refuses: on CPU both are the CPU."""
    from torch.distributed.fsdp import _init_utils

    original = _init_utils._get_compute_device

    def get_compute_device(module, ignored_params, device_from_device_id, rank, device_handle):
        if device_from_device_id is not None and device_from_device_id.type == "cpu":
            return torch.device("cpu")
        return original(module, ignored_params, device_from_device_id, rank, device_handle)

    _init_utils._get_compute_device = get_compute_device
