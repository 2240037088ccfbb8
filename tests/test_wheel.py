"""A wheel install runs the main job (issue 18): the notebook series ships inside the package.

The wheel is built from a copy of the source (so no stale ``build/`` of the checkout can hide
or add a file), installed non-editable into a fresh virtual environment, and
``stswidgets run --demo --quick`` runs from an unrelated folder (notebooks 01 and 03:
:data:`ONLY`). The new environment gets the
dependencies of the one running the tests through a ``.pth`` file listing its site-packages
(plain path lines: the ``.pth`` files there, the editable install's finder among them, are not
processed), so the wheel's ``stswidgets`` is the only one it can import; the test checks that.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import xarray as xr

from stswidgets import series
from stswidgets.pipeline.run import RUN_NOTEBOOKS

ROOT = Path(__file__).resolve().parents[1]

#: ``--only`` of the run: two notebooks keep the test near a minute; empty it to run 01-07 and 09.
ONLY = ["--only", "01", "03"]
RAN = [n for n in RUN_NOTEBOOKS if not ONLY or any(n.startswith(o) for o in ONLY[1:])]

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("setuptools") is None,
    reason="building the wheel offline needs setuptools in this environment",
)


def _run(command: list, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "stswidgets",
        source / "stswidgets",
        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"),
    )
    wheels = tmp_path_factory.mktemp("wheels")
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + ["-w", str(wheels), str(source)],
        timeout=300,
    )
    (built,) = wheels.glob("stswidgets-*.whl")
    return built


def test_the_wheel_holds_the_series_and_the_app(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for notebook in series.NOTEBOOKS:
        assert f"stswidgets/notebooks/{notebook}.ipynb" in names, notebook
    assert "stswidgets/app/app.ipynb" in names
    assert "stswidgets/pipeline/run.py" in names


@pytest.mark.slow
def test_an_installed_wheel_runs_the_demo_from_an_unrelated_folder(wheel, tmp_path):
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(venv))
    # and their data files (nbconvert's templates), which an install would put in venv/share
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], env=env, timeout=120)
    python = venv / "bin" / "python"
    (site_packages,) = venv.glob("lib/python*/site-packages")
    # installed before the dependencies are visible: pip must see no stswidgets already there
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
    _run([*install, "--no-deps", "--no-index", str(wheel)], cwd=tmp_path, env=env, timeout=300)
    assert (site_packages / "stswidgets" / "notebooks").is_dir()
    # the dependencies of this environment, not its (editable) stswidgets
    (site_packages / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    where = _run(
        [python, "-c", "import stswidgets; print(stswidgets.__file__)"],
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert Path(where.stdout.strip()).is_relative_to(site_packages), where.stdout

    work = tmp_path / "elsewhere"
    work.mkdir()
    out = tmp_path / "run"
    done = subprocess.run(
        [venv / "bin" / "stswidgets", "run", "--demo", "--quick", "--out", out, *ONLY],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "not found" not in done.stderr
    with xr.open_dataset(out / "results.nc") as results:
        assert '"profile": "quick"' in results.attrs["pipeline_config"]
        assert "valid" in results
    report = (out / "report.html").read_text()
    for notebook in RAN:
        assert (out / f"{notebook}.ipynb").is_file(), notebook
        assert f'<a id="{notebook}"></a>' in report, notebook
