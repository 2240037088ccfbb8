"""tests/conftest.py's pytest-xdist groups: which tests ``make test`` keeps on one worker."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

spec = importlib.util.spec_from_file_location(
    "suite_conftest", Path(__file__).with_name("conftest.py")
)
suite = importlib.util.module_from_spec(spec)
spec.loader.exec_module(suite)


def expensive_run():  # defined in this suite: a fixture of it counts
    pass


class Item:
    """A stand-in test item (hashable, as pytest's are)."""

    def __init__(self, **attributes):
        self.__dict__.update(attributes)


def _item(module: str, **fixtures):
    """A stand-in test item using ``fixtures`` (name -> scope) of this file."""
    defs = {
        name: [SimpleNamespace(scope=scope, func=expensive_run)] for name, scope in fixtures.items()
    }
    return Item(
        module=SimpleNamespace(__name__=module),
        fixturenames=[*fixtures, "tmp_path"],
        _fixtureinfo=SimpleNamespace(name2fixturedefs=defs),
    )


class IPyNbCell(Item):
    """Stands in for nbval's cell item."""


IPyNbCell.__module__ = "nbval.plugin"


def test_tests_sharing_a_module_fixture_go_to_one_worker_the_rest_spread():
    run = _item("test_cli", sim_file="module", simulated_run="module")
    file_only = _item("test_cli", sim_file="module")
    other_module = _item("test_campaign", sim_file="module")
    free = _item("test_cli", tmp_path="function")
    session = _item("test_cli", two_kind_grid="session")
    groups = suite.worker_groups([run, file_only, other_module, free, session])
    # sim_file joins simulated_run's group: the two tests share one worker
    assert groups[run] == groups[file_only]
    assert groups[other_module] != groups[run]
    assert free not in groups and session not in groups  # any worker


def test_a_fixture_from_outside_the_suite_groups_nothing():
    item = _item("test_x")
    item.fixturenames = ["event_loop"]
    item._fixtureinfo.name2fixturedefs = {"event_loop": [SimpleNamespace(scope="module", func=len)]}
    assert suite.worker_groups([item]) == {}


def test_the_cells_of_one_notebook_share_a_worker():
    first, second = (IPyNbCell(parent=SimpleNamespace(nodeid="build/nbval/01.ipynb")) for _ in "ab")
    other = IPyNbCell(parent=SimpleNamespace(nodeid="build/nbval/02.ipynb"))
    groups = suite.worker_groups([first, second, other])
    assert groups[first] == groups[second] == "build/nbval/01.ipynb"
    assert groups[other] == "build/nbval/02.ipynb"
