"""Fixtures and hooks shared across the test folders."""

import os

import pytest

#: Environment variables that bound the threads of NumPy's BLAS, torch and numba (as
#: stswidgets.campaign sets them for the series of one dask worker).
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)


def share_the_cores() -> None:
    """Under pytest-xdist, each worker's threads (and its notebook kernels' and subprocesses',
    which inherit the environment) get the cores divided by the workers, so that two workers do
    not run four BLAS / torch threads on two cores. A value set by the caller is kept."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    if workers > 1:
        threads = str(max(1, (os.cpu_count() or 1) // workers))
        for name in THREAD_VARIABLES:
            os.environ.setdefault(name, threads)


share_the_cores()

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
