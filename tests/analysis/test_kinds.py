"""classify_kinds: majority, transition and minority kinds without labels or a given count."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from stswidgets.analysis import FESE_NAMES, class_names, classify_kinds, flag_meanings


def _mixture(kinds, n_majority=3000, seed=0):
    """Majority blob at 0 and, per kind ``(angle_deg, radius, n_kind, n_transition)``, a tight
    blob at that position with a trail of transition points on the way out to it.

    Returns ``Z``, the score (distance from the majority) and the truth (0 majority,
    1 transition, 2 + k for kind k in the order given).
    """
    rng = np.random.default_rng(seed)
    Z, truth = [rng.normal(0.0, 0.1, (n_majority, 2))], [np.zeros(n_majority, int)]
    for k, (angle, radius, n_kind, n_transition) in enumerate(kinds):
        direction = np.array([np.cos(np.deg2rad(angle)), np.sin(np.deg2rad(angle))])
        Z.append(radius * direction + rng.normal(0.0, 0.08, (n_kind, 2)))
        truth.append(np.full(n_kind, 2 + k))
        along = rng.uniform(0.6, radius - 0.7, n_transition)
        Z.append(along[:, None] * direction + rng.normal(0.0, 0.08, (n_transition, 2)))
        truth.append(np.ones(n_transition, int))
    Z, truth = np.concatenate(Z), np.concatenate(truth)
    return Z, np.linalg.norm(Z, axis=1), truth


@pytest.mark.parametrize(
    "kinds",
    [
        [(30, 3.0, 80, 150)],
        [(0, 3.0, 90, 150), (180, 2.5, 40, 100)],  # opposite sides, as the grid
        [(90, 3.0, 120, 150), (210, 2.0, 60, 100), (330, 4.0, 30, 80)],
    ],
)
def test_kinds_found_against_truth(kinds):
    Z, score, truth = _mixture(kinds)
    result = classify_kinds(Z, score)
    assert result.n_kinds == len(kinds)
    assert adjusted_rand_score(truth, result.labels) > 0.9
    # numbered by abundance: 2 the largest kind; the kind centres in the same order
    sizes = [np.sum(result.labels == 2 + k) for k in range(result.n_kinds)]
    assert sizes == sorted(sizes, reverse=True)
    assert result.labels.dtype == np.int8 and result.kind_centres.shape == (len(kinds), 2)
    for k in range(result.n_kinds):
        np.testing.assert_allclose(
            result.kind_centres[k], np.median(Z[result.labels == 2 + k], axis=0)
        )
    # every spectrum of a kind lies beyond its edge and the majority edge
    for k, edge in enumerate(result.kind_edges):
        assert score[result.labels == 2 + k].min() > edge
    assert score[result.labels == 0].max() <= result.majority_edge < score[result.labels > 0].min()


def test_no_kind_when_the_tail_only_falls_off():
    """Spectra off the majority by a continuous tail (e.g. setpoint drift) are transition.

    1000 tail spectra: with 200 the far part of the tail holds ~30 spectra whose density
    peak can land beyond ``PILE_FRACTION`` of the way out by chance (then taken for a kind)."""
    rng = np.random.default_rng(1)
    Z = np.concatenate([rng.normal(0, 0.1, (3000, 2)), rng.exponential(0.6, (1000, 1)) * [1, 0.2]])
    result = classify_kinds(Z, np.linalg.norm(Z, axis=1))
    assert result.n_kinds == 0 and set(np.unique(result.labels)) == {0, 1}


def test_input_errors():
    Z = np.zeros((10, 2))
    with pytest.raises(ValueError, match="score has shape"):
        classify_kinds(Z, np.zeros(9))
    with pytest.raises(ValueError, match="n_dims"):
        classify_kinds(np.zeros(10), np.zeros(10))
    with pytest.raises(ValueError, match="finite"):
        classify_kinds(Z, np.full(10, np.nan))


def test_names():
    assert class_names(0) == ("majority", "transition")
    assert class_names(3)[2:] == ("kind 1", "kind 2", "kind 3")
    assert class_names(1, FESE_NAMES) == ("surface", "transition", "vacancy")
    assert class_names(2, ["surface"]) == (
        "surface",
        "transition",
        "kind 1",
        "kind 2",
    )
    assert class_names(0, FESE_NAMES) == ("surface", "transition")
    assert flag_meanings(class_names(2)) == "majority transition kind_1 kind_2"
    with pytest.raises(ValueError, match="n_kinds"):
        class_names(-1)


def test_kinds_in_a_signal_subspace_of_many_dimensions():
    """Kinds of distinct signatures point different ways in the signal subspace (here 6D):
    each is found in its own class, its ring spectra (on the way out) are transition."""
    rng = np.random.default_rng(3)
    n_dims, majority = 6, rng.normal(0.0, 0.3, (2000, 6))
    Z, truth = [majority], [np.zeros(2000, int)]
    for k, (axis, radius, n_kind) in enumerate([(0, 6.0, 80), (3, 4.0, 40)]):
        direction = np.eye(n_dims)[axis]
        Z.append(radius * direction + rng.normal(0.0, 0.3, (n_kind, n_dims)))
        truth.append(np.full(n_kind, 2 + k))
        along = rng.uniform(1.5, radius - 1.5, 60)
        Z.append(along[:, None] * direction + rng.normal(0.0, 0.3, (60, n_dims)))
        truth.append(np.ones(60, int))
    Z, truth = np.concatenate(Z), np.concatenate(truth)
    result = classify_kinds(Z, np.linalg.norm(Z, axis=1))
    assert result.n_kinds == 2 and result.kind_centres.shape == (2, n_dims)
    for k in (2, 3):
        assert (result.labels[truth == k] == k).mean() >= 0.95
    assert (result.labels[truth == 1] == 1).mean() >= 0.7
    assert (result.labels[truth == 0] == 0).mean() >= 0.95
