"""Shared test fixtures: the release strings kept in tests/, and the ../shared data
(tests/shared_paths.py; ``VLM3_SHARED`` overrides it) with a clean skip when it is absent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared_paths import REAL, RELEASE_FORMATS, REPO

#: the published prompts/answers the golden tests need (tests/golden/make_release_strings.py)
RELEASE_STRINGS = REPO / "tests" / "golden" / "release_strings.json"


@pytest.fixture
def real_root() -> Path:
    """../shared/data/real, or skip (a user's fresh clone has no shared folder)."""
    if not REAL.is_dir():
        pytest.skip(f"real sample data not found at {REAL} (only present in the dev workspace)")
    return REAL


@pytest.fixture
def release_formats() -> dict[str, Any]:
    """The published release strings kept in tests/ (present on every clone)."""
    return json.loads(RELEASE_STRINGS.read_text())


@pytest.fixture
def release_formats_path() -> Path:
    """The full published formats.json in ../shared, or skip (absent on a fresh clone)."""
    if not RELEASE_FORMATS.is_file():
        pytest.skip(f"release formats not found at {RELEASE_FORMATS} (only present in the dev workspace)")
    return RELEASE_FORMATS
