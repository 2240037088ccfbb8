"""Work off the kernel's main thread: one background job at a time, and a follower's polls.

:class:`BackgroundJobs` is a mixin of :class:`stswidgets.app.Dashboard`; it expects the
dashboard's ``set_status``, ``set_grid``, ``valid``, ``grid``, ``follower``, ``refresh_s`` and
``_buttons`` (disabled while a job runs).
"""

from __future__ import annotations

import threading

import numpy as np

__all__ = ["BackgroundJobs"]


class BackgroundJobs:
    """Run a step in a thread (the page stays live); poll a follower of a growing grid."""

    def _init_background(self) -> None:
        self._busy = threading.Lock()
        self._worker: threading.Thread | None = None
        self._stop_following = threading.Event()
        self._follow_thread: threading.Thread | None = None

    def start(self, job, *args) -> threading.Thread | None:
        """Run ``job(*args)`` in a background thread; one job at a time (else: a status note)."""
        if not self._busy.acquire(blocking=False):
            self.set_status("busy: wait for the running step to finish")
            return None

        def work():
            for button in self._buttons:
                button.disabled = True
            try:
                job(*args)
            except Exception as error:  # shown on the page: the app has no console
                self.set_status(f"error: {type(error).__name__}: {error}", error=True)
            finally:
                for button in self._buttons:
                    button.disabled = False
                self._busy.release()

        self._worker = threading.Thread(target=work, name="stswidgets-app", daemon=True)
        self._worker.start()
        return self._worker

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the background job (tests; a notebook cell that needs the results)."""
        if self._worker is not None:
            self._worker.join(timeout)

    def poll(self) -> int:
        """Ask the follower for new spectra; show the grown grid when some arrived."""
        n_new = int(self.follower.refresh())
        grid = self.follower.grid
        if grid is not None and (n_new or self.grid is None):  # None: no complete spectrum yet
            self.set_grid(grid, None, f"{grid.attrs.get('source', 'live grid')} (live)")
            measured = int(np.asarray(self.valid).sum())
            self.set_status(
                f"live: {n_new} new spectra, {measured} of {self.valid.size} measured; "
                "run the steps for the grid so far"
            )
        return n_new

    def start_following(self) -> None:
        """Poll the follower every ``refresh_s`` seconds, in a background thread."""
        if self.follower is None:
            raise ValueError("no follower given: Dashboard(follower=stswidgets.follow(path))")
        self._stop_following.clear()

        def loop():
            while not self._stop_following.is_set():
                if self._busy.acquire(blocking=False):  # not while a step runs
                    try:
                        self.poll()
                    except Exception as error:
                        self.set_status(f"live: {type(error).__name__}: {error}", error=True)
                    finally:
                        self._busy.release()
                self._stop_following.wait(self.refresh_s)

        self._follow_thread = threading.Thread(target=loop, name="stswidgets-follow", daemon=True)
        self._follow_thread.start()

    def stop_following(self) -> None:
        self._stop_following.set()
        if self._follow_thread is not None:
            self._follow_thread.join(timeout=10)
