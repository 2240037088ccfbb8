"""The committed notebooks follow the series conventions (they run under nbval separately)."""

import ast

import nbformat
import pytest

from stswidgets import series

NOTEBOOKS = [series.NOTEBOOK_DIR / f"{name}.ipynb" for name in series.NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stripped_and_parameterised(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.cells[0].cell_type == "markdown", "a notebook opens with what question it answers"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: committed with outputs; strip them"
            assert cell.execution_count is None, f"{path.name}: committed with execution counts"

    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: needs exactly one cell tagged 'parameters'"
    assigned = {
        target.id: node.value
        for node in ast.parse(tagged[0].source).body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    # exactly these: every analysis setting comes from the profile and ``settings``
    assert set(assigned) == set(series.COMMON_PARAMETERS), (
        f"{path.name}: parameters cell holds {sorted(assigned)}, "
        f"expected {sorted(series.COMMON_PARAMETERS)}"
    )
    for name, default in series.COMMON_PARAMETERS.items():
        assert ast.literal_eval(assigned[name]) == default, f"{path.name}: default of {name}"
