"""``WorldConfig``: every knob of the procedural world in one typed, frozen dataclass (the schema).

Shipped configs (``vlm3/configs/world/*.yaml``, read with the one loader, vlm3.config):
``default`` (the dataclass defaults: intrinsics vary widely, focal 250-1500 px, long image
side 320-960 px, many aspect ratios) and ``demo`` (small images, 320x240..480x360, focal
200-500 px, so that a CPU demo that standardises to a ~200 px focal keeps usable images).
The resolved config is written into every generated ``index.json`` and ``config.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from vlm3.config import ConfigError, load, option, shipped_names

SCENE_KINDS = ("room", "street")
_RANGES = ("long_side_px", "focal_px", "hfov_deg", "room_size_m", "room_height_m", "room_objects",
           "near_baseline_room_m", "near_baseline_street_m")


@dataclass(frozen=True)
class WorldConfig:
    """Ranges for scenes, cameras and views. Pairs (lo, hi) are sampled uniformly unless noted."""

    preset: str = option("default", "Name of the shipped config these values started from (recorded).")
    kinds: tuple[str, ...] = option(SCENE_KINDS, "Scene kinds to draw from (room, street).")
    kind_weights: tuple[float, ...] = option((0.5, 0.5), "Relative weight of each kind.")
    views_per_scene: int = option(6, "Views rendered per scene.")
    # ----- image size and intrinsics
    long_side_px: tuple[int, int] = option((320, 960), "Long image side in pixels (lo, hi); rounded to a multiple of 8.")
    aspect_ratios: tuple[float, ...] = option((4 / 3, 3 / 2, 16 / 9, 1.0, 2.0, 3 / 4),
                                              "Width / height ratios to draw from (values < 1 are portrait).")
    focal_px: tuple[float, float] = option((250.0, 1500.0), "Focal length fx in pixels, drawn log-uniformly (lo, hi).")
    hfov_deg: tuple[float, float] = option((18.0, 110.0), "Allowed horizontal field of view in degrees; clips the "
                                                          "focal range for each image size.")
    principal_offset_frac: float = option(0.08, "Max |cx - (W-1)/2| as a fraction of W (same for cy with H).")
    pixel_aspect_jitter: float = option(0.0, "fy = fx * (1 + u), u in [-j, j].")
    # ----- views
    p_near_view: float = option(0.6, "Probability that a view is a small perturbation of an earlier view "
                                     "(else independent).")
    near_baseline_room_m: tuple[float, float] = option((0.03, 1.2), "Baseline of a perturbed room view in metres "
                                                                    "(log-uniform).")
    near_baseline_street_m: tuple[float, float] = option((0.1, 6.0), "Baseline of a perturbed street view in metres "
                                                                     "(log-uniform).")
    near_target_jitter_m: float = option(0.6, "Look-target jitter of a perturbed view, metres (scaled by distance "
                                              "for streets).")
    max_roll_deg: float = option(10.0, "Largest camera roll in degrees.")
    min_view_depth_room_m: float = option(0.6, "A room camera sees nothing closer than this over the central "
                                               "image region (metres).")
    min_view_depth_street_m: float = option(2.0, "The same for streets (metres).")
    # ----- rooms
    room_size_m: tuple[float, float] = option((3.5, 8.0), "Room width and depth range, metres.")
    room_height_m: tuple[float, float] = option((2.5, 3.2), "Room height range, metres.")
    room_objects: tuple[int, int] = option((6, 12), "Objects per room (lo, hi).")
    camera_height_room_m: tuple[float, float] = option((0.9, 2.0), "Camera height in rooms, metres.")
    # ----- streets
    street_half_length_m: float = option(45.0, "Half length of a street, metres.")
    road_half_width_m: tuple[float, float] = option((3.5, 6.0), "Half width of the road, metres.")
    sidewalk_width_m: tuple[float, float] = option((2.0, 4.0), "Sidewalk width, metres.")
    street_cars: tuple[int, int] = option((3, 8), "Cars per street (lo, hi).")
    street_props: tuple[int, int] = option((6, 14), "Props per street (lo, hi).")
    camera_height_street_m: tuple[float, float] = option((1.2, 4.0), "Camera height in streets, metres.")
    backdrop_radius_m: float = option(150.0, "The far backdrop: an inward-facing vertical cylinder (finite depth) "
                                             "of this radius; above it is sky.")
    backdrop_height_m: float = option(30.0, "Height of the backdrop cylinder, metres.")
    # ----- outputs
    split_fractions: tuple[float, float, float] = option((0.8, 0.1, 0.1), "Fractions of scenes in train / val / "
                                                         "test (assigned by scene index, stable as N grows).")
    covisibility_stride_px: int = option(2, "Pixel stride of the grid on which pair covisibility is measured.")

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Range checks (ConfigError naming the key); run on every construction."""
        bad = [k for k in self.kinds if k not in SCENE_KINDS]
        if bad or not self.kinds:
            raise ConfigError(f"kinds: unknown scene kinds {bad}; choose from {', '.join(SCENE_KINDS)}")
        if len(self.kind_weights) != len(self.kinds) or min(self.kind_weights) < 0:
            raise ConfigError(f"kind_weights: {list(self.kind_weights)} needs one non-negative weight per kind")
        if self.views_per_scene < 1:
            raise ConfigError(f"views_per_scene: {self.views_per_scene} is not >= 1")
        for name in _RANGES:
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise ConfigError(f"{name}: ({lo}, {hi}) is not a range 0 < lo <= hi")
        if self.long_side_px[0] < 16:
            raise ConfigError(f"long_side_px: {self.long_side_px[0]} is below 16 pixels")
        if abs(sum(self.split_fractions) - 1.0) > 1e-6 or min(self.split_fractions) < 0:
            raise ConfigError(f"split_fractions: {list(self.split_fractions)} are not >= 0 with sum 1")

    def with_overrides(self, **kw: Any) -> "WorldConfig":
        """A copy with some fields replaced (validated)."""
        return replace(self, **kw)


def preset(name: str) -> WorldConfig:
    """The shipped world config ``name`` (``vlm3/configs/world/<name>.yaml``: default, demo)."""
    if name not in shipped_names("world"):
        raise ConfigError(f"unknown world preset {name!r}; choose from {', '.join(shipped_names('world'))}")
    return load(WorldConfig, name, kind="world")


__all__ = ["SCENE_KINDS", "WorldConfig", "preset"]
