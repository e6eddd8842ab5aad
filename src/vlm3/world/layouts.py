"""Procedural layouts: indoor rooms and outdoor streets built from named, coloured objects.

Rooms span x in [0, W], y in [0, D], z in [0, H] (floor, ceiling and four walls as planes)
with furniture (table, chair, cabinet, bed, sofa, shelf, lamp, plant, bin, box, ball, vase);
small items may stand on tables and cabinets. Streets run along world x: a ground plane
(road for |y| < road half-width, sidewalks beyond), building blocks on both sides, cars,
buses, poles, streetlights, trees, benches, bins and hydrants on the sidewalks, and a far
backdrop (an inward-facing cylinder of finite depth) with sky above it. Object local
frames: x = width, y = depth (front faces +y), z up from the object's base.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from vlm3.world.config import WorldConfig
from vlm3.world.scenes import (COLOURS, Light, Primitive, Scene, Texture, WorldObject, box, cylinder,
                               make_object, plane, sphere)
from vlm3.world.textures import random_texture, shade_variant

Parts = list[Primitive]
Builder = Callable[[np.random.Generator, str], Parts]


def _u(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    return float(rng.uniform(lo_hi[0], lo_hi[1]))


def _tex(rng: np.random.Generator, colour: str, **kw) -> Texture:
    return random_texture(rng, COLOURS[colour], **kw)


def _dark(rng: np.random.Generator) -> Texture:
    return Texture("noise", COLOURS["black"], COLOURS["grey"], 0.05, int(rng.integers(2**31 - 1)))


# ------------------------------------------------------------------ indoor furniture builders
def _table(rng, colour):
    w, d, h = _u(rng, (0.8, 1.8)), _u(rng, (0.6, 1.0)), _u(rng, (0.7, 0.78))
    top = _tex(rng, colour, kinds=("wood", "noise", "tiles"))
    legs = [box((sx * (w / 2 - 0.06), sy * (d / 2 - 0.06), (h - 0.04) / 2), (0.06, 0.06, h - 0.04), top)
            for sx in (-1, 1) for sy in (-1, 1)]
    return [box((0, 0, h - 0.02), (w, d, 0.04), top)] + legs


def _chair(rng, colour):
    s, h = _u(rng, (0.4, 0.5)), _u(rng, (0.42, 0.48))
    t = _tex(rng, colour)
    legs = [box((sx * (s / 2 - 0.03), sy * (s / 2 - 0.03), h / 2 - 0.02), (0.04, 0.04, h - 0.04), t)
            for sx in (-1, 1) for sy in (-1, 1)]
    back = box((0, -s / 2 + 0.025, h + 0.25), (s, 0.05, 0.5), t)
    return [box((0, 0, h - 0.02), (s, s, 0.05), t), back] + legs


def _cabinet(rng, colour):
    w, d, h = _u(rng, (0.5, 1.2)), _u(rng, (0.4, 0.6)), _u(rng, (0.8, 2.0))
    return [box((0, 0, h / 2), (w, d, h), _tex(rng, colour, kinds=("wood", "tiles", "stripes", "noise")))]


def _shelf(rng, colour):
    w, d, h = _u(rng, (0.7, 1.4)), _u(rng, (0.3, 0.4)), _u(rng, (1.4, 2.1))
    t = _tex(rng, colour, kinds=("wood", "noise"))
    parts = [box((sx * (w / 2 - 0.02), 0, h / 2), (0.04, d, h), t) for sx in (-1, 1)]
    parts.append(box((0, -d / 2 + 0.01, h / 2), (w, 0.02, h), t))
    n = int(rng.integers(3, 6))
    parts += [box((0, 0, (i + 0.5) * h / n), (w - 0.08, d, 0.03), t) for i in range(n)]
    return parts


def _bed(rng, colour):
    w, d = _u(rng, (1.0, 1.8)), _u(rng, (1.9, 2.1))
    frame = _tex(rng, "brown", kinds=("wood",))
    return [box((0, 0, 0.25), (w, d, 0.5), _tex(rng, colour)),
            box((0, -d / 2 - 0.04, 0.5), (w + 0.1, 0.08, 1.0), frame),
            box((0, -d / 2 + 0.3, 0.58), (w * 0.7, 0.4, 0.16), _tex(rng, "white", kinds=("noise", "dots")))]


def _sofa(rng, colour):
    w, d = _u(rng, (1.5, 2.3)), _u(rng, (0.8, 1.0))
    t = _tex(rng, colour, kinds=("noise", "stripes", "dots", "checker"))
    return [box((0, 0, 0.22), (w, d, 0.44), t), box((0, -d / 2 + 0.1, 0.62), (w, 0.2, 0.4), t),
            box((-w / 2 + 0.1, 0.05, 0.55), (0.2, d - 0.1, 0.25), t),
            box((w / 2 - 0.1, 0.05, 0.55), (0.2, d - 0.1, 0.25), t)]


def _lamp(rng, colour):
    h, r = _u(rng, (1.3, 1.7)), _u(rng, (0.13, 0.2))
    return [cylinder((0, 0, 0.02), 0.15, 0.04, _dark(rng)), cylinder((0, 0, h / 2), 0.02, h, _dark(rng)),
            sphere((0, 0, h + r * 0.8), r, _tex(rng, colour, kinds=("noise", "stripes")))]


def _plant(rng, colour):
    ph, pr, fr = _u(rng, (0.25, 0.45)), _u(rng, (0.12, 0.2)), _u(rng, (0.25, 0.45))
    return [sphere((0, 0, ph + fr * 0.8), fr, _tex(rng, colour, kinds=("noise", "dots"))),
            cylinder((0, 0, ph / 2), pr, ph, _tex(rng, "brown", kinds=("stripes", "noise")))]


def _bin(rng, colour):
    h, r = _u(rng, (0.3, 0.7)), _u(rng, (0.12, 0.25))
    return [cylinder((0, 0, h / 2), r, h, _tex(rng, colour, kinds=("stripes", "noise", "checker")))]


def _crate(rng, colour):
    s = _u(rng, (0.25, 0.6))
    return [box((0, 0, s / 2), (s, s * _u(rng, (0.7, 1.3)), s * _u(rng, (0.6, 1.0))),
                _tex(rng, colour, kinds=("checker", "tiles", "wood", "dots")))]


def _ball(rng, colour):
    r = _u(rng, (0.1, 0.3))
    return [sphere((0, 0, r), r, _tex(rng, colour, kinds=("checker", "stripes", "dots")))]


def _vase(rng, colour):
    h, r = _u(rng, (0.15, 0.35)), _u(rng, (0.05, 0.1))
    return [cylinder((0, 0, h / 2), r, h, _tex(rng, colour, kinds=("stripes", "dots", "checker")))]


# category -> (builder, colours, placement: "wall" | "free" | "top", weight)
ROOM_CATEGORIES: dict[str, tuple[Builder, tuple[str, ...], str, float]] = {
    "table": (_table, ("brown", "beige", "white", "black", "grey"), "free", 1.0),
    "chair": (_chair, tuple(COLOURS), "free", 1.5),
    "cabinet": (_cabinet, ("brown", "white", "grey", "beige", "blue", "green"), "wall", 1.0),
    "shelf": (_shelf, ("brown", "white", "black", "beige"), "wall", 0.6),
    "bed": (_bed, ("blue", "red", "green", "purple", "pink", "beige", "teal", "orange"), "wall", 0.5),
    "sofa": (_sofa, ("red", "blue", "green", "grey", "beige", "brown", "purple", "teal", "orange"), "wall", 0.7),
    "lamp": (_lamp, ("white", "yellow", "orange", "red", "blue", "green"), "free", 0.7),
    "plant": (_plant, ("green",), "free", 0.6),
    "bin": (_bin, ("grey", "black", "blue", "green", "red"), "free", 0.5),
    "box": (_crate, ("brown", "beige", "red", "blue", "yellow", "orange"), "free", 0.7),
    "ball": (_ball, ("red", "blue", "yellow", "green", "orange", "pink", "purple"), "free", 0.5),
    "vase": (_vase, ("white", "blue", "red", "teal", "yellow", "purple"), "top", 0.6),
}


def _structure(iid: int, category: str, colour: str, prim: Primitive) -> WorldObject:
    return WorldObject(iid, category, colour, np.zeros(3), np.zeros(3), 0.0, [prim], is_structure=True)


def _free_spot(rng, lo, hi, radius, placed, tries=40):
    for _ in range(tries):
        xy = rng.uniform(lo + radius, hi - radius)
        if all(np.hypot(*(xy - q)) > radius + r for q, r in placed):
            return xy
    return None


def make_room(rng: np.random.Generator, cfg: WorldConfig) -> Scene:
    """An indoor room with furniture (see module docstring)."""
    W, D, H = _u(rng, cfg.room_size_m), _u(rng, cfg.room_size_m), _u(rng, cfg.room_height_m)
    wall_c = str(rng.choice(["white", "beige", "grey", "blue", "green", "yellow", "pink"]))
    floor_c = str(rng.choice(["brown", "beige", "grey", "white"]))
    wall_t = _tex(rng, wall_c, kinds=("noise", "stripes", "tiles", "dots"), scale_m=(0.08, 0.4))
    objs = [_structure(0, "floor", floor_c, plane((0, 0, 1), 0.0, _tex(rng, floor_c, kinds=("wood", "tiles", "checker"), scale_m=(0.15, 0.5)))),
            _structure(1, "ceiling", "white", plane((0, 0, -1), -H, _tex(rng, "white", kinds=("noise", "tiles"), scale_m=(0.3, 0.6))))]
    for n, off in (((1, 0, 0), 0.0), ((-1, 0, 0), -W), ((0, 1, 0), 0.0), ((0, -1, 0), -D)):
        objs.append(_structure(len(objs), "wall", wall_c, plane(n, off, wall_t)))
    lo, hi = np.array([0.0, 0.0]), np.array([W, D])
    placed: list[tuple[np.ndarray, float]] = []
    tops: list[tuple[WorldObject, float]] = []
    cats = list(ROOM_CATEGORIES)
    weights = np.array([ROOM_CATEGORIES[c][3] for c in cats])
    n_target = int(rng.integers(cfg.room_objects[0], cfg.room_objects[1] + 1))
    for _ in range(n_target * 3):
        if len(objs) - 6 >= n_target:
            break
        cat = str(rng.choice(cats, p=weights / weights.sum()))
        builder, colours, where, _w = ROOM_CATEGORIES[cat]
        colour = str(rng.choice(colours))
        parts = builder(rng, colour)
        tmp = make_object(0, cat, colour, np.zeros(3), 0.0, parts)
        half = 0.5 * tmp.size_m
        radius = float(np.hypot(half[0], half[1]))
        if where == "top":
            if not tops:
                continue
            host, top_z = tops[int(rng.integers(len(tops)))]
            hx, hy = 0.5 * host.size_m[:2] - radius
            if hx <= 0 or hy <= 0:
                continue
            local = np.array([rng.uniform(-hx, hx), rng.uniform(-hy, hy), 0.0])
            yaw_h = np.radians(host.yaw_deg)
            c, s = np.cos(yaw_h), np.sin(yaw_h)
            origin = np.array([host.centre_m[0] + c * local[0] - s * local[1],
                               host.centre_m[1] + s * local[0] + c * local[1], top_z])
            objs.append(make_object(len(objs), cat, colour, origin, float(rng.uniform(0, 2 * np.pi)), parts))
            continue
        if where == "wall":
            side = int(rng.integers(4))
            yaw = [np.pi / 2 * 3, np.pi / 2, 0.0, np.pi][side]  # front faces into the room
            wall_len = D if side < 2 else W
            if wall_len < 2 * half[0] + 0.2:
                continue
            along = rng.uniform(0.1 + half[0], wall_len - 0.1 - half[0])
            gap = 0.02 + half[1] - tmp.centre_m[1]  # the object's back touches the wall
            xy = [np.array([gap, along]), np.array([W - gap, along]), np.array([along, gap]), np.array([along, D - gap])][side]
            if any(np.hypot(*(xy - q)) < radius + r for q, r in placed):
                continue
        else:
            yaw = float(rng.uniform(0, 2 * np.pi))
            xy = _free_spot(rng, lo + 0.1, hi - 0.1, radius, placed)
            if xy is None:
                continue
        obj = make_object(len(objs), cat, colour, np.array([xy[0], xy[1], 0.0]), yaw, parts)
        objs.append(obj)
        placed.append((xy, radius))
        if cat in ("table", "cabinet") and obj.size_m[2] < 1.3:
            tops.append((obj, float(obj.size_m[2])))
    light = Light("point", np.array([W * rng.uniform(0.3, 0.7), D * rng.uniform(0.3, 0.7), H - 0.2]),
                  ambient=float(rng.uniform(0.3, 0.45)), diffuse=float(rng.uniform(0.6, 0.8)))
    margin = 0.35
    scene = Scene("room", objs, light, sky=False, free_space_lo=np.array([margin, margin, cfg.camera_height_room_m[0]]),
                  free_space_hi=np.array([W - margin, D - margin, min(cfg.camera_height_room_m[1], H - 0.3)]))
    scene.focus_points = [o.centre_m for o in scene.things()] or [np.array([W / 2, D / 2, 0.8])]
    return scene


# ------------------------------------------------------------------ street builders
def _car(rng, colour):
    L, Wd = _u(rng, (3.8, 4.8)), _u(rng, (1.7, 1.95))
    body = _tex(rng, colour, kinds=("noise", "stripes"), scale_m=(0.2, 0.6))
    glass = Texture("stripes", (0.12, 0.16, 0.22), (0.35, 0.42, 0.5), 0.3, int(rng.integers(2**31 - 1)))
    wheels = [box((sx * (L / 2 - 0.8), sy * (Wd / 2 - 0.1), 0.32), (0.62, 0.22, 0.62), _dark(rng))
              for sx in (-1, 1) for sy in (-1, 1)]
    return [box((0, 0, 0.62), (L, Wd, 0.62), body),
            box((-0.15 * L, 0, 1.17), (0.52 * L, 0.88 * Wd, 0.5), glass)] + wheels


def _bus(rng, colour):
    L = _u(rng, (9.0, 12.0))
    return [box((0, 0, 1.75), (L, 2.5, 2.9), Texture("windows", COLOURS[colour], (0.15, 0.2, 0.3), 1.6, int(rng.integers(2**31 - 1)))),
            box((0, 0, 0.15), (L * 0.9, 2.3, 0.3), _dark(rng))]


def _pole(rng, colour):
    h = _u(rng, (3.0, 6.0))
    return [cylinder((0, 0, h / 2), _u(rng, (0.06, 0.12)), h, _tex(rng, colour, kinds=("stripes", "noise")))]


def _streetlight(rng, colour):
    h = _u(rng, (4.0, 7.0))
    return [cylinder((0, 0, h / 2), 0.09, h, _tex(rng, colour, kinds=("noise",))),
            sphere((0, 0, h + 0.2), 0.3, _tex(rng, "white", kinds=("noise",)))]


def _tree(rng, colour):
    h, r = _u(rng, (1.8, 3.5)), _u(rng, (1.0, 2.2))
    return [cylinder((0, 0, h / 2), _u(rng, (0.12, 0.25)), h, _tex(rng, "brown", kinds=("stripes", "wood"))),
            sphere((0, 0, h + 0.8 * r), r, _tex(rng, colour, kinds=("noise", "dots"), scale_m=(0.15, 0.5)))]


def _bench(rng, colour):
    w = _u(rng, (1.4, 2.0))
    t = _tex(rng, colour, kinds=("wood", "stripes"))
    return [box((0, 0, 0.45), (w, 0.45, 0.06), t), box((0, -0.2, 0.75), (w, 0.05, 0.4), t),
            box((-w / 2 + 0.1, 0, 0.21), (0.06, 0.4, 0.42), _dark(rng)),
            box((w / 2 - 0.1, 0, 0.21), (0.06, 0.4, 0.42), _dark(rng))]


def _hydrant(rng, colour):
    t = _tex(rng, colour, kinds=("noise", "stripes"))
    return [cylinder((0, 0, 0.3), 0.12, 0.6, t), sphere((0, 0, 0.6), 0.12, t)]


STREET_PROPS: dict[str, tuple[Builder, tuple[str, ...], float]] = {
    "pole": (_pole, ("grey", "black", "white"), 1.0),
    "streetlight": (_streetlight, ("grey", "black", "green"), 0.8),
    "tree": (_tree, ("green",), 1.2),
    "bench": (_bench, ("brown", "green", "black", "red"), 0.6),
    "bin": (_bin, ("grey", "black", "green", "blue"), 0.6),
    "hydrant": (_hydrant, ("red", "yellow"), 0.4),
    "box": (_crate, ("brown", "beige", "blue"), 0.3),
}


def make_street(rng: np.random.Generator, cfg: WorldConfig) -> Scene:
    """An outdoor street along world x with buildings, vehicles and props (see module docstring)."""
    L = cfg.street_half_length_m
    road, walk = _u(rng, cfg.road_half_width_m), _u(rng, cfg.sidewalk_width_m)
    side_c = str(rng.choice(["grey", "beige", "white"]))
    ground = Texture("street", COLOURS["grey"], shade_variant(COLOURS[side_c], 0.9), 1.0,
                     int(rng.integers(2**31 - 1)), param=road)
    R, Hb = cfg.backdrop_radius_m, cfg.backdrop_height_m
    back = Primitive("backdrop", np.array([0.0, 0.0, Hb / 2]), np.array([2 * R, 2 * R, Hb]),
                     Texture("windows", (0.55, 0.6, 0.68), (0.3, 0.36, 0.45), 6.0, int(rng.integers(2**31 - 1))))
    objs = [_structure(0, "ground", side_c, plane((0, 0, 1), 0.0, ground)), _structure(1, "backdrop", "grey", back)]
    for sgn in (-1.0, 1.0):
        x = -L - rng.uniform(0, 8)
        while x < L:
            w, d, h = _u(rng, (6, 18)), _u(rng, (8, 16)), _u(rng, (6, 30))
            colour = str(rng.choice(["grey", "beige", "brown", "white", "red", "blue", "yellow"]))
            tex = Texture("windows", COLOURS[colour], (0.14, 0.18, 0.26), _u(rng, (1.6, 2.8)), int(rng.integers(2**31 - 1)))
            y = sgn * (road + walk + d / 2 + rng.uniform(0, 1.5))
            yaw = float(np.radians(rng.uniform(-4, 4))) + (0.0 if sgn < 0 else np.pi)  # facade faces the road
            objs.append(make_object(len(objs), "building", colour, np.array([x + w / 2, y, 0.0]), yaw,
                                    [box((0, 0, h / 2), (w, d, h), tex)]))
            x += w + rng.uniform(0, 4)
    lanes: list[tuple[float, float, float]] = []
    for _ in range(int(rng.integers(cfg.street_cars[0], cfg.street_cars[1] + 1))):
        cat = "bus" if rng.random() < 0.12 else "car"
        colour = str(rng.choice(list(COLOURS)))
        parts = (_bus if cat == "bus" else _car)(rng, colour)
        length = max(abs(p.centre[0]) + p.size[0] / 2 for p in parts) * 2
        y = float(rng.choice([-road / 2, road / 2, -(road - 1.2), road - 1.2]))
        for _t in range(20):
            x = rng.uniform(-L + 8, L - 8)
            if all(abs(y - yy) > 1.0 or abs(x - xx) > (length + ll) / 2 + 1.0 for xx, yy, ll in lanes):
                lanes.append((x, y, length))
                yaw = (0.0 if y < 0 else np.pi) + np.radians(rng.normal(0, 3))
                objs.append(make_object(len(objs), cat, colour, np.array([x, y, 0.0]), yaw, parts))
                break
    cats = list(STREET_PROPS)
    weights = np.array([STREET_PROPS[c][2] for c in cats])
    placed: list[tuple[np.ndarray, float]] = []
    for _ in range(int(rng.integers(cfg.street_props[0], cfg.street_props[1] + 1))):
        cat = str(rng.choice(cats, p=weights / weights.sum()))
        builder, colours, _w = STREET_PROPS[cat]
        colour = str(rng.choice(colours))
        parts = builder(rng, colour)
        sgn = float(rng.choice([-1.0, 1.0]))
        edge = cat in ("pole", "streetlight", "tree", "hydrant")
        y = sgn * (road + (rng.uniform(0.3, 0.7) if edge else rng.uniform(0.6, walk - 0.4)))
        xy = np.array([rng.uniform(-L + 3, L - 3), y])
        if any(np.hypot(*(xy - q)) < 1.5 for q, _r in placed):
            continue
        placed.append((xy, 1.0))
        yaw = (0.0 if sgn > 0 else np.pi) + np.radians(rng.normal(0, 5))
        objs.append(make_object(len(objs), cat, colour, np.array([xy[0], xy[1], 0.0]), yaw, parts))
    elev, azim = np.radians(rng.uniform(30, 70)), rng.uniform(0, 2 * np.pi)
    sun = np.array([np.cos(elev) * np.cos(azim), np.cos(elev) * np.sin(azim), np.sin(elev)])
    scene = Scene("street", objs, Light("sun", sun, ambient=float(rng.uniform(0.35, 0.5)), diffuse=0.7), sky=True,
                  free_space_lo=np.array([-L + 5, -(road + walk - 0.3), cfg.camera_height_street_m[0]]),
                  free_space_hi=np.array([L - 5, road + walk - 0.3, cfg.camera_height_street_m[1]]))
    scene.focus_points = [o.centre_m for o in scene.things() if o.category != "building"] + \
        [o.centre_m * np.array([1, 1, 0.5]) for o in scene.things() if o.category == "building"]
    return scene


def make_scene(rng: np.random.Generator, cfg: WorldConfig, kind: str) -> Scene:
    """Dispatch to the layout of ``kind`` ("room" | "street")."""
    if kind == "room":
        return make_room(rng, cfg)
    if kind == "street":
        return make_street(rng, cfg)
    raise ValueError(f"unknown scene kind {kind!r}")
