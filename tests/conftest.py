"""Shared test fixtures: where ../shared lives and skipping cleanly when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REAL = SHARED / "data" / "real"
RELEASE_FORMATS = SHARED / "data" / "vlm3_release" / "formats.json"


@pytest.fixture
def real_root() -> Path:
    """../shared/data/real, or skip (a user's fresh clone has no shared folder)."""
    if not REAL.is_dir():
        pytest.skip(f"real sample data not found at {REAL} (only present in the dev workspace)")
    return REAL


@pytest.fixture
def release_formats_path() -> Path:
    if not RELEASE_FORMATS.is_file():
        pytest.skip(f"release formats not found at {RELEASE_FORMATS}")
    return RELEASE_FORMATS
