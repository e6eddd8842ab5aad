"""Example inputs for the page, made at start: views of one procedural scene (``vlm3.world``,
a few hundred pixels, with their exact intrinsics and object boxes) and, when the real sample
data is present (``$VLM3_REAL_DATA``, else ``../shared/data/real``), its frames (NYU, KITTI,
ScanNet pairs) with their intrinsics.

``Examples`` holds rows ready for the page's example tables: depth [image, K], pairs
[image 1, image 2, K1, K2], objects [image, boxes, question]; images are PNG/JPEG paths,
K is ``"fx,fy,cx,cy"`` in pixels of that image, boxes ``"x1,y1,x2,y2; ..."`` in pixels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np


@dataclass
class Examples:
    """Rows for the page's example tables (see the module docstring) and where they came from."""

    depth: list[list[str]] = field(default_factory=list)
    pairs: list[list[str]] = field(default_factory=list)
    objects: list[list[str]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)


def _k_text(fx: float, fy: float, cx: float, cy: float) -> str:
    return f"{fx:.2f},{fy:.2f},{cx:.2f},{cy:.2f}"


def world_examples(out: Path, seed: int = 0, views: int = 3) -> Examples:
    """Render scene 0 of the ``demo`` world preset with ``seed`` (``views`` views, well under a
    second) into ``out``: each view for depth, the most covisible pair, and the two largest
    visible objects of view 0 as boxes A and B."""
    from PIL import Image

    from vlm3.world import preset
    from vlm3.world.generate import generate_scene

    out.mkdir(parents=True, exist_ok=True)
    rec = generate_scene(replace(preset("demo"), views_per_scene=views), seed, 0)
    paths, ks = [], []
    for v in rec.views:
        p = out / f"world_{rec.kind}_view{v.index}.png"
        Image.fromarray(v.image).save(p)
        paths.append(str(p))
        ks.append(_k_text(v.camera.fx, v.camera.fy, v.camera.cx, v.camera.cy))
    ex = Examples(depth=[[p, k] for p, k in zip(paths, ks)], sources=[f"procedural world ({rec.kind}, seed {seed})"])
    if rec.pairs:
        best = max(rec.pairs, key=lambda pr: pr.covisibility)
        ex.pairs.append([paths[best.i], paths[best.j], ks[best.i], ks[best.j]])
    objs = sorted(rec.views[0].objects, key=lambda o: -o.n_visible_px)[:2]
    if len(objs) == 2:
        boxes = "; ".join(",".join(str(int(v)) for v in o.box_xyxy_px) for o in objs)
        ex.objects.append([paths[0], boxes, "Is [A] bigger than [B]?"])
    return ex


def real_examples(root: Path) -> Examples:
    """The first frame of each RGB-D sample folder (``<name>/meta.json`` with
    ``intrinsics_fx_fy_cx_cy`` and ``frames[].rgb``) and the first ScanNet pair
    (``scannet_pairs/pairs_with_gt.txt``: names, rotations, K0, K1 row-major, ...). Folders
    that are missing or unreadable are left out and named in ``sources``."""
    ex = Examples()
    for meta in sorted(root.glob("*/meta.json")):
        try:
            m = json.loads(meta.read_text())
            rgb = meta.parent / m["frames"][0]["rgb"]
            k = _k_text(*[float(v) for v in m["intrinsics_fx_fy_cx_cy"]])
        except (OSError, ValueError, KeyError, IndexError, TypeError) as err:
            ex.sources.append(f"{meta.parent.name}: left out ({type(err).__name__})")
            continue
        if rgb.is_file():
            ex.depth.append([str(rgb), k])
            ex.sources.append(f"real: {meta.parent.name}")
    pairs = root / "scannet_pairs" / "pairs_with_gt.txt"
    if pairs.is_file():
        try:
            f = pairs.read_text().split("\n")[0].split()
            K0, K1 = (np.array([float(v) for v in f[i:i + 9]]).reshape(3, 3) for i in (4, 13))
            a, b = (pairs.parent / "images" / f[0], pairs.parent / "images" / f[1])
            if a.is_file() and b.is_file():
                ex.pairs.append([str(a), str(b), _k_text(K0[0, 0], K0[1, 1], K0[0, 2], K0[1, 2]),
                                 _k_text(K1[0, 0], K1[1, 1], K1[0, 2], K1[1, 2])])
                ex.sources.append("real: scannet_pairs")
        except (OSError, ValueError, IndexError) as err:
            ex.sources.append(f"scannet_pairs: left out ({type(err).__name__})")
    return ex


def all_examples(out: Path, real: Path | None) -> Examples:
    """World examples, then the real ones when ``real`` is a folder."""
    ex = world_examples(out)
    if real is not None:
        r = real_examples(real)
        ex = Examples(ex.depth + r.depth, ex.pairs + r.pairs, ex.objects + r.objects, ex.sources + r.sources)
    return ex
