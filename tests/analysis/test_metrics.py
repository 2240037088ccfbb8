"""separation_report against sklearn's ROC AUC and a hand-computed Fisher ratio."""

import numpy as np
import pytest
import xarray as xr
from sklearn.metrics import roc_auc_score

from stswidgets.analysis.metrics import roc_auc, separation_report


def _classes(seed=0, n=300):
    rng = np.random.default_rng(seed)
    vacancy = np.zeros(n, bool)
    transition = np.zeros(n, bool)
    vacancy[:30] = True
    transition[30:80] = True
    score = rng.normal(size=n) + 2.5 * vacancy + 1.0 * transition
    return score, vacancy, transition


def _auc(pos, neg):
    return roc_auc_score(np.r_[np.ones(len(pos)), np.zeros(len(neg))], np.r_[pos, neg])


def test_roc_auc_matches_sklearn_with_ties():
    rng = np.random.default_rng(1)
    pos = rng.integers(0, 5, 40).astype(float)
    neg = rng.integers(0, 4, 70).astype(float)
    assert roc_auc(pos, neg) == pytest.approx(_auc(pos, neg))
    assert np.isnan(roc_auc([], neg))


def test_report_on_a_score_matches_sklearn_and_hand_fisher():
    score, vac, tra = _classes()
    surf = ~vac & ~tra
    report = separation_report(score, {"vacancy": vac, "transition": tra})
    assert report.auc_vacancy_surface == pytest.approx(_auc(score[vac], score[surf]))
    assert report.auc_vacancy_transition == pytest.approx(_auc(score[vac], score[tra]))
    assert report.auc_transition_surface == pytest.approx(_auc(score[tra], score[surf]))
    assert report.mean_auc == pytest.approx(
        np.mean(
            [
                _auc(score[vac], score[surf]),
                _auc(score[vac], score[tra]),
                _auc(score[tra], score[surf]),
            ]
        )
    )
    fisher = (score[vac].mean() - score[surf].mean()) ** 2 / (score[vac].var() + score[surf].var())
    assert report.fisher == pytest.approx(fisher)
    assert not report.flipped and report.reduction == "score"
    assert (report.n_vacancy, report.n_transition, report.n_surface) == (30, 50, 220)
    row = report.as_dict()
    assert row["auc_vacancy_surface"] == report.auc_vacancy_surface


def test_sign_is_oriented_and_reported():
    score, vac, tra = _classes(2)
    flipped = separation_report(-score, {"vacancy": vac, "transition": tra})
    straight = separation_report(score, {"vacancy": vac, "transition": tra})
    assert flipped.flipped and not straight.flipped
    assert flipped.auc_vacancy_surface == pytest.approx(straight.auc_vacancy_surface)
    assert flipped.fisher == pytest.approx(straight.fisher)
    raw = separation_report(-score, {"vacancy": vac, "transition": tra}, orient=False)
    assert raw.auc_vacancy_surface == pytest.approx(1 - straight.auc_vacancy_surface)


def test_maps_with_valid_mask_and_dataset():
    score, vac, tra = _classes(3, n=300)
    valid = np.ones((20, 20), bool)
    valid.ravel()[300:] = False
    vac_map = np.zeros((20, 20), bool)
    tra_map = np.zeros((20, 20), bool)
    vac_map[valid] = vac
    tra_map[valid] = tra
    vac_map.ravel()[350] = True  # an invalid pixel must not count
    truth = xr.Dataset({"vacancy": (("y", "x"), vac_map), "transition": (("y", "x"), tra_map)})
    from_maps = separation_report(score, truth, valid=xr.DataArray(valid, dims=("y", "x")))
    from_vectors = separation_report(score, {"vacancy": vac, "transition": tra})
    assert from_maps.as_dict() == from_vectors.as_dict()
    with pytest.raises(ValueError, match="valid="):
        separation_report(score, truth)


def test_latent_space_reductions():
    rng = np.random.default_rng(4)
    n = 400
    vac = np.zeros(n, bool)
    vac[:40] = True
    Z = rng.normal(size=(n, 2))
    Z[vac] += (4.0, -3.0)
    report = separation_report(Z, {"vacancy": vac})
    distance = np.linalg.norm(Z - np.median(Z, axis=0), axis=1)
    assert report.reduction == "centre"
    assert report.auc_vacancy_surface == pytest.approx(_auc(distance[vac], distance[~vac]))
    assert np.isnan(report.auc_vacancy_transition) and report.n_transition == 0
    assert report.mean_auc == pytest.approx(report.auc_vacancy_surface)
    upper = separation_report(Z, {"vacancy": vac}, reduce="lda")
    assert upper.reduction == "lda" and upper.auc_vacancy_surface > 0.99
    with pytest.raises(ValueError, match="reduce"):
        separation_report(Z, {"vacancy": vac}, reduce="pca")


def test_transition_overlapping_vacancy_counts_as_vacancy():
    score, vac, tra = _classes(5)
    overlapping = tra | vac
    a = separation_report(score, {"vacancy": vac, "transition": overlapping})
    b = separation_report(score, {"vacancy": vac, "transition": tra})
    assert a.as_dict() == b.as_dict()
