"""`vlm3 app` (issue #31): the page driven in a real headless Chromium (Playwright on the
system chromium) against the real command serving a saved micro Qwen3-VL (random weights,
seeded; `--decoding template` so every depth answer parses and the point cloud is not
empty). One server and one browser for the module; each tab is used as a person would:
upload, click, read the answer off the page. Bad input shows one line on the page and no
traceback in the server's log. Also: `vlm3 --help` never imports Gradio, a missing extra
and a folder that is not a model are one line each.

Screenshots for the docs: VLM3_APP_SCREENSHOTS=docs pytest -m browser tests/test_app.py
writes docs/app_<tab>.png (palette PNGs).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from _train_helpers import write_micro_preset

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = os.environ.get("VLM3_APP_SCREENSHOTS")


def _chromium() -> str | None:
    return shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


def _need_browser() -> str:
    pytest.importorskip("gradio", reason="the app extra is not installed (pip install 'vlm3[app]')")
    pytest.importorskip("playwright", reason="playwright is not installed (pip install 'vlm3[app-test]')")
    chromium = _chromium()
    if chromium is None:
        pytest.skip("chromium not installed (apt-get install chromium)")
    return chromium


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A saved micro model (compact format, small focal and cap, like the CPU demo's) and the
    images a user uploads: two views of a procedural scene with their K, a 16-bit depth map."""
    d = tmp_path_factory.mktemp("app")
    from vlm3.app.examples import world_examples
    from vlm3.tasks.asking import TaskAsking, release_asking, write_asking
    from vlm3.model.factory import load_model_and_processor

    model, proc = load_model_and_processor(str(write_micro_preset(d)), min_pixels=1024)
    model.save_pretrained(d / "model")
    proc.save_pretrained(d / "model")
    base = release_asking()
    write_asking(d / "model", base.__class__({t: TaskAsking(150.0, 128 * 96, "compact") for t in base.tasks},
                                             numbers="greedy", name="vlm3-micro-app", steps=0, learnt_from="manifest"))
    ex = world_examples(d / "world")
    Image.fromarray((np.random.default_rng(0).random((120, 160)) * 5000).astype(np.uint16)).save(d / "depth16.png")
    return {"dir": d, "model": d / "model", "pair": ex.pairs[0], "depth16": d / "depth16.png"}


@pytest.fixture(scope="module")
def server(files):
    """`vlm3 app` as a user starts it, on a free port; yields (url, log path)."""
    _need_browser()
    port, log = _free_port(), files["dir"] / "server.log"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "vlm3.cli", "app", "--model", str(files["model"]), "--device",
                                 "cpu", "--decoding", "template", "--port", str(port), "--work-dir",
                                 str(files["dir"] / "work")], stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(240):
            if proc.poll() is not None:
                pytest.fail(f"vlm3 app exited: {log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"vlm3 app did not answer in 120 s: {log.read_text()[-2000:]}")
        yield url, log
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    """A fresh tab on the app; every request it makes is recorded (``page.urls``)."""
    url, _ = server
    pg = browser.new_page(viewport={"width": 1280, "height": 900})
    pg.urls = []
    pg.on("request", lambda r: pg.urls.append(r.url))
    pg.goto(url)
    pg.wait_for_selector("#depth_image")
    yield pg
    pg.close()


def _tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def _upload(page, elem: str, path) -> None:
    page.set_input_files(f"#{elem} input[type=file]", str(path))
    page.locator(f"#{elem} img").first.wait_for()


def _load_pair(page, tab: str, files) -> None:
    """Both views of the pair uploaded into ``tab`` and their intrinsics typed."""
    a, b, K1, K2 = files["pair"]
    _upload(page, f"{tab}_image1", a)
    _upload(page, f"{tab}_image2", b)
    page.fill(f"#{tab}_K1 textarea", K1)
    page.fill(f"#{tab}_K2 textarea", K2)


def _click_image(page, elem: str, fx: float, fy: float) -> None:
    img = page.locator(f"#{elem} img").first
    box = img.bounding_box()
    img.click(position={"x": box["width"] * fx, "y": box["height"] * fy})


def _text(page, elem: str, contains: str, timeout_s: float = 120) -> str:
    """The text of ``#elem`` once it contains ``contains`` (collapsed content included)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function("([id, s]) => { const e = document.getElementById(id); "
                               "return e && e.textContent.includes(s); }", arg=[elem, contains],
                               timeout=timeout_s * 1000)
    except PlaywrightTimeout:
        msgs = page.evaluate("[...document.querySelectorAll('.vlm3-msg')].map(e => e.textContent.trim())")
        shown = page.locator(f"#{elem}").text_content() if page.locator(f"#{elem}").count() else None
        raise AssertionError(f"#{elem} never contained {contains!r}: {shown!r}; messages {msgs}") from None
    return page.locator(f"#{elem}").text_content()


def _details(page, tab: str, contains: str) -> str:
    """The collapsed details of a tab, opened as a person would (a click on the accordion)."""
    if not page.locator(f"#{tab}_details").is_visible():
        page.locator(f"#{tab}_acc button").first.click()
    return _text(page, f"{tab}_details", contains)


def _shot(page, name: str) -> None:
    if SHOTS:
        path = Path(SHOTS) / f"app_{name}.png"
        page.evaluate("window.scrollTo(0, 0)")
        page.set_viewport_size({"width": 1280, "height": 1150})
        page.wait_for_timeout(1500)
        page.screenshot(path=str(path))
        im = Image.open(path).convert("RGB")
        im = im.resize((960, round(im.height * 960 / im.width)), Image.LANCZOS)
        im.quantize(colors=48).save(path, optimize=True)


@pytest.mark.browser
def test_depth_tab_click_grid_and_point_cloud(page, files, server):
    view, K = files["pair"][0], files["pair"][2]
    _upload(page, "depth_image", view)
    page.fill("#depth_K textarea", K)
    _click_image(page, "depth_image", 0.5, 0.5)
    _text(page, "depth_table", "depth (m)")
    assert page.locator("#depth_points textarea").input_value().count(",") == 1, "the click is not a point"
    row = page.locator("#depth_table tbody tr").first.inner_text().split("\t")
    assert len(row) == 5 and float(row[3]) > 0, row  # #, x, y, depth (m), raw answer: read off the page
    details = _details(page, "depth", "questions sent")
    assert "(1)" in details and "time" in details and '"focal_px": 150.0' in details
    assert "camera: given" in _text(page, "depth_summary", "answers parsed")
    # the dense grid: coloured map, downloads and a point cloud the 3D view loads
    page.fill("#depth_grid_size textarea", "8x6")
    page.click("#depth_grid_go")
    names = _text(page, "depth_files", "points.ply")
    for name in ("depth.npy", "depth_mm.png", "depth.json"):
        assert name in names
    assert "48/48 answers parsed" in _text(page, "depth_summary", "48/48")
    canvas = page.locator("#depth_3d canvas")
    canvas.wait_for(timeout=60_000)
    ply = [u for u in page.urls if u.endswith("points.ply")]
    assert ply, "the 3D view did not fetch the point cloud"
    with urllib.request.urlopen(ply[-1]) as r:
        n = int(re.search(rb"element vertex (\d+)", r.read()).group(1))
    assert n == 48
    page.wait_for_timeout(2000)  # let the viewer draw
    pixels = np.asarray(Image.open(__import__("io").BytesIO(canvas.screenshot())).convert("L"), float)
    assert pixels.std() > 1.0, "the 3D view is blank"
    _shot(page, "depth")
    assert not [u for u in page.urls if not u.startswith(server[0][:-1])], "the page fetched from the network"


@pytest.mark.browser
def test_correspondence_tab_click_and_grid(page, files):
    _tab(page, "Correspondence")
    _load_pair(page, "match", files)
    _click_image(page, "match_image1", 0.4, 0.6)
    table = _text(page, "match_table", "image 2 (x, y px)")
    assert page.locator("#match_table tbody tr").count() == 1, table
    page.locator("#match_picture img").first.wait_for()
    assert re.search(r"[01]/1 answers parsed", _text(page, "match_summary", "answers parsed"))
    page.fill("#match_grid_size textarea", "4x3")
    page.click("#match_grid_go")
    _text(page, "match_summary", "/12 answers parsed")
    assert page.locator("#match_table tbody tr").count() == 12
    _shot(page, "correspondence")


@pytest.mark.browser
def test_pose_tab_four_answers_and_frustums(page, files):
    _tab(page, "Pose")
    _load_pair(page, "pose", files)
    page.click("#pose_go")
    answers = _text(page, "pose_answers", "distance")
    assert page.locator("#pose_answers tbody tr").count() == 4, answers
    details = _details(page, "pose", "questions sent (4)")
    assert "raw answers" in details
    if "R_cam0_from_cam1" in answers:  # the answers parsed to a rotation: the frustums are drawn
        page.locator("#pose_picture img").first.wait_for()
    _shot(page, "pose")


@pytest.mark.browser
def test_object_tab_drawn_boxes_and_template(page, files):
    _tab(page, "Object")
    _upload(page, "object_image", files["pair"][0])
    for fx, fy in ((0.35, 0.42), (0.48, 0.58), (0.52, 0.42), (0.65, 0.58)):  # two boxes, two clicks each
        _click_image(page, "object_image", fx, fy)
        page.wait_for_timeout(400)
    assert page.locator("#object_boxes textarea").input_value().count(";") == 1
    page.locator("#object_template input").click()
    page.get_by_role("option", name=re.compile(r"\bbig: ")).first.click()
    page.wait_for_function("document.querySelector('#object_question textarea').value.includes('[B]')")
    page.click("#object_go")
    _text(page, "object_answer", "answer")
    details = _details(page, "object", "questions sent (1)")
    assert "region (" in details and "[A]" not in details.split("raw answers")[0]
    page.locator("#object_picture img").first.wait_for()
    _shot(page, "object")


@pytest.mark.browser
def test_calibration_tab_field_of_view(page, files):
    _tab(page, "Calibration")
    _upload(page, "calibration_image", files["pair"][0])
    page.fill("#calibration_K textarea", files["pair"][2])
    page.click("#calibration_go")
    assert re.search(r"[01]/1 answers parsed", _text(page, "calibration_summary", "answers parsed"))
    answer = page.locator("#calibration_answer").text_content()
    assert "field of view" in answer, answer  # the random model's answer: a field of view or why none
    assert "raw answers" in _details(page, "calibration", "questions sent (1)")
    _shot(page, "calibration")


@pytest.mark.browser
def test_bad_input_is_one_line_on_the_page(page, files, server):
    page.click("#depth_grid_go")  # no image
    assert "no image" in _text(page, "depth_msg", "⚠")
    _upload(page, "depth_image", files["depth16"])  # a 16-bit depth map given as the photo
    page.click("#depth_grid_go")
    assert "depth map" in _text(page, "depth_msg", "single-channel")
    _upload(page, "depth_image", files["pair"][0])
    page.fill("#depth_K textarea", "500,500,abc")  # intrinsics that do not parse
    page.click("#depth_grid_go")
    msg = _text(page, "depth_msg", "intrinsics")
    assert msg.strip().count("\n") == 0 and "4 numbers" in msg
    _tab(page, "Pose")
    _upload(page, "pose_image1", files["pair"][0])  # one of two images
    page.click("#pose_go")
    assert "image 2 is missing" in _text(page, "pose_msg", "⚠")
    log = server[1].read_text()
    assert "Traceback" not in log, log[-3000:]


def test_folder_that_is_not_a_model_is_one_line(tmp_path):
    pytest.importorskip("gradio", reason="the app extra is not installed (pip install 'vlm3[app]')")
    from vlm3.cli import main

    (tmp_path / "notes.txt").write_text("not a model")
    for model in (tmp_path, tmp_path / "missing"):
        res = CliRunner().invoke(main, ["app", "--model", str(model)])
        assert res.exit_code == 2 and res.exception is None or isinstance(res.exception, SystemExit)
        lines = [ln for ln in res.output.splitlines() if ln.startswith("Error")]
        assert len(lines) == 1 and "Traceback" not in res.output, res.output


def test_missing_extra_says_how_to_install(monkeypatch):
    import importlib.util

    import vlm3.app.cli as app_cli

    real = importlib.util.find_spec
    monkeypatch.setattr(app_cli.importlib.util, "find_spec", lambda n, *a: None if n == "gradio" else real(n, *a))
    res = CliRunner().invoke(app_cli.app, ["--model", "tiny"])
    assert res.exit_code == 1 and "pip install 'vlm3[app]'" in res.output and res.output.count("\n") == 1


def test_help_never_imports_gradio():
    code = ("import sys\nfrom vlm3.cli import main\nfor args in (['--help'], ['app', '--help'], ['predict', '--help']):\n"
            "    try:\n        main(args)\n    except SystemExit:\n        pass\n"
            "assert 'gradio' not in sys.modules, 'gradio imported'\nprint('ok')")
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0 and res.stdout.strip().endswith("ok"), res.stderr[-2000:]
    assert "app" in res.stdout and "Serve an interactive page" in res.stdout
