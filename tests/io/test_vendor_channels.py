"""Channel choice for the other vendors' names (RHK, Omicron, Nanosurf, Createc), on Datasets
written here: lock-in + current, current only, empty channels, clipped currents, bias order."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from stswidgets.io import ChannelError, channel_candidates, open_grid
from stswidgets.io._channels import channel_rank, current_rank

BIAS_MV = np.linspace(-50.0, 50.0, 41)


def _physics(ny=4, nx=5, seed=0):
    """A current ``(ny, nx, n_bias)`` in A with a pixel-dependent gap, and its exact dI/dV."""
    rng = np.random.default_rng(seed)
    width = rng.uniform(5.0, 15.0, size=(ny, nx, 1))
    scale = rng.uniform(0.5, 1.5, size=(ny, nx, 1)) * 1e-10
    current = scale * (np.tanh(BIAS_MV / width) + BIAS_MV / 40)
    didv = scale * (1 / np.cosh(BIAS_MV / width) ** 2 / width + 1 / 40) * 1e3  # A/V
    return current, didv


def _dataset(channels: dict, bias_mV=BIAS_MV) -> xr.Dataset:
    """Channels ``{name: (values, units)}`` in the reader model (bias in V)."""
    ny, nx = next(iter(channels.values()))[0].shape[:2]
    data_vars = {
        name: (("y", "x", "bias"), np.asarray(values, np.float32), {"units": u, "channel": name})
        for name, (values, u) in channels.items()
    }
    coords = {
        "y": ("y", np.arange(ny) * 0.5, {"units": "nm"}),
        "x": ("x", np.arange(nx) * 0.5, {"units": "nm"}),
        "bias": ("bias", np.asarray(bias_mV) / 1e3, {"units": "V"}),
    }
    return xr.Dataset(data_vars, coords=coords)


@pytest.mark.parametrize(
    ("name", "kind"),
    [("LIA_Current", 1), ("LIA Current", 1), ("LIA_Current [bwd]", 1), ("Aux2(V)", 2)],
)
def test_vendor_lockin_names(name, kind):
    assert channel_rank(name)[0] == kind and current_rank(name) is None


@pytest.mark.parametrize("name", ["Current", "I(V)", "I", "Tip Current", "It (A)", "Current [bwd]"])
def test_vendor_current_names(name):
    assert current_rank(name) is not None and channel_rank(name) is None


@pytest.mark.parametrize("name", ["Aux1", "Tip voltage", "Bias", "Z", "Input 3"])
def test_other_channels_are_neither(name):
    assert channel_rank(name) is None and current_rank(name) is None


@pytest.mark.parametrize(("lockin", "current"), [("LIA_Current", "Current"), ("Aux2", "I(V)")])
def test_lockin_with_current_is_the_default(lockin, current):
    values, didv = _physics()
    noisy = didv + np.random.default_rng(1).normal(scale=0.05 * didv.std(), size=didv.shape)
    grid = open_grid(_dataset({current: (values, "A"), lockin: (noisy, "A")}))
    assert grid.attrs["channel"] == lockin and "derived" not in grid.attrs
    np.testing.assert_allclose(grid.values, noisy.astype(np.float32))
    assert grid.attrs["channel_agreement"] > 0.9


def test_aux2_only_without_a_better_lockin():
    values, didv = _physics()
    rng = np.random.default_rng(2)
    lia = didv + rng.normal(scale=0.2 * didv.std(), size=didv.shape)
    grid = open_grid(
        _dataset({"Aux2(V)": (didv, "V"), "LIA Current": (lia, "A"), "I": (values, "A")})
    )
    assert grid.attrs["channel"] == "LIA Current"  # though Aux2 agrees better


def test_aux2_that_is_no_dIdV_falls_back_to_the_derivative():
    values, _ = _physics()
    noise = np.random.default_rng(3).normal(size=values.shape)
    grid = open_grid(_dataset({"Aux2(V)": (noise, "V"), "I(V)": (values, "A")}))
    assert grid.attrs["derived"] == "numerical derivative of I(V) along the bias"
    assert grid.attrs["units"] == "A/V"


@pytest.mark.parametrize("name", ["Current", "I(V)", "I", "Tip Current", "It"])
def test_current_only_gives_its_derivative(name):
    values, _ = _physics()
    bias_mV = BIAS_MV[::-1]  # a sweep from + to -, as RHK and Createc record it
    grid = open_grid(
        _dataset({name: (values[..., ::-1], "A"), "Tip voltage": (values, "V")}, bias_mV)
    )
    expected = np.gradient(values.astype(np.float32).astype(float), BIAS_MV / 1e3, axis=-1)
    np.testing.assert_allclose(grid.values, expected, rtol=1e-4, atol=1e-12)
    np.testing.assert_allclose(grid["bias"].values, BIAS_MV)
    assert grid.attrs["derived"] == f"numerical derivative of {name} along the bias"
    assert grid.attrs["channel"] == f"d({name})/dV" and grid.attrs["units"] == "A/V"


def test_forward_current_before_backward():
    values, _ = _physics()
    ds = _dataset({"Tip Current [bwd]": (values * 2, "A"), "Tip Current": (values, "A")})
    assert "of Tip Current along" in open_grid(ds).attrs["derived"]


@pytest.mark.parametrize("fill", [0.0, np.nan])
def test_empty_channel_is_never_read(fill):
    values, _ = _physics()
    empty = np.full(values.shape, fill)
    ds = _dataset({"LIA_Current": (empty, "A"), "Current": (values, "A"), "Aux2": (empty, "V")})
    grid = open_grid(ds)
    assert grid.attrs["derived"] == "numerical derivative of Current along the bias"
    assert grid.attrs["empty_channels"] == "LIA_Current; Aux2"
    assert list(channel_candidates(ds)["candidate"].values) == [
        "Current",
        "numerical dI/dV of Current",
    ]
    with pytest.raises(ChannelError, match=r"'LIA_Current' of the dataset is all zeros.*'Current'"):
        open_grid(ds, channel="LIA_Current")


def test_reader_empty_channels_are_kept_in_attrs():
    values, _ = _physics()
    ds = _dataset({"Current": (values, "A")}).assign_attrs(empty_channels="Lock-in X; Lock-in Y")
    assert open_grid(ds).attrs["empty_channels"] == "Lock-in X; Lock-in Y"


def test_clipped_current_is_counted_for_its_derivative():
    values, _ = _physics(ny=6, nx=6, seed=4)
    rail = 0.6 * np.abs(values).max()
    clipped = np.clip(values, -rail, rail)
    at_rail = ((values >= rail).sum(axis=-1) >= 3) | ((values <= -rail).sum(axis=-1) >= 3)
    expected = int(at_rail.sum())  # independent count: 3 points or more at one rail
    assert 18 < expected < 36  # more than half of the spectra: still counted
    grid = open_grid(_dataset({"Tip Current": (clipped, "A")}))
    assert grid.attrs["n_saturated_spectra"] == expected
    np.testing.assert_allclose(
        grid.values[0, 0], np.gradient(clipped[0, 0].astype(np.float32), BIAS_MV / 1e3), rtol=1e-4
    )


def test_reader_clipped_count_is_taken_into_account():
    values, _ = _physics()
    ds = _dataset({"Current": (values, "A")})
    ds["Current"].attrs["n_clipped_spectra"] = 7
    assert open_grid(ds).attrs["n_saturated_spectra"] == 7


def test_settling_hold_is_averaged_and_bias_ascends():
    """A sweep from +50 mV down with the first 4 points held at +50 mV (a settling hold a
    reader kept): one +50 mV point, the mean of the five recorded there."""
    values, _ = _physics()
    hold = np.concatenate([np.full(4, BIAS_MV[-1]), BIAS_MV[::-1]])
    rng = np.random.default_rng(5)
    recorded = np.concatenate([rng.normal(size=values.shape[:2] + (4,)), values[..., ::-1]], -1)
    grid = open_grid(_dataset({"LIA_Current": (recorded, "A")}, hold))
    np.testing.assert_allclose(grid["bias"].values, BIAS_MV)
    recorded32 = recorded.astype(np.float32).astype(float)
    np.testing.assert_allclose(grid.values[..., :-1], recorded32[..., 5:][..., ::-1], rtol=1e-6)
    np.testing.assert_allclose(grid.values[..., -1], recorded32[..., :5].mean(axis=-1), rtol=1e-5)


def test_forward_and_backward_with_one_full_name_stay_apart():
    """A reader giving forward and [bwd] the same ``channel`` attr: the candidates keep the
    variable names, so each is listed once (notebook 01 selects them by label)."""
    values, _ = _physics()
    ds = _dataset({"Tip Current": (values, "A"), "Tip Current [bwd]": (values * 2, "A")})
    ds["Tip Current [bwd]"].attrs["channel"] = "Tip Current"
    labels = list(channel_candidates(ds)["candidate"].values)
    assert labels == ["Tip Current", "Tip Current [bwd]", "numerical dI/dV of Tip Current"]
    assert open_grid(ds).attrs["derived"] == "numerical derivative of Tip Current along the bias"
