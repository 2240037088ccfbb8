"""PairHistogram: adds of new spectra sum to the histogram of all spectra at once."""

import numpy as np
import pytest
from edge_margin import pair_values, range_away_from_edges

from stswidgets.analysis import PairHistogram
from stswidgets.analysis.distances import distance_histogram, per_spectrum_histograms

STEPS = [1, 1, 7, 20, 3, 40, 1, 28]  # 101 spectra; single spectra, blocks, uneven sizes


@pytest.fixture(scope="module")
def spectra():
    rng = np.random.default_rng(7)
    drift = np.linspace(0, 2, 101)[:, None]  # later spectra differ: the first mean is off-centre
    return rng.normal(size=(101, 20)) + drift


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("offset", [None, 0.3])
def test_counts_after_every_add_equal_the_full_histogram(spectra, dtype, offset):
    X = spectra.astype(dtype)
    values = pair_values(X, offset)
    # centring differs from the full pass (first-add mean vs mean of all): keep every value
    # 1e-5 (relative) from the edges so that rounding cannot move a pair across one
    lo_hi = range_away_from_edges(values, 16, margin=1e-5 * np.abs(values).max())
    hist = PairHistogram(bins=16, range=lo_hi, offset=offset, per_spectrum=True, block_size=32)
    n = 0
    for k in STEPS:
        hist.add(X[n : n + k])
        n += k
        if n < 2:
            assert hist.counts.sum() == 0 and hist.n_pairs == 0
            continue
        counts, edges = distance_histogram(X[:n], bins=16, range=lo_hi, offset=offset)
        np.testing.assert_array_equal(hist.counts, counts)
        np.testing.assert_array_equal(hist.edges, edges)
        H, _ = per_spectrum_histograms(X[:n], bins=16, range=lo_hi, offset=offset)
        np.testing.assert_array_equal(hist.per_spectrum_counts, H)
        assert hist.n_spectra == n and hist.n_pairs == n * (n - 1) // 2
    assert hist.counts.sum() == np.histogram(values, bins=16, range=lo_hi)[0].sum()


def test_range_cuts_like_numpy(spectra):
    values = pair_values(spectra)
    lo, hi = np.quantile(values, [0.3, 0.7])
    hist = PairHistogram(bins=10, range=(lo, hi)).add(spectra[:60]).add(spectra[60:])
    reference = np.histogram(values, bins=10, range=(lo, hi))[0]
    assert np.abs(hist.counts - reference).sum() <= 2  # only pairs within 1e-15 of an edge
    assert hist.counts.sum() < hist.n_pairs


def test_new_pairs_only_are_computed(spectra, monkeypatch):
    import stswidgets.analysis.incremental as incremental
    from stswidgets.analysis._pairs_pass import strip_pairs

    seen = []
    real = incremental.run_pass

    def counting(X, mean, sq_norms, binnings, strips, *args):
        seen.append(sum(strip_pairs(r, c) for r, c in strips))
        return real(X, mean, sq_norms, binnings, strips, *args)

    monkeypatch.setattr(incremental, "run_pass", counting)
    hist = PairHistogram(bins=8, range=(0.0, 20.0), block_size=16)
    hist.add(spectra[:80]).add(spectra[80:90])
    assert seen == [80 * 79 // 2, 10 * 80 + 10 * 9 // 2]


def test_torch_device(spectra):
    pytest.importorskip("torch")
    hist = PairHistogram(bins=12, range=(0.0, 20.0), device="cpu")
    hist.add(spectra[:50]).add(spectra[50:])
    reference = np.histogram(pair_values(spectra), bins=12, range=(0.0, 20.0))[0]
    assert np.abs(hist.counts - reference).sum() <= 2


def test_bad_input_is_named(spectra):
    with pytest.raises(ValueError, match="range must be given"):
        PairHistogram(bins=10, range=None)
    with pytest.raises(ValueError, match="one positive number"):
        PairHistogram(bins=10, range=(0, 1), offset=[0.1, 1.0])
    hist = PairHistogram(bins=10, range=(0, 1)).add(spectra[:5])
    with pytest.raises(ValueError, match="have 19 bias points, the earlier ones 20"):
        hist.add(spectra[:5, :19])
    with pytest.raises(ValueError, match="NaN"):
        hist.add(np.full((2, 20), np.nan))
    with pytest.raises(AttributeError, match="per_spectrum=True"):
        hist.per_spectrum_counts  # noqa: B018
    assert hist.n_spectra == 5
