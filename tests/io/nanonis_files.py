"""Helpers for the reader tests: the real files beside the checkout, and .3ds files written here.

Imported by the tests as ``from nanonis_files import ...`` (tests/io is on sys.path).

``raw_3ds`` writes header and payload byte by byte, independently of ``write_3ds``, so the
reader is tested against the format itself.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

# beside the checkout; STSWIDGETS_REAL_DATA points elsewhere (e.g. from a git worktree)
REAL_DIR = Path(
    os.environ.get("STSWIDGETS_REAL_DATA")
    or Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"
)
GRID_30 = "nanonis_grid_lockin_30x30.3ds"
LINE_32 = "nanonis_line_pb_sc_32x1.3ds"


def real_file(name: str) -> Path:
    """Path of a real measured file (``"vendors/..."`` for the other vendors' files), or skip
    the test when the folder is absent."""
    path = REAL_DIR / name
    if not path.is_file():
        pytest.skip(
            f"real file {name} not found in {REAL_DIR} (the real-data folder sits beside "
            "the checkout in the development setup only)"
        )
    return path


def header_lines(
    nx: int,
    ny: int,
    points: int,
    channels: list[str],
    experiment: list[str] = ("X (m)", "Y (m)", "Z (m)"),
    settings: str = "1.0E-8;2.0E-8;8.0E-9;4.0E-9;0.0E+0",
    extra: list[tuple[str, str]] = (),
    signal: str = "Bias (V)",
) -> list[tuple[str, str]]:
    """Header entries as Nanonis writes them (values already formatted)."""
    experiment = list(experiment)
    return [
        ("Grid dim", f'"{nx} x {ny}"'),
        ("Grid settings", settings),
        *extra,
        ("Sweep Signal", f'"{signal}"'),
        ("Fixed parameters", '"Sweep Start;Sweep End"'),
        ("Experiment parameters", '"' + ";".join(experiment) + '"'),
        ("# Parameters (4 byte)", str(2 + len(experiment))),
        ("Experiment size (bytes)", str(4 * points * len(channels))),
        ("Points", str(points)),
        ("Channels", '"' + ";".join(channels) + '"'),
        ("Experiment", '"Grid Spectroscopy"'),
    ]


def raw_3ds(path: Path, header: list[tuple[str, str]], pixels: np.ndarray) -> Path:
    """Write ``header`` lines (CRLF), the end tag and ``pixels`` as big-endian float32."""
    text = "".join(f"{key}={value}\r\n" for key, value in header) + ":HEADER_END:\r\n"
    path.write_bytes(text.encode("latin-1") + np.asarray(pixels, dtype=">f4").tobytes())
    return path


def pixel_block(
    ny: int, nx: int, sweep: tuple[float, float], spectra: list[np.ndarray], n_experiment: int = 3
) -> np.ndarray:
    """Payload rows ``(ny * nx, 2 + n_experiment + n_channels * points)``.

    ``spectra``: one ``(ny, nx, points)`` array per channel; experiment parameter ``k`` is
    ``row * 100 + col + k / 10`` so tests can tell pixels and parameters apart, in units of
    1e-11 for the first two (``X (m)``, ``Y (m)`` of :func:`header_lines`: tip positions within
    a few tens of nm of its scan frame, as measured ones are; the reader refuses positions far
    off the frame as damage).
    """
    rows, cols = np.indices((ny, nx))
    params = [np.full((ny, nx), sweep[0]), np.full((ny, nx), sweep[1])]
    params += [
        (rows * 100.0 + cols + k / 10) * (1e-11 if k < 2 else 1.0) for k in range(n_experiment)
    ]
    block = np.concatenate([np.stack(params, axis=-1), *spectra], axis=-1)
    return block.reshape(ny * nx, -1)


def synthetic_dataset(
    ny: int = 3,
    nx: int = 4,
    bias_V: np.ndarray | None = None,
    channels: tuple[str, ...] = ("Current (A)", "LIX 1 omega (A)"),
    seed: int = 0,
) -> xr.Dataset:
    """A Dataset shaped like read_3ds's: channels (y, x, bias) float32, bias in V, x/y in nm."""
    bias_V = np.linspace(-0.01, 0.01, 11) if bias_V is None else np.asarray(bias_V, dtype=float)
    rng = np.random.default_rng(seed)
    data_vars = {}
    for channel in channels:
        name, _, unit = channel.rpartition(" (")
        values = rng.normal(size=(ny, nx, bias_V.size)).astype(np.float32)
        data_vars[name] = (("y", "x", "bias"), values, {"units": unit[:-1], "channel": channel})
    coords = {
        "y": ("y", 5.0 + 0.5 * np.arange(ny), {"units": "nm"}),
        "x": ("x", -3.0 + 0.25 * np.arange(nx), {"units": "nm"}),
        "bias": ("bias", bias_V, {"units": "V"}),
    }
    return xr.Dataset(data_vars, coords=coords)


def scan_file(
    path: Path,
    ny: int,
    nx: int,
    *,
    angle_deg: float = 0.0,
    center_nm: tuple[float, float] = (100.0, -50.0),
    size_nm: tuple[float, float] = (900.0, 900.0),
    serpentine: bool = False,
    downward: bool = False,
    n_done: int | None = None,
) -> Path:
    """A .3ds grid whose pixels are stored in acquisition order with their X (m), Y (m).

    The pixel at raster position ``(row, col)`` (``row`` 0 at the lowest ``v``, ``col`` 0 at
    the lowest ``u`` along the grid axes) sits at ``u = -w/2 + col w/nx``, ``v = -h/2 + row h/ny``
    from the centre, at ``X = cx + u cos a + v sin a``, ``Y = cy - u sin a + v cos a`` (Nanonis
    convention), and its one channel ``Marker (A)`` holds ``[u, 1000 row + col, v]`` (3 points;
    never two zeros at the end, which the completeness rule would read as a cut-off spectrum).
    ``serpentine``: odd acquisition lines run backwards; ``downward``: the first line acquired is
    the highest ``v``; ``n_done``: only the first pixels acquired are in the file (aborted grid).
    """
    width, height = size_nm
    acquisition = []
    for line in range(ny):
        row = ny - 1 - line if downward else line
        cols = range(nx - 1, -1, -1) if serpentine and line % 2 else range(nx)
        acquisition += [(row, col) for col in cols]
    a = np.deg2rad(angle_deg)
    records = []
    for row, col in acquisition[:n_done]:
        u, v = -width / 2 + col * width / nx, -height / 2 + row * height / max(ny, 1)
        x = center_nm[0] + u * np.cos(a) + v * np.sin(a)
        y = center_nm[1] - u * np.sin(a) + v * np.cos(a)
        records.append([-0.01, 0.01, x * 1e-9, y * 1e-9, u, 1000.0 * row + col, v])
    settings = ";".join(
        f"{value:.9E}"
        for value in (center_nm[0] * 1e-9, center_nm[1] * 1e-9, width * 1e-9, height * 1e-9)
    )
    header = header_lines(
        nx, ny, 3, ["Marker (A)"], experiment=["X (m)", "Y (m)"], settings=f"{settings};{angle_deg}"
    )
    return raw_3ds(path, header, np.array(records))


def lockin_dataset(
    phase_deg: float,
    *,
    ny: int = 8,
    nx: int = 8,
    n_bias: int = 121,
    noise: float = 0.02,
    noise_x: float | None = None,
    current: bool = True,
    seed: int = 0,
) -> tuple[xr.Dataset, np.ndarray]:
    """A grid measured with a lock-in at a known phase, shaped like read_3ds's output.

    Per pixel a positive dI/dV ``s`` (background, a Gaussian peak whose position, width and
    height vary from pixel to pixel, and an overall scale) in nS; ``Current`` (A) its integral
    over the bias; ``LockinX = s cos(phi) + noise``, ``LockinY = s sin(phi) + noise`` (V, the
    same noise level on both outputs, as a lock-in has, unless ``noise_x`` sets X's). Returns
    the Dataset and ``s``.
    """
    rng = np.random.default_rng(seed)
    bias_V = np.linspace(-0.06, 0.06, n_bias)
    centre = rng.uniform(-0.03, 0.03, (ny, nx, 1))
    width = rng.uniform(0.005, 0.015, (ny, nx, 1))
    height = rng.uniform(0.5, 3.0, (ny, nx, 1))
    scale = rng.uniform(0.5, 1.5, (ny, nx, 1))
    s = scale * (
        1.0 + 0.5 * bias_V / 0.06 + height * np.exp(-0.5 * ((bias_V - centre) / width) ** 2)
    )
    steps = (s[..., 1:] + s[..., :-1]) / 2 * np.diff(bias_V)  # trapezoid integral, nS V = nA
    current_A = 1e-9 * np.concatenate([np.zeros((ny, nx, 1)), np.cumsum(steps, axis=-1)], -1)
    a = np.deg2rad(phase_deg)
    x = s * np.cos(a) + (noise if noise_x is None else noise_x) * rng.normal(size=s.shape)
    y = s * np.sin(a) + noise * rng.normal(size=s.shape)
    data_vars = {}
    if current:
        data_vars["Current"] = (current_A - current_A.mean(), "A")
    data_vars.update(LockinX=(x, "V"), LockinY=(y, "V"))
    dataset = xr.Dataset(
        {
            name: (
                ("y", "x", "bias"),
                values.astype(np.float32),
                {"units": u, "channel": f"{name} ({u})"},
            )
            for name, (values, u) in data_vars.items()
        },
        coords={
            "y": ("y", 2.0 * np.arange(ny), {"units": "nm"}),
            "x": ("x", 2.0 * np.arange(nx), {"units": "nm"}),
            "bias": ("bias", bias_V, {"units": "V"}),
        },
    )
    return dataset, s


def lockin_grid_file(
    path: Path, ny: int = 48, nx: int = 64, n_bias: int = 41, phase_deg: float = 25.0, seed=0
) -> Path:
    """A .3ds grid as Nanonis writes it during a lock-in measurement: ``Current (A)``,
    ``LockinX (V)``, ``LockinY (V)`` (:func:`lockin_dataset` at ``phase_deg``) and the tip
    positions ``X (m)``, ``Y (m)`` of each pixel (a raster scan on the 2 nm pitch of x/y)."""
    from stswidgets.io import write_3ds

    dataset, _ = lockin_dataset(phase_deg, ny=ny, nx=nx, n_bias=n_bias, seed=seed)
    x_m, y_m = np.meshgrid(dataset["x"].values * 1e-9, dataset["y"].values * 1e-9)
    dataset["X (m)"] = (("y", "x"), x_m.astype(np.float32), {"units": "m"})
    dataset["Y (m)"] = (("y", "x"), y_m.astype(np.float32), {"units": "m"})
    return write_3ds(dataset, path, overwrite=True)


def payload_offset(data: bytes) -> int:
    """Where the binary payload of .3ds bytes starts (after ``:HEADER_END:`` and CR LF)."""
    return data.index(b":HEADER_END:\r\n") + len(b":HEADER_END:\r\n")
