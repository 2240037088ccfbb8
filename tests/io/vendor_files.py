"""The shared vendor files and the facts measured on them, for the format and CLI tests.

Imported as ``from vendor_files import ...`` (tests/io is on sys.path).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nanonis_files import REAL_DIR, real_file

VENDOR_DIR = REAL_DIR / "vendors"


@dataclass(frozen=True)
class Vendor:
    """A shared vendor file and the facts measured on it (../shared/data/real/README.md)."""

    file: str
    module: str
    shape: tuple[int, int, int]
    bias_mV: tuple[float, float]
    channel: str  # what open_grid reads by default: a channel, or the current it derives
    derived: bool
    n_complete: int


VENDORS = [
    Vendor("rhk_dIdV_9K_ABC6_grid.sm4", "stswidgets.io.rhk", (32, 32, 81), (-100, 300),
           "LIA", False, 1024),
    Vendor("omicron_Ta2NiSe5_cits20_IV_fwd_up.ibw", "stswidgets.io.omicron", (20, 20, 150),
           (-500, 500), "I(V)", True, 400),
    Vendor("nanosurf_tarzan_specmap15.nid", "stswidgets.io.nanosurf", (15, 15, 512),
           (-2500, 2610), "Tip Current", True, 225),
    Vendor("createc_Ag_corral_complete.specgrid", "stswidgets.io.createc", (5, 5, 501),
           (-20, 20), "Current", True, 25),
]  # fmt: skip
IDS = [vendor.module.rsplit(".", 1)[1] for vendor in VENDORS]


def vendor_file(vendor: Vendor) -> Path:
    """The shared file of ``vendor``; skip when it is absent."""
    return real_file(f"vendors/{vendor.file}")
