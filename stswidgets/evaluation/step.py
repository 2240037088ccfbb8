"""The method benchmark of notebook 08 as one step over a
:class:`~stswidgets.pipeline.PipelineConfig`.

:func:`method_benchmark_step` runs :func:`~stswidgets.evaluation.generalization.
generalization_benchmark` with the config's ``benchmark_seeds``, ``benchmark_methods``,
``size_range``, ``max_bias`` and ``benchmark_max_epochs`` (None: the evaluation defaults),
keeps the method outputs in the run folder (``<results_dir>/generalization``, so a run
resumes) and writes the per-draw table (``<results_dir>/method_benchmark.csv``);
:func:`measured_grid_methods` times the methods on a measured grid (no truth: runtimes and
the rank correlation with the distance from the mean); :func:`example_draw` gives the first
draw's truth, classes and score maps.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stswidgets.pipeline.config import PipelineConfig, config_for

__all__ = [
    "BenchmarkSettings",
    "ExampleDraw",
    "MethodBenchmark",
    "benchmark_settings",
    "example_draw",
    "measured_grid_methods",
    "method_benchmark_step",
]


@dataclass
class BenchmarkSettings:
    """What the benchmark runs: draw ``seeds``, ``methods``, map sides ``size_range``
    (pixels), ``max_bias`` points, the learned estimators' ``learn_params`` and the one
    normalisation every method receives (``normalize``, the config's)."""

    seeds: list[int]
    methods: list[str]
    size_range: tuple[int, int]
    max_bias: int | None
    learn_params: dict
    normalize: str = "auto"


def benchmark_settings(config: PipelineConfig | None = None) -> BenchmarkSettings:
    """The benchmark's settings from ``config`` (None fields: the evaluation defaults:
    reporting seeds 1000-1029, every method, 24-48 pixels per side, 256 bias points); the
    normalisation is the config's ``normalize``, the same as every other step's."""
    from stswidgets.evaluation import generalization as gen

    config = config or config_for("full")
    pick = lambda value, default: default if value is None else value  # noqa: E731
    epochs = config.benchmark_max_epochs
    return BenchmarkSettings(
        seeds=[int(s) for s in pick(config.benchmark_seeds, gen.REPORTING_SEEDS)],
        methods=list(pick(config.benchmark_methods, gen.METHODS)),
        size_range=tuple(int(n) for n in pick(config.size_range, gen.SIZE_RANGE)),
        max_bias=pick(config.max_bias, gen.MAX_BIAS),
        learn_params={} if epochs is None else {"max_epochs": int(epochs)},
        normalize=config.normalize,
    )


@dataclass
class MethodBenchmark:
    """Every method on every draw: ``table`` (one row per draw and method, a DataFrame),
    ``summary`` (median and 10th percentile per method), ``targets`` (the similarity score's
    targets, or None when it is not among the methods), the ``settings``, the folder of the
    cached method outputs, the CSV written (or None), the wall-clock ``runtime_s`` and
    ``report``, the Markdown table, targets and statement of
    :func:`~stswidgets.evaluation.verdicts.markdown_report` (from these numbers)."""

    table: object
    summary: object
    targets: object
    settings: BenchmarkSettings
    cache_dir: Path
    csv_path: Path | None
    runtime_s: float
    report: str = ""


def method_benchmark_step(
    config: PipelineConfig | None = None, results_dir=None, progress: bool = True
) -> MethodBenchmark:
    """Run the benchmark of ``config`` (see :func:`benchmark_settings`).

    Parameters
    ----------
    config : PipelineConfig
    results_dir : str, Path or None
        The run folder: method outputs are cached in ``<results_dir>/generalization`` and the
        table written to ``<results_dir>/method_benchmark.csv``; None: a temporary cache, no
        table written.
    progress : bool
        A progress bar over the draws.
    """
    import pandas as pd

    from stswidgets.evaluation import generalization as gen
    from stswidgets.evaluation import verdicts

    settings = benchmark_settings(config)
    if results_dir is None:
        cache_dir, csv_path = Path(tempfile.mkdtemp(prefix="stswidgets-benchmark-")), None
    else:
        cache_dir = Path(results_dir) / "generalization"
        csv_path = Path(results_dir) / "method_benchmark.csv"
    start = time.perf_counter()
    rows = gen.generalization_benchmark(
        settings.seeds,
        settings.methods,
        learn_params=settings.learn_params,
        cache=cache_dir,
        size_range=settings.size_range,
        max_bias=settings.max_bias,
        progress=progress,
        normalize=settings.normalize,
    )
    runtime = time.perf_counter() - start
    table = pd.DataFrame(rows)
    summary = verdicts.summarize(rows)
    report = verdicts.markdown_report(summary)
    targets = None
    if "siamese_score" in settings.methods:
        targets = pd.DataFrame(verdicts.target_report(summary)).set_index("target")
    if csv_path is not None:
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(csv_path, index=False)
    summary = pd.DataFrame(summary).set_index("method")
    return MethodBenchmark(table, summary, targets, settings, cache_dir, csv_path, runtime, report)


def measured_grid_methods(X, config: PipelineConfig | None = None):
    """Each benchmark method on a measured grid (no ground truth): its runtime (s) and the
    Spearman rank correlation of its score with the distance of each spectrum from the mean
    spectrum (a diagnostic, not a ranking); a DataFrame indexed by method. ``X`` is used as
    given: pass the normalised spectra of :func:`stswidgets.pipeline.load`."""
    import pandas as pd
    from scipy.stats import spearmanr

    from stswidgets.analysis.correlation import distances_from_mean
    from stswidgets.evaluation import generalization as gen

    config = config or config_for("full")
    settings = benchmark_settings(config)
    far = distances_from_mean(X)
    outputs = gen.run_methods(X, settings.methods, config.seed, settings.learn_params)
    rows = [
        {
            "method": method,
            "runtime (s)": float(output["runtime_s"]),
            "Spearman with distance from mean": float(spearmanr(output["score"], far).statistic),
        }
        for method, output in outputs.items()
    ]
    return pd.DataFrame(rows).set_index("method")


@dataclass
class ExampleDraw:
    """One draw of the benchmark: its ``grid`` Dataset (``random_grid``), ``valid`` mask
    ``(ny, nx)``, the truth ``regions`` per valid pixel (0 far surface, 1 ring, 2 core), the
    truth ``kind`` (0 outside cores), the method's site ``classes`` (0 majority,
    1 transition, 2.. kinds), its ``score`` ``(n_valid,)`` and its name."""

    grid: object
    valid: np.ndarray
    regions: np.ndarray
    kind: np.ndarray
    classes: np.ndarray
    score: np.ndarray
    method: str


def example_draw(benchmark: MethodBenchmark, method: str | None = None) -> ExampleDraw:
    """The first draw of ``benchmark`` with ``method``'s outputs (default: the similarity
    score when it ran, else the first method); read from the benchmark's cache."""
    from stswidgets.evaluation import generalization as gen

    settings = benchmark.settings
    if method is None:
        method = "siamese_score" if "siamese_score" in settings.methods else settings.methods[0]
    seed = settings.seeds[0]
    grid = gen.draw(seed, settings.size_range, settings.max_bias)
    valid = np.asarray(grid["valid"].values, dtype=bool)
    output = gen.method_outputs(
        seed,
        [method],
        settings.learn_params,
        benchmark.cache_dir,
        settings.size_range,
        settings.max_bias,
        settings.normalize,
    )[method]
    spectra, _ = gen.draw_spectra(grid, settings.normalize)
    truth = gen.draw_truth(grid, valid)
    return ExampleDraw(
        grid,
        valid,
        truth["regions"],
        truth["kind"],
        gen.site_class_labels(output["latent"], output["score"], spectra.X, valid, grid["didv"]),
        np.asarray(output["score"], dtype=float),
        method,
    )
