"""Test-only: apply tests/_cpu_dist_patches.py in every Python process started with this folder
(and tests/) on PYTHONPATH and ``VLM3_CPU_DIST_PATCHES=1`` (the GPU check's CPU dry run,
tests/test_gpu_check.py: ``accelerate launch`` with the FSDP2 config on 2 CPU processes).
Nothing in src/ or benchmarks/ imports it."""

import os

if os.environ.get("VLM3_CPU_DIST_PATCHES") == "1":
    import _cpu_dist_patches

    _cpu_dist_patches.apply()
