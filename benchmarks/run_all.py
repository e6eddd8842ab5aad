"""Run every vlm3 throughput benchmark in one go and collect their JSON results.

Usage: python benchmarks/run_all.py [--out benchmarks/results] [--only world,data,...]

Each benchmark is a script ``bench_<name>.py`` in this folder that accepts ``--out FILE``
and writes its numbers as JSON; this runner calls them one after another (so they do
not compete for the 2 CPU cores), prints a summary and writes ``summary.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ["world", "data", "packing", "prefix", "dense", "optim", "embedding", "loader"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "results", help="folder for the JSON results")
    ap.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated subset of " + ",".join(BENCHMARKS))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    summary, failed = {}, []
    for name in [n.strip() for n in args.only.split(",") if n.strip()]:
        script = HERE / f"bench_{name}.py"
        if not script.is_file():
            print(f"[skip] {name}: {script.name} not found")
            continue
        out = args.out / f"{name}.json"
        print(f"=== {name} ===", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, str(script), "--out", str(out)])
        if proc.returncode != 0 or not out.is_file():
            failed.append(name)
            print(f"[fail] {name} exited with {proc.returncode}")
            continue
        summary[name] = {"wall_s": round(time.perf_counter() - t0, 1), **json.loads(out.read_text())}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"wrote {args.out / 'summary.json'}" + (f"; failed: {failed}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
