"""One configuration object for every choice of the analysis, written verbatim into results.nc.

:class:`PipelineConfig` holds what the steps of :mod:`stswidgets.pipeline` need to know: the
simulated grid's size and seed, the one normalisation, the distance-statistics offsets and bins,
the training bounds, the site-class edges, ... Nothing else chooses: a notebook, the app, the
CLI, a campaign or a benchmark builds one config (a profile plus overrides) and hands it to
every step. ``results.nc`` stores it as one JSON global attribute (``pipeline_config``), so a
result always says how it was made, and :func:`PipelineConfig.from_json` reads it back.

Profiles: ``full`` (the defaults), ``quick`` (a first look: a 64 x 64 x 256 simulated grid and
trainings bounded in time) and ``test`` (CI: a 40 x 40 x 128 grid, a few epochs).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

__all__ = ["NORMALIZE_CHOICES", "PROFILES", "PipelineConfig", "config_for"]

#: Seconds each training of the quick profile may run (its ``max_epochs`` stays at the full
#: default with early stopping, so a first look trains to convergence or until time is up).
QUICK_MAX_TIME_S = 60.0

#: What ``PipelineConfig.normalize`` accepts (formulas in :mod:`stswidgets.pipeline.normalization`).
NORMALIZE_CHOICES = ("auto", "none", "setpoint", "feenstra", "zscore")
#: The per-step normalisation settings of earlier versions, refused by ``from_json``.
OLD_NORMALIZATION_SETTINGS = ("normalization", "learn_normalization", "weight_normalization")


@dataclass(frozen=True)
class PipelineConfig:
    """Every analysis choice of one run; immutable, JSON round-trip exact.

    Grouped by step; each field's comment says what it sets. Sequences are stored as tuples so
    that a config is hashable and compares by value. Change fields with
    :meth:`replace` (``config.replace(seed=1)``).
    """

    profile: str = "full"
    # -- input: the embedded simulated grid (ignored for a data file) ---------------------
    seed: int = 0  # seeds every random step (simulation, k-means, training, pair draws)
    ny: int = 100
    nx: int = 100
    n_bias: int = 512
    # -- THE normalisation of every spectrum, once, in pipeline.load (pipeline.normalization)
    normalize: str = "auto"  # auto (data-driven, reason recorded), none, setpoint, feenstra, zscore
    # -- segmentation of an iso-energy slice (notebook 01) --------------------------------
    energy_mV: float | None = None  # None: chosen from the data
    sigma_px: float = 1.0  # Gaussian smoothing of the slice, pixels
    min_size: int = 4  # smallest region kept, pixels
    # -- linear latent space (notebook 02, 04) ---------------------------------------------
    n_components: int = 2
    ward_components: int = 10
    n_levels: int = 300
    n_toy: int = 1000
    # -- distance statistics (notebook 03) ---------------------------------------------------
    bins: int | None = None  # None: analysis.distances.default_bins
    offsets: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3, 1.0)  # fractions of the median distance
    fit_offset: float = 0.1  # fraction of the median distance of the fitted distribution
    abundance_threshold: float | None = None  # split of log(d + offset); None: crossing
    denoise: str = "none"  # before the distances: "none" or "pca" (Marchenko-Pastur edge)
    min_delta_bic: float = 10.0  # one vs two components; sample size = number of spectra
    # -- distance correlation (notebooks 04, 05) --------------------------------------------
    correlation_bins: int | None = None  # None: sqrt(n_spectra) within 10-100
    correlation_offset: float = 0.05  # log offset, fraction of the median distance per axis
    # -- non-linear reduction (notebook 05) --------------------------------------------------
    methods: tuple[str, ...] = ("kpca", "nmf", "umap", "autoencoder")
    kpca_gamma_scales: tuple[float, ...] = (1.0, 10.0)
    kpca_fit_size: int = 2000
    nmf_fit_size: int = 2000  # NMF factors fitted on this many spectra, weights for all
    umap_neighbors: int = 15
    umap_min_dist: float = 0.1
    umap_epochs: int | None = 200  # layout epochs; None: umap's choice (500 up to 10,000 spectra)
    # -- similarity learning (notebooks 05-07, the app) ----------------------------------------
    max_epochs: int = 60
    max_time: float | None = None  # seconds per training; None: no bound
    pairs_per_epoch: int = 65536
    threshold_quantile: float = 0.85
    second_threshold_quantile: float = 0.97
    # Fig. 7b's second projection trains at most min(max_epochs, second_max_epochs) epochs of
    # min(pairs_per_epoch, second_pairs_per_epoch) pairs (a picture, not the score: a third of
    # the first projection's training; None: as the first)
    second_max_epochs: int | None = 20
    second_pairs_per_epoch: int | None = 32768
    # retrainings of the projection when the fold check fails (SimilarityScore's restarts):
    # none, since issue 19's score is the whitened distance from the majority in the signal
    # subspace; on tuning seeds 0-19 the restarts moved its figures both ways, by no more than
    # one draw crossing a median (numbers in SimilarityScore's docstring), for 2x the CPU time
    # of a folded draw (on the demo grid 2 extra trainings of notebook 06)
    restarts: int = 0
    # -- site classes and spectral weight (notebook 07) ---------------------------------------
    class_edges: tuple[float, ...] | None = None  # score edges; None: automatic
    corr_threshold: float = -0.3
    min_width_mV: float = 0.5
    max_pairs: int = 20000
    # -- physics maps (notebook 09, the app's gap colour; pipeline.physics_maps) ---------------
    # gap_method "fit" (a Dynes-broadened gap fitted to every spectrum at once) measures Delta:
    # median error 0.092 mV, correlation p10 0.988 against the true local gap of random_grid
    # seeds 1000-1009 (issue 21: <= 0.1 mV, >= 0.97), 2.17 mV for the demo's 2.2 mV. "peaks"
    # (half the distance of the coherence peaks) is 5x faster but measures the peak position,
    # outside Delta by the broadening: 0.248 mV median error, 2.35 mV on the demo.
    gap_method: str = "fit"  # "fit" or "peaks" (coherence peaks of the smoothed spectrum)
    n_gaps: int = 1  # 1, or 2 (two gaps, as in FeSe)
    gap_smoothing_mV: float | None = None  # smoothing of the spectra; None: gap_map's default
    # the fit uses |E| <= gap_fit_range x each spectrum's peaks gap: 2 holds the coherence
    # peaks and their shoulders; half the bias points of 3 (the demo's fit 3.2 s instead of
    # 7.9 s CPU), chosen on random_grid tuning seeds 0-5 (median error 0.019 against 0.020 mV);
    # on the reporting seeds 1000-1009: correlation p10 0.988, median error 0.092 mV (3: 0.088)
    gap_fit_range: float = 2.0
    fourier_window: str = "hann"  # window of the conductance maps before the Fourier transform
    fourier_symmetrize: str | int | tuple | None = None  # None, "mirror", n or ("mirror", n)
    # the QPI ring search ignores q below this (1/nm; periods above 4.2 nm): the power of the
    # defects themselves (their size and spacing) fills the small q of every Fourier map
    qpi_q_min: float = 1.5
    # -- method benchmark (notebook 08) --------------------------------------------------------
    benchmark_seeds: tuple[int, ...] | None = None  # None: evaluation's reporting seeds
    benchmark_methods: tuple[str, ...] | None = None  # None: every method
    size_range: tuple[int, int] | None = None  # None: evaluation's default
    max_bias: int | None = None  # None: evaluation's default
    benchmark_max_epochs: int | None = None  # None: each estimator's default

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):  # JSON and papermill give lists: store tuples
                object.__setattr__(self, f.name, tuple(value))
        if self.normalize not in NORMALIZE_CHOICES:
            raise ValueError(
                f"normalize must be one of {NORMALIZE_CHOICES}, got {self.normalize!r}"
            )

    def replace(self, **changes) -> PipelineConfig:
        """A copy with ``changes``; an unknown name raises ``TypeError`` naming it."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise TypeError(
                f"unknown pipeline setting(s) {unknown}; the settings are {sorted(names)}"
            )
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain JSON-able dict of every setting."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def to_json(self) -> str:
        """The config as one JSON string (what results.nc's ``pipeline_config`` holds)."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> PipelineConfig:
        """The config written by :meth:`to_json`.

        A config written before the one ``normalize`` setting (with ``normalization``,
        ``learn_normalization``, ``weight_normalization``: one per step) raises a ValueError
        saying so: its steps saw differently normalised spectra, which no config of today
        can reproduce.
        """
        settings = json.loads(text)
        old = sorted(set(settings) & set(OLD_NORMALIZATION_SETTINGS))
        if old:
            found = ", ".join(f"{name}={settings[name]!r}" for name in old)
            raise ValueError(
                f"this configuration predates the one normalisation setting: it holds {found} "
                "(each step normalised on its own); today one setting, normalize (auto, none, "
                "setpoint, feenstra, zscore), normalises the spectra once for every step; "
                "rerun the analysis to compare with it"
            )
        return cls(**settings)


_QUICK_GRID = {"ny": 64, "nx": 64, "n_bias": 256}
_TEST_GRID = {"ny": 40, "nx": 40, "n_bias": 128}

#: Named starting points; ``config_for(profile, **overrides)`` builds from them.
PROFILES: dict[str, dict] = {
    "full": {},
    # UMAP's first call compiles for ~30 s: a first look leaves it out
    "quick": {
        **_QUICK_GRID,
        "methods": ("kpca", "nmf", "autoencoder"),
        "max_time": QUICK_MAX_TIME_S,
        "kpca_fit_size": 1000,
        "pairs_per_epoch": 32768,
        "benchmark_seeds": (1000, 1001, 1002),
        "size_range": (24, 32),
        "benchmark_max_epochs": 10,
    },
    "test": {
        **_TEST_GRID,
        "methods": ("kpca", "nmf", "autoencoder"),
        "max_epochs": 4,
        "kpca_fit_size": 800,
        "pairs_per_epoch": 8192,
        "benchmark_seeds": (1000, 1001),
        "size_range": (12, 16),
        "max_bias": 48,
        "benchmark_max_epochs": 3,
        "benchmark_methods": (
            "siamese_score",
            "siamese",
            "pca",
            "kpca",
            "nmf",
            "autoencoder",
            "abundance",
        ),
    },
}


def config_for(profile: str = "full", **overrides) -> PipelineConfig:
    """The config of a named profile (``full``, ``quick`` or ``test``) with ``overrides``.

    Raises
    ------
    ValueError
        Unknown profile.
    TypeError
        Unknown setting in ``overrides``.
    """
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {sorted(PROFILES)}, got {profile!r}")
    base = PipelineConfig(profile=profile, **PROFILES[profile])
    return base.replace(**overrides) if overrides else base
