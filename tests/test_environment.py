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


def _binder_requirements() -> list[str]:
    lines = (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def test_binder_requirements_name_the_same_runtime_packages_as_pyproject():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    runtime = {_name(r) for r in pyproject["project"]["dependencies"]}
    named = {_name(r) for r in _binder_requirements() if not r.startswith(("-", "."))}
    assert runtime == named, (
        f"only in pyproject.toml: {sorted(runtime - named)}; "
        f"only in binder/requirements.txt: {sorted(named - runtime)}"
    )


def test_binder_is_pip_only_with_the_cpu_torch_and_the_package_itself():
    requirements = _binder_requirements()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in requirements
    assert "torch==2.13.0" in requirements
    assert "-e ." in requirements  # repo2docker copies the repository first for a local path
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
    post_build = ROOT / "binder" / "postBuild"
    assert post_build.stat().st_mode & 0o111, "binder/postBuild must be executable"
    # repo2docker builds from environment.yml instead when binder/ holds one
    assert not (ROOT / "binder" / "environment.yml").exists()


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make demo" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
