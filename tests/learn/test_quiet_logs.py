"""Quiet logs (issue 13): training prints a line per epoch where its output is kept as text
(a redirect, a pipe, CI), a live bar on a terminal and a widget in Jupyter."""

import fcntl
import io
import json
import os
import pty
import struct
import subprocess
import sys
import termios
import textwrap
import threading
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("pytorch_lightning")

from stswidgets.learn import _training  # noqa: E402
from stswidgets.learn._training import PROGRESS_ENV, make_progress_bar, progress_style  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EPOCHS = 3
#: A script training a SimilarityScore (two trainings: projection, then score) with the bar on.
FIT = textwrap.dedent(
    f"""
    import numpy as np
    from stswidgets.learn import SimilarityScore

    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (300, 20)), rng.normal(3, 1, (30, 20))])
    # 4096 pairs in batches of 64: 64 batches per epoch, {EPOCHS} epochs, two trainings
    SimilarityScore(
        max_epochs={EPOCHS}, pairs_per_epoch=4096, batch_size=64, restarts=0, random_state=0
    ).fit(X)
    print("fitted")
    """
)


def _environment() -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    env.pop(PROGRESS_ENV, None)
    return env


@pytest.mark.slow  # a training in a child process: ~8 s
def test_a_script_with_redirected_output_prints_one_line_per_epoch():
    done = subprocess.run(
        [sys.executable, "-c", FIT],
        capture_output=True,
        text=True,
        env=_environment(),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    printed = done.stdout + done.stderr
    assert "\r" not in printed  # no bar redrawn in place: each update would be one more line
    epoch_lines = [line for line in printed.splitlines() if line.startswith("Epoch ")]
    # two trainings of EPOCHS epochs each (early stopping may end one sooner)
    assert 2 <= len(epoch_lines) <= 2 * EPOCHS
    assert all("train_loss" in line and "val_loss" in line for line in epoch_lines)
    assert len(printed.splitlines()) <= 2 * EPOCHS + 3  # 64 batches per epoch printed nothing


@pytest.mark.slow  # a training in a child process: ~7 s
def test_on_a_terminal_the_bar_is_redrawn_in_place():
    """The same script with a pseudo-terminal as stdout: tqdm's bar (updates joined by \\r)."""
    leader, follower = pty.openpty()
    # 24 rows x 100 columns: a new pseudo-terminal has 0 columns, where tqdm draws nothing
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    child = subprocess.Popen(
        [sys.executable, "-c", FIT], stdout=follower, stderr=subprocess.PIPE, env=_environment()
    )
    os.close(follower)  # the child holds the terminal now; reading ends when it exits
    chunks = []
    reader = threading.Thread(target=_read_all, args=(leader, chunks), daemon=True)
    reader.start()
    try:
        child.communicate(timeout=300)
    finally:
        reader.join(timeout=10)
        os.close(leader)
    assert child.returncode == 0
    terminal = b"".join(chunks).decode(errors="replace")
    live_bar = "\r" in terminal and "it/s" in terminal  # tqdm's bar, redrawn in place
    assert live_bar, terminal[-300:]
    assert "Validation" not in terminal and not terminal.count("\nEpoch ")


def _read_all(fd: int, chunks: list) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the last writer closed the terminal
            return
        if not chunk:
            return
        chunks.append(chunk)


class _Stream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


def test_the_style_follows_where_the_output_goes(monkeypatch):
    monkeypatch.setattr(_training, "_in_jupyter_kernel", lambda: False)
    assert progress_style(_Stream(tty=True)) == "bar"
    assert progress_style(_Stream(tty=False)) == "epochs"
    closed = open(os.devnull, "w")  # noqa: SIM115 - closed at once: isatty() then raises
    closed.close()
    assert progress_style(closed) == "epochs"
    assert progress_style(object()) == "epochs"  # a stream without isatty
    # a Jupyter kernel's output is not a tty, but JupyterLab draws the widget bar
    monkeypatch.setattr(_training, "_in_jupyter_kernel", lambda: True)
    assert progress_style(_Stream(tty=False)) == "bar"


def test_each_style_gets_its_callback():
    from pytorch_lightning.callbacks import ProgressBar, TQDMProgressBar

    bar, lines = make_progress_bar("bar"), make_progress_bar("epochs")
    assert isinstance(bar, TQDMProgressBar)
    assert isinstance(lines, ProgressBar) and not isinstance(lines, TQDMProgressBar)
    with pytest.raises(ValueError, match="'bar' or 'epochs'"):
        make_progress_bar("lines")


def test_in_this_process_no_kernel_is_detected():
    assert _training._in_jupyter_kernel() is False


@pytest.mark.slow
def test_a_notebook_run_by_papermill_holds_no_per_batch_lines(tmp_path, monkeypatch):
    """Without STSWIDGETS_PROGRESS=0 (a notebook run by papermill or nbval by hand): the
    training shows one widget per training, whose text form is one line, not a line per batch."""
    import nbformat
    import papermill

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(FIT)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, tmp_path / "fit.ipynb")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the kernel imports this tree
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    papermill.execute_notebook(
        str(tmp_path / "fit.ipynb"),
        str(tmp_path / "out.ipynb"),
        kernel_name="python3",
        progress_bar=False,
        extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
    )
    outputs = nbformat.read(tmp_path / "out.ipynb", as_version=4).cells[0].outputs
    text = json.dumps(outputs)
    assert "fitted" in text
    assert len(outputs) <= 3  # a widget per training, and the printed line
    streams = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "\r" not in streams and "it/s" not in streams


@pytest.mark.parametrize("style", ["bar", "epochs"])
def test_the_callbacks_pickle_for_spawned_data_parallel_runs(style):
    """strategy="ddp_spawn" pickles the Trainer's callbacks into the child processes."""
    import pickle

    callback = pickle.loads(pickle.dumps(make_progress_bar(style)))
    assert type(callback) is type(make_progress_bar(style))
