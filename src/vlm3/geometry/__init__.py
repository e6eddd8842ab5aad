"""Geometry in one convention: cameras, SE(3) transforms, depth kinds, focal normalisation.

Conventions (docs/conventions.md): OpenCV camera frame (x right, y down, z forward); pixel
centres at integer coordinates; 4x4 float64 transforms named ``T_<to>_from_<from>``.
"""

from vlm3.geometry.camera import Camera, GeometryError

__all__ = ["Camera", "GeometryError"]
