"""A fresh venv built from exactly ``binder/`` runs notebook 01, the app.

repo2docker's pip-only form does ``pip install -r binder/requirements.txt`` from the
repository root, then runs ``binder/postBuild``. This test does the same in a new virtual
environment (``python -m venv``; pip's cache makes a rebuild quick), then, with that
environment's Python only:

- executes notebook 01 with the test profile (papermill, as ``make test``'s nbval copies);
- executes the app notebook with the test profile and runs the three steps in it;
- serves the repository with that environment's ``jupyter server`` and renders the app through
  Voila's server route, the one the README's Binder link opens (``voila/render/...``).

Slow (minutes; the timings are printed): marked ``slow``, run by ``make test``.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP_NOTEBOOK = "stswidgets/app/app.ipynb"

pytestmark = pytest.mark.slow


def _run(command, timings: dict, what: str, **kwargs) -> subprocess.CompletedProcess:
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    timings[what] = time.perf_counter() - start
    assert result.returncode == 0, (
        f"{what} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory):
    """``(python, env, timings)`` of a venv built from binder/ as repo2docker builds it."""
    root = tmp_path_factory.mktemp("binder")
    venv = root / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        # kernels and config from this environment only, not from the user's folders
        JUPYTER_DATA_DIR=str(root / "jupyter-data"),
        JUPYTER_CONFIG_DIR=str(root / "jupyter-config"),
        JUPYTER_PATH="",
        # where an index of the requirements cannot be reached (the PyTorch index on an
        # offline mirror), fail over at once instead of retrying with back-off per package
        PIP_RETRIES=env.get("PIP_RETRIES", "1"),
        # no byte-compiling of every installed module (torch alone has thousands): Python
        # compiles what the notebooks import when they import it
        PIP_NO_COMPILE="1",
        STSWIDGETS_PROGRESS="0",
    )
    timings: dict[str, float] = {}
    _run([sys.executable, "-m", "venv", str(venv)], timings, "python -m venv", env=env)
    python = str(venv / "bin" / "python")
    _run(
        [python, "-m", "pip", "install", "-q", "-r", "binder/requirements.txt"],
        timings,
        "pip install -r binder/requirements.txt",
        cwd=ROOT,
        env=env,
    )
    _run(["bash", "binder/postBuild"], timings, "binder/postBuild", cwd=ROOT, env=env)
    yield python, env, timings, root
    print("\nBinder venv timings (s): " + json.dumps({k: round(v, 1) for k, v in timings.items()}))


def test_binder_environment_is_its_own(binder_env):
    python, env, _, root = binder_env
    out = subprocess.run(
        [
            python,
            "-c",
            "import stswidgets, sys, torch; print(sys.prefix, stswidgets.__file__, "
            "torch.__version__)",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        check=True,
    ).stdout.split()
    assert out[0] == str(root / "venv")
    assert out[1] == str(ROOT / "stswidgets" / "__init__.py")  # the editable install (-e .)
    assert out[2].startswith("2.13.0")


def test_notebook_01_runs_in_the_binder_environment(binder_env):
    python, env, timings, root = binder_env
    prepared = root / "nb"
    _run(
        [python, "-m", "stswidgets.series", "prepare", str(prepared), "--only", "01"],
        timings,
        "prepare 01 (test profile)",
        env=env,
        cwd=root,
    )
    (source,) = prepared.glob("01_*.ipynb")
    _papermill(python, source, root / "01_out.ipynb", root, timings, "notebook 01", env)


def test_app_notebook_runs_its_steps_in_the_binder_environment(binder_env):
    import nbformat

    python, env, timings, root = binder_env
    nb = nbformat.read(ROOT / APP_NOTEBOOK, as_version=4)
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "import sys\n"
            f"assert sys.prefix == {str(root / 'venv')!r}, sys.prefix\n"
            "dashboard.wait(120)\n"
            "dashboard.start(dashboard.run_steps, ['distances', 'score', 'bands'])\n"
            "dashboard.wait(300)\n"
            "assert dashboard.bands is not None, dashboard.status.value\n"
            "print(dashboard.status.value)"
        )
    )
    source = root / "app_checked.ipynb"
    nbformat.write(nb, source)
    out = root / "app_out.ipynb"
    app_env = {**env, "STSWIDGETS_APP_PROFILE": "test"}
    _papermill(python, source, out, root, timings, "app notebook + steps", app_env)
    printed = "".join(o.get("text", "") for o in nbformat.read(out, 4).cells[-1].outputs)
    assert "bands: " in printed and "surface" in printed, printed


def _papermill(python, source, out, root, timings, label: str, env: dict) -> None:
    """Execute the notebook ``source`` into ``out`` with the venv's papermill and kernel."""
    command = [python, "-m", "papermill", str(source), str(out), "-k", "python3"]
    command += ["--cwd", str(root), "--no-progress-bar"]
    _run(command, timings, label, env=env, cwd=root)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_binder_link_to_the_app_renders_through_voila(binder_env):
    """The README's second Binder link opens ``voila/render/stswidgets/app/app.ipynb``."""
    python, env, timings, root = binder_env
    port, token = _free_port(), secrets.token_hex(8)
    start = time.perf_counter()
    server = subprocess.Popen(
        [
            python,
            "-m",
            "jupyter",
            "server",
            "--no-browser",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={ROOT}",
            "--ServerApp.port_retries=0",
            "--allow-root",  # CI runs as root
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(root / "server.log", "w"),  # noqa: SIM115
        env={**env, "STSWIDGETS_APP_PROFILE": "test"},
        cwd=root,
    )
    try:
        url = f"http://127.0.0.1:{port}/voila/render/{APP_NOTEBOOK}?token={token}"
        deadline = time.monotonic() + 120
        while True:
            try:
                page = urllib.request.urlopen(url, timeout=120).read().decode()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        "no Voila page:\n" + (root / "server.log").read_text()[-3000:]
                    ) from None
                time.sleep(1.0)
        timings["voila/render of the app"] = time.perf_counter() - start
        assert "There was an error when executing cell" not in page
        assert "application/vnd.jupyter.widget-view+json" in page  # the dashboard's view
    finally:
        server.terminate()
        server.wait(timeout=20)
