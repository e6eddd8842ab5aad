"""The in-memory scene model: primitives, textures, objects, lights, and the colour palette.

World frame: right-handed, metres, **z up**; the floor / ground is the plane z = 0.
A ``Scene`` is a list of ``WorldObject`` (structure such as floor, walls, ground and the
far backdrop, and things such as chairs or cars); each object is made of analytic
``Primitive`` parts that the ray caster (``vlm3.world.render``) intersects exactly:

- ``plane``: points X with ``normal . X = offset`` (unbounded; rooms are closed by 6 planes)
- ``box``: centre, full extents (sx, sy, sz) along its local axes, rotated by ``yaw`` about z
- ``sphere``: centre, radius = size[0] / 2
- ``cylinder``: vertical, centre at mid-height, radius = size[0] / 2, height = size[2]
- ``backdrop``: an inward-facing vertical cylinder (seen from inside, no caps)

Object-level ground truth (category, colour name, 3D centre, size along the object's local
axes, yaw) is that of the object's oriented bounding box over its parts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PRIMITIVE_KINDS = ("plane", "box", "sphere", "cylinder", "backdrop")

#: colour name -> linear RGB albedo in [0, 1]
COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (0.78, 0.12, 0.10),
    "orange": (0.90, 0.45, 0.08),
    "yellow": (0.92, 0.80, 0.15),
    "green": (0.18, 0.58, 0.20),
    "teal": (0.10, 0.55, 0.55),
    "blue": (0.12, 0.28, 0.78),
    "purple": (0.48, 0.18, 0.62),
    "pink": (0.92, 0.52, 0.68),
    "brown": (0.45, 0.27, 0.12),
    "beige": (0.85, 0.77, 0.60),
    "white": (0.90, 0.90, 0.88),
    "grey": (0.50, 0.50, 0.50),
    "black": (0.10, 0.10, 0.11),
}

STRUCTURE_CATEGORIES = ("floor", "wall", "ceiling", "ground", "backdrop")
TEXTURE_KINDS = ("noise", "checker", "stripes", "tiles", "wood", "dots", "windows", "street", "plain")


@dataclass(frozen=True)
class Texture:
    """A procedural albedo pattern evaluated on surface coordinates (u, v) in metres.

    ``colour`` is the base albedo (the object's named colour), ``colour2`` the secondary
    one; ``scale_m`` the pattern period; ``seed`` decorrelates noise between surfaces;
    ``param`` is kind-specific (road half-width for ``street``, stripe angle, ...).
    """

    kind: str
    colour: tuple[float, float, float]
    colour2: tuple[float, float, float]
    scale_m: float
    seed: int
    param: float = 0.0


@dataclass
class Primitive:
    """One analytic surface; see the module docstring for the meaning of each field."""

    kind: str
    centre: np.ndarray          # (3,) world metres (plane: unused)
    size: np.ndarray            # (3,) full extents in metres (plane: unused)
    texture: Texture
    yaw_rad: float = 0.0        # box only: rotation about world z
    normal: np.ndarray | None = None   # plane only: unit normal (facing the visible side)
    offset: float = 0.0         # plane only
    instance_id: int = -1

    def aabb(self) -> tuple[np.ndarray, np.ndarray] | None:
        """World axis-aligned bounding box (lo, hi) or None for unbounded primitives."""
        c = np.asarray(self.centre, dtype=np.float64)
        if self.kind == "box":
            cs, sn = abs(np.cos(self.yaw_rad)), abs(np.sin(self.yaw_rad))
            hx = 0.5 * (cs * self.size[0] + sn * self.size[1])
            hy = 0.5 * (sn * self.size[0] + cs * self.size[1])
            half = np.array([hx, hy, 0.5 * self.size[2]])
        elif self.kind == "sphere":
            half = np.full(3, 0.5 * self.size[0])
        elif self.kind == "cylinder":
            half = np.array([0.5 * self.size[0], 0.5 * self.size[0], 0.5 * self.size[2]])
        else:
            return None
        return c - half, c + half


@dataclass
class WorldObject:
    """A named thing (or a structural surface) with its oriented-box ground truth."""

    instance_id: int
    category: str
    colour_name: str
    centre_m: np.ndarray        # (3,) world centre of the oriented bounding box
    size_m: np.ndarray          # (3,) extents along the object's local x, y, z
    yaw_deg: float              # rotation of the local x axis about world z
    parts: list[Primitive] = field(default_factory=list)
    is_structure: bool = False


@dataclass
class Light:
    """Lambert lighting: a point light (rooms) or a directional sun (streets) plus ambient."""

    kind: str                   # "point" | "sun"
    vector: np.ndarray          # point: position (3,); sun: unit direction towards the sun
    ambient: float = 0.35
    diffuse: float = 0.75


@dataclass
class Scene:
    """Everything the renderer needs, plus the generator's bookkeeping."""

    kind: str                   # "room" | "street"
    objects: list[WorldObject]
    light: Light
    sky: bool = False           # True: rays that hit nothing see sky (depth invalid)
    free_space_lo: np.ndarray = field(default_factory=lambda: np.zeros(3))
    free_space_hi: np.ndarray = field(default_factory=lambda: np.zeros(3))
    focus_points: list[np.ndarray] = field(default_factory=list)
    #: derived data filled by the renderer (primitive list, bounds); scenes are not mutated after build
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    def primitives(self) -> list[Primitive]:
        """All parts of all objects, each tagged with its object's instance id."""
        out = []
        for obj in self.objects:
            for p in obj.parts:
                p.instance_id = obj.instance_id
                out.append(p)
        return out

    def things(self) -> list[WorldObject]:
        """Non-structural objects (the ones with 2D boxes and object questions)."""
        return [o for o in self.objects if not o.is_structure]


def Rz(yaw_rad: float) -> np.ndarray:
    """(3, 3) rotation about world z by ``yaw_rad`` (counter-clockwise seen from above)."""
    c, s = np.cos(yaw_rad), np.sin(yaw_rad)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def make_object(instance_id: int, category: str, colour_name: str, origin_m: np.ndarray,
                yaw_rad: float, local_parts: list[Primitive], is_structure: bool = False) -> WorldObject:
    """Place parts given in the object's local frame (z = 0 at its base) into the world.

    ``origin_m`` is the world position of the local origin; parts' centres are rotated by
    ``yaw_rad`` about z and shifted; boxes' yaws add up. The oriented bounding box of the
    parts (in the local frame) gives the object's centre, size and yaw.
    """
    R = Rz(yaw_rad)
    lo = np.full(3, np.inf)
    hi = np.full(3, -np.inf)
    world_parts = []
    for p in local_parts:
        c_local = np.asarray(p.centre, dtype=np.float64)
        if p.kind == "box":
            cs, sn = abs(np.cos(p.yaw_rad)), abs(np.sin(p.yaw_rad))
            half = 0.5 * np.array([cs * p.size[0] + sn * p.size[1], sn * p.size[0] + cs * p.size[1], p.size[2]])
        elif p.kind in ("sphere", "cylinder"):
            half = 0.5 * np.array([p.size[0], p.size[0], p.size[2] if p.kind == "cylinder" else p.size[0]])
        else:
            raise ValueError(f"object parts must be box/sphere/cylinder, got {p.kind}")
        lo = np.minimum(lo, c_local - half)
        hi = np.maximum(hi, c_local + half)
        world_parts.append(Primitive(p.kind, R @ c_local + origin_m, np.asarray(p.size, dtype=np.float64),
                                     p.texture, yaw_rad=p.yaw_rad + yaw_rad))
    centre_local = 0.5 * (lo + hi)
    yaw_deg = float(np.degrees((yaw_rad + np.pi) % (2 * np.pi) - np.pi))
    return WorldObject(instance_id, category, colour_name, R @ centre_local + origin_m, hi - lo,
                       yaw_deg, world_parts, is_structure)


def box(centre: tuple[float, float, float], size: tuple[float, float, float], tex: Texture,
        yaw_rad: float = 0.0) -> Primitive:
    """A box part (local frame)."""
    return Primitive("box", np.asarray(centre, dtype=np.float64), np.asarray(size, dtype=np.float64), tex,
                     yaw_rad=yaw_rad)


def sphere(centre: tuple[float, float, float], radius: float, tex: Texture) -> Primitive:
    """A sphere part (local frame)."""
    return Primitive("sphere", np.asarray(centre, dtype=np.float64), np.full(3, 2.0 * radius), tex)


def cylinder(centre: tuple[float, float, float], radius: float, height: float, tex: Texture) -> Primitive:
    """A vertical cylinder part (local frame), centre at mid-height."""
    return Primitive("cylinder", np.asarray(centre, dtype=np.float64),
                     np.array([2.0 * radius, 2.0 * radius, height]), tex)


def plane(normal: tuple[float, float, float], offset: float, tex: Texture) -> Primitive:
    """An unbounded plane ``normal . X = offset`` (world frame)."""
    n = np.asarray(normal, dtype=np.float64)
    n = n / np.linalg.norm(n)
    return Primitive("plane", np.zeros(3), np.zeros(3), tex, normal=n, offset=float(offset))
