"""``vlm3 predict ...``: one subcommand per task of the registry (depth, match, pose, ask, calibrate),
generated from what each task unit declares (``Task.predict_verb``, ``predict_inputs``, ...).

Every subcommand loads a model (``--model``: a training output or checkpoint directory, a
cached hub id, ``vllm:DIR``, or a random-weight preset such as ``tiny``) together with the
settings it must be asked with (its ``vlm3.json``: focal per task, image cap, text format,
number decoding, the preprocessing of a view; ``vlm3.tasks.asking``). Flags override those
settings; without the file the release settings apply (a model folder without one is a published
checkpoint: the release's resize, as ``vlm3 eval``). Each image is read once and standardised by
the data engine's own function; the task unit writes the questions, its result type the files
and lines; results are in original-image pixels. Bad input ends with one line that says what
to fix, before any weights are loaded; a random-weight model, guessed intrinsics and a run
that parses nothing are said in one line each.
"""

from __future__ import annotations

from pathlib import Path

import click

from vlm3.errors import Group
from vlm3.predictors.base import DECODINGS
from vlm3.protocol import TEXT_FORMATS
from vlm3.tasks.asking import NUMBER_MODES as NUMBER_DECODING  # not train.small's: that one imports torch

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def _model_params() -> list[click.Parameter]:
    """The options every ``vlm3 predict`` subcommand shares (the model, its settings, the output)."""
    return [
        click.Option(["--model", "model"], default="tiny", show_default=True,
                     help="training output or checkpoint directory (Qwen3-VL), cached hub id, vllm:DIR, "
                          "or a random-weight preset (tiny)"),
        click.Option(["--out", "out_dir"], type=click.Path(file_okay=False, path_type=Path),
                     default=Path("predict_out"), show_default=True, help="folder for PNG / PLY / NPY / JSON outputs"),
        click.Option(["--calibration"], default=None,
                     help="policy for missing intrinsics: none | fov<deg> (stated guess) | anycalib"),
        click.Option(["--focal-px"], type=float, default=None,
                     help="canonical focal length (px) images are resampled to "
                          "[default: the model's vlm3.json, else 1000; pose 750]"),
        click.Option(["--max-pixels"], type=int, default=None,
                     help="pixel budget of the image the model sees (area, px) "
                          "[default: the model's vlm3.json, else 1310720; pose 5529600]"),
        click.Option(["--text-format"], type=click.Choice(TEXT_FORMATS), default=None,
                     help="prompt format the model was trained on (compact: the CPU demo's vlm3-compact-v3) "
                          "[default: the model's vlm3.json, else release]"),
        click.Option(["--numbers"], type=click.Choice(NUMBER_DECODING), default=None,
                     help="how numbers are decoded: greedy (the paper's protocol) or the median of the model's "
                          "distribution (fixed-width compact answers; transformers backend only) "
                          "[default: the model's vlm3.json, else greedy]"),
        click.Option(["--decoding"], type=click.Choice(DECODINGS), default="exact", show_default=True,
                     help="exact: greedy answers, the answer template fed as a checked draft (many points per "
                          "image in a few batched forwards); template: the template forced, only the numbers "
                          "decoded (fastest; greedy only where the model writes it); generate: plain generate"),
        click.Option(["--device"], default="auto", show_default=True,
                     help="where the model runs: auto (the GPU when there is one), cpu, cuda or cuda:N"),
    ]


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


#: what each preprocessing does to the image, in the "asking" line (project: the pixel budget)
_SHOWN = {"release": "the release's resize (uncropped)", "pad": "the whole image padded to the 32-px grid"}


def _say_asked(name: str, unit, s: dict, numbers: str, source: str) -> None:
    if unit.focal_px is None:  # asked on the image as given (calibration)
        seen = f"the image as given, at most {s['max_pixels']:,} px"
    else:
        seen = f"focal {s['focal_px']:g} px, " + _SHOWN.get(s["preprocessing"],
                                                            f"at most {s['max_pixels']:,} px")
    click.echo(f"asking {name}: {seen}, {s['text_format']} format, {numbers} numbers (from {source}; flags override)")


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
    """Ask a model about your images: one subcommand per task of the registry (depth, match, pose,
    ask, calibrate)."""


def _run_task(verb: str, task: str, images: list[str], intrinsics: list[str | None], inputs: dict, model: str,
              out_dir: Path, calibration: str | None, focal_px: float | None, max_pixels: int | None,
              text_format: str | None, numbers: str | None, decoding: str, device: str) -> None:
    """``vlm3 predict <verb>``: every input read once and checked, then the model loaded and asked
    (one image set at a time, a folder's with a progress bar), the unit's files and lines written."""
    from vlm3.infer import api
    from vlm3.tasks import get_task

    unit = get_task(task)
    if unit.focal_px is None:
        for flag, value in (("--focal-px", focal_px), ("--calibration", calibration)):
            if value is not None:
                raise click.UsageError(f"{flag} does not apply to `vlm3 predict {verb}`: the {task} task asks about "
                                       f"the image as given, downsized to --max-pixels")
    inputs = unit.predict_check(inputs)
    _check_out(out_dir)
    sets = [[f] for f in _images(images[0])] if unit.predict_folder else [images]
    for k in intrinsics:
        api.parse_intrinsics(k)
    s, numbers, source = _settings(model, task, focal_px, max_pixels, text_format, numbers)
    if unit.focal_px is None:  # asked on the image as given: no focal, no preprocessing of a view
        s.pop("preprocessing")
    asked = [api.prepare_task(task, files, inputs, intrinsics, calibration, **s) for files in sets]
    m = _load(model, numbers, device, decoding)
    from tqdm import tqdm

    _say_asked(m.name, unit, s, numbers, source)
    many = len(sets) > 1
    n_ok = n = 0
    names: list[str] = []
    for files, a in tqdm(list(zip(sets, asked)), desc=verb, unit="image", disable=not many):
        res = api.answer(m.predictor, a)
        out = out_dir / Path(files[0]).stem if many else out_dir
        _mkdir(out)
        names = res.write(out, a.images, _meta(m, s, numbers, source))
        _notes(res.notes)
        for line in res.lines(of_many=many):
            click.echo(f"{Path(files[0]).name}: {line}" if many else line)
        for line in res.warnings():
            click.echo(line, err=True)
        count = res.parsed_count()
        if count is not None:
            n_ok, n = n_ok + count[0], n + count[1]
    wrote = f"wrote {out_dir}/{'<image>/' if many else ''}{', '.join(names)}"
    click.echo(f"{n_ok}/{n} answers parsed; {wrote}" if unit.predict_counted else wrote)
    _parsed_line(n_ok, n, s, numbers)


def _task_command(verb: str, task: str) -> click.Command:
    """``vlm3 predict <verb>`` of a task, from what its unit declares: its images (IMAGE or IMAGE1
    IMAGE2 ...; a folder where ``predict_folder``), its input arguments, its required options, one
    ``--intrinsics`` per image, its other options, then the shared model options."""
    from vlm3.infer.queries import image_names, intrinsics_names
    from vlm3.tasks import get_task

    unit = get_task(task)
    images, ks = image_names(unit), intrinsics_names(unit)
    args = [i for i in unit.predict_inputs if i.flag is None]
    options = [i for i in unit.predict_inputs if i.flag is not None]
    flags = {k: "--intrinsics" + k[1:] for k in ks}
    params: list[click.Parameter] = [click.Argument([n], type=str) for n in images]
    params += [click.Argument([i.name], type=str) for i in args]

    def option(i) -> click.Option:
        return click.Option([i.flag, i.name], multiple=i.multiple, required=i.required and not i.multiple,
                            default=None, help=i.help)

    params += [option(i) for i in options if i.required]
    for j, k in enumerate(ks):
        whose = images[j].upper()
        extra = (" (every image of a folder)" if unit.predict_folder else "") if len(ks) == 1 else \
            (" (default: --calibration)" if j == 0 else "")
        params.append(click.Option([flags[k], k], default=None, help=f"fx,fy,cx,cy in pixels of {whose}{extra}"))
    params += [option(i) for i in options if not i.required]
    params += _model_params()

    def callback(**kw) -> None:
        inputs = {i.name: kw.pop(i.name) for i in unit.predict_inputs}
        _run_task(verb, task, [kw.pop(n) for n in images], [kw.pop(k) for k in ks], inputs, **kw)

    return click.Command(verb, params=params, callback=callback, help=unit.predict_help)


def _add_task_commands() -> None:
    """One ``vlm3 predict`` subcommand per task of the registry with a ``predict_verb``."""
    from vlm3.tasks import predict_verbs

    for verb, t in predict_verbs().items():
        predict.add_command(_task_command(verb, t))


_add_task_commands()
