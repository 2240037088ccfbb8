"""Fixtures and hooks shared across the test folders."""

import os
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

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


#: Fixture scopes that hold something expensive for several tests (a run folder, a server).
SHARED_SCOPES = ("module", "class", "package")


def shared_fixtures(item) -> list[str]:
    """Names of the module-scoped fixtures of this test suite that ``item`` uses."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return []
    names = []
    for name in item.fixturenames:
        definitions = info.name2fixturedefs.get(name)
        if not definitions or definitions[-1].scope not in SHARED_SCOPES:
            continue
        code = getattr(definitions[-1].func, "__code__", None)
        if code is not None and TESTS in Path(code.co_filename).resolve().parents:
            names.append(name)
    return names


def worker_groups(items) -> dict:
    """The pytest-xdist group of each test under ``--dist loadgroup`` (absent: any worker).

    ``make test`` runs on two workers. Tests of one module that share a module-scoped fixture
    of this suite (a series run, a JupyterLab server, a trained model), directly or through
    another test sharing one, go to the same worker, so that the fixture is built once; the
    other tests spread. The cells of one nbval notebook run in one kernel, in order: one
    group per notebook.
    """
    groups, parent = {}, {}

    def root(key):
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    members = []
    for item in items:
        if type(item).__module__.startswith("nbval"):
            groups[item] = item.parent.nodeid
            continue
        keys = [(item.module.__name__, name) for name in shared_fixtures(item)]
        for key in keys[1:]:
            parent[root(key)] = root(keys[0])
        if keys:
            members.append((item, keys[0]))
    for item, key in members:
        module, name = root(key)
        groups[item] = f"{module}:{name}"
    return groups


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist turns the marks into node ids
def pytest_collection_modifyitems(config, items):
    for item, group in worker_groups(items).items():
        item.add_marker(pytest.mark.xdist_group(group))
