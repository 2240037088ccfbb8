"""Every way to read the dI/dV from a file, scored against the current: the default channel.

:class:`Evaluation` lists the candidates of a Dataset (each recorded ``(y, x, bias)`` channel,
each lock-in X/Y pair rotated to its in-phase signal by :func:`~stswidgets.io.lockin.lockin_phase`,
and the numerical dI/dV of the current) and scores them by their agreement (Pearson r) with the
numerical dI/dV of the current of the same sweep direction; :meth:`Evaluation.default` is what
:func:`stswidgets.io.open_grid` reads by default, and :func:`channel_candidates` the table
notebook 01 plots.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from stswidgets.io import _channels
from stswidgets.io._load import Spectra, as_dataset
from stswidgets.io.lockin import lockin_phase, numerical_didv, pearson, rotate, saturated_spectra

__all__ = [
    "MAX_FIT_SPECTRA",
    "MIN_RAIL_POINTS",
    "POOR_AGREEMENT",
    "RAIL_TOLERANCE",
    "Candidate",
    "Evaluation",
    "channel_candidates",
    "rail_spectra",
]

POOR_AGREEMENT = 0.5  # open_grid warns when its default signal has a smaller r
MAX_FIT_SPECTRA = 4096  # spectra the phase fit and the agreement use on a large grid
MIN_RAIL_POINTS = 3  # a current this many points at its extreme is clipped at the rail
RAIL_TOLERANCE = 1e-4  # of the channel's range: how close to its extreme a value is "at" it


def rail_spectra(values: np.ndarray, min_points: int = MIN_RAIL_POINTS) -> np.ndarray:
    """Spectra ``(ny, nx)`` of a current ``(ny, nx, n_bias)`` stuck at the channel's maximum or
    minimum for at least ``min_points`` points (a clipped current amplifier: its rail).

    "At" the extreme is within :data:`RAIL_TOLERANCE` of the channel's range (an amplifier's
    rail wanders by a few ADC codes). Unlike :func:`~stswidgets.io.lockin.saturated_spectra`,
    a rail reached by most spectra still counts (a current clips at the sweep ends of many
    spectra at once). On the shared Nanosurf map: 140 of 225 forward spectra.
    """
    flagged = np.zeros(values.shape[:2], dtype=bool)
    if np.isnan(values).all():
        return flagged
    high, low = float(np.nanmax(values)), float(np.nanmin(values))
    tolerance = RAIL_TOLERANCE * (high - low)
    with np.errstate(invalid="ignore"):
        for extreme in (high, low):
            flagged |= (np.abs(values - extreme) <= tolerance).sum(axis=-1) >= min_points
    return flagged


@dataclass
class Candidate:
    """One way to read the dI/dV from a file: a channel as recorded, or an in-phase pair."""

    label: str
    kind: str  # "dI/dV", "lock-in", "in-phase", "current", "numerical dI/dV", "other"
    units: str
    sources: tuple[str, ...]  # variable names: one channel, or the X and Y of a pair
    phase_deg: float = float("nan")
    agreement: float = float("nan")
    n_saturated: int = 0
    mean: np.ndarray | None = None  # mean spectrum over the usable spectra, once scored

    def values(self, spectra: Spectra, pixels: np.ndarray | None = None) -> np.ndarray:
        """The candidate's spectra (all, or those at the flat pixel indices ``pixels``)."""
        if self.kind == "in-phase":
            x, y = (spectra.values(name, pixels) for name in self.sources)
            return rotate(x, y, self.phase_deg)
        if self.kind == "numerical dI/dV":
            return numerical_didv(spectra.values(self.sources[0], pixels), spectra.bias_mV)
        return spectra.values(self.sources[0], pixels)


def _kind(name: str) -> str:
    rank = _channels.channel_rank(name)
    if rank is not None:
        return "dI/dV" if rank[0] == 0 else "lock-in"
    return "current" if _channels.current_rank(name) is not None else "other"


class Evaluation:
    """Every candidate of a file with its agreement with the numerical dI/dV of the current.

    Phases, agreements and mean spectra are computed on at most :data:`MAX_FIT_SPECTRA`
    spectra spread evenly over the grid (all of them on smaller grids), so that opening a
    large grid stays quick; saturated spectra are counted on the whole grid.
    """

    def __init__(self, spectra: Spectra):
        self.spectra = spectra
        n_pixels = int(np.prod(spectra.dataset[spectra.names[0]].shape[:2]))
        self.pixels = np.unique(
            np.linspace(0, n_pixels - 1, min(n_pixels, MAX_FIT_SPECTRA)).astype(int)
        )
        names = spectra.names
        currents = sorted(
            (rank, n) for n in names if (rank := _channels.current_rank(n)) is not None
        )
        self.current = currents[0][1] if currents else None
        self._references: dict[str, np.ndarray] = {}  # numerical dI/dV by current
        self._masks: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # by channel
        self.candidates = [
            Candidate(spectra.full[n], _kind(n), spectra.units(n), (n,)) for n in names
        ]
        for x, y in _channels.lockin_pairs(names):
            if spectra.units(x) == spectra.units(y):
                label = f"{spectra.full[x]} cos(phi) + {spectra.full[y]} sin(phi)"
                self.candidates.append(Candidate(label, "in-phase", spectra.units(x), (x, y)))
        if self.current is not None:
            full = spectra.full[self.current]
            self.candidates.append(
                Candidate(
                    f"numerical dI/dV of {full}",
                    "numerical dI/dV",
                    f"{spectra.units(self.current) or 'A'}/V",
                    (self.current,),
                    agreement=1.0,
                )
            )

    def _reference_name(self, name: str) -> str | None:
        """The current of the same sweep direction as ``name`` (else the best one)."""
        direction = _channels.direction_rank(name)
        for other in self.spectra.names:
            if _channels.current_rank(other) == direction:
                return other
        return self.current

    def reference(self, name: str) -> tuple[np.ndarray | None, str | None]:
        current = self._reference_name(name)
        if current is None:
            return None, None
        if current not in self._references:
            values = self.spectra.values(current, self.pixels)
            self._references[current] = numerical_didv(values, self.spectra.bias_mV)
        return self._references[current], current

    def _channel_mask(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Spectra ``(ny, nx)`` of channel ``name`` that are finite, and that are saturated
        (for a current also those at its rail, :func:`rail_spectra`)."""
        if name not in self._masks:
            values = self.spectra.dataset[name].transpose("y", "x", "bias").values
            clipped = saturated_spectra(values)
            if _channels.current_rank(name) is not None:
                clipped |= rail_spectra(values)
            self._masks[name] = (np.isfinite(values).all(axis=-1), clipped)
        return self._masks[name]

    def _mask(self, sources: tuple[str, ...], reference: np.ndarray | None):
        """Which of :attr:`pixels` are finite in the sources and the reference and not
        saturated, and the number of saturated spectra in the whole grid (at least the
        ``n_clipped_spectra`` a reader recorded for a source)."""
        usable = np.ones(self.pixels.size, dtype=bool)
        saturated = 0
        recorded = 0
        for name in sources:
            finite, clipped = self._channel_mask(name)
            usable &= finite.ravel()[self.pixels] & ~clipped.ravel()[self.pixels]
            saturated = saturated | clipped
            recorded = max(
                recorded, int(self.spectra.dataset[name].attrs.get("n_clipped_spectra", 0))
            )
        if reference is not None:
            usable &= np.isfinite(reference).all(axis=-1)
        return usable, max(int(np.sum(saturated)), recorded)

    def _fit_phase(self, candidate: Candidate) -> None:
        x, y = candidate.sources
        reference, _ = self.reference(x)
        usable, _ = self._mask((x, y), reference)
        if usable.any():
            xs, ys = (self.spectra.values(name, self.pixels)[usable] for name in (x, y))
            ref = None if reference is None else reference[usable]
            candidate.phase_deg = round(lockin_phase(xs, ys, ref), 2)
        candidate.label = candidate.label.replace("phi", f"{candidate.phase_deg:g} deg")

    def score(self, candidate: Candidate) -> Candidate:
        """Fill the candidate's phase (a pair), mean spectrum, saturated count and agreement."""
        if candidate.mean is not None:
            return candidate
        candidate.mean = np.full(self.spectra.bias_mV.size, np.nan)
        if candidate.kind == "in-phase":
            self._fit_phase(candidate)
            if not np.isfinite(candidate.phase_deg):
                return candidate
        values = candidate.values(self.spectra, self.pixels)
        compare = candidate.kind not in ("current", "numerical dI/dV")
        reference = self.reference(candidate.sources[0])[0] if compare else None
        usable, candidate.n_saturated = self._mask(candidate.sources, reference)
        usable &= np.isfinite(values).all(axis=-1)
        if usable.any():
            candidate.mean = values[usable].mean(axis=0)
            if reference is not None:
                candidate.agreement = pearson(values[usable], reference[usable])
        return candidate

    def default(self) -> Candidate | None:
        """The dI/dV :func:`stswidgets.io.open_grid` reads by default (None: no lock-in).

        A ``didv``/``dI/dV`` channel as it is. Else (lock-in outputs; an auxiliary input such
        as ``Aux2`` only where there is none, and with a current only where it agrees with
        its numerical dI/dV, r >= :data:`POOR_AGREEMENT`) the in-phase signal of a lock-in X/Y pair
        of the best sweep direction that has one (forward before single sweeps before
        ``[bwd]``): with a current, the pair that agrees best with its numerical dI/dV;
        without, the first pair, at the principal axis. An unpaired lock-in output (``R``, a
        lone ``X``; phase outputs never) only where there is no pair (the best-agreeing with a
        current, else the best by :func:`channel_rank`), or where the pair agrees poorly
        (r < :data:`POOR_AGREEMENT`) and the output agrees better.
        """
        names = self.spectra.names
        ranked = sorted(
            (rank, i) for i, n in enumerate(names) if (rank := _channels.channel_rank(n))
        )
        if ranked and ranked[0][0][0] == 0:
            return self.score(self.candidates[ranked[0][1]])
        ranked = [(rank, i) for rank, i in ranked if rank[0] == ranked[0][0][0]]  # best kind
        if ranked and ranked[0][0][0] == _channels.AUX_KIND:
            chosen = _best([self.score(self.candidates[i]) for _, i in ranked])
            poor = self.current is not None and not chosen.agreement >= POOR_AGREEMENT
            return None if poor else chosen
        pairs = [self.score(c) for c in self.candidates if c.kind == "in-phase"]
        pairs = [c for c in pairs if np.isfinite(c.phase_deg)]
        if pairs:
            direction = min(_channels.direction_rank(c.sources[0]) for c in pairs)
            pairs = [c for c in pairs if _channels.direction_rank(c.sources[0]) == direction]
        paired = {name for c in pairs for name in c.sources}
        singles = [
            self.score(self.candidates[i])
            for rank, i in ranked
            if rank[1] != _channels.PHASE_COMPONENT and names[i] not in paired
        ]
        if not pairs + singles:
            return None
        if self.current is None:
            return (pairs + singles)[0]
        best = [_best(options) for options in (pairs, singles) if options]
        if len(best) == 2 and not best[0].agreement >= POOR_AGREEMENT:
            return _best(best)
        return best[0]


def _best(options: list[Candidate]) -> Candidate:
    """The first candidate with the highest agreement (NaN counts as the lowest)."""
    return max(options, key=lambda c: c.agreement if np.isfinite(c.agreement) else -np.inf)


def channel_candidates(path_or_dataset) -> xr.Dataset:
    """Every way to read the dI/dV from a file, with its mean spectrum and agreement.

    Parameters
    ----------
    path_or_dataset : str, pathlib.Path, xarray.Dataset or xarray.DataArray
        Anything :func:`stswidgets.io.open_grid` reads.

    Returns
    -------
    xarray.Dataset, dims ``("candidate", "bias")``
        One candidate per recorded ``(y, x, bias)`` channel, per lock-in X/Y pair rotated to its
        in-phase signal, and the numerical dI/dV of the current (the reference).

        - ``mean`` ``(candidate, bias)``: mean spectrum over the usable spectra (finite, not
          saturated; at most :data:`MAX_FIT_SPECTRA`, spread evenly over the grid, like the
          agreement), in the candidate's ``units``;
        - ``mean_standardised`` ``(candidate, bias)``: the same, minus its average, over its
          standard deviation (dimensionless), to overlay shapes on one axis;
        - coordinates ``bias`` (mV, ascending), ``candidate`` (the channel's full name, or
          ``"X (V) cos(37.2 deg) + Y (V) sin(37.2 deg)"``), and per candidate ``kind``
          (``"dI/dV"``, ``"lock-in"``, ``"in-phase"``, ``"current"``, ``"numerical dI/dV"``,
          ``"other"``), ``units``, ``agreement`` (Pearson r with the numerical dI/dV of the
          current of the same sweep direction; NaN without a current, and for currents),
          ``phase_deg`` (NaN but for pairs), ``n_saturated`` (spectra left out) and ``chosen``
          (True for what ``open_grid`` reads by default);
        - ``attrs``: ``source``, ``reference`` (the current's full name, ``""`` without one)
          and ``poor_agreement`` (the r below which ``open_grid`` warns).

    Examples
    --------
    >>> candidates = channel_candidates("grid.3ds")  # doctest: +SKIP
    >>> for label in candidates["candidate"].values:  # doctest: +SKIP
    ...     row = candidates.sel(candidate=label)
    ...     plt.plot(candidates["bias"], row["mean_standardised"],
    ...              label=f"{label}: r = {float(row['agreement']):.2f}")
    """
    dataset, source = as_dataset(path_or_dataset)
    evaluation = Evaluation(Spectra(dataset, source or "the dataset"))
    chosen = evaluation.default()
    if chosen is None and evaluation.current is not None:
        chosen = evaluation.candidates[-1]  # open_grid then reads the current's derivative
    rows = [evaluation.score(candidate) for candidate in evaluation.candidates]
    mean = np.stack([row.mean for row in rows])
    with np.errstate(invalid="ignore", divide="ignore"):
        centred = mean - np.nanmean(mean, axis=1, keepdims=True)
        standardised = centred / np.nanstd(mean, axis=1, keepdims=True)
    standardised[~np.isfinite(standardised)] = np.nan

    def per_candidate(values, **attrs):
        return ("candidate", np.asarray(values), attrs)

    coords = {
        "candidate": per_candidate([row.label for row in rows]),
        "bias": ("bias", evaluation.spectra.bias_mV, {"units": "mV", "long_name": "bias"}),
        "kind": per_candidate([row.kind for row in rows]),
        "units": per_candidate([row.units for row in rows]),
        "agreement": per_candidate(
            [row.agreement for row in rows], long_name="Pearson r with the numerical dI/dV"
        ),
        "phase_deg": per_candidate([row.phase_deg for row in rows], units="deg"),
        "n_saturated": per_candidate([row.n_saturated for row in rows]),
        "chosen": per_candidate([row is chosen for row in rows]),
    }
    reference = evaluation.current
    return xr.Dataset(
        {
            "mean": (("candidate", "bias"), mean, {"long_name": "mean spectrum"}),
            "mean_standardised": (
                ("candidate", "bias"),
                standardised,
                {"long_name": "standardised mean spectrum", "units": "1"},
            ),
        },
        coords=coords,
        attrs={
            "source": source,
            "reference": "" if reference is None else evaluation.spectra.full[reference],
            "poor_agreement": POOR_AGREEMENT,
        },
    )
