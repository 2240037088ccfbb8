"""The binary payload of a Nanonis ``.3ds`` file, decoded pixel by pixel as its bytes arrive.

Nanonis writes a grid pixel after pixel, so a file being measured (or a copy taken meanwhile)
ends after its last complete pixel or inside the next one. :class:`PixelStore` takes the payload
in chunks (all of it at once for :func:`~stswidgets.io.read_3ds`, the bytes added since the
last look for :class:`~stswidgets.io.nanonis.follow.GridFollower`), keeps the complete pixels
and the bytes of the pixel not complete yet, and raises :class:`FormatError` where the data
show the file to be damaged rather than unfinished:

- the payload is larger than the header's grid allows (e.g. a copy in text mode turned each LF
  byte into CR LF);
- the header's lines end in CR CR LF and every LF byte of the payload follows a CR (a text-mode
  copy that shifted the data but kept it within the size the header allows);
- a complete pixel records its tip position (``X (m)``, ``Y (m)``) far off the scan frame of
  ``Grid settings``: more than :data:`OFF_GRID_FRAMES` frame sizes (at least
  :data:`OFF_GRID_MIN_NM`) beyond its edge, which shifted or lost bytes give and a
  measurement does not.
"""

from __future__ import annotations

import numpy as np

from stswidgets.io import _geometry
from stswidgets.io.errors import FormatError

__all__ = ["OFF_GRID_FRAMES", "OFF_GRID_MIN_NM", "PixelStore"]

OFF_GRID_FRAMES = 10.0  # frame sizes a recorded position may lie beyond the frame's edge
OFF_GRID_MIN_NM = 100.0  # ... and at least this many nm (drift, tiny or line frames)
_TEXT_MODE_LINE_END = b"\r\r\n"  # what a CR LF line end becomes in a text-mode copy


class PixelStore:
    """The pixels of one grid: NaN until their bytes are complete.

    Parameters
    ----------
    layout : stswidgets.io.nanonis._Layout
        Grid size, parameters and channels the header describes.
    header : dict
        The parsed header (``Grid settings`` gives the frame for the position check).
    path : str or pathlib.Path
        The file, for messages.
    line_end : bytes
        The bytes that end the header's ``:HEADER_END:`` line (``b"\\r\\n"`` as Nanonis writes).

    Attributes
    ----------
    params : numpy.ndarray, float32, shape ``(n_pixels, n_params)``
        Per-pixel parameters in file order (NaN for pixels not complete yet).
    spectra : numpy.ndarray, float32, shape ``(n_channels, n_pixels, n_points)``
    n_done : int
        Complete pixels so far (the first ``n_done`` in file order).
    n_bytes : int
        Payload bytes taken so far, including those of the pixel not complete yet.
    """

    def __init__(self, layout, header: dict, path, line_end: bytes = b"\r\n"):
        self.layout, self.path = layout, path
        self.n_pixels = layout.nx * layout.ny
        self.pixel_bytes = 4 * layout.pixel_values
        n_params, n_channels = len(layout.params), len(layout.channels)
        self.params = np.full((self.n_pixels, n_params), np.nan, dtype=np.float32)
        self.spectra = np.full(
            (n_channels, self.n_pixels, layout.n_points), np.nan, dtype=np.float32
        )
        self.n_done = self.n_bytes = 0
        self.completeness = None  # what the completeness rule found (set by pixels_dataset)
        self._tail = b""
        self._text_mode = line_end == _TEXT_MODE_LINE_END
        self._lf = self._bare_lf = 0
        self._last_byte = b""
        self._frame = _geometry.frame_from_settings(header.get("Grid settings"))
        names = layout.params
        self._position = (
            (names.index("X (m)"), names.index("Y (m)"))
            if "X (m)" in names and "Y (m)" in names
            else None
        )

    @property
    def partial_bytes(self) -> int:
        """Bytes of the pixel not complete yet."""
        return len(self._tail)

    def feed(self, data: bytes, start: int = 0) -> int:
        """Take the payload bytes ``data[start:]`` that follow those already taken.

        Returns
        -------
        int
            How many pixels these bytes completed.

        Raises
        ------
        FormatError
            When the payload so far shows the file to be damaged (see the module docstring).
        """
        n_new_bytes = len(data) - start
        self.n_bytes += n_new_bytes
        if self.n_bytes > self.n_pixels * self.pixel_bytes:
            raise FormatError(self._too_large())
        if self._text_mode:
            self._count_line_ends(data, start)
        if self._tail:
            data, start = self._tail + data[start:], 0
        k = (len(data) - start) // self.pixel_bytes
        pixel_values = self.layout.pixel_values
        raw = np.frombuffer(data, dtype=">f4", count=k * pixel_values, offset=start)
        raw = raw.reshape(k, pixel_values)
        n_params = len(self.layout.params)
        self._check_positions(raw[:, :n_params])
        done = slice(self.n_done, self.n_done + k)
        self.params[done] = raw[:, :n_params]
        n_channels, n_points = len(self.layout.channels), self.layout.n_points
        self.spectra[:, done] = (
            raw[:, n_params:].reshape(k, n_channels, n_points).transpose(1, 0, 2)
        )
        self._tail = bytes(data[start + k * self.pixel_bytes :])
        self.n_done += k
        return k

    def _too_large(self) -> str:
        layout = self.layout
        return (
            f"{self.path}: binary payload is {self.n_bytes} bytes, more than the "
            f"{self.n_pixels * self.pixel_bytes} bytes the header allows ({layout.nx} x "
            f"{layout.ny} pixels of {self.pixel_bytes} bytes: {len(layout.params)} parameters + "
            f"{len(layout.channels)} channels x {layout.n_points} points, 4-byte floats); the "
            "file is damaged (e.g. copied in text mode, which changes line ends inside the "
            "binary data)"
        )

    def _count_line_ends(self, data: bytes, start: int) -> None:
        """Count the payload's LF bytes and those not after a CR (a text-mode copy has none)."""
        if len(data) <= start:
            return
        lf = data.count(b"\n", start)
        after_cr = data.count(b"\r\n", start) + (data[start : start + 1] == b"\n") * (
            self._last_byte == b"\r"
        )
        self._lf += lf
        self._bare_lf += lf - after_cr
        self._last_byte = data[-1:]
        if self._lf and not self._bare_lf:
            raise FormatError(
                f"{self.path}: the header's lines end in CR CR LF and each of the {self._lf} LF "
                "bytes of the binary payload follows a CR: the file was copied in text mode, "
                "which turned every LF byte into CR LF and shifted the data; copy it again in "
                "binary mode"
            )

    def _check_positions(self, params: np.ndarray) -> None:
        """Refuse complete pixels whose recorded tip position lies far off the scan frame."""
        if self._position is None or self._frame is None or not len(params):
            return
        frame = self._frame
        margin = max(OFF_GRID_FRAMES * max(frame.width_nm, frame.height_nm), OFF_GRID_MIN_NM)
        angle = np.deg2rad(frame.angle_deg)
        with np.errstate(invalid="ignore", over="ignore"):  # garbage may be NaN or huge
            x_nm, y_nm = (params[:, i].astype(float) * _geometry.NM for i in self._position)
            dx, dy = x_nm - frame.center_x_nm, y_nm - frame.center_y_nm
            u = np.cos(angle) * dx - np.sin(angle) * dy
            v = np.sin(angle) * dx + np.cos(angle) * dy
            off = (np.abs(u) > frame.width_nm / 2 + margin) | (
                np.abs(v) > frame.height_nm / 2 + margin
            )
        if off.any():
            i = int(np.flatnonzero(off)[0])
            raise FormatError(
                f"{self.path}: pixel {self.n_done + i} (in file order) records its tip at "
                f"X = {x_nm[i]:.6g} nm, Y = {y_nm[i]:.6g} nm, far off the scan frame "
                f"(centre {frame.center_x_nm:.6g}, {frame.center_y_nm:.6g} nm, "
                f"{frame.width_nm:.6g} x {frame.height_nm:.6g} nm, {frame.angle_deg:g} deg): "
                "its parameters hold no position on the grid, so the binary data are damaged "
                "(e.g. bytes lost or inserted by a copy in text mode), not a grid still being "
                "measured"
            )
