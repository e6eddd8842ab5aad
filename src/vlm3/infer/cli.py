"""``vlm3 predict ...``: depth / match / pose / ask on your own images, and one subcommand per task
asked about one image alone, generated from the task registry (``Task.predict_verb``: calibrate).

Every subcommand loads a model (``--model``: a training output or checkpoint directory, a
cached hub id, ``vllm:DIR``, or a random-weight preset such as ``tiny``) together with the
settings it must be asked with (its ``vlm3.json``: focal per task, image cap, text format,
number decoding; ``vlm3.tasks.asking``). Flags override those settings; without the file the
release settings apply. Images are prepared like the data engine prepares them, results are
printed and written in original-image pixels. Bad input ends with one line that says what
to fix, before any weights are loaded; a random-weight model, guessed intrinsics and a run
that parses nothing are said in one line each.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np

from vlm3.errors import Group
from vlm3.predictors.base import DECODINGS
from vlm3.protocol import TEXT_FORMATS
from vlm3.tasks.asking import NUMBER_MODES as NUMBER_DECODING  # not train.small's: that one imports torch

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def _model_option(f):
    f = click.option("--device", default="auto", show_default=True,
                     help="where the model runs: auto (the GPU when there is one), cpu, cuda or cuda:N")(f)
    f = click.option("--decoding", type=click.Choice(DECODINGS), default="exact", show_default=True,
                     help="exact: greedy answers, the answer template fed as a checked draft (many points per "
                          "image in a few batched forwards); template: the template forced, only the numbers "
                          "decoded (fastest; greedy only where the model writes it); generate: plain generate")(f)
    f = click.option("--numbers", type=click.Choice(NUMBER_DECODING), default=None,
                     help="how numbers are decoded: greedy (the paper's protocol) or the median of the model's "
                          "distribution (fixed-width compact answers; transformers backend only) "
                          "[default: the model's vlm3.json, else greedy]")(f)
    f = click.option("--text-format", type=click.Choice(TEXT_FORMATS), default=None,
                     help="prompt format the model was trained on (compact: the CPU demo's vlm3-compact-v3) "
                          "[default: the model's vlm3.json, else release]")(f)
    f = click.option("--max-pixels", type=int, default=None,
                     help="pixel budget of the image the model sees (area, px) "
                          "[default: the model's vlm3.json, else 1310720; pose 5529600]")(f)
    f = click.option("--focal-px", type=float, default=None,
                     help="canonical focal length (px) images are resampled to "
                          "[default: the model's vlm3.json, else 1000; pose 750]")(f)
    f = click.option("--calibration", default=None,
                     help="policy for missing intrinsics: none | fov<deg> (stated guess) | anycalib")(f)
    f = click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("predict_out"),
                     show_default=True, help="folder for PNG / PLY / NPY / JSON outputs")(f)
    return click.option("--model", "model", default="tiny", show_default=True,
                        help="training output or checkpoint directory (Qwen3-VL), cached hub id, vllm:DIR, "
                             "or a random-weight preset (tiny)")(f)


def _settings(model: str, task: str, focal_px, max_pixels, text_format, numbers) -> tuple[dict, str, str]:
    """(settings for the api call, number decoding, where they came from) without loading weights."""
    from vlm3.infer import api

    path = api.model_path(model)
    if model.startswith(api.VLLM_PREFIX) and numbers == "median":
        raise click.UsageError("--numbers median needs the transformers backend (drop the vllm: prefix)")
    api.check_model_spec(model)
    asking, saved = api.model_asking(model)
    if focal_px is not None:
        api.check_focal_px(focal_px)
    if max_pixels is not None:
        api.check_max_pixels(max_pixels)
    source = "release defaults" if not saved else (
        f"{path}/config.yaml, the training config" if asking.learnt_from == "config.yaml" else f"{path}/vlm3.json")
    return (api.asked_settings(asking, task, focal_px, max_pixels, text_format), numbers or asking.numbers, source)


def _load(model: str, numbers: str, device: str, decoding: str):
    """The ``Model`` (weights loaded once, on ``device``, answers by ``decoding``), with a loud line
    for random weights."""
    from vlm3.infer import api
    from vlm3.predictors import resolve_device

    if not model.startswith(api.VLLM_PREFIX):
        device = resolve_device(device)
    elif device not in ("auto", "cuda", "cuda:0"):
        raise click.BadParameter(f"vLLM runs on the first visible GPU, not {device!r} (CUDA_VISIBLE_DEVICES=N "
                                 f"picks GPU N)", param_hint="--device")
    m = api.load(model, numbers=numbers, device=device, decoding=decoding)
    if m.random_weights:
        click.echo(f"warning: --model {model} is a preset with RANDOM weights: the answers are noise. "
                   f"Pass --model DIR (a training output, e.g. runs/demo/train)", err=True)
    return m


def _check_out(out_dir: Path) -> None:
    from vlm3.io.paths import check_out_dir

    check_out_dir(out_dir)  # OutputPathError: one line (the Group), exit 2


def _mkdir(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise click.BadParameter(f"cannot create the folder {str(out)[:120]}: {err.strerror or err}",
                                 param_hint="--out") from None


def _images(image: str) -> list[str]:
    """IMAGE itself, or the images of a folder (sorted)."""
    from vlm3.infer.api import path_exists

    p = Path(image)
    if not path_exists(p) or not p.is_dir():
        return [image]
    files = sorted(str(f) for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise click.UsageError(f"folder {p} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return files


def _points(text: str, width: int, height: int) -> np.ndarray:
    try:
        pts = [[float(v) for v in p.split(",")] for p in text.split(";") if p.strip()]
    except ValueError:
        raise click.BadParameter(f"points must be numbers 'x,y;x,y', got {text!r}", param_hint="--points") from None
    if not pts or any(len(p) != 2 for p in pts):
        raise click.BadParameter(f"points must be pairs 'x,y;x,y' (pixels), got {text!r}", param_hint="--points")
    xy = np.asarray(pts, dtype=np.float64)
    if not np.isfinite(xy).all():
        raise click.BadParameter(f"points must be finite numbers, got {text!r}", param_hint="--points")
    bad = (xy[:, 0] < -0.5) | (xy[:, 0] > width - 0.5) | (xy[:, 1] < -0.5) | (xy[:, 1] > height - 0.5)
    if bad.any():
        raise click.BadParameter(f"point {xy[bad][0].tolist()} is outside the {width}x{height} image",
                                 param_hint="--points")
    return xy


#: what each preprocessing does to the image, in the "asking" line (project: the pixel budget)
_SHOWN = {"release": "the release's resize (uncropped)", "pad": "the whole image padded to the 32-px grid"}


def _say_asked(name: str, s: dict, numbers: str, source: str) -> None:
    shown = _SHOWN.get(s.get("preprocessing", "project"), f"at most {s['max_pixels']:,} px")
    click.echo(f"asking {name}: focal {s['focal_px']:g} px, {shown}, {s['text_format']} "
               f"format, {numbers} numbers (from {source}; flags override)")


def _notes(notes: list[str]) -> None:
    for n in dict.fromkeys(notes):
        click.echo(f"note: {n}", err=True)


def _parsed_line(n_ok: int, n: int, s: dict, numbers: str) -> None:
    if n and n_ok == 0:
        click.echo(f"warning: 0/{n} answers parsed: the model does not answer in the {s['text_format']} format at "
                   f"these settings; use the model's training settings (its vlm3.json, or --text-format / "
                   f"--focal-px / --max-pixels / --numbers, now {numbers})", err=True)


def _meta(m, s: dict, numbers: str, source: str) -> dict:
    return {"model": m.name, "random_weights": m.random_weights, "asked_with": {**s, "numbers": numbers,
                                                                               "from": source}}


@click.group("predict", cls=Group)
def predict() -> None:
    """Ask a model about your images (depth, matches, relative pose, free questions, and every task
    asked about one image alone: calibrate)."""


@predict.command("depth")
@click.argument("image", type=str)
@click.option("--intrinsics", default=None, help="fx,fy,cx,cy in pixels of IMAGE (every image of a folder)")
@click.option("--points", default=None, help="query pixels 'x,y;x,y;...' (original image pixels)")
@click.option("--grid", default=None, help="query a regular WxH grid over the image the model sees, e.g. 32x24")
@_model_option
def depth_cmd(image, intrinsics, points, grid, model, out_dir, calibration, focal_px, max_pixels,
              text_format, numbers, device, decoding) -> None:
    """Metric depth at pixels of IMAGE (a file or a folder of images). Writes depth.png,
    depth.json, depth.npy (metres), points.ply (coloured point cloud) and, for --grid,
    depth_mm.png (16-bit millimetres, 0 = no answer); a folder gets one subfolder per image."""
    from vlm3.infer import api

    if (points is None) == (grid is None):
        raise click.UsageError("give exactly one of --points 'x,y;x,y;...' or --grid WxH")
    _check_out(out_dir)
    files = _images(image)
    gw_gh = api.parse_grid(grid) if grid is not None else None
    api.parse_intrinsics(intrinsics)
    s, numbers, source = _settings(model, "depth", focal_px, max_pixels, text_format, numbers)
    policy = calibration or "none"
    queries, given = {}, {}
    for f in files:  # every input read once and checked before the weights load
        given[f] = g = api.given_image(f)
        queries[f] = _points(points, g.pixels.shape[1], g.pixels.shape[0]) if points is not None else None
        prep = api.prepare_image(g, intrinsics, s["focal_px"], s["max_pixels"], policy,
                                 preprocessing=s["preprocessing"])
        api.grid_over_model_image(prep, *gw_gh) if gw_gh else api.to_model_px(prep, queries[f], "point")
    m = _load(model, numbers, device, decoding)
    from tqdm import tqdm

    from vlm3.infer import outputs

    _say_asked(m.name, s, numbers, source)

    total_ok = total = 0
    for f in tqdm(files, desc="depth", unit="image", disable=len(files) == 1):
        res = api.predict_depth(m.predictor, given[f], queries[f], intrinsics, calibration=policy, grid=gw_gh, **s)
        out = out_dir / Path(f).stem if len(files) > 1 else out_dir
        _mkdir(out)
        names = outputs.write_depth(out, given[f].pixels, res, _meta(m, s, numbers, source))
        total_ok, total = total_ok + sum(res.ok), total + len(res.ok)
        _notes(res.prepared.notes)
        if len(files) == 1:
            for r in res.to_json()["points"][:20]:
                click.echo(f"({r['xy_px'][0]:.1f}, {r['xy_px'][1]:.1f}) -> "
                           f"{'%.2f m' % r['depth_m'] if r['ok'] else 'unparsed: ' + repr(r['raw'][:40])}")
    click.echo(f"{total_ok}/{total} answers parsed; wrote {out_dir}/"
               f"{'<image>/' if len(files) > 1 else ''}{', '.join(names)}")
    _parsed_line(total_ok, total, s, numbers)


@predict.command("match")
@click.argument("image1", type=str)
@click.argument("image2", type=str)
@click.option("--points", required=True, help="pixels of IMAGE1 'x,y;x,y;...'")
@click.option("--intrinsics1", default=None, help="fx,fy,cx,cy of IMAGE1 (default: --calibration)")
@click.option("--intrinsics2", default=None, help="fx,fy,cx,cy of IMAGE2")
@_model_option
def match_cmd(image1, image2, points, intrinsics1, intrinsics2, model, out_dir, calibration, focal_px, max_pixels,
              text_format, numbers, device, decoding) -> None:
    """Pixels of IMAGE2 matching pixels of IMAGE1; writes matches.png and matches.json."""
    from vlm3.infer import api

    _check_out(out_dir)
    g0, g1 = api.given_image(image1), api.given_image(image2)
    a0, a1 = g0.pixels, g1.pixels
    for k in (intrinsics1, intrinsics2):
        api.parse_intrinsics(k)
    xy = _points(points, a0.shape[1], a0.shape[0])
    s, numbers, source = _settings(model, "correspondence", focal_px, max_pixels, text_format, numbers)
    policy = calibration or "fov60"
    p1 = api.prepare_image(g0, intrinsics1, s["focal_px"], s["max_pixels"], policy, preprocessing=s["preprocessing"])
    api.prepare_image(g1, intrinsics2, s["focal_px"], s["max_pixels"], policy, preprocessing=s["preprocessing"])
    api.to_model_px(p1, xy, "point")
    m = _load(model, numbers, device, decoding)
    from vlm3.infer import viz  # matplotlib: only once there is something to draw

    _say_asked(m.name, s, numbers, source)
    res = api.predict_match(m.predictor, g0, g1, xy, intrinsics1, intrinsics2, calibration=policy, **s)
    _notes(res.notes)
    _mkdir(out_dir)
    viz.match_png(out_dir / "matches.png", a0, a1, res.xy0_px, res.xy1_px)
    js = {**_meta(m, s, numbers, source), **res.to_json()}
    (out_dir / "matches.json").write_text(json.dumps(js, indent=1))
    for r in js["matches"]:
        click.echo(f"{r['xy1_px']} -> {r['xy2_px'] if r['ok'] else 'unparsed: ' + repr(r['raw'][:40])}")
    click.echo(f"{sum(res.ok)}/{len(res.ok)} answers parsed; wrote {out_dir}/matches.png, matches.json")
    _parsed_line(sum(res.ok), len(res.ok), s, numbers)


@predict.command("pose")
@click.argument("image1", type=str)
@click.argument("image2", type=str)
@click.option("--intrinsics1", default=None, help="fx,fy,cx,cy of IMAGE1")
@click.option("--intrinsics2", default=None, help="fx,fy,cx,cy of IMAGE2")
@_model_option
def pose_cmd(image1, image2, intrinsics1, intrinsics2, model, out_dir, calibration, focal_px, max_pixels,
             text_format, numbers, device, decoding) -> None:
    """Relative pose of IMAGE2's camera w.r.t. IMAGE1's; prints JSON, writes pose.json and frustums.png."""
    from vlm3.infer import api

    _check_out(out_dir)
    g0, g1 = api.given_image(image1), api.given_image(image2)
    for k in (intrinsics1, intrinsics2):
        api.parse_intrinsics(k)
    s, numbers, source = _settings(model, "pose", focal_px, max_pixels, text_format, numbers)
    policy = calibration or "none"
    for g, k in ((g0, intrinsics1), (g1, intrinsics2)):
        api.prepare_image(g, k, s["focal_px"], s["max_pixels"], policy, preprocessing=s["preprocessing"])
    m = _load(model, numbers, device, decoding)
    from vlm3.infer import viz  # matplotlib: only once there is something to draw

    _say_asked(m.name, s, numbers, source)
    res = api.predict_pose(m.predictor, g0, g1, intrinsics1, intrinsics2, calibration=policy, **s)
    _notes(res.notes)
    _mkdir(out_dir)
    js = {**_meta(m, s, numbers, source), **res.to_json()}
    (out_dir / "pose.json").write_text(json.dumps(js, indent=1))
    click.echo(json.dumps(res.to_json(), indent=1))
    if res.ok:
        if not res.has_distance:
            click.echo("note: the model gave no distance: frustums.png draws camera 2 at 1 m (direction only)",
                       err=True)
        viz.frustum_png(out_dir / "frustums.png", res.T_cam0_from_cam1())
        click.echo(f"wrote {out_dir}/pose.json, frustums.png")
    else:
        click.echo(f"warning: the pose answers did not parse ({res.reason}); wrote {out_dir}/pose.json", err=True)
        _parsed_line(0, 1, s, numbers)


@predict.command("ask")
@click.argument("image", type=str)
@click.argument("question", type=str)
@click.option("--intrinsics", default=None, help="fx,fy,cx,cy of IMAGE")
@click.option("--box", "boxes", multiple=True,
              help="x1,y1,x2,y2 in pixels of IMAGE, one per placeholder [A], [B], ... in QUESTION")
@_model_option
def ask_cmd(image, question, intrinsics, boxes, model, out_dir, calibration, focal_px, max_pixels,
            text_format, numbers, device, decoding) -> None:
    """Ask a free question about IMAGE. Regions are boxes in IMAGE's pixels: write [A], [B], ... in
    QUESTION and give one --box x1,y1,x2,y2 each; regions in the answer come back in IMAGE's
    pixels. Writes ask.json and ask.png (question boxes green, answer boxes red)."""
    from vlm3.infer import api

    _check_out(out_dir)
    g = api.given_image(image)
    api.parse_intrinsics(intrinsics)
    s, numbers, source = _settings(model, "object", focal_px, max_pixels, text_format, numbers)
    policy = calibration or "fov60"
    api.ask(_NoAnswer(), g, question, intrinsics, calibration=policy, boxes_px=boxes, **s)
    m = _load(model, numbers, device, decoding)
    from vlm3.infer import viz  # matplotlib: only once there is something to draw

    _say_asked(m.name, s, numbers, source)
    res = api.ask(m.predictor, g, question, intrinsics, calibration=policy, boxes_px=boxes, **s)
    _notes(res.prepared.notes)
    _mkdir(out_dir)
    (out_dir / "ask.json").write_text(json.dumps({**_meta(m, s, numbers, source), **res.to_json()}, indent=1))
    viz.boxes_png(out_dir / "ask.png", g.pixels, res.boxes_px, res.answer_boxes_px, title=f"Q: {question}  A: {res.answer}")
    click.echo(res.answer)
    if res.answer_boxes_px:
        click.echo(f"regions in the answer (pixels of {image}): {json.dumps(res.to_json()['answer_boxes_px'])}")
    click.echo(f"wrote {out_dir}/ask.json, ask.png")


class _NoAnswer:
    """A predictor that answers nothing: checks an ask's inputs before the weights load."""

    name = "check"

    def predict(self, requests):
        from vlm3.predictors.base import Prediction

        return [Prediction(r.id, [""] * len(r.questions)) for r in requests]


def _image_task_command(verb: str, task: str, help_line: str) -> click.Command:
    """``vlm3 predict <verb> IMAGE``: a task asked about one image alone (its unit's ``predict_verb``),
    generated from the task registry; the image as the data engine prepares it for that task."""

    @click.command(verb, help=f"{help_line} IMAGE is a file or a folder of images; writes {verb}.json "
                              f"(one subfolder per image of a folder).")
    @click.argument("image", type=str)
    @_model_option
    def command(image, model, out_dir, calibration, focal_px, max_pixels, text_format, numbers, device,
                decoding) -> None:
        from vlm3.infer import api

        for flag, value in (("--focal-px", focal_px), ("--calibration", calibration)):
            if value is not None:
                raise click.UsageError(f"{flag} does not apply to `vlm3 predict {verb}`: the {task} task asks about "
                                       f"the image as given, downsized to --max-pixels")
        _check_out(out_dir)
        files = _images(image)
        given = {f: api.given_image(f) for f in files}  # every input read once, checked before the weights load
        s, numbers, source = _settings(model, task, None, max_pixels, text_format, numbers)
        m = _load(model, numbers, device, decoding)
        click.echo(f"asking {m.name}: the image as given, at most {s['max_pixels']:,} px, {s['text_format']} "
                   f"format, {numbers} numbers (from {source}; flags override)")
        n_ok = 0
        for f in files:
            res = api.predict_image_task(m.predictor, task, given[f], s["max_pixels"], s["text_format"])
            out = out_dir / Path(f).stem if len(files) > 1 else out_dir
            _mkdir(out)
            (out / f"{verb}.json").write_text(json.dumps({**_meta(m, s, numbers, source), "image": str(f),
                                                          **res.to_json()}, indent=1))
            n_ok += bool(res.ok)
            for line in res.lines():
                click.echo(f"{Path(f).name}: {line}" if len(files) > 1 else line)
        click.echo(f"{n_ok}/{len(files)} answers parsed; wrote {out_dir}/{'<image>/' if len(files) > 1 else ''}"
                   f"{verb}.json")
        _parsed_line(n_ok, len(files), s, numbers)

    return command


def _add_image_task_commands() -> None:
    """One ``vlm3 predict`` subcommand per task asked about one image alone (the task registry)."""
    from vlm3.tasks import get_task, image_task_verbs

    for verb, t in image_task_verbs().items():
        predict.add_command(_image_task_command(verb, t, get_task(t).predict_help))


_add_image_task_commands()
