"""The project's set-up files agree with each other."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    """Normalised distribution name of a requirement string (PEP 503)."""
    name = re.split(r"[\s<>=!~\[;]", requirement.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def test_environment_yml_names_the_same_runtime_packages_as_pyproject():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    runtime = {_name(r) for r in pyproject["project"]["dependencies"]}

    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    named = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            named |= {_name(r) for r in dep["pip"] if not r.startswith("-")}
        else:
            named.add(_name(dep))
    named -= {"python", "pip"}

    assert runtime == named, (
        f"only in pyproject.toml: {sorted(runtime - named)}; "
        f"only in environment.yml: {sorted(named - runtime)}"
    )


def test_environment_pins_the_cpu_torch_that_the_makefile_installs():
    env_text = (ROOT / "environment.yml").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert "torch==2.13.0" in env_text
    assert "pip install torch==2.13.0" in makefile


def test_binder_uses_the_top_level_environment():
    binder_env = ROOT / "binder" / "environment.yml"
    assert binder_env.exists()
    assert binder_env.resolve() == (ROOT / "environment.yml").resolve()
    assert "pip install --no-deps -e ." in (ROOT / "binder" / "postBuild").read_text()


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make demo" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
