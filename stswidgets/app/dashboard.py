"""The app's page: pick a grid and a channel, run the steps, explore, download the results.

:class:`Dashboard` is an ``ipywidgets.VBox``; ``stswidgets app`` serves it with Voila
(``app.ipynb`` beside this file). It computes nothing itself: the steps are those of
:mod:`stswidgets.pipeline` (one :class:`~stswidgets.pipeline.PipelineConfig` per page, written
into the downloaded ``results.nc``), the explorers :mod:`stswidgets.widgets`. Steps run in a
background thread, so the page (brushing, the status line) stays live while a network trains.
"""

from __future__ import annotations

import base64
import os
import tempfile
import time
from pathlib import Path

import ipywidgets as ipw
import numpy as np

from stswidgets import pipeline
from stswidgets.app._background import BackgroundJobs
from stswidgets.app.profiles import app_config
from stswidgets.app.sources import SIMULATED, channel_options, save_upload
from stswidgets.grid import to_matrix
from stswidgets.pipeline import MIN_VALID_SPECTRA

__all__ = ["ENVIRONMENT", "GAP_COLOUR", "MIN_VALID_SPECTRA", "Dashboard"]

#: Environment variables :meth:`Dashboard.from_environment` reads (``stswidgets app`` sets them).
ENVIRONMENT = {
    "source": "STSWIDGETS_APP_SOURCE",  # a grid file; empty: none given
    "demo": "STSWIDGETS_APP_DEMO",  # "1": the simulated grid
    "channel": "STSWIDGETS_APP_CHANNEL",
    "profile": "STSWIDGETS_APP_PROFILE",  # a key of APP_PROFILES
    "seed": "STSWIDGETS_APP_SEED",
    "follow": "STSWIDGETS_APP_FOLLOW",  # "1": follow the file while it grows
}

#: The colour choice of the gap map in the projection explorer.
GAP_COLOUR = "gap (mV)"  # config.gap_method: the fit's Delta by default

STEP_TITLES = {
    "distances": "1. distance statistics",
    "score": "2. projection + score",
    "classes": "3. site classes",
}


def _link(data: bytes, name: str, mime: str, text: str) -> str:
    payload = base64.b64encode(data).decode("ascii")
    return f'<a download="{name}" href="data:{mime};base64,{payload}">{text}</a>'


class Dashboard(BackgroundJobs, ipw.VBox):
    """Grid, channel, the three steps with progress bars, linked explorers, downloads, status.

    Parameters
    ----------
    source : str or Path, optional
        A grid file (read, never written). None with ``demo=False``: pick one on the page.
    demo : bool
        Start on the embedded simulated grid.
    channel : str, optional
        Channel of the file (default: what :func:`stswidgets.open_grid` chooses).
    profile : str
        ``"full"`` or ``"test"`` (:data:`APP_PROFILES`): the pipeline configuration (simulated
        grid size, training bounds) every step runs with.
    seed : int
        Seed of the simulated grid and of the training (the config's ``seed``).
    follower : object, optional
        A grid still being measured: anything with ``refresh() -> int`` (new complete spectra
        since the last call) and ``grid`` (the grid so far, NaN where not measured), such as
        ``stswidgets.follow(path)``. Polled every ``refresh_s`` seconds in a background thread.
    refresh_s : float
        Seconds between two polls of the follower.
    out_dir : str or Path, optional
        Where ``results.nc`` and the PNG are written (default: a new temporary folder).

    Attributes
    ----------
    config : stswidgets.pipeline.PipelineConfig, every setting of the steps
    grid, truth, X, valid : the loaded grid, its ground truth (simulated only), matrix view
    stats, projection, classes : the results of the steps (None until run):
        :class:`~stswidgets.pipeline.DistanceStatistics`, :class:`~stswidgets.pipeline.Projection`
        and :class:`~stswidgets.pipeline.SiteClasses`
    gap : numpy.ndarray or None, the gap (mV) of every valid spectrum, the projection
        explorer's colour choice :data:`GAP_COLOUR` (computed when the projection is shown)
    selection : stswidgets.widgets.Selection shared by the explorers
    status : ipywidgets.HTML, the status line (CSS class ``sts-app-status``)
    """

    def __init__(
        self,
        source: str | Path | None = None,
        *,
        demo: bool = False,
        channel: str | None = None,
        profile: str = "full",
        seed: int = 0,
        follower=None,
        refresh_s: float = 2.0,
        out_dir: str | Path | None = None,
    ):
        self.config = app_config(profile, seed)
        self.profile, self.seed = profile, seed
        self.follower = follower
        self.refresh_s = refresh_s
        self.out_dir = Path(out_dir or tempfile.mkdtemp(prefix="stswidgets-app-"))
        self.grid = self.truth = self.X = self.valid = self.selection = None
        self.normalization = None
        self.stats = self.projection = self.classes = None
        self.gap = None  # the gap map (mV) per valid pixel, computed for the colour choice
        self.source_name = ""
        self._init_background()

        self.kind = ipw.ToggleButtons(
            options=["file", "upload", SIMULATED], value=SIMULATED if demo else "file"
        )
        self.path = ipw.Text(
            value="" if source is None else str(source),
            placeholder="path of a grid file (.3ds, .nc, .npz, ...) on this computer",
            layout=ipw.Layout(width="420px"),
        )
        self.upload = ipw.FileUpload(multiple=False, description="upload a grid")
        self.channel = ipw.Dropdown(description="channel", layout=ipw.Layout(width="520px"))
        self.channel.options = [
            (f"{channel} (given)", channel) if channel else ("default (chosen by open_grid)", None)
        ]
        self.channel.index = 0
        self.open_button = ipw.Button(description="open", button_style="primary")
        self.open_button.on_click(lambda _: self.start(self.load))

        self.bars, self.bar_text, self.step_buttons = {}, {}, {}
        rows = []
        for name, title in STEP_TITLES.items():
            button = ipw.Button(description=title, layout=ipw.Layout(width="200px"))
            button.on_click(lambda _, name=name: self.start(self.run_steps, [name]))
            bar = ipw.FloatProgress(min=0.0, max=1.0, layout=ipw.Layout(width="260px"))
            text = ipw.HTML("not run")
            self.step_buttons[name], self.bars[name], self.bar_text[name] = button, bar, text
            rows.append(ipw.HBox([button, bar, text]))
        self.run_all = ipw.Button(description="run all steps", button_style="success")
        self.run_all.on_click(lambda _: self.start(self.run_steps, list(STEP_TITLES)))

        self.results_button = ipw.Button(description="results.nc", icon="download")
        self.results_button.on_click(lambda _: self.start(self.save_results))
        self.png_button = ipw.Button(description="PNG of the maps", icon="download")
        self.png_button.on_click(lambda _: self.start(self.save_png))
        self.downloads = ipw.HTML()
        self.downloads.add_class("sts-app-downloads")

        self.summary = ipw.HTML()
        self.explorers = ipw.VBox()
        self.status = ipw.HTML("status: pick a grid")
        self.status.add_class("sts-app-status")
        self._buttons = [
            self.open_button,
            self.run_all,
            self.results_button,
            self.png_button,
            *self.step_buttons.values(),
        ]
        super().__init__(
            [
                ipw.HTML("<h2>stswidgets: where do the spectra differ?</h2>"),
                ipw.HBox([self.kind, self.path, self.upload]),
                ipw.HBox([self.channel, self.open_button]),
                ipw.HBox([self.run_all]),
                *rows,
                ipw.HBox([self.results_button, self.png_button, self.downloads]),
                self.status,
                self.summary,
                self.explorers,
            ]
        )
        self.add_class("sts-app")

    # ---- construction from ``stswidgets app`` ------------------------------------------------
    @classmethod
    def from_environment(cls, environ=None) -> Dashboard:
        """The dashboard ``stswidgets app`` asks for, from :data:`ENVIRONMENT`'s variables.

        Without any of them (the app opened on Binder) it starts on the simulated grid.
        """
        env = os.environ if environ is None else environ
        source = env.get(ENVIRONMENT["source"]) or None
        channel = env.get(ENVIRONMENT["channel"]) or None
        follower = None
        if source and env.get(ENVIRONMENT["follow"]) == "1":
            import stswidgets

            follower = stswidgets.follow(source, channel=channel)
        # no setting at all (Binder's link to the app): the simulated grid
        demo = env.get(ENVIRONMENT["demo"], "0" if source else "1") == "1"
        return cls(
            source,
            demo=demo,
            channel=channel,
            profile=env.get(ENVIRONMENT["profile"]) or "full",
            seed=int(env.get(ENVIRONMENT["seed"]) or 0),
            follower=follower,
        )

    def show(self) -> Dashboard:
        """Display the page; open the given grid (or the simulated one) and start following."""
        from IPython.display import display

        display(self)
        if self.follower is not None:
            self.start_following()
        elif self.kind.value == SIMULATED or self.path.value:
            self.start(self.load)
        return self

    def set_status(self, text: str, error: bool = False) -> None:
        colour = "#b30000" if error else "inherit"
        self.status.value = f'<span style="color: {colour}">{text}</span>'

    # ---- the grid ------------------------------------------------------------------------------
    def load(self) -> None:
        """Read the chosen grid (file, upload or simulated) with the chosen channel."""
        kind = self.kind.value
        if kind == SIMULATED:
            self.channel.options = [("didv (simulated)", None)]
            self.channel.index = 0
            data = pipeline.load(None, self.config, min_spectra=1)
            name = f"simulated FeSe-like grid (seed {self.seed})"
        else:
            if kind == "upload":
                if not self.upload.value:
                    raise ValueError("choose a file with the upload button first")
                path = save_upload(self.upload.value[0], self.out_dir / "upload")
            else:
                if not self.path.value.strip():
                    raise ValueError("type the path of a grid file first")
                path = Path(self.path.value.strip()).expanduser()
                if not path.is_file():
                    raise FileNotFoundError(f"no file at {path}")
            chosen = self.channel.value
            try:
                options = channel_options(path)
            except Exception:  # open_grid below says what is wrong with the file
                options = [("default (chosen by open_grid)", None)]
            values = [value for _, value in options]
            if chosen not in values:  # a name given by its prefix, e.g. "LockinX"
                options.insert(1, (f"{chosen} (given)", chosen))
                values.insert(1, chosen)
            if options != list(self.channel.options):
                self.channel.options = options
            self.channel.index = values.index(chosen)
            # any grid opens (to look at it); the steps need MIN_VALID_SPECTRA (_need_grid)
            data = pipeline.load(path, self.config, self.channel.value, min_spectra=1)
            name = str(path)
        self.set_grid(data.grid, data.truth, name)

    def set_grid(self, grid, truth=None, name: str = "") -> None:
        """Show ``grid``: the map explorer; results of earlier steps are dropped."""
        from stswidgets.widgets import GridExplorer, Selection

        X, valid = to_matrix(grid)
        X, self.normalization = pipeline.normalize_grid(grid, X, self.config.normalize)
        self.grid, self.truth, self.X, self.valid = grid, truth, X, valid
        self.source_name = name or self.source_name
        self.stats = self.projection = self.classes = self.gap = None
        for name_ in STEP_TITLES:
            self._progress(name_, 0.0, "not run")
        self.selection = Selection(valid)
        self.selection.observe(self._selection_changed, names="indices")
        self.grid_explorer = GridExplorer(grid, selection=self.selection)
        self.latent = self.distance_explorer = None
        self._show_explorers()
        self.downloads.value = ""
        self.summary.value = ""
        ny, nx, n_bias = grid.shape
        self.set_status(
            f"grid: {self.source_name}: {ny} x {nx} pixels, {n_bias} bias points, "
            f"{len(X)} complete spectra; next: run the steps"
        )

    # ---- the steps -----------------------------------------------------------------------------
    def _progress(self, name: str, fraction: float, text: str) -> None:
        self.bars[name].value = float(fraction)
        self.bar_text[name].value = text

    def _need_grid(self) -> None:
        if self.X is None:
            raise ValueError("open a grid first")
        if len(self.X) < MIN_VALID_SPECTRA:
            raise ValueError(
                f"{len(self.X)} complete spectra; the steps need at least {MIN_VALID_SPECTRA}"
            )

    def run_steps(self, names: list[str]) -> None:
        """Run the named steps (keys of ``STEP_TITLES``) in order, in this thread."""
        for name in names:
            {"distances": self.run_distances, "score": self.run_score, "classes": self.run_classes}[
                name
            ]()

    def run_distances(self) -> None:
        self._need_grid()
        t0 = time.perf_counter()
        self.set_status("distance statistics: all pair distances ...")
        stats = pipeline.distance_statistics(
            self.X, self.config, progress=lambda f, what: self._progress("distances", f, what)
        )
        self.stats = stats
        self._progress("distances", 1.0, f"done in {time.perf_counter() - t0:.1f} s")
        self._show_distances()
        self.set_status(f"distance statistics: {stats.n_pairs:,} pairs; {stats.reason}")

    def run_score(self) -> None:
        from stswidgets.app._progress import EpochProgress

        self._need_grid()
        t0 = time.perf_counter()
        self.set_status("projection + score: training the twin networks ...")
        config = self.config
        callback = EpochProgress(
            lambda f, text: self._progress("score", f, text), config.max_epochs, config.max_time
        )
        self.projection = pipeline.similarity_score(
            self.X, config, callbacks=[callback], progress=False
        )
        p = self.projection
        self._progress("score", 1.0, f"done in {time.perf_counter() - t0:.1f} s")
        self._show_latent()
        self.set_status(
            f"projection + score: epochs {p.epochs[0]} + {p.epochs[1]}, monotonicity "
            f"{p.monotonicity:.2f}; brush the projection to see where the spectra sit"
        )

    def run_classes(self) -> None:
        if self.projection is None:
            self.run_score()
        self._progress("classes", 0.3, "classifying")
        self.classes = pipeline.site_classes(
            self.X,
            self.projection,
            self.config,
            simulated=self.truth is not None,
            grid=self.grid,
            valid=self.valid,
        )
        counts = ", ".join(
            f"{n} {name}" for name, n in zip(self.classes.names, self.classes.counts, strict=True)
        )
        self._progress("classes", 1.0, counts)
        self._show_latent()
        self.set_status(f"classes: {counts}")

    # ---- explorers -----------------------------------------------------------------------------
    def _show_explorers(self) -> None:
        """The projection (once scored), the grid and the distance statistics (once run)."""
        shown = [
            ("the projection, linked to the map", self.latent),
            ("the grid", self.grid_explorer),
            (
                "distance statistics: the analysis's fit and minority abundance",
                self.distance_explorer,
            ),
        ]
        self.explorers.children = [
            box
            for title, widget in shown
            if widget is not None
            for box in (ipw.HTML(f"<h3>{title}</h3>"), widget)
        ]

    def _show_distances(self) -> None:
        from stswidgets.widgets import DistanceDistributionExplorer

        s = self.stats
        self.distance_explorer = DistanceDistributionExplorer(
            s, grid=self.grid, selection=self.selection
        )
        self.distance_explorer.add_class("sts-app-distances")
        self._show_explorers()
        weights = ", ".join(f"{w:.1%}" for w in s.fit.weights)
        self.summary.value = (
            f"<b>distance statistics</b>: {s.n_pairs:,} pairs, median distance "
            f"{s.median_distance:.3g} {self.grid.attrs.get('units', '')}; two-Gaussian fit of "
            f"log(d + {s.offset:.3g}): weights {weights}; {s.reason}"
        )

    def _show_latent(self) -> None:
        from stswidgets.widgets import LatentExplorer

        p = self.projection
        colours = {"score (distance from the majority)": p.score}
        if self.classes is not None:
            key = "classes (" + ", ".join(f"{k} {n}" for k, n in enumerate(self.classes.names))
            colours[key + ")"] = self.classes.labels.astype(float)
        if self.stats is not None and self.stats.abundance is not None:
            colours["minority abundance"] = self.stats.abundance
        gap = self.gap_colour()
        if gap is not None:
            colours[GAP_COLOUR] = gap
        self.latent = LatentExplorer(
            self.grid, {"Siamese projection": p.Z}, color=colours, selection=self.selection
        )
        self.latent.add_class("sts-app-latent")
        self._show_explorers()

    def gap_colour(self) -> np.ndarray | None:
        """The gap (mV) of every valid spectrum (:func:`stswidgets.pipeline.gap_values`, the
        peaks of notebook 09's gap map), computed once per grid; None where no spectrum shows
        a gap (the colour choice is then left out)."""
        if self.gap is None:
            self.gap = pipeline.gap_values(self.grid, self.valid, self.config)
        return self.gap if np.isfinite(self.gap).any() else None

    def _selection_changed(self, change) -> None:
        idx = np.asarray(change["new"])
        text = f"selected {idx.size} of {len(self.X)} spectra"
        if idx.size and self.projection is not None:
            text += f"; their mean score {self.projection.score[idx].mean():.2f}"
        if idx.size and self.classes is not None:
            counts = np.bincount(self.classes.labels[idx], minlength=len(self.classes.names))
            text += (
                " ("
                + ", ".join(
                    f"{n} {name}" for name, n in zip(self.classes.names, counts, strict=True) if n
                )
                + ")"
            )
        self.set_status(text)

    # ---- downloads -----------------------------------------------------------------------------
    def save_results(self) -> Path:
        """Write ``out_dir/results.nc`` with the results so far and offer it for download."""
        from stswidgets.results import save_results, start_results

        self._need_grid()
        start_results(
            self.out_dir,
            grid=self.grid,
            config=self.config,
            source=self.source_name,
            command="stswidgets app",
        )
        variables = pipeline.results_variables(
            self.grid, self.valid, self.stats, self.projection, self.classes
        )
        found = pipeline.distance_attrs(self.stats) if self.stats is not None else None
        path = save_results(
            self.out_dir,
            grid=self.grid,
            config=self.config,
            normalization=self.normalization,
            global_attrs=found,
            **variables,
        )
        link = _link(path.read_bytes(), "results.nc", "application/x-netcdf", "download results.nc")
        self.downloads.value = link
        self.set_status(f"results.nc written to {path} ({', '.join(variables)})")
        return path

    def save_png(self) -> Path:
        """Write ``out_dir/maps.png`` (score and site-class maps) and offer it for download."""
        if self.projection is None:
            raise ValueError("run step 2 (projection + score) first: the PNG maps the score")
        png = pipeline.maps_png(self.grid, self.valid, self.projection.score, self.classes)
        path = self.out_dir / "maps.png"
        path.write_bytes(png)
        self.downloads.value = _link(png, "maps.png", "image/png", "download maps.png")
        self.set_status(f"maps.png written to {path}")
        return path
