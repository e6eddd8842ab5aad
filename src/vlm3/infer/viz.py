"""Pictures of predictions, each drawn by its task unit's figure module (``vlm3.tasks.<task>.figure``):
depth beside the image, matches between two images, camera frustums, the boxes of an object
question. Kept here under their earlier names; the data files (.npy / 16-bit PNG / .ply) are
``vlm3.infer.outputs``.
"""

from __future__ import annotations

from vlm3.tasks.correspondence.figure import match_png
from vlm3.tasks.depth.figure import depth_png
from vlm3.tasks.object.figure import boxes_png
from vlm3.tasks.pose.figure import frustum_png

__all__ = ["boxes_png", "depth_png", "frustum_png", "match_png"]
