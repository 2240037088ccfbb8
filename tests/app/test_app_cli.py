"""``stswidgets app``: bad input is refused before Voila starts; the Voila command line."""

from __future__ import annotations

import socket

from stswidgets.app import APP_NOTEBOOK, voila_command
from stswidgets.cli import main


def test_app_notebook_is_package_data_and_builds_the_dashboard():
    import nbformat

    nb = nbformat.read(APP_NOTEBOOK, as_version=4)
    code = "".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "Dashboard.from_environment().show()" in code
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_voila_listens_on_loopback_only_and_tries_no_other_port():
    command = voila_command(9123, open_browser=False)
    assert command[1:4] == ["-m", "voila", str(APP_NOTEBOOK)]
    assert "--port=9123" in command and "--Voila.ip=127.0.0.1" in command
    assert "--Voila.port_retries=0" in command and "--no-browser" in command
    assert "--no-browser" not in voila_command(9123)


def test_missing_file_is_refused(tmp_path, capsys):
    assert main(["app", str(tmp_path / "none.3ds"), "--no-browser"]) == 2
    assert f"file not found: {tmp_path / 'none.3ds'}" in capsys.readouterr().err


def test_file_and_demo_together_are_refused(tmp_path, capsys):
    assert main(["app", str(tmp_path / "g.3ds"), "--demo"]) == 2
    assert "not both" in capsys.readouterr().err


def test_a_busy_port_is_refused(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["app", "--demo", "--port", str(port), "--no-browser"]) == 2
    assert f"port {port} is not free" in capsys.readouterr().err
