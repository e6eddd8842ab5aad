"""``vlm3 predict ...``: depth / match / pose / ask on your own images.

Every subcommand loads a model through the model factory (``--model``: a preset name such
as ``tiny``, a checkpoint directory, or a cached hub id), prepares the images like the
data engine, and prints results in original-image pixels. Bad input ends with a one-line
error that says what to fix.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np

from vlm3.predictors.base import InputError
from vlm3.protocol import TEXT_FORMATS
from vlm3.tasks.common import RELEASE_MAX_PIXELS
from vlm3.train.small.number_decoding import NUMBER_DECODING, predictor_kwargs


def _model_option(f):
    f = click.option("--max-pixels", default=RELEASE_MAX_PIXELS, show_default=True,
                     help="pixel budget of the image the model sees (area, px)")(f)
    f = click.option("--calibration", default=None,
                     help="policy for missing intrinsics: none | fov<deg> (stated guess) | anycalib")(f)
    f = click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("predict_out"),
                     show_default=True, help="folder for PNG / PLY / JSON outputs")(f)
    return click.option("--model", "model", default="tiny", show_default=True,
                        help="model preset, checkpoint directory (Qwen3-VL), cached hub id, or vllm:DIR (vLLM backend)")(f)


_text_format_option = click.option(
    "--text-format", type=click.Choice(TEXT_FORMATS), default="release", show_default=True,
    help="prompt format the model was trained on (compact: the CPU demo's vlm3-compact-v3)")


_numbers_option = click.option(
    "--numbers", type=click.Choice(NUMBER_DECODING), default="greedy", show_default=True,
    help="how numbers are decoded: greedy (the paper's protocol) or the median of the model's distribution "
         "(fixed-width compact answers; transformers backend only)")


def _load(model: str, numbers: str = "greedy"):
    from vlm3.predictors import make_predictor
    from vlm3.predictors.hf import check_model_dir

    try:
        if model.startswith("vllm:"):  # vLLM backend (GPU + `pip install 'vlm3[vllm]'`)
            if numbers != "greedy":
                raise InputError("--numbers median needs the transformers backend (drop the vllm: prefix)")
            return make_predictor(model)
        if Path(model).exists():
            check_model_dir(model)
        return make_predictor(f"model:{model}", **predictor_kwargs(numbers))
    except InputError as err:
        raise click.BadParameter(str(err), param_hint="--model") from None


def _points(text: str | None, grid: str | None, width: int, height: int) -> np.ndarray:
    from vlm3.infer.api import grid_points_px

    if (text is None) == (grid is None):
        raise click.UsageError("give exactly one of --points 'x,y;x,y;...' or --grid WxH")
    if grid is not None:
        try:
            gw, gh = (int(v) for v in grid.lower().split("x"))
        except ValueError:
            raise click.BadParameter(f"grid must look like 32x24, got {grid!r}", param_hint="--grid") from None
        return grid_points_px(width, height, gw, gh)
    try:
        pts = [[float(v) for v in p.split(",")] for p in text.split(";") if p.strip()]
    except ValueError:
        raise click.BadParameter(f"points must be numbers 'x,y;x,y', got {text!r}", param_hint="--points") from None
    if not pts or any(len(p) != 2 for p in pts):
        raise click.BadParameter(f"points must be pairs 'x,y;x,y' (pixels), got {text!r}", param_hint="--points")
    xy = np.asarray(pts, dtype=np.float64)
    bad = (xy[:, 0] < -0.5) | (xy[:, 0] > width - 0.5) | (xy[:, 1] < -0.5) | (xy[:, 1] > height - 0.5)
    if bad.any():
        raise click.BadParameter(f"point {xy[bad][0].tolist()} is outside the {width}x{height} image",
                                 param_hint="--points")
    return xy


def _run(fn):
    """Call fn, turning InputError into a one-line click error."""
    try:
        return fn()
    except InputError as err:
        raise click.UsageError(str(err)) from None


@click.group("predict")
def predict() -> None:
    """Ask a model about your images (depth, matches, relative pose, free questions)."""


@predict.command("depth")
@click.argument("image", type=str)
@click.option("--intrinsics", default=None, help="fx,fy,cx,cy in pixels of IMAGE")
@click.option("--points", default=None, help="query pixels 'x,y;x,y;...' (original image pixels)")
@click.option("--grid", default=None, help="query a regular WxH grid instead, e.g. 32x24")
@click.option("--focal-px", default=1000.0, show_default=True, help="canonical focal length the model was trained at")
@_model_option
@_text_format_option
@_numbers_option
def depth_cmd(image, intrinsics, points, grid, focal_px, model, out_dir, calibration, max_pixels,
              text_format, numbers) -> None:
    """Metric depth at pixels of IMAGE; writes depth.png, points.ply and depth.json."""
    from vlm3.infer import api, viz

    arr = _run(lambda: api.read_image(image))
    _run(lambda: api.parse_intrinsics(intrinsics))
    xy = _points(points, grid, arr.shape[1], arr.shape[0])
    pred = _load(model, numbers)
    res = _run(lambda: api.predict_depth(pred, image, xy, intrinsics, focal_px, max_pixels, calibration or "none",
                                         text_format))
    out_dir.mkdir(parents=True, exist_ok=True)
    viz.depth_png(out_dir / "depth.png", arr, res.xy_px, res.depth_m)
    ok = np.isfinite(res.depth_m)
    cols = arr[np.clip(np.round(res.xy_px[ok, 1]).astype(int), 0, arr.shape[0] - 1),
               np.clip(np.round(res.xy_px[ok, 0]).astype(int), 0, arr.shape[1] - 1)]
    viz.write_ply(out_dir / "points.ply", res.xyz_m[ok], cols)
    rows = [{"xy_px": p.tolist(), "depth_m": None if not np.isfinite(d) else float(d), "ok": o, "raw": r}
            for p, d, o, r in zip(res.xy_px, res.depth_m, res.ok, res.raw)]
    (out_dir / "depth.json").write_text(json.dumps({"camera_from": res.prepared.camera_from, "points": rows}, indent=1))
    for r in rows[:20]:
        click.echo(f"({r['xy_px'][0]:.1f}, {r['xy_px'][1]:.1f}) -> "
                   f"{'%.2f m' % r['depth_m'] if r['ok'] else 'unparsed: ' + repr(r['raw'][:40])}")
    click.echo(f"{sum(res.ok)}/{len(res.ok)} answers parsed; wrote {out_dir}/depth.png, points.ply, depth.json")


@predict.command("match")
@click.argument("image1", type=str)
@click.argument("image2", type=str)
@click.option("--points", required=True, help="pixels of IMAGE1 'x,y;x,y;...'")
@click.option("--intrinsics1", default=None, help="fx,fy,cx,cy of IMAGE1 (default: --calibration)")
@click.option("--intrinsics2", default=None, help="fx,fy,cx,cy of IMAGE2")
@_model_option
@_text_format_option
@_numbers_option
def match_cmd(image1, image2, points, intrinsics1, intrinsics2, model, out_dir, calibration, max_pixels,
              text_format, numbers) -> None:
    """Pixels of IMAGE2 matching pixels of IMAGE1; writes matches.png and matches.json."""
    from vlm3.infer import api, viz

    a0 = _run(lambda: api.read_image(image1))
    a1 = _run(lambda: api.read_image(image2))
    for k in (intrinsics1, intrinsics2):
        _run(lambda: api.parse_intrinsics(k))
    xy = _points(points, None, a0.shape[1], a0.shape[0])
    pred = _load(model, numbers)
    res = _run(lambda: api.predict_match(pred, image1, image2, xy, intrinsics1, intrinsics2,
                                         max_pixels=max_pixels, calibration=calibration or "fov60",
                                         text_format=text_format))
    out_dir.mkdir(parents=True, exist_ok=True)
    viz.match_png(out_dir / "matches.png", a0, a1, res.xy0_px, res.xy1_px)
    rows = [{"xy1_px": a.tolist(), "xy2_px": None if not o else b.tolist(), "ok": o, "raw": r}
            for a, b, o, r in zip(res.xy0_px, res.xy1_px, res.ok, res.raw)]
    (out_dir / "matches.json").write_text(json.dumps(rows, indent=1))
    for r in rows:
        click.echo(f"{r['xy1_px']} -> {r['xy2_px'] if r['ok'] else 'unparsed'}")
    click.echo(f"wrote {out_dir}/matches.png, matches.json")


@predict.command("pose")
@click.argument("image1", type=str)
@click.argument("image2", type=str)
@click.option("--intrinsics1", default=None, help="fx,fy,cx,cy of IMAGE1")
@click.option("--intrinsics2", default=None, help="fx,fy,cx,cy of IMAGE2")
@click.option("--focal-px", default=750.0, show_default=True, help="canonical focal length for pose (release: 750)")
@_model_option
@_text_format_option
@_numbers_option
def pose_cmd(image1, image2, intrinsics1, intrinsics2, focal_px, model, out_dir, calibration, max_pixels,
             text_format, numbers) -> None:
    """Relative pose of IMAGE2's camera w.r.t. IMAGE1's; prints JSON, writes pose.json and frustums.png."""
    from vlm3.infer import api, viz

    for im in (image1, image2):
        _run(lambda: api.read_image(im))
    for k in (intrinsics1, intrinsics2):
        _run(lambda: api.parse_intrinsics(k))
    pred = _load(model, numbers)
    res = _run(lambda: api.predict_pose(pred, image1, image2, intrinsics1, intrinsics2, focal_px, max_pixels,
                                        calibration or "none", text_format))
    out_dir.mkdir(parents=True, exist_ok=True)
    js = res.to_json()
    (out_dir / "pose.json").write_text(json.dumps(js, indent=1))
    click.echo(json.dumps(js, indent=1))
    if res.ok:
        T = np.eye(4)
        T[:3, :3] = res.R_cam0_from_cam1
        T[:3, 3] = res.t_unit_cam0 * (res.distance_m or 1.0)
        viz.frustum_png(out_dir / "frustums.png", T)
        click.echo(f"wrote {out_dir}/pose.json, frustums.png")


@predict.command("ask")
@click.argument("image", type=str)
@click.argument("question", type=str)
@click.option("--intrinsics", default=None, help="fx,fy,cx,cy of IMAGE")
@_model_option
def ask_cmd(image, question, intrinsics, model, out_dir, calibration, max_pixels) -> None:
    """Ask a free question; boxes as 'bounding box region (x1, y1, x2, y2)' on the [0, 1000] grid."""
    from vlm3.infer import api

    _run(lambda: api.read_image(image))
    _run(lambda: api.parse_intrinsics(intrinsics))
    pred = _load(model)
    click.echo(_run(lambda: api.ask(pred, image, question, intrinsics, max_pixels=max_pixels,
                                    calibration=calibration or "fov60")))
