"""``vlm3 app``: serve the interactive page for a model on this machine.

The model is checked and loaded before the page starts (a folder that is not a model ends
the command with one line); Gradio is imported only here, when the command runs, so ``vlm3
--help`` and every other command never import it, and a missing ``vlm3[app]`` extra is one
line saying how to install it. Analytics are off and the page fetches nothing from the
network (system fonts; examples made at start from the procedural world).
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path

import click

from vlm3.errors import Command
from vlm3.predictors.base import DECODINGS

INSTALL_HINT = "`vlm3 app` needs Gradio: pip install 'vlm3[app]'"


def _load(model: str, device: str, decoding: str):
    """(Model, device) loaded like ``vlm3 predict`` does (an ``InputError`` is one line: the ``Command``)."""
    from vlm3.infer import api
    from vlm3.predictors import resolve_device

    api.check_model_spec(model)
    dev = resolve_device(device)
    return api.load(model, device=dev, decoding=decoding), dev


@click.command("app", cls=Command)
@click.option("--model", "model", required=True,
              help="training output or checkpoint directory (Qwen3-VL), cached hub id, or a random-weight preset")
@click.option("--device", default="auto", show_default=True,
              help="where the model runs: auto (the GPU when there is one), cpu, cuda or cuda:N")
@click.option("--port", type=click.IntRange(0, 65535), default=7860, show_default=True,
              help="local port of the page (0: any free port)")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="address to listen on (127.0.0.1: this machine only)")
@click.option("--decoding", type=click.Choice(DECODINGS), default="exact", show_default=True,
              help="how answers are decoded (as `vlm3 predict --decoding`)")
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="folder for the examples and the files the page writes [default: a new temporary folder]")
def app(model: str, device: str, port: int, host: str, decoding: str, work_dir: Path | None) -> None:
    """Serve an interactive page for the five tasks (depth, correspondence, pose, object, calibration)."""
    if importlib.util.find_spec("gradio") is None:
        raise click.ClickException(INSTALL_HINT)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    if work_dir is not None:
        from vlm3.io.paths import OutputPathError, check_out_dir

        try:
            check_out_dir(work_dir, "--work-dir")  # the checks every command makes of its output folder
            work_dir.mkdir(parents=True, exist_ok=True)
        except OutputPathError as err:
            raise click.BadParameter(str(err), param_hint="--work-dir") from None
        except OSError as err:  # no permission, a full disk: one line, before the model loads
            raise click.BadParameter(f"cannot use {str(work_dir)[:120]} as a folder: {err.strerror or err}",
                                     param_hint="--work-dir") from None
    m, dev = _load(model, device, decoding)
    if m.random_weights:
        click.echo(f"warning: --model {model} is a preset with RANDOM weights: the answers are noise", err=True)
    serve(m, model, dev, port, host, work_dir)


def serve(m, model: str, device: str, port: int, host: str, work_dir: Path | None) -> None:
    """Build the page for the loaded model ``m`` (a ``vlm3.infer.api.Model``) and serve it on
    ``host:port`` until interrupted."""
    from vlm3.app.examples import all_examples
    from vlm3.io.paths import real_data_root
    from vlm3.app.page import build_page, theme
    from vlm3.app.session import Session

    root = Path(work_dir) if work_dir is not None else Path(tempfile.mkdtemp(prefix="vlm3-app-"))
    model_dir = Path(model) if Path(model).is_dir() else None
    session = Session(m, model_dir, root / "outputs")
    real = real_data_root()
    examples = all_examples(root / "examples", real)
    page = build_page(session, examples, device)
    allowed = [str(root)] + ([str(real)] if real is not None else [])
    click.echo(f"vlm3 app: {m.name} on {device}; examples: {', '.join(examples.sources)}; files in {root}")
    try:
        page.queue(default_concurrency_limit=1).launch(
            server_name=host, server_port=port or None, share=False, inbrowser=False, quiet=True,
            allowed_paths=allowed, theme=theme(), footer_links=[], show_error=False)
    except OSError as err:
        raise click.ClickException(f"cannot serve on {host}:{port}: {str(err).splitlines()[0]}") from None
