"""The files a depth prediction leaves for people to use (.npy, 16-bit PNG, .ply, depth.json),
written by the depth task unit (``vlm3.tasks.depth.result``); kept here under their earlier names."""

from __future__ import annotations

from vlm3.tasks.depth.result import depth_png16, write_depth, write_ply

__all__ = ["depth_png16", "write_depth", "write_ply"]
