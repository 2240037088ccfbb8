"""Fixtures of the reader tests: the real measured files (skipped where absent)."""

from __future__ import annotations

from pathlib import Path

import pytest
from nanonis_files import GRID_30, LINE_32, real_file


@pytest.fixture
def grid_30x30() -> Path:
    return real_file(GRID_30)


@pytest.fixture
def line_32x1() -> Path:
    return real_file(LINE_32)
