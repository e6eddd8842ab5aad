"""The mistakes fuzz's cases (issue #30, tests/test_cli_fuzz.py): the shapes of mistakes a
newcomer makes, injected one at a time into a working invocation of every subcommand.

Shapes: an existing file as an output folder (or a folder / a path under a file as an output
file), a malformed value in an override (or an option), an empty input, an output name with
an unsupported extension, a huge image (16000x12000 px). Commands without an entry in
BASES (a new subcommand) get the shapes their parameters allow from an empty base.
``mistake_files`` writes the inputs the cases name (paths relative to the folder they run in).
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import click
import numpy as np
from click.testing import CliRunner
from PIL import Image

from data_helpers import small_world, write_huge_png
from vlm3.cli import main

WAI = Path(__file__).parent / "fixtures" / "wai" / "plane"
HUGE = ("huge.png", "huge1.png")  # 16000x12000 px: 8-bit RGB (OpenCV path) and 1-bit gray (Pillow path)
BASES: dict[str, list[str]] = {
    "world generate": ["--scenes", "1", "--preset", "demo", "--out", "OUT_DIR"],
    "world show": ["world", "--out", "OUT_FILE.png"],
    "data build": ["build.yaml", "--out", "OUT_DIR", "--quiet"],
    "data inspect": ["set", "--out", "OUT_FILE.png"],
    "data pair-list": [str(WAI), "--out", "OUT_FILE.json", "--min-covisibility", "0.025"],
    "data index": ["set", "--quiet"],
    "train": ["tiny_cpu", "data.train_path=set", "train.output_dir=OUT_DIR", "train.max_steps=1"],
    "predict depth": ["ok.png", "--points", "10,10", "--intrinsics", "60,60,32,24", "--out", "OUT_DIR"],
    "predict match": ["ok.png", "ok.png", "--points", "10,10", "--out", "OUT_DIR"],
    "predict pose": ["ok.png", "ok.png", "--intrinsics1", "60,60,32,24", "--intrinsics2", "60,60,32,24",
                     "--out", "OUT_DIR"],
    "predict ask": ["ok.png", "Is [A] far?", "--box", "1,1,20,20", "--out", "OUT_DIR"],
    "predict calibrate": ["ok.png", "--out", "OUT_DIR"],
    "eval": ["--out", "OUT_DIR", "--baselines", "trivial", "trivial_fit.root=set"],
    "report": ["set", "--out", "OUT_FILE.html"],
    "demo": ["--preset", "quick", "--out", "OUT_DIR"],
}
#: override keys a command's schema has (a malformed value is worst where the key is real)
KEYS = {"world generate": ["focal_px", "views_per_scene"], "data build": ["seed", "tasks.depth.samples", "sources"],
        "train": ["train.learning_rate", "data.train_path", "model.lora"], "eval": ["max_new_tokens", "benchmarks"],
        "demo": ["world.scenes", "train.overrides"]}
#: where an empty input goes, for commands whose inputs are overrides or a config
EMPTY_AT = {"train": ("data.train_path=", ["empty", "empty.jsonl", "blank.jsonl", "emptyset"]),
            "eval": ("trivial_fit.root=", ["empty", "emptyset"]),
            "data build": ("", ["empty.yaml", "emptysrc.yaml"])}
BAD_VALUES = ["{a: 1", "[1,", "}", "'open", '"open', "*alias", "!!python/object:os.system", "%x", "@x",
              "{train: 5", "[[", "a: b: c", "{a: [1}", "- [", "\t", "&anchor [", "? x"]
BAD_KEYS = ["=3", "a..b=1", "a.=1", ".a=1", "noequals", "=", "==", " =1"]
BAD_OPTION_VALUES = ["{a: 1", "1,{", "[1,2", "nan,nan", "1;;2", "1,,2", "x" * 300, "", " ", "-", "1e999,1"]
EXISTING_FILES = ["notes.txt", "notes.txt/sub", "ok.png", "empty.jsonl"]
BAD_FILE_NAMES = ["out.txt", "out", "out.jpg", "out.png.txt", "OUT.TXT", "out.", ".png", "out.json.bak"]
EMPTY_INPUTS = ["empty", "empty.jsonl", "blank.jsonl", "empty.png", "empty.yaml", "emptyset", "emptyworld"]


def mistake_files(base: Path) -> None:
    """The inputs the mistakes need, in the folder the cases run in (paths are relative to it)."""
    write_huge_png(base / "huge.png")
    write_huge_png(base / "huge1.png", bits=1)
    world = small_world(base)  # base / "world" in the first test that asks (generated once per session)
    if not (base / "world").exists():
        os.symlink(world, base / "world")
    (base / "build.yaml").write_text(f"""\
output_dir: built
tasks: {{depth: {{focal_px: 200, max_pixels: 49152, questions_per_sample: 3, samples: {{train: 2, val: 0, test: 0}}}}}}
sources:
  - {{name: w, adapter: scene_format, path: {world}, split: train, weights: {{depth: 1}}}}
""")
    res = CliRunner().invoke(main, ["data", "build", str(base / "build.yaml"), "--out", str(base / "set"), "--quiet"])
    assert res.exit_code == 0, res.output
    shutil.copytree(base / "set", base / "hugeset")
    for img in (base / "hugeset" / "images").iterdir():
        write_huge_png(img)
    (base / "emptysrc.yaml").write_text((base / "build.yaml").read_text().replace(str(world), str(base / "empty")))
    (base / "hugesrc").mkdir()
    shutil.copy(base / "huge1.png", base / "hugesrc" / "rgb.png")
    np.save(base / "hugesrc" / "depth.npy", np.ones((8, 8), np.float32))
    (base / "hugesrc" / "meta.json").write_text(json.dumps({
        "intrinsics_fx_fy_cx_cy": [9000, 9000, 8000, 6000], "depth_scale": 1.0,
        "frames": [{"rgb": "rgb.png", "depth": "depth.npy", "scene": "s0"}]}))
    (base / "hugesrc.yaml").write_text((base / "build.yaml").read_text().replace(
        f"{{name: w, adapter: scene_format, path: {world}, split: train,",
        f"{{name: h, adapter: rgbd_folder, path: {base / 'hugesrc' / 'meta.json'}, split: train,"))
    for name in ("empty", "emptyworld", "emptyset/shards/train"):
        (base / name).mkdir(parents=True)
    (base / "emptyworld" / "index.json").write_text('{"scenes": []}')
    (base / "emptyset" / "shards" / "train" / "depth-x-00000.jsonl").write_text("")
    for name in ("empty.jsonl", "empty.png", "empty.yaml"):
        (base / name).write_text("")
    (base / "blank.jsonl").write_text("\n  \n\n")
    (base / "notes.txt").write_text("my notes\n")
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(base / "ok.png")


def _out_param(cmd: click.Command) -> click.Parameter | None:
    return next((p for p in cmd.params if isinstance(p, click.Option) and "--out" in p.opts), None)


def _file_output(cmd: click.Command) -> bool:
    p = _out_param(cmd)
    return p is not None and isinstance(p.type, click.Path) and not p.type.dir_okay


def _replace_out(args: list[str], value: str) -> list[str] | None:
    for i, a in enumerate(args):
        if a == "--out":
            return args[:i + 1] + [value] + args[i + 2:]
        if a.startswith("train.output_dir="):
            return args[:i] + [f"train.output_dir={value}"] + args[i + 1:]
    return None


def _inputs(cmd: click.Command, args: list[str]) -> list[int]:
    """Positions in ``args`` (without the command's name) of its input arguments (paths, images)."""
    n_opts = {p.opts[-1] for p in cmd.params if isinstance(p, click.Option) and not getattr(p, "is_flag", False)}
    positional, i = [], 0
    while i < len(args):
        if args[i] in n_opts:
            i += 2
            continue
        if not args[i].startswith("-") and "=" not in args[i] and " " not in args[i]:
            positional.append(i)
        i += 1
    return positional


def _mistake(shape: str, name: str, cmd: click.Command, base: list[str], rng: random.Random) -> list[str] | None:
    """``base`` (a working invocation of ``name``) with one mistake of ``shape``; None when the
    command has no place for it."""
    args = list(base)
    has_overrides = any(p.name == "overrides" for p in cmd.params)
    if shape == "existing file as output folder":
        if _file_output(cmd):
            return _replace_out(args, rng.choice(["empty", "world", "notes.txt/x.png", "ok.png/x.json"]))
        return _replace_out(args, rng.choice(EXISTING_FILES))
    if shape == "malformed value":
        if has_overrides:
            if rng.random() < 0.25:
                return args + [rng.choice(BAD_KEYS)]
            key = rng.choice(KEYS.get(name.split()[0] if name.split()[0] != "world" else name, ["seed"]) or ["seed"])
            return args + [f"{key}={rng.choice(BAD_VALUES)}"]
        opts = [p for p in cmd.params if isinstance(p, click.Option) and not getattr(p, "is_flag", False)
                and not isinstance(p.type, (click.Choice, click.Path)) and p.name not in ("help",)]
        if not opts:
            return None
        p = rng.choice(opts)
        return args + [p.opts[-1], rng.choice(BAD_OPTION_VALUES + BAD_VALUES)]
    if shape == "empty input":
        if name in EMPTY_AT:
            prefix, pool = EMPTY_AT[name]
            value = rng.choice(pool)
            if not prefix:
                return [value] + args[1:] if args and args[0].endswith(".yaml") else args
            return [a for a in args if not a.startswith(prefix)] + [prefix + value]
        where = _inputs(cmd, args)
        if not where:
            return None
        i = rng.choice(where)
        return args[:i] + [rng.choice(EMPTY_INPUTS)] + args[i + 1:]
    if shape == "unsupported output extension":
        if not _file_output(cmd):
            return None
        return _replace_out(args, rng.choice(BAD_FILE_NAMES))
    if shape == "huge image":
        if name.startswith("predict"):
            where = [i for i in _inputs(cmd, args) if args[i].endswith(".png")]
            i = rng.choice(where)
            return args[:i] + [rng.choice(HUGE)] + args[i + 1:]
        if name in ("data inspect", "data index", "report"):
            return ["hugeset" if a == "set" else a for a in args]
        if name == "data build":
            return ["hugesrc.yaml" if a == "build.yaml" else a for a in args]
        if name == "train":
            return ["data.train_path=hugeset" if a == "data.train_path=set" else a for a in args]
        return None
    raise ValueError(shape)


SHAPES = ("existing file as output folder", "malformed value", "empty input", "unsupported output extension",
          "huge image")


def mistake_cases(n: int, commands: list[tuple[list[str], click.Command]], seed: int) -> list[list[str]]:
    """``n`` cases, round-robin over the leaf ``commands`` (path, command) and the shapes each
    admits; each output path gets a fresh name so no case finds another's work."""
    rng = random.Random(seed)
    pairs = []
    for path, cmd in commands:
        name = " ".join(path)
        base = BASES.get(name, [])
        pairs += [(path, name, cmd, base, s) for s in SHAPES
                  if _mistake(s, name, cmd, base, random.Random(0)) is not None]
    cases = []
    for i in range(n):
        path, name, cmd, base, shape = pairs[i % len(pairs)]
        args = _mistake(shape, name, cmd, base, rng)
        cases.append(path + [a.replace("OUT_DIR", f"out{i}").replace("OUT_FILE", f"out{i}") for a in args])
    return cases
