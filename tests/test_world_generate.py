"""Generated scenes: boxes and visibility, camera placement, determinism, scene-format round trip, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from vlm3.world.cli import world
from vlm3.config import ConfigError, load, to_dict
from vlm3.world.config import WorldConfig, preset
from vlm3.world.generate import generate_scene, generate_world, scene_split
from vlm3.io.scenes import SceneFormatError, load_index, load_scene, scene_to_json, write_scene
from vlm3.world.scenes import COLOURS
from vlm3.world.views import camera_centre_m, sample_camera

TINY = preset("demo").with_overrides(long_side_px=(80, 112), focal_px=(60.0, 160.0), views_per_scene=3)


@pytest.fixture(scope="module")
def scenes() -> list:
    return [generate_scene(TINY, 5, k) for k in range(3)]


def test_boxes_contain_exactly_the_visible_pixels(scenes) -> None:
    for rec in scenes:
        things = {o.instance_id for o in rec.objects}
        for v in rec.views:
            listed = {vo.instance_id for vo in v.objects}
            present = set(np.unique(v.instance_id).tolist()) & things
            assert listed == present
            for vo in v.objects:
                ys, xs = np.nonzero(v.instance_id == vo.instance_id)
                x1, y1, x2, y2 = vo.box_xyxy_px
                assert (x1, y1, x2, y2) == (xs.min(), ys.min(), xs.max(), ys.max())
                assert vo.n_visible_px == len(xs)
                assert 0.0 < vo.visible_fraction <= 1.0


def test_objects_have_named_categories_colours_and_boxes(scenes) -> None:
    kinds = {rec.kind for rec in scenes}
    assert kinds <= {"room", "street"}
    for rec in scenes:
        assert rec.objects and rec.structure
        for o in rec.objects:
            assert o.category and o.colour in COLOURS
            assert o.size_m.shape == (3,) and np.all(o.size_m > 0)
            assert -180.0 <= o.yaw_deg <= 180.0


def test_cameras_are_in_free_space_and_not_facing_a_close_wall(scenes) -> None:
    for rec in scenes:
        lo = np.array([-np.inf, -np.inf, 0.0])
        for v in rec.views:
            C = camera_centre_m(v.T_cam_from_world)
            assert C[2] > lo[2]
            for o in rec.objects:  # outside every object's oriented box
                c, s = np.cos(np.radians(o.yaw_deg)), np.sin(np.radians(o.yaw_deg))
                d = C - o.centre_m
                local = np.array([c * d[0] + s * d[1], -s * d[0] + c * d[1], d[2]])
                assert np.any(np.abs(local) > o.size_m / 2)
            valid = v.depth_z_m[v.depth_z_m > 0]
            assert np.median(valid) > (0.6 if rec.kind == "room" else 2.0)


def test_intrinsics_vary_widely() -> None:
    cfg = preset("default")
    rng = np.random.default_rng(0)
    cams = [sample_camera(rng, cfg) for _ in range(300)]
    f = np.array([c.fx for c in cams])
    aspect = {round(c.width / c.height, 2) for c in cams}
    off = np.array([abs(c.cx - (c.width - 1) / 2) / c.width for c in cams])
    assert f.min() < 400 and f.max() > 1000 and len(aspect) >= 4
    assert np.all(f >= 250) and np.all(f <= 1500)
    assert off.max() > 0.05 and np.all(off <= cfg.principal_offset_frac + 1e-9)
    demo = [sample_camera(rng, preset("demo")) for _ in range(100)]
    assert all(320 <= max(c.width, c.height) <= 480 and 200 <= c.fx <= 500 for c in demo)


def test_determinism_for_a_seed() -> None:
    a, b, c = generate_scene(TINY, 9, 2), generate_scene(TINY, 9, 2), generate_scene(TINY, 10, 2)
    assert scene_to_json(a) == scene_to_json(b)
    for va, vb in zip(a.views, b.views):
        np.testing.assert_array_equal(va.image, vb.image)
        np.testing.assert_array_equal(va.depth_z_m, vb.depth_z_m)
    assert scene_to_json(a) != scene_to_json(c)


def test_scene_format_round_trip(scenes, tmp_path: Path) -> None:
    rec = scenes[0]
    d = write_scene(rec, tmp_path / rec.split / rec.scene_id)
    back = load_scene(d)
    assert scene_to_json(back) == scene_to_json(rec)
    for v, w in zip(rec.views, back.views):
        np.testing.assert_array_equal(v.image, w.image)
        np.testing.assert_array_equal(v.depth_z_m, w.depth_z_m)
        np.testing.assert_array_equal(v.instance_id, w.instance_id)
        np.testing.assert_array_equal(v.camera.K, w.camera.K)
        np.testing.assert_array_equal(v.T_cam_from_world, w.T_cam_from_world)
    meta = json.loads((d / "scene.json").read_text())
    assert meta["depth"]["kind"] == "z" and len(meta["views"][0]["T_cam_from_world"]) == 4
    light = load_scene(d, load_arrays=False)
    assert light.views[0].image is None and light.views[0].objects == rec.views[0].objects


def test_splits_are_by_scene_and_stable() -> None:
    fr = (0.8, 0.1, 0.1)
    splits = [scene_split(k, fr) for k in range(100)]
    assert splits.count("train") == 80 and splits.count("val") == 10 and splits.count("test") == 10
    assert [scene_split(k, fr) for k in range(10)] == splits[:10]


def test_config_round_trip_and_errors() -> None:
    cfg = preset("demo")
    assert load(WorldConfig, json.loads(json.dumps(to_dict(cfg)))) == cfg
    with pytest.raises(ConfigError, match="unknown world preset"):
        preset("huge")
    with pytest.raises(ConfigError, match="focal_px"):
        WorldConfig(focal_px=(500.0, 100.0))
    with pytest.raises(ConfigError, match="nope: unknown key"):
        load(WorldConfig, {"nope": 1})
    with pytest.raises(ConfigError, match=r"^focal_px: \(500.0, 100.0\) is not a range .* \(from default.yaml \+ overrides\)$"):
        load(WorldConfig, "default", ["focal_px=[500,100]"], kind="world")


def test_generate_world_resumes_and_refuses_other_settings(tmp_path: Path) -> None:
    out = tmp_path / "w"
    generate_world(out, 2, 3, TINY.with_overrides(views_per_scene=2), progress=False)
    index = load_index(out)
    assert [s["scene_id"] for s in index["scenes"]] == ["scene_00000", "scene_00001"]
    first = out / index["scenes"][0]["path"] / "scene.json"
    stamp = first.stat().st_mtime_ns
    generate_world(out, 3, 3, TINY.with_overrides(views_per_scene=2), progress=False)
    assert first.stat().st_mtime_ns == stamp and len(load_index(out)["scenes"]) == 3
    with pytest.raises(SceneFormatError, match="another seed or config"):
        generate_world(out, 3, 4, TINY.with_overrides(views_per_scene=2), progress=False)


def test_cli_generate_and_show(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "cli"
    res = runner.invoke(world, ["generate", "--scenes", "1", "--views", "2", "--seed", "1", "--out", str(out),
                                "--preset", "demo"])
    assert res.exit_code == 0, res.output
    rec = load_scene(out / load_index(out)["scenes"][0]["path"])
    assert len(rec.views) == 2 and all(320 <= max(v.image.shape[:2]) <= 480 for v in rec.views)
    assert load(WorldConfig, out / "config.yaml") == preset("demo").with_overrides(views_per_scene=2)
    bad = runner.invoke(world, ["generate", "--scenes", "1", "--out", str(tmp_path / "x"), "p_near_view=often"])
    assert bad.exit_code != 0 and "config error: p_near_view: 'often' is not a float" in bad.output
    assert "Traceback" not in bad.output and not (tmp_path / "x").exists()
    png = tmp_path / "sheet.png"
    res = runner.invoke(world, ["show", str(out), "--out", str(png)])
    assert res.exit_code == 0, res.output
    assert png.stat().st_size > 10_000
    res = runner.invoke(world, ["show", str(tmp_path), "--out", str(png)])
    assert res.exit_code != 0 and "index.json" in res.output and "Traceback" not in res.output
    res = runner.invoke(world, ["show", str(out), "--scene", "nope", "--out", str(png)])
    assert res.exit_code != 0 and "no scene 'nope'" in res.output
