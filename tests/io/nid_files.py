"""Nanosurf ``.nid`` spectroscopy files written here for the reader tests.

The layout follows the shared real file (``nanosurf_tarzan_specmap15.nid``): an INI header
(CRLF) starting with ``[DataSet]``, one section per channel, ``#!``, then the channel blocks in
the order ``[DataSet]`` lists them, 16-bit signed little-endian codes ``r`` standing for
``Dim2Min + Dim2Range (r + 32768) / 65536``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

NID_REAL = "nanosurf_tarzan_specmap15.nid"
CURRENT = ("Tip Current", "A", -2e-8, 4e-8)  # name, unit, Dim2Min, Dim2Range
VOLTAGE = ("Tip voltage", "V", -10.0, 20.0)


def to_codes(values: np.ndarray, low: float, span: float) -> np.ndarray:
    """Values as the 16-bit codes the file stores (rounded, clipped to the range)."""
    codes = np.round((np.asarray(values) - low) / span * 65536 - 32768)
    return np.clip(codes, -32768, 32767).astype("<i2")


def from_codes(codes: np.ndarray, low: float, span: float) -> np.ndarray:
    return low + span * (np.asarray(codes, dtype=float) + 32768) / 65536


def write_nid(
    path: Path,
    groups: dict[str, list[tuple[tuple, np.ndarray]]],
    sweep: tuple[float, float] = (-1.0, 2.0),
    grid: tuple[int, int] | None = (3, 2),
    frame_m: tuple[float, float, float, float] = (1e-8, 3e-8, -2e-8, -1e-8),
    repetitions: int = 1,
    mode: str = "Repeat position list",
    cur_line: int | None = None,
    line_points: dict[int, int] | None = None,
    truncate: int = 0,
    sweeps: dict[str, tuple[float, float]] | None = None,
    points_m: list[tuple[float, float]] | None = None,
    rotation: float = 0,
) -> Path:
    """A ``.nid`` file with spectroscopy ``groups`` ``{"Spec forward": [(CURRENT, codes)]}``.

    ``codes`` are int16 ``(lines, points)``; ``sweep`` is ``(Dim0Min, Dim0Range)`` in V;
    ``grid`` ``(nx, ny)`` writes a SpecMapTable over ``frame_m`` ``(x0, x1, y0, y1)``;
    ``line_points`` ``{line: kept}`` writes ``LineDim<line>Points``; ``truncate`` cuts that
    many bytes off the end; ``sweeps`` ``{group: (Dim0Min, Dim0Range)}`` overrides ``sweep``.
    ``points_m`` writes a SpecPosTable of ``(x, y)`` positions (m) instead of a map.
    A small ``Scan forward`` image group is always added.
    """
    head = ["[DataSet]", "Version=2", f"GroupCount={len(groups) + 1}"]
    sections, blocks = [], []
    names = [*groups, "Scan forward"]
    for g, group in enumerate(names):
        channels = groups.get(group, [(("Z-Axis", "m", -1e-7, 2e-7), np.zeros((4, 4), "<i2"))])
        head += [f"Gr{g}-Name={group}", f"Gr{g}-ID={0 if group.startswith('Scan') else 1}"]
        head.append(f"Gr{g}-Count=24")
        for c, ((name, unit, low, span), codes) in enumerate(channels):
            label = f"DataSet-{g}:{c}"
            head.append(f"Gr{g}-Ch{c}={label}")
            lines, points = codes.shape
            body = [f"[{label}]", "Version=2", f"Points={points}", f"Lines={lines}"]
            body += [f"Frame={group}", f"CurLine={lines - 1 if cur_line is None else cur_line}"]
            body += ["Dim0Name=Tip voltage", "Dim0Unit=V"]
            low0, span0 = (sweeps or {}).get(group, sweep)
            body += [f"Dim0Range={span0}", f"Dim0Min={low0}"]
            body += ["Dim1Name=SpecPoint", f"Dim1Range={lines}", "Dim1Min=0"]
            body += [f"Dim2Name={name}", f"Dim2Unit={unit}", f"Dim2Range={span}"]
            body += [f"Dim2Min={low}", "SaveMode=Binary", "SaveBits=16", "SaveSign=Signed"]
            body += ["SaveOrder=Intel"]
            if group.startswith("Spec") and line_points:
                body.append("LineDim0Min=-1")
                body += [f"LineDim{k}Points={n}" for k, n in sorted(line_points.items())]
            sections.append(body)
            blocks.append(np.asarray(codes, "<i2").tobytes())
    info = ["[DataSet-Info]", "-- Spec --=--------", "Mod. output=Tip voltage"]
    info += [f"Repetition={repetitions}", f"Repetition Mode={mode}", "Setpoint=700pA"]
    spec = ["[DataSet\\Parameters\\Spectroscopy]", "SubSectionCount=0"]
    spec.append(f"Repetition=L[{repetitions}]*[]")
    imaging = ["[DataSet\\Parameters\\Imaging]", "ScanRotation=V[12.5,0,0]*[°,°,°]"]
    maps = ["[DataSet\\Calibration\\Cantilever]", "SubSectionCount=0"]
    if grid is not None:
        x0, x1, y0, y1 = frame_m
        maps += ["[DataSet\\SpecInfos\\SpecHeader]", "SpecMode=Map"]
        maps += ["[DataSet\\SpecInfos\\SpecMapTable]", "Count=1"]
        maps.append(f"Map0={x0};{x1};{y0};{y1};{grid[0]};{grid[1]};{rotation};0")
    if points_m is not None:
        maps += ["[DataSet\\SpecInfos\\SpecPosTable]", "PosAxis=X;Y", "PosUnits=m;m"]
        maps.append(f"Count={len(points_m)}")
        maps += [f"Pos{k}={x};{y}" for k, (x, y) in enumerate(points_m)]
    text = [head, info, spec, imaging, maps, *sections]
    header = "\r\n\r\n".join("\r\n".join(part) for part in text) + "\r\n\r\n#!"
    payload = b"".join(blocks)
    data = header.encode("latin-1") + payload
    path.write_bytes(data[: len(data) - truncate])
    return path


def serpentine(values: np.ndarray, nx: int, ny: int) -> np.ndarray:
    """Spectra ``(ny, nx, n)`` in raster order as the lines a serpentine map records."""
    rows = np.asarray(values).copy()
    rows[1::2] = rows[1::2, ::-1]
    return rows.reshape(nx * ny, -1)
