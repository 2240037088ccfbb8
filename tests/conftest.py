"""Fixtures shared across the test folders."""

import pytest


@pytest.fixture(scope="session")
def two_kind_grid():
    """The function building a grid with two opposite defect kinds (tests/two_kinds.py)."""
    from two_kinds import two_kind_grid

    return two_kind_grid
