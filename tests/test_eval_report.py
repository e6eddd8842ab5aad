"""The HTML report: self-contained page with tables and figures; checked in a real headless
chromium (Debian package) when /usr/bin/chromium exists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from eval_helpers import corr_case, depth_case, object_case, pose_case
from vlm3.evaluate.report import build_report
from vlm3.evaluate.stages import predict_benchmark, score_run
from vlm3.predictors.oracle import OraclePredictor
from vlm3.predictors.trivial import TrivialPredictor

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("run")
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
    for p in (OraclePredictor(), TrivialPredictor()):
        predict_benchmark(p, "synthetic", cases, d, progress=False)
    score_run(d, model_name="oracle")
    return d


def test_report_is_self_contained(run_dir):
    out = run_dir / "report.html"
    numbers = build_report([run_dir], out)
    page = out.read_text()
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert page.count("<img") >= 4 and page.count("data:image/png;base64,") == page.count("<img")
    assert "pose-error CDF" in page and "parse rates" in page and "<table>" in page
    rep = numbers[str(run_dir)]["report"]
    assert rep["depth"]["delta1"] == 1.0 and "trivial" in rep["depth"]["baselines"]
    assert (run_dir / "report_numbers.json").is_file()


@pytest.mark.browser
def test_report_renders_in_headless_chromium(run_dir, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium not installed (apt-get install chromium)")
    out = run_dir / "report.html"
    build_report([run_dir], out)
    # A probe copy: a script that counts decoded images into the title (the report itself has no scripts).
    probe = tmp_path / "probe.html"
    probe.write_text(out.read_text().replace(
        "</body>", "<script>window.addEventListener('load',()=>{const i=[...document.images];"
        "document.title='decoded:'+i.filter(x=>x.complete&&x.naturalWidth>0).length+'/'+i.length;});"
        "</script></body>"))
    profile = tmp_path / "profile"
    dom = subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
                          "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
                         capture_output=True, text=True, timeout=120)
    m = re.search(r"<title>decoded:(\d+)/(\d+)</title>", dom.stdout)
    assert m, dom.stdout[:500] + dom.stderr[-2000:]
    assert int(m.group(1)) == int(m.group(2)) >= 4
    shot = tmp_path / "shot.png"
    res = subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={tmp_path / 'profile2'}",
                          "--enable-logging=stderr", "--v=0", "--window-size=1400,2400",
                          f"--screenshot={shot}", out.as_uri()], capture_output=True, text=True, timeout=120)
    console = [ln for ln in (dom.stderr + res.stderr).splitlines() if "CONSOLE" in ln or "Uncaught" in ln]
    assert not console, console
    img = np.asarray(Image.open(shot).convert("L"), dtype=np.float64)
    assert img.std() > 10, "screenshot is blank"
    Path(run_dir / "screenshot.png").write_bytes(shot.read_bytes())
