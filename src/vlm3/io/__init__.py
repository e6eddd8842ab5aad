"""Files in and out, below every task: records, pixels and scene directories.

- ``vlm3.io.records``: the canonical record dataclasses adapters yield (views, pairs,
  object questions, depth files) and ``RecordError`` (a record that cannot be used).
- ``vlm3.io.images``: the one reader of RGB images and depth/id maps (``read_rgb``,
  ``read_rgb_pil``, ``read_image_size``, ``read_depth_m``, ``read_map``; ``ImageReadError``).
- ``vlm3.io.scenes``: the vlm3 scene format on disk (writer and reader).
- ``vlm3.io.shard_index``: the memory-mapped index of a JSONL shard set (offsets, token counts).
"""
