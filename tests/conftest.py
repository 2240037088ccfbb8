"""Fixtures and hooks shared across the test folders."""

import os

import pytest

#: Set by .ci/run: a browser test that skips (no chromium, no playwright) fails instead, so that
#: CI cannot pass without having driven the real browser.
REQUIRE_BROWSER_ENV = "STSWIDGETS_REQUIRE_BROWSER"


@pytest.fixture(scope="session")
def two_kind_grid():
    """The function building a grid with two opposite defect kinds (tests/two_kinds.py)."""
    from two_kinds import two_kind_grid

    return two_kind_grid


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    required = os.environ.get(REQUIRE_BROWSER_ENV) == "1"
    if required and report.skipped and item.get_closest_marker("browser") is not None:
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"a browser test skipped where {REQUIRE_BROWSER_ENV}=1: {reason}"
