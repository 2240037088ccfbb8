"""The torch pair pass (``device=``) against the numpy pass: same tiles, same binning."""

import numpy as np
import pytest
from edge_margin import pair_values, range_away_from_edges

from stswidgets.analysis.distances import distance_histogram, per_spectrum_histograms

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def spectra():
    rng = np.random.default_rng(3)
    return rng.normal(size=(60, 24)) + rng.normal(size=(60, 1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("offset", [None, 0.5])
def test_torch_cpu_counts_equal_numpy(spectra, dtype, offset):
    # a float32 distance may differ by a few 1e-7 relative between the two matrix-product
    # kernels, and torch.log from numpy.log in the last bit: edges kept 2e-5 (relative) from every
    # value make the comparison exact (a pair near an edge may legitimately flip)
    values = pair_values(spectra, offset)
    lo_hi = range_away_from_edges(values, 20, margin=2e-5 * np.abs(values).max())
    X = spectra.astype(dtype)
    numpy_H, _, numpy_counts = per_spectrum_histograms(
        X, bins=20, range=lo_hi, offset=offset, block_size=16, return_counts=True
    )
    H, edges, counts = per_spectrum_histograms(
        X, bins=20, range=lo_hi, offset=offset, block_size=16, return_counts=True, device="cpu"
    )
    reference = np.histogram(values, bins=20, range=lo_hi)[0]
    np.testing.assert_array_equal(counts, reference)
    np.testing.assert_array_equal(counts, numpy_counts)
    np.testing.assert_array_equal(H, numpy_H)
    torch_counts, _ = distance_histogram(
        X, bins=20, range=lo_hi, offset=offset, block_size=16, device="cpu"
    )
    np.testing.assert_array_equal(torch_counts, reference)


def test_torch_cpu_automatic_range_counts_every_pair(spectra):
    X = spectra.astype(np.float32)
    counts, edges = distance_histogram(X, bins=40, device="cpu", block_size=16)
    numpy_counts, numpy_edges = distance_histogram(X, bins=40, block_size=16)
    np.testing.assert_array_equal(edges, numpy_edges)
    assert counts.sum() == 60 * 59 // 2
    assert np.abs(counts - numpy_counts).sum() <= 2  # at most a pair on an edge


def test_auto_without_gpu_is_the_numpy_pass(spectra):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present: 'auto' runs on it")
    a = distance_histogram(spectra, bins=25, device="auto")
    b = distance_histogram(spectra, bins=25)
    np.testing.assert_array_equal(a[0], b[0])


def test_bad_device_is_named():
    X = np.zeros((3, 2))
    with pytest.raises(ValueError, match="device must be"):
        distance_histogram(X, device="tpu")
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            distance_histogram(X, device="cuda")


def test_analysis_import_does_not_load_torch():
    import subprocess
    import sys

    code = (
        "import sys, stswidgets.analysis.distances, stswidgets.analysis.incremental; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
