"""The procedural 3D world: exact ground truth for depth, correspondence, pose and object tasks.

Modules: ``config`` (WorldConfig + presets), ``scenes`` (primitives, objects, colours),
``textures`` (procedural albedo), ``layouts`` (rooms, streets), ``views`` (camera sampling),
``render`` (numpy ray caster), ``pairs`` (correspondences, covisibility), ``io`` (vlm3 scene
format), ``generate`` (scenes -> disk), ``show`` (contact sheets), ``cli`` (``vlm3 world``).
"""

from vlm3.world.config import WorldConfig, preset
from vlm3.io.scenes import SceneRecord, load_index, load_scene
from vlm3.world.pairs import correspondences, covisibility

__all__ = ["WorldConfig", "preset", "SceneRecord", "load_scene", "load_index", "correspondences", "covisibility"]
