"""The pair pass on a dask.distributed cluster (``client=``) equals the local pass exactly."""

import numpy as np
import pytest
from test_distances import two_population_spectra

from stswidgets.analysis.distances import (
    distance_histogram,
    fit_two_gaussians,
    minority_abundance,
    per_spectrum_histograms,
)

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    """Two worker processes of one thread each, started once for the module."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def spectra():
    X, is_minority = two_population_spectra(n=400, n_bias=48, minority=0.2, seed=1)
    return X, is_minority


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_histograms_equal_local(client, spectra, dtype):
    X = spectra[0].astype(dtype)
    offsets = [None, 0.1, 1.0]
    local = distance_histogram(X, bins=90, offset=offsets, block_size=64)
    remote = distance_histogram(X, bins=90, offset=offsets, block_size=64, client=client)
    for (counts, edges), (remote_counts, remote_edges) in zip(local, remote, strict=True):
        np.testing.assert_array_equal(remote_counts, counts)
        np.testing.assert_array_equal(remote_edges, edges)
        assert remote_counts.sum() == 400 * 399 // 2


def test_default_tiles_equal_local(client):
    # the automatic tile size is chosen on the client as the local pass chooses it
    X = np.random.default_rng(5).normal(size=(1500, 16)).astype(np.float32)
    local = distance_histogram(X, bins=64)
    remote = distance_histogram(X, bins=64, client=client, progress=True)
    np.testing.assert_array_equal(remote[0], local[0])


def test_per_spectrum_and_abundance_equal_local(client, spectra):
    X, is_minority = spectra
    X = X.astype(np.float32)
    args = dict(bins=80, offset=0.1, block_size=48, return_counts=True)
    H, edges, counts = per_spectrum_histograms(X, **args)
    H_remote, edges_remote, counts_remote = per_spectrum_histograms(X, client=client, **args)
    np.testing.assert_array_equal(H_remote, H)
    np.testing.assert_array_equal(counts_remote, counts)
    assert (H_remote.sum(axis=1) == 399).all()
    # minority_abundance reads the histograms, it makes no pair pass: on the cluster's
    # histograms it gives the local values, and they find the minority
    local = minority_abundance(H, edges, fit_two_gaussians(counts, edges))
    remote = minority_abundance(
        H_remote, edges_remote, fit_two_gaussians(counts_remote, edges_remote)
    )
    assert local.bimodal and remote.bimodal
    np.testing.assert_array_equal(remote.values, local.values)
    assert remote.values[is_minority].min() > remote.values[~is_minority].max()


def test_torch_tasks_on_the_cluster(client, spectra):
    pytest.importorskip("torch")
    X = spectra[0]
    counts, _ = distance_histogram(X, bins=40, block_size=100, client=client, device="cpu")
    local, _ = distance_histogram(X, bins=40, block_size=100)
    assert counts.sum() == local.sum() == 400 * 399 // 2
    assert np.abs(counts - local).sum() <= 2  # float64: at most a pair within 1e-15 of an edge


def test_not_a_client_is_named():
    with pytest.raises(ValueError, match="client must be a distributed.Client"):
        distance_histogram(np.zeros((3, 2)), client="tcp://127.0.0.1:8786")
