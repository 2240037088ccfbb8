"""A venv holding exactly what ``binder/`` resolves to runs notebook 01, the app and Voila.

repo2docker's pip-only form does ``pip install -r binder/requirements.txt`` from the
repository root, then runs ``binder/postBuild``. This test builds a new virtual environment
(``python -m venv``) the same way, then, with that environment's Python only:

- executes notebook 01 with the test profile (papermill, as ``make test``'s nbval copies);
- executes the app notebook with the test profile and runs the three steps in it;
- serves the repository with that environment's ``jupyter server`` and renders the app through
  Voila's server route, the one the README's Binder link opens (``voila/render/...``).

How the venv is built, and what that proves. Unpacking some 150 wheels (torch alone is 15 000
files) took minutes of the test run, so the venv is layered:

1. ``pip install --dry-run --report`` resolves binder/requirements.txt against the package
   index(es), exactly as the real install does: every pin and extra index is checked.
2. Each resolved distribution that the environment running the tests already holds *at the
   resolved version* is linked into the venv file by file from its RECORD (packages, metadata,
   Jupyter data files; console scripts are copied with the venv's Python in their ``#!`` line),
   as ``uv``'s symlink mode installs: the venv has its own ``site-packages``, ``bin`` and
   ``share/jupyter``, and no path to the tests' environment.
3. The real ``pip install -r binder/requirements.txt`` then runs: it installs ``-e .`` and
   every resolved distribution that step 2 could not link (from the index, as Binder does),
   and ``binder/postBuild`` runs unchanged.
4. ``test_binder_environment_holds_exactly_what_binder_resolves`` checks that the venv holds
   the resolved set and nothing else (beyond pip) and that
   ``pip check`` finds every dependency satisfied, so a package missing from
   binder/requirements.txt fails here even when the test environment has it.

What it no longer proves: that the wheels of the linked distributions download and unpack
from the index (their metadata is read from the index; the files are the test environment's
copy of the same version), i.e. it does not catch a wheel that is broken on the index but
installed fine earlier. Notebook 01, the app and the Voila route run on the same versions
Binder resolves.

Slow (about 1 to 3 minutes; the timings are printed): marked ``slow``, run by ``make test``.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP_NOTEBOOK = "stswidgets/app/app.ipynb"
REQUIREMENTS = "binder/requirements.txt"

pytestmark = pytest.mark.slow


def _run(command, timings: dict, what: str, **kwargs) -> subprocess.CompletedProcess:
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    timings[what] = time.perf_counter() - start
    assert result.returncode == 0, (
        f"{what} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result


def _canonical(name: str) -> str:
    """The normalised project name (PEP 503): ``Jupyter_Server`` -> ``jupyter-server``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _venv_packages(python: str, env: dict) -> dict[str, str]:
    """``{name: version}`` of every distribution the venv's Python sees."""
    listed = subprocess.run(
        [python, "-m", "pip", "list", "--format=json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    return {_canonical(p["name"]): p["version"] for p in json.loads(listed)}


def _linkable_files(distribution) -> list[tuple[str, str]] | None:
    """``(source, destination relative to the prefix)`` of each installed file of
    ``distribution``, or None when one lies outside this environment's prefix (then pip
    installs the distribution instead). Plain string paths: some 60 000 files."""
    prefix = sys.prefix
    files = []
    for recorded in distribution.files or []:
        source = os.path.normpath(distribution.locate_file(recorded))
        relative = os.path.relpath(source, prefix)
        if relative.startswith(".."):
            return None
        if source.endswith(".pyc") and not os.path.exists(source):
            continue  # RECORD may list byte-code that was never written
        files.append((source, relative))
    return files


def _link_distribution(files: list[tuple[str, str]], venv: Path) -> None:
    """Put each file into the venv: a script that names this environment's Python as a copy
    naming the venv's, any other file as a symbolic link (pip and Python replace a link, they
    never write through it)."""
    here = os.fsencode(os.path.join(sys.prefix, "bin", "python"))
    there = os.fsencode(venv / "bin" / "python")
    made = set()
    for source, relative in files:
        target = os.path.join(venv, relative)
        folder = os.path.dirname(target)
        if folder not in made:
            os.makedirs(folder, exist_ok=True)
            made.add(folder)
        script = b""
        if relative.startswith("bin" + os.sep):
            with open(source, "rb") as handle:
                script = handle.read()
        try:
            if script.startswith(b"#!") and here in script[:512]:
                with open(target, "xb") as handle:
                    handle.write(script.replace(here, there))
                os.chmod(target, 0o755)
            else:
                os.symlink(source, target)
        except FileExistsError:  # a file two distributions both record
            pass


def _link_resolved(resolved: dict[str, str], venv: Path) -> list[str]:
    """Link into ``venv`` each resolved distribution held here at the resolved version."""
    here = sysconfig.get_paths()
    installed = {
        _canonical(d.metadata["Name"]): d
        for d in importlib.metadata.distributions(path=[here["purelib"], here["platlib"]])
    }
    linked = []
    for name, version in sorted(resolved.items()):
        distribution = installed.get(name)
        if distribution is None or distribution.version != version:
            continue
        files = _linkable_files(distribution)
        if files:
            _link_distribution(files, venv)
            linked.append(name)
    return linked


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory):
    """``(python, env, timings, root, expected)`` of a venv holding what binder/ resolves to:
    ``expected`` is ``{name: version}`` of every distribution it must hold."""
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
        # no byte-compiling of every installed module: Python compiles what it imports
        PIP_NO_COMPILE="1",
        STSWIDGETS_PROGRESS="0",
    )
    timings: dict[str, float] = {}
    # no ensurepip (half a minute): the venv gets this environment's pip, linked like the rest
    command = [sys.executable, "-m", "venv", "--without-pip", str(venv)]
    _run(command, timings, "python -m venv --without-pip", env=env)
    assert _link_resolved({"pip": importlib.metadata.version("pip")}, venv) == ["pip"]
    python = str(venv / "bin" / "python")
    own = _venv_packages(python, env)  # pip
    report = root / "resolution.json"
    _run(
        [python, "-m", "pip", "install", "-q", "--dry-run", "--report", str(report)]
        + ["-r", REQUIREMENTS],
        timings,
        f"pip resolves {REQUIREMENTS}",
        cwd=ROOT,
        env=env,
    )
    resolved = {
        _canonical(item["metadata"]["name"]): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    start = time.perf_counter()
    linked = _link_resolved({k: v for k, v in resolved.items() if k != "stswidgets"}, venv)
    timings[f"link {len(linked)} of {len(resolved)} resolved distributions"] = (
        time.perf_counter() - start
    )
    _run(
        [python, "-m", "pip", "install", "-q", "-r", REQUIREMENTS],
        timings,
        f"pip install -r {REQUIREMENTS}",
        cwd=ROOT,
        env=env,
    )
    _run(["bash", "binder/postBuild"], timings, "binder/postBuild", cwd=ROOT, env=env)
    expected = {**own, **resolved}
    expected.pop("bqplot-gl", None)  # postBuild removes it should anything bring it in
    yield python, env, timings, root, expected
    print("\nBinder venv timings (s): " + json.dumps({k: round(v, 1) for k, v in timings.items()}))


def test_binder_environment_holds_exactly_what_binder_resolves(binder_env):
    python, env, _, _, expected = binder_env
    assert "torch" in expected and "voila" in expected and "stswidgets" in expected
    assert _venv_packages(python, env) == expected
    _run([python, "-m", "pip", "check"], {}, "pip check", env=env)


def test_binder_environment_is_its_own(binder_env):
    python, env, _, root, _ = binder_env
    out = subprocess.run(
        [
            python,
            "-c",
            "import stswidgets, sys, torch; print(sys.prefix, stswidgets.__file__, "
            "torch.__version__, torch.__file__)",
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
    assert Path(out[3]).is_relative_to(root / "venv")  # imported from the venv's site-packages


def test_notebook_01_runs_in_the_binder_environment(binder_env):
    python, env, timings, root, _ = binder_env
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

    python, env, timings, root, _ = binder_env
    nb = nbformat.read(ROOT / APP_NOTEBOOK, as_version=4)
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "import sys\n"
            f"assert sys.prefix == {str(root / 'venv')!r}, sys.prefix\n"
            "dashboard.wait(120)\n"
            "dashboard.start(dashboard.run_steps, ['distances', 'score', 'classes'])\n"
            "dashboard.wait(300)\n"
            "assert dashboard.classes is not None, dashboard.status.value\n"
            "print(dashboard.status.value)"
        )
    )
    source = root / "app_checked.ipynb"
    nbformat.write(nb, source)
    out = root / "app_out.ipynb"
    app_env = {**env, "STSWIDGETS_APP_PROFILE": "test"}
    _papermill(python, source, out, root, timings, "app notebook + steps", app_env)
    printed = "".join(o.get("text", "") for o in nbformat.read(out, 4).cells[-1].outputs)
    assert "classes: " in printed and "surface" in printed, printed


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
    python, env, timings, root, _ = binder_env
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
