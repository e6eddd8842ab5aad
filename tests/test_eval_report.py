"""The HTML report: self-contained page with tables and figures; checked in a real headless
chromium (Debian package) when /usr/bin/chromium exists."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from eval_helpers import corr_case, depth_case, object_case, pose_case
from vlm3.evaluate.report import build_report, fmt_seconds, fmt_value
from vlm3.evaluate.stages import predict_benchmark, score_run
from vlm3.predictors.oracle import OraclePredictor
from vlm3.tasks.asking import release_asking, write_asking
from vlm3.predictors.trivial import TrivialPredictor

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


MODEL_NAME = "vlm3-micro-test"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run as ``vlm3 eval`` leaves it: a model (here the trivial baseline standing in for a
    model folder named ``train``, with the vlm3.json and logs.jsonl training writes), two
    baselines, two benchmarks (the main one sorts last)."""
    d = tmp_path_factory.mktemp("demo") / "eval"
    d.mkdir()
    (d.parent / "stages.json").write_text(json.dumps({"world": {"seconds": 30.0, "runs": 1},
                                                      "train": {"seconds": 600.0, "runs": 2}}))
    rng = np.random.default_rng(0)
    cases = [depth_case(i, rng) for i in range(3)] + [corr_case(i, rng) for i in range(2)]
    cases += [pose_case(i, rng) for i in range(5)] + [object_case(i) for i in range(2)]
    for r in (c.request for c in cases):  # images on disk, as the data engine stores them
        paths = []
        for k, _ in enumerate(r.images):
            p = d / f"{r.id}_{k}.png"
            yy, xx = np.mgrid[0:224, 0:320]
            Image.fromarray(np.dstack([xx % 256, yy % 256, (xx + yy + 60 * k) % 256]).astype(np.uint8)).save(p)
            paths.append(p)
        r.images = paths
    model = TrivialPredictor()
    model.name = "train"
    for p in (model, OraclePredictor(), TrivialPredictor()):
        predict_benchmark(p, "synthetic", cases, d, progress=False)
        predict_benchmark(p, "aaa_other", cases[:3], d, progress=False)
    model_dir = d / "train"
    write_asking(model_dir, replace(release_asking(), name=MODEL_NAME, base_model="micro", steps=12))
    (model_dir / "logs.jsonl").write_text(json.dumps({"step": 12, "train_runtime": 65.4, "train_loss": 1.0}) + "\n")
    (d / "run.json").write_text(json.dumps({"model_name": "train", "model_path": str(model_dir),
                                            "primary_benchmark": "synthetic",
                                            "timing_s": {"predict:train:synthetic": 0.5}}))
    score_run(d)
    return d


@pytest.fixture(scope="module")
def built(run_dir):
    """The page built once for the tests that read it: (html path, numbers)."""
    out = run_dir / "report.html"
    return out, build_report([run_dir], out)


def test_fmt_seconds_and_values():
    assert [fmt_seconds(s) for s in (0.42, 42.2, 185, 3725)] == ["0.4 s", "42 s", "3 min 05 s", "1 h 02 min"]
    assert fmt_value("parse_rate", 0.5) == "50.0%" and fmt_value("epe_px", 3.14159) == "3.14"
    assert fmt_value("auc30", 71.234) == "71.2" and fmt_value("delta1", 0.87654) == "0.877"
    assert fmt_value("delta1", None) == "–"


def test_report_headline_first_with_the_models_real_name(run_dir, built):
    out, numbers = built
    page = out.read_text()
    # the main benchmark's headline table comes first, before any figure and before the other benchmark
    first = page.index("<table class='headline'>")
    assert first < page.index("<img") and page.index("Main benchmark: synthetic") < first
    assert page.index("Main benchmark: synthetic") < page.index("Benchmark: aaa_other")
    table = page[first:page.index("</table>", first)]
    rows = re.findall(r"<tr[^>]*><td><b>([^<]+)</b>", table)
    assert rows[0] == MODEL_NAME and rows[-1] == "oracle" and "trivial" in rows
    assert ">train<" not in table  # the folder name is not the model's name
    # formatted numbers: oracle's depth delta1 with 3 decimals, parse rates in %, no long floats
    assert "<td>1.000<br><small" in table and "100.0%" in table
    assert re.search(r"<small>(\d+)/\1</small>", table)  # each cell: its scored/given counts
    assert not re.search(r"\d\.\d{5,}", re.sub(r"data:image/png;base64,[^']*", "", page))
    # one sentence on what ran: name, base model, steps, training wall time
    lead = re.search(r"<p class='lead'>(.*?)</p>", page).group(1)
    assert MODEL_NAME in lead and "from micro" in lead and "12 training steps" in lead and "1 min 05 s" in lead
    assert "The whole demo took 10 min 30 s (world 30 s, train 10 min 00 s)" in lead
    # one line per headline metric on its meaning
    for words in ("δ1", "AbsRel", "EPE", "PCK@5px", "AUC@30", "rotation error", "qualitative accuracy",
                  "quantitative success", "parse rate"):
        assert words in page[page.index("<ul class='glossary'>"):], words
    assert numbers[str(run_dir)]["model"]["name"] == MODEL_NAME
    # figures: pose frustums with thumbnails and an object question with its boxes
    assert "cameras seen from above" in page and "one question with its regions drawn" in page


def test_pose_frustums_and_object_boxes_draw_from_records(run_dir):
    from vlm3.evaluate.stages import read_jsonl
    from vlm3.tasks import get_task
    from vlm3.tasks.object.figure import _boxes_of, fig_object_question
    from vlm3.tasks.pose.figure import fig_pose_frustums

    recs = read_jsonl(run_dir / "predictions" / "synthetic__train.jsonl")
    obj = [r for r in recs if r["task"] == "object"]
    o, p = get_task("object"), get_task("pose")
    assert _boxes_of(o, obj[0], 0) == [[10.0, 20.0, 300.0, 400.0], [500.0, 500.0, 900.0, 990.0]]  # read off the text
    assert fig_object_question(o, obj, "m").startswith("data:image/png;base64,")
    assert fig_pose_frustums(p, {"m": [r for r in recs if r["task"] == "pose"]}).startswith("data:image/png;base64,")
    assert fig_pose_frustums(p, {"m": []}) is None


def test_report_is_self_contained(run_dir, built):
    out, numbers = built
    page = out.read_text()
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert page.count("<img") >= 4 and page.count("data:image/png;base64,") == page.count("<img")
    assert "pose-error CDF" in page and "parse rates" in page and "<table>" in page
    rep = numbers[str(run_dir)]["report"]
    assert rep["model"] == "train" and rep["benchmark"] == "synthetic"
    assert rep["depth"]["baselines"]["oracle"]["delta1"] == 1.0 and "trivial" in rep["depth"]["baselines"]
    assert (run_dir / "report_numbers.json").is_file()


def _chromium() -> str | None:
    return shutil.which("chromium") or (str(CHROMIUM) if CHROMIUM.exists() else None)


@pytest.mark.browser
def test_report_renders_in_headless_chromium(run_dir, built, tmp_path):
    """The page in a real browser: every image decodes, the DOM has the headline table with the
    model's name and numbers, no console errors, and the screenshot is not blank."""
    chromium = _chromium()
    if chromium is None:
        pytest.skip("chromium not installed (apt-get install chromium)")
    out = built[0]
    # A probe copy: a script that counts decoded images into the title (the report itself has no scripts).
    probe = tmp_path / "probe.html"
    probe.write_text(out.read_text().replace(
        "</body>", "<script>window.addEventListener('load',()=>{const i=[...document.images];"
        "document.title='decoded:'+i.filter(x=>x.complete&&x.naturalWidth>0).length+'/'+i.length;});"
        "</script></body>"))
    dom = subprocess.run([chromium, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr",
                          "--v=0", "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
                         capture_output=True, text=True, timeout=120)
    m = re.search(r"<title>decoded:(\d+)/(\d+)</title>", dom.stdout)
    assert m, dom.stdout[:500] + dom.stderr[-2000:]
    assert int(m.group(1)) == int(m.group(2)) >= 6
    table = re.search(r'<table class="headline">(.*?)</table>', dom.stdout, re.S)
    assert table, "no headline table in the rendered DOM"
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.group(1), re.S)
    body = [r for r in rows if "<td>" in r]
    assert MODEL_NAME in body[0] and len(body) == 3
    for r in body:
        # a number, and under each metric its counts (scored/given)
        assert len(re.findall(r"<td>(?:<b>)?\d+\.\d+%?(?:</b>)?(?:<br><small[^>]*>\d+/\d+[†‡]*</small>)?</td>",
                              r)) >= 4, r
    shot = tmp_path / "shot.png"
    res = subprocess.run([chromium, *FLAGS, f"--user-data-dir={tmp_path / 'profile2'}", "--hide-scrollbars",
                          "--enable-logging=stderr", "--v=0", "--window-size=1400,2400",
                          f"--screenshot={shot}", out.as_uri()], capture_output=True, text=True, timeout=120)
    console = [ln for ln in (dom.stderr + res.stderr).splitlines() if "CONSOLE" in ln or "Uncaught" in ln]
    assert not console, console
    img = np.asarray(Image.open(shot).convert("L"), dtype=np.float64)
    assert img.shape == (2400, 1400) and img.std() > 10, "screenshot is blank"
    top = img[:600]  # the title, the sentence and the headline table are on the first screen
    assert (top < 128).mean() > 0.01, "first screen has no text"
    Path(run_dir / "screenshot.png").write_bytes(shot.read_bytes())
