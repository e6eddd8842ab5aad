"""Where the dev workspace's ../shared data lives, for every test that reads it.

``VLM3_SHARED`` overrides the folder (default: ``../shared`` beside the repository);
pointing it at a missing directory runs the suite as on a user's fresh clone. Tests reach
these paths through the ``real_root`` / ``release_formats_path`` fixtures (tests/conftest.py),
which skip with a reason when the data is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VLM3_SHARED", REPO.parent / "shared"))
REAL = SHARED / "data" / "real"
RELEASE_FORMATS = SHARED / "data" / "vlm3_release" / "formats.json"
