"""``WorldConfig``: every knob of the procedural world in one typed, JSON-able dataclass.

Two presets: ``"default"`` (intrinsics vary widely: focal 250-1500 px, long image side
320-960 px, many aspect ratios) and ``"demo"`` (small images, 320x240..480x360, focal
200-500 px, so that a CPU demo that standardises to a ~200 px focal keeps usable images).
The resolved config is written into every generated ``index.json``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

PRESETS = ("default", "demo")
SCENE_KINDS = ("room", "street")


class WorldConfigError(ValueError):
    """A world configuration value is out of range or unknown."""


@dataclass(frozen=True)
class WorldConfig:
    """Ranges for scenes, cameras and views. Pairs (lo, hi) are sampled uniformly unless noted."""

    preset: str = "default"
    #: scene kinds to draw from, with relative weights
    kinds: tuple[str, ...] = SCENE_KINDS
    kind_weights: tuple[float, ...] = (0.5, 0.5)
    views_per_scene: int = 6
    # ----- image size and intrinsics
    #: long image side in pixels (lo, hi); rounded to a multiple of 8
    long_side_px: tuple[int, int] = (320, 960)
    #: width / height ratios to draw from (values < 1 are portrait)
    aspect_ratios: tuple[float, ...] = (4 / 3, 3 / 2, 16 / 9, 1.0, 2.0, 3 / 4)
    #: focal length fx in pixels, drawn log-uniformly (lo, hi)
    focal_px: tuple[float, float] = (250.0, 1500.0)
    #: allowed horizontal field of view in degrees; clips the focal range for each image size
    hfov_deg: tuple[float, float] = (18.0, 110.0)
    #: max |cx - (W-1)/2| as a fraction of W (same for cy with H)
    principal_offset_frac: float = 0.08
    #: fy = fx * (1 + u), u in [-j, j]
    pixel_aspect_jitter: float = 0.0
    # ----- views
    #: probability that a view is a small perturbation of an earlier view (else independent)
    p_near_view: float = 0.6
    #: baseline of a perturbed view in metres (log-uniform) for rooms / streets
    near_baseline_room_m: tuple[float, float] = (0.03, 1.2)
    near_baseline_street_m: tuple[float, float] = (0.1, 6.0)
    #: look-target jitter of a perturbed view, metres (scaled by distance for streets)
    near_target_jitter_m: float = 0.6
    max_roll_deg: float = 10.0
    #: camera must see nothing closer than this over the central image region (metres)
    min_view_depth_room_m: float = 0.6
    min_view_depth_street_m: float = 2.0
    # ----- rooms
    room_size_m: tuple[float, float] = (3.5, 8.0)
    room_height_m: tuple[float, float] = (2.5, 3.2)
    room_objects: tuple[int, int] = (6, 12)
    camera_height_room_m: tuple[float, float] = (0.9, 2.0)
    # ----- streets
    street_half_length_m: float = 45.0
    road_half_width_m: tuple[float, float] = (3.5, 6.0)
    sidewalk_width_m: tuple[float, float] = (2.0, 4.0)
    street_cars: tuple[int, int] = (3, 8)
    street_props: tuple[int, int] = (6, 14)
    camera_height_street_m: tuple[float, float] = (1.2, 4.0)
    #: the far backdrop: an inward-facing vertical cylinder (finite depth); above it is sky
    backdrop_radius_m: float = 150.0
    backdrop_height_m: float = 30.0
    # ----- outputs
    #: fractions of scenes in train / val / test (assigned by scene index, stable as N grows)
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    #: pixel stride of the grid on which pair covisibility is measured
    covisibility_stride_px: int = 2

    def __post_init__(self) -> None:
        bad = [k for k in self.kinds if k not in SCENE_KINDS]
        if bad or not self.kinds:
            raise WorldConfigError(f"unknown scene kinds {bad}; choose from {SCENE_KINDS}")
        if len(self.kind_weights) != len(self.kinds) or min(self.kind_weights) < 0:
            raise WorldConfigError("kind_weights needs one non-negative weight per kind")
        if self.views_per_scene < 1:
            raise WorldConfigError(f"views_per_scene must be >= 1, got {self.views_per_scene}")
        for name in ("long_side_px", "focal_px", "hfov_deg", "room_size_m", "room_height_m",
                     "room_objects", "near_baseline_room_m", "near_baseline_street_m"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise WorldConfigError(f"{name} must be a range 0 < lo <= hi, got ({lo}, {hi})")
        if self.long_side_px[0] < 16:
            raise WorldConfigError("long_side_px must be at least 16 pixels")
        if abs(sum(self.split_fractions) - 1.0) > 1e-6 or min(self.split_fractions) < 0:
            raise WorldConfigError(f"split_fractions must be >= 0 and sum to 1, got {self.split_fractions}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (tuples become lists)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "WorldConfig":
        """Inverse of :meth:`to_dict`; unknown keys are an error naming them."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise WorldConfigError(f"unknown WorldConfig fields: {unknown}")
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()})

    def with_overrides(self, **kw: Any) -> "WorldConfig":
        """A copy with some fields replaced."""
        return replace(self, **kw)


def preset(name: str) -> WorldConfig:
    """The named preset: ``"default"`` or ``"demo"``."""
    if name == "default":
        return WorldConfig()
    if name == "demo":
        return WorldConfig(
            preset="demo",
            long_side_px=(320, 480),
            aspect_ratios=(4 / 3, 3 / 2, 16 / 10, 1.0),
            focal_px=(200.0, 500.0),
            hfov_deg=(35.0, 100.0),
            views_per_scene=4,
            room_objects=(5, 9),
        )
    raise WorldConfigError(f"unknown world preset {name!r}; choose from {PRESETS}")


__all__ = ["PRESETS", "SCENE_KINDS", "WorldConfig", "WorldConfigError", "preset"]
