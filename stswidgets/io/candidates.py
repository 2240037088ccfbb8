"""Every way to read the dI/dV from a file, scored against the current: the default channel.

:class:`Evaluation` lists the candidates of a Dataset (each recorded ``(y, x, bias)`` channel,
each lock-in X/Y pair rotated to its in-phase signal by :func:`~stswidgets.io.lockin.lockin_phase`,
and the numerical dI/dV of the current) and scores them by their agreement (Pearson r) with the
numerical dI/dV of the current of the same sweep direction; :meth:`Evaluation.default` is what
:func:`stswidgets.io.open_grid` reads by default, and :func:`channel_candidates` the table
notebook 01 plots.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr
from scipy.ndimage import gaussian_filter1d

from stswidgets.io import _channels
from stswidgets.io._load import Spectra, as_dataset, spectra_view
from stswidgets.io._series import is_glob, series_dataset, series_files
from stswidgets.io.lockin import (
    lockin_phase,
    numerical_didv,
    pearson,
    rail_spectra,
    relative_noise,
    rotate,
    saturated_spectra,
)

__all__ = [
    "AUX_AGREEMENT",
    "MAX_FIT_SPECTRA",
    "POOR_AGREEMENT",
    "Candidate",
    "Evaluation",
    "channel_candidates",
]

#: Kinds of candidate whose smoothed mean spectrum channel_candidates compares with the reference.
_SHAPE_COMPARED = ("dI/dV", "lock-in", "in-phase", "auxiliary lock-in")
POOR_AGREEMENT = 0.5  # open_grid warns when its default signal has a smaller r
MAX_FIT_SPECTRA = 4096  # spectra the phase fit and the agreement use on a large grid
#: |Pearson r| with the numerical dI/dV of the current above which an auxiliary input (``Input 6``,
#: ``Aux1``, an ADC) is taken for an external lock-in's output, where it is also less noisy.
AUX_AGREEMENT = 0.9
# names that are never a lock-in's output, whatever they correlate with: the bias itself,
# positions, the tip height, clocks and the modulation
_NOT_AUX = re.compile(
    r"^(bias|bias calc|v|voltage|sample bias|[xyz]|z \(m\)|time|index|phase|frequency|excitation"
    r"|temperature|amplitude)\b",
    re.IGNORECASE,
)


@dataclass
class Candidate:
    """One way to read the dI/dV from a file: a channel as recorded, or an in-phase pair."""

    label: str
    # "dI/dV", "lock-in", "in-phase", "auxiliary lock-in", "current", "numerical dI/dV", "other"
    kind: str
    units: str
    sources: tuple[str, ...]  # variable names: one channel, or the X and Y of a pair
    phase_deg: float = float("nan")
    agreement: float = float("nan")
    n_saturated: int = 0
    mean: np.ndarray | None = None  # mean spectrum over the usable spectra, once scored
    sign: float = 1.0  # -1 for an auxiliary lock-in wired with the opposite sign
    reason: str = ""  # why open_grid reads it by default (the grid's ``channel_reason``)
    shape_agreement: float | None = None  # Evaluation.mean_agreement, once computed

    def values(self, spectra: Spectra, pixels: np.ndarray | None = None) -> np.ndarray:
        """The candidate's spectra (all, or those at the flat pixel indices ``pixels``)."""
        if self.kind == "in-phase":
            x, y = (spectra.values(name, pixels) for name in self.sources)
            return rotate(x, y, self.phase_deg)
        if self.kind == "numerical dI/dV":
            return numerical_didv(spectra.values(self.sources[0], pixels), spectra.bias_mV)
        values = spectra.values(self.sources[0], pixels)
        return values if self.sign == 1.0 else self.sign * values


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

    def mean_agreement(self, candidate: Candidate) -> float:
        """Pearson r of the candidate's mean spectrum with the mean numerical dI/dV of the
        current, both smoothed by a Gaussian of ``max(2, n_bias / 100)`` points.

        The shape agreement, where single spectra are too noisy to tell (a few point spectra of
        a noisy current: on the shared RHK point file r is 0.11 spectrum by spectrum and 0.94
        on the smoothed means). NaN without a current. Computed once per candidate
        (:attr:`Candidate.shape_agreement`).
        """
        if candidate.shape_agreement is None:
            candidate.shape_agreement = self._mean_agreement(candidate)
        return candidate.shape_agreement

    def _mean_agreement(self, candidate: Candidate) -> float:
        reference, _ = self.reference(candidate.sources[0])
        if reference is None:
            return float("nan")
        values = candidate.values(self.spectra, self.pixels)
        usable = np.isfinite(values).all(axis=-1) & np.isfinite(reference).all(axis=-1)
        if not usable.any():
            return float("nan")
        sigma = max(2.0, values.shape[-1] / 100)
        mean, ref = (
            gaussian_filter1d(a[usable].mean(axis=0), sigma, mode="nearest")
            for a in (values, reference)
        )
        return pearson(mean, ref)

    def agrees_poorly(self, candidate: Candidate) -> bool:
        """Whether ``candidate`` agrees poorly with the numerical dI/dV: Pearson r below
        :data:`POOR_AGREEMENT` spectrum by spectrum AND on the smoothed mean spectra
        (:meth:`mean_agreement`). False without a current."""
        if not (np.isfinite(candidate.agreement) and candidate.agreement < POOR_AGREEMENT):
            return False
        return not self.mean_agreement(candidate) >= POOR_AGREEMENT

    def default(self) -> Candidate | None:
        """The dI/dV :func:`stswidgets.io.open_grid` reads by default (None: no lock-in).

        A channel recorded as a dI/dV or a lock-in output (:meth:`recorded_default`); where
        there is none, an auxiliary input that behaves like a lock-in
        (:meth:`auxiliary_lockin`). Its :attr:`Candidate.reason` says why.
        """
        chosen = self.recorded_default()
        if chosen is None:
            chosen = self.auxiliary_lockin()
        if chosen is not None:
            chosen.reason = self.explain(chosen)
        return chosen

    def explain(self, chosen: Candidate, requested: bool = False) -> str:
        """Why ``chosen`` is read: the grid's ``channel_reason`` attr."""
        if requested:
            return f"{chosen.label}: asked for with channel="
        if chosen.reason:
            return chosen.reason
        current = None if self.current is None else self.spectra.full[self.current]
        agreement = (
            f" (r = {chosen.agreement:.2f} with the numerical dI/dV of {current})"
            if current is not None and np.isfinite(chosen.agreement)
            else ""
        )
        if chosen.kind == "numerical dI/dV":
            return (
                f"numerical derivative of {current}: the file has no lock-in output, and no "
                f"auxiliary input agrees with it (|r| >= {AUX_AGREEMENT}) while less noisy"
            )
        if chosen.kind == "dI/dV":
            return f"{chosen.label}: the file's dI/dV channel, as recorded"
        if chosen.kind == "in-phase":
            return f"{chosen.label}: the lock-in's in-phase signal{agreement}"
        if chosen.kind == "lock-in":
            return f"{chosen.label}: a lock-in output{agreement}"
        return f"{chosen.label}: the only channel with data"

    def auxiliary_lockin(self) -> Candidate | None:
        """An auxiliary input (``Input 6``, ``Aux1``, an ADC) that behaves like a lock-in.

        With a current, a channel that is neither a lock-in output nor a current nor the bias,
        a position or a clock is taken for an external lock-in's output where it agrees with
        the numerical dI/dV of the current, ``|r| >= AUX_AGREEMENT`` (:data:`AUX_AGREEMENT`;
        a negative r is a lock-in wired with the opposite sign, read inverted:
        :attr:`Candidate.sign`), and is less noisy than the numerical derivative
        ``np.gradient`` that would be read instead (:func:`relative_noise`: white-noise sigma
        over the spectrum's spread). Forward sweeps first, then the best agreement.
        None where no channel qualifies.
        """
        if self.current is None:
            return None
        current = self.spectra.values(self.current, self.pixels)
        bias_V = self.spectra.bias_mV / 1e3
        derivative_noise = relative_noise(np.gradient(current, bias_V, axis=-1))
        options = []
        for candidate in self.candidates:
            base = _channels._split(candidate.label)[0]
            if candidate.kind != "other" or _NOT_AUX.match(base):
                continue
            self.score(candidate)
            if not abs(candidate.agreement) >= AUX_AGREEMENT:
                continue
            noise = relative_noise(candidate.values(self.spectra, self.pixels))
            if not noise < derivative_noise:
                continue
            rank = (_channels.direction_rank(candidate.sources[0]), -abs(candidate.agreement))
            options.append((rank, noise, candidate))
        if not options:
            return None
        _, noise, chosen = min(options, key=lambda option: option[0])
        if chosen.agreement < 0:  # an inverted lock-in: read it with the signal's sign
            chosen.sign, chosen.agreement = -1.0, -chosen.agreement
            chosen.shape_agreement = None  # the values changed sign
            chosen.mean = -chosen.mean
            chosen.label = f"-{chosen.label}"
        chosen.kind = "auxiliary lock-in"
        ratio = derivative_noise / noise if noise > 0 else np.inf
        sign = ", read inverted" if chosen.sign < 0 else ""
        chosen.reason = (
            f"{chosen.label}: an auxiliary input that agrees with the numerical dI/dV of "
            f"{self.spectra.full[self.current]} (r = {chosen.agreement:.2f}{sign}) and is "
            f"{ratio:.1f}x less noisy than that derivative"
        )
        return chosen

    def recorded_default(self) -> Candidate | None:
        """The recorded dI/dV or lock-in channel to read by default (None: there is none).

        A ``didv``/``dI/dV`` channel as it is. Else (lock-in outputs; an auxiliary input such
        as ``Aux2`` only where there is none, and with a current only where it agrees with
        its numerical dI/dV, r >= :data:`POOR_AGREEMENT`) the in-phase signal of a lock-in X/Y pair
        of the best sweep direction that has one (forward before single sweeps before
        ``[bwd]``): with a current, the pair that agrees best with its numerical dI/dV;
        without, the first pair, at the principal axis. An unpaired lock-in output (``R``, a
        lone ``X``; phase outputs never; of each output its best sweep direction) only where
        there is no pair (the best-agreeing with a current, else the best by
        :func:`channel_rank`), or where the pair agrees poorly (r < :data:`POOR_AGREEMENT`) and
        the output agrees better.
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
        # of each output (X, R, ...) its best sweep direction: a [bwd] never wins by chance
        first = {}
        for candidate in singles:
            _, component, direction = _channels.channel_rank(candidate.sources[0])
            first[component] = min(first.get(component, direction), direction)
        singles = [
            c
            for c in singles
            if _channels.channel_rank(c.sources[0])[2]
            == first[_channels.channel_rank(c.sources[0])[1]]
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
    path_or_dataset : str, pathlib.Path, list of them, xarray.Dataset or xarray.DataArray
        Anything :func:`stswidgets.io.open_grid` or :func:`stswidgets.io.open_spectra` reads:
        a grid file, a file of spectra that are not on a grid (Nanonis ``.dat``, RHK point
        spectra, ...), or a series of them (a folder, a glob or a list of files), whose
        spectra are evaluated together, as ``open_spectra`` chooses its channel on them.

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
          (``"dI/dV"``, ``"lock-in"``, ``"in-phase"``, ``"auxiliary lock-in"`` (an input taken
          for a lock-in, :meth:`Evaluation.auxiliary_lockin`), ``"current"``, ``"numerical
          dI/dV"``, ``"other"``), ``units``, ``agreement`` (Pearson r with the numerical dI/dV of
          the current of the same sweep direction; NaN without a current, and for currents),
          ``mean_agreement`` (the same on the mean spectra smoothed as
          :meth:`Evaluation.mean_agreement` smooths them: the shape agreement where single
          spectra are too noisy to tell; NaN for currents, the reference and other channels),
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
    dataset, source = _measurement_dataset(path_or_dataset)
    evaluation = Evaluation(Spectra(dataset, source or "the dataset"))
    chosen = evaluation.default()
    if chosen is None and evaluation.current is not None:
        chosen = evaluation.candidates[-1]  # open_grid then reads the current's derivative
    rows = [evaluation.score(candidate) for candidate in evaluation.candidates]
    mean = np.stack([row.mean for row in rows])
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a channel without usable spectra
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
        "mean_agreement": per_candidate(
            [
                evaluation.mean_agreement(row) if row.kind in _SHAPE_COMPARED else np.nan
                for row in rows
            ],
            long_name="Pearson r of the smoothed mean spectrum with the numerical dI/dV's",
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


def _measurement_dataset(path_or_dataset) -> tuple[xr.Dataset, str]:
    """The Dataset whose channels are compared, and its source: a grid's, or the one-row view
    (:func:`~stswidgets.io._load.spectra_view`) of spectra that are not on a grid; for a series
    (a folder, a glob, a list of files) the view of all its spectra, as
    :func:`stswidgets.io.open_spectra` builds it."""
    obj = path_or_dataset
    if isinstance(obj, list | tuple) or (
        isinstance(obj, str | Path) and (Path(obj).is_dir() or is_glob(obj))
    ):
        paths, source = series_files(obj)
        if len(paths) > 1:
            return spectra_view(series_dataset(paths), source), source
        obj = paths[0]
    return as_dataset(obj)
