"""The data engine: sources -> canonical records -> standardised views -> chat samples -> shards.

Entry points: ``vlm3.data.build.build(config)`` and the ``vlm3 data`` CLI group
(``vlm3.data.cli.data``). Layout and config: docs/data.md.
"""
