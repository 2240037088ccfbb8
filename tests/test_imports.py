"""The package's import graph: no cycles, dependencies pointing one way, no private names across.

The graph is read from the source (``pkgutil`` finds the modules, ``ast`` their imports), so
nothing is imported and imports inside functions count as much as those at the top of a file:
an import cycle hidden inside a function is still a cycle. Imports under
``if TYPE_CHECKING:`` never run and are left out; so are imports by computed name
(``importlib.import_module(f"...")``, the lazy ``__getattr__`` of the package ``__init__``
files), which only load on first use.

The layers (DESIGN.md, "Layout"; a module may import its own layer and the layers below):

    0 grid                                      the data model
    1 io, datasets, preprocess                  grids in, per-spectrum preparation
    2 analysis, learn                           numpy / torch methods (analysis never imports learn)
    3 pipeline                                  the analysis as steps, results.nc
    4 evaluation, widgets, app, series, ...     what shows or scores the pipeline's results
    5 cli, campaign                             the command line
"""

from __future__ import annotations

import ast
import pkgutil
from dataclasses import dataclass
from pathlib import Path

import pytest

import stswidgets

PACKAGE = "stswidgets"
ROOT = Path(stswidgets.__file__).parent

# -- KNOWN: the crossings other branches of issue 18 remove. -------------------------------
# Each entry is (importer, imported) as module names. The lead empties this set after merging
# those branches; the tests below then hold for the whole package. Entries that no longer
# occur make test_known_crossings_still_exist fail, so the set cannot go stale.
KNOWN: set[tuple[str, str]] = {}

#: Layer of each top-level module or subpackage of stswidgets (see the module docstring).
LAYERS = {
    "grid": 0,
    "spectra": 0,  # spectra off a grid: the (spectrum, bias) model beside the grid
    "io": 1,
    "datasets": 1,
    "_random_physics": 1,
    "_defect_signatures": 1,
    "_fese_physics": 1,
    "preprocess": 1,
    "analysis": 2,
    "learn": 2,
    "pipeline": 3,
    "results": 3,
    "evaluation": 4,
    "widgets": 4,
    "app": 4,
    "notebook": 3,  # display helpers (bias_edges, warnings) the pipeline figures use too
    "notebooks": 4,
    "series": 4,
    "report": 4,
    "cli": 5,
    "campaign": 5,
    "_campaign_tables": 5,
    "__main__": 5,
}


@dataclass(frozen=True)
class Import:
    importer: str  # module doing the import
    module: str  # the stswidgets module it loads
    name: str | None  # the name taken from it (``from module import name``), None for a module
    in_function: bool  # inside a def (runs only when called)
    line: int


def _modules() -> dict[str, Path]:
    """Every module of the package (dotted name -> file), found without importing it."""
    found = {PACKAGE: ROOT / "__init__.py"}

    def walk(path: Path, prefix: str) -> None:
        for info in pkgutil.iter_modules([str(path)]):
            name = f"{prefix}.{info.name}"
            if info.ispkg:
                found[name] = path / info.name / "__init__.py"
                walk(path / info.name, name)
            else:
                found[name] = path / f"{info.name}.py"

    walk(ROOT, PACKAGE)
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports_of(module: str, path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child, in_function)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                    found.append(Import(module, alias.name, None, in_function, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            if base == PACKAGE or base.startswith(PACKAGE + "."):
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    if sub in MODULES:  # ``from stswidgets import preprocess``: a module
                        found.append(Import(module, sub, None, in_function, node.lineno))
                    else:
                        found.append(Import(module, base, alias.name, in_function, node.lineno))
        inside = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        for child in ast.iter_child_nodes(node):
            visit(child, inside)

    visit(tree, False)
    return found


IMPORTS = [imp for module, path in MODULES.items() for imp in _imports_of(module, path)]


def _known(importer: str, imported: str) -> bool:
    return any(importer == a and (imported == b or imported.startswith(b + ".")) for a, b in KNOWN)


def _top(module: str) -> str:
    """``stswidgets.analysis.kinds`` -> ``analysis``; ``stswidgets`` -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _subpackage(module: str) -> str:
    """The package a module lives in: ``stswidgets.analysis`` for ``stswidgets.analysis.kinds``."""
    return module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(edges.get(node, ())):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return components


def _graph(skip_known: bool) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for imp in IMPORTS:
        if imp.module == imp.importer or (skip_known and _known(imp.importer, imp.module)):
            continue
        # A package's __init__ importing its submodules counts too: a submodule that imports
        # names from its own package while that package imports it is a cycle.
        edges.setdefault(imp.importer, set()).add(imp.module)
    return edges


def test_the_walk_finds_the_package_and_its_imports():
    # The checks below are only as good as the walk: it must see deep modules and imports
    # inside functions.
    assert {"stswidgets.grid", "stswidgets.analysis.kinds", "stswidgets.learn._training"} <= set(
        MODULES
    )
    inner = [i for i in IMPORTS if i.in_function]
    assert any(i.importer == "stswidgets.analysis.distances" for i in inner)
    assert set(LAYERS) >= {_top(m) for m in MODULES if m != PACKAGE}, (
        "a new top-level module or subpackage needs its layer in LAYERS"
    )


def test_cycle_finder_names_a_cycle():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(edges) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    cycles = _cycles(_graph(skip_known=True))
    assert not cycles, "import cycles (modules importing each other, directly or around):\n" + (
        "\n".join(" <-> ".join(c) for c in cycles)
    )


def test_lower_layers_never_import_higher_ones():
    wrong = []
    for imp in IMPORTS:
        top_from, top_to = _top(imp.importer), _top(imp.module)
        if not top_from or not top_to or _known(imp.importer, imp.module):
            continue  # stswidgets/__init__ is the public face of every layer
        if LAYERS[top_to] > LAYERS[top_from] or (top_from, top_to) == ("analysis", "learn"):
            wrong.append(
                f"{imp.importer} (layer {LAYERS[top_from]}, line {imp.line}) imports "
                f"{imp.module} (layer {LAYERS[top_to]})"
            )
    assert not wrong, "imports against the layers of DESIGN.md:\n" + "\n".join(wrong)


def _torch_imports(node: ast.AST, function: ast.AST | None = None):
    """(line, enclosing function or None) of every torch import below ``node``."""
    names = []
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom) and not node.level:
        names = [node.module or ""]
    if any(n == "torch" or n.startswith("torch.") for n in names):
        yield node.lineno, function
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        function = node
    for child in ast.iter_child_nodes(node):
        yield from _torch_imports(child, function)


def _arguments(function: ast.AST) -> set[str]:
    args = function.args
    return {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}


def test_analysis_imports_torch_only_inside_a_device_call():
    wrong = []
    for module, path in MODULES.items():
        if _top(module) != "analysis":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for line, function in _torch_imports(tree):
            if function is None:
                wrong.append(f"{module} line {line}: torch imported at module level")
            elif "device" not in _arguments(function):
                wrong.append(f"{module} line {line}: torch imported in {function.name}()")
    assert not wrong, "analysis imports torch outside a device= call:\n" + "\n".join(wrong)


def _private_owner(imp: Import) -> str | None:
    """The package a private name or module belongs to, None when nothing private is taken."""
    parts = imp.module.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:i])  # ``stswidgets.learn._training`` belongs to learn
    if imp.name is not None and imp.name.startswith("_") and not imp.name.startswith("__"):
        return _subpackage(imp.module)
    return None


def _may_use_private(importer: str, owner: str) -> bool:
    """Private names are shared inside their package (and its sub-packages), never outside.

    The top-level package is no shelter: a top-level private module (``stswidgets._x``) is for
    the top-level modules, not for every subpackage.
    """
    home = _subpackage(importer)
    if owner == PACKAGE:
        return home == PACKAGE
    return home == owner or home.startswith(owner + ".")


def test_no_private_names_across_subpackages():
    wrong = [
        f"{imp.importer} line {imp.line}: "
        + (f"{imp.name} from {imp.module}" if imp.name else f"module {imp.module}")
        for imp in IMPORTS
        if (owner := _private_owner(imp)) is not None
        and not _may_use_private(imp.importer, owner)
        and not _known(imp.importer, imp.module)
    ]
    assert not wrong, "private names or modules used from another package:\n" + "\n".join(wrong)


def test_known_crossings_still_exist():
    seen = {(i.importer, i.module) for i in IMPORTS}
    stale = [
        pair
        for pair in sorted(KNOWN)
        if not any(a == pair[0] and (b == pair[1] or b.startswith(pair[1] + ".")) for a, b in seen)
    ]
    assert not stale, f"remove these from KNOWN in {__file__}, they are gone: {stale}"


@pytest.mark.parametrize("module", sorted(KNOWN))
def test_known_crossings_are_stswidgets_modules(module):
    importer, imported = module
    assert importer in MODULES and imported in MODULES


def test_torch_finder_sees_imports_and_their_function():
    tree = ast.parse(
        "import torch\n"
        "def pairs(X, device=None):\n    import torch.nn\n"
        "def fit(X):\n    from torch import nn\n"
    )
    found = [(line, f.name if f else None) for line, f in _torch_imports(tree)]
    assert found == [(1, None), (3, "pairs"), (5, "fit")]
    assert "device" in _arguments(tree.body[1]) and "device" not in _arguments(tree.body[2])
