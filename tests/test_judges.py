"""The judges of the classifier test: boosted trees, cross-fitting, the AUC with its error
and floor, and the power to find a known distortion (on small toy samples)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.stats import kstest

from lhcgen.data.distortions import jet_pt_scale
from lhcgen.errors import LhcgenError
from lhcgen.evaluate.classifier.cross_fit import CrossFit, assign_folds, check_strata, cross_fit
from lhcgen.evaluate.classifier.input_scaling import GaussianQuantiles, Standardise
from lhcgen.evaluate.classifier.judge_auc import (
    cross_fitted_auc,
    distance_from_floor,
    null_auc_error,
)
from lhcgen.evaluate.classifier.settings import ClassifierSettings
from lhcgen.evaluate.classifier.test import design, run_judges
from lhcgen.evaluate.classifier.trees import QuantileCodes
from lhcgen.evaluate.classifier.two_sample import roc_auc
from tests.toys import toy_zjets

FAST = ClassifierSettings(hidden=32, layers=2, dropout=0.0, batch_size=256, max_epochs=30,
                          patience=4, n_bootstrap=50, folds=3, threads=1)


def test_null_auc_error_is_the_mann_whitney_spread():
    """Closed form against simulation: the AUC of two samples of one distribution."""
    assert null_auc_error(1, 1) == pytest.approx(0.5)
    rng = np.random.default_rng(0)
    n0, n1 = 40, 60
    labels = np.r_[np.zeros(n0), np.ones(n1)]
    aucs = [roc_auc(labels, rng.normal(size=n0 + n1)) for _ in range(4000)]
    assert np.mean(aucs) == pytest.approx(0.5, abs=0.003)
    assert np.std(aucs) == pytest.approx(null_auc_error(n0, n1), rel=0.04)


def test_quantile_codes_are_monotonic_and_within_255_values():
    rng = np.random.default_rng(1)
    x = np.c_[rng.exponential(30, 5000), rng.normal(size=5000), np.repeat([0.0, 1.0], 2500)]
    codes = QuantileCodes.fit(x)
    coded = codes(x)
    for column in range(3):
        order = np.argsort(x[:, column], kind="stable")
        assert np.all(np.diff(coded[order, column]) >= 0)  # monotonic
        assert len(np.unique(coded[:, column])) <= 255
    assert len(np.unique(coded[:, 2])) == 2  # a binary feature stays binary
    assert len(np.unique(coded[:, 0])) > 200  # a continuous one uses the bins


def test_folds_keep_the_mix_of_classes_and_multiplicities():
    labels = np.r_[np.zeros(3000, int), np.ones(1500, int)]
    strata = np.random.default_rng(2).choice([1, 2, 3], size=4500, p=[0.6, 0.3, 0.1])
    fold = assign_folds(labels, strata, 3, np.random.default_rng(3))
    for cls in (0, 1):
        for value in (1, 2, 3):
            group = (labels == cls) & (strata == value)
            counts = np.bincount(fold[group], minlength=3)
            assert counts.max() - counts.min() <= 1


def test_cross_fit_scores_every_event_once_and_is_deterministic():
    d = design(toy_zjets(1000, seed=1), toy_zjets(1000, seed=2), settings=FAST)
    settings = dataclasses.replace(FAST, repeats=2)
    first = cross_fit(d.inputs, d.labels, d.weights, d.multiplicity, "trees", settings)
    second = cross_fit(d.inputs, d.labels, d.weights, d.multiplicity, "trees", settings)
    assert first.logits.shape == (2, 2000) and np.isfinite(first.logits).all()
    assert np.array_equal(first.logits, second.logits)
    assert not np.array_equal(first.fold[0], first.fold[1])  # new folds per repetition
    for r in range(2):
        assert np.all(np.abs(np.bincount(first.fold[r]) - 2000 / 3) <= 6)  # 6 strata
    scored = sum(f["n_scored"] for f in first.folds if f["repeat"] == 0)
    assert scored == 2000 and len(first.folds) == 6


def test_auc_error_adds_the_training_spread():
    """Scores independent of the labels: the value is near 0.5, the event part is the
    Mann-Whitney error, and the training part is the spread of the repetitions."""
    rng = np.random.default_rng(4)
    n = 4000
    labels = np.r_[np.zeros(n // 2, int), np.ones(n // 2, int)]
    base = rng.normal(size=n)
    logits = np.stack([base, base + 0.3 * rng.normal(size=n)])
    fold = np.stack([np.arange(n) % 3, (np.arange(n) + 1) % 3])
    fit = CrossFit("mlp", logits, logits, fold)
    auc = cross_fitted_auc(fit, labels, np.ones(n), n_bootstrap=400, seed=1)
    assert auc["error_events"] == pytest.approx(null_auc_error(n / 2, n / 2), rel=0.15)
    spread = np.std(auc["per_repeat"], ddof=1)
    assert auc["error_training"] == pytest.approx(spread)
    assert auc["error"] == pytest.approx(np.hypot(auc["error_events"], spread / np.sqrt(2)))
    assert auc["value"] == pytest.approx(np.mean(auc["per_repeat"]))
    assert abs(auc["value"] - 0.5) < 4 * auc["error"]
    assert distance_from_floor(auc, None) == pytest.approx((auc["value"] - 0.5) / auc["error"])
    floor = {"value": 0.5, "error": auc["error"]}
    assert distance_from_floor(auc, floor) == pytest.approx(
        (auc["value"] - 0.5) / (np.sqrt(2) * auc["error"]))


@pytest.fixture(scope="module")
def toy_power():
    """Truth vs truth and truth vs jets 25 % harder above 60 GeV (smooth ramp from 30),
    3000 toy events each, both judges, the floor from a third sample."""
    truth, other = toy_zjets(3000, seed=51), toy_zjets(3000, seed=52)
    floor = run_judges(design(other, truth, settings=FAST), FAST)
    harder = jet_pt_scale(other, 0.25, pt_min=30.0)
    distorted = run_judges(design(harder, truth, settings=FAST), FAST)
    return floor, distorted


@pytest.mark.parametrize("judge", ["mlp", "trees"])
def test_judge_finds_a_jet_pt_scale_and_not_truth(toy_power, judge):
    floor, distorted = toy_power
    floor_auc, auc = floor[judge][1], distorted[judge][1]
    for key, value in floor_auc.items():
        print(f"{judge} {key}: floor {value['value']:.4f} +- {value['error']:.4f}, "
              f"distorted {auc[key]['value']:.4f} +- {auc[key]['error']:.4f}")
    assert abs(floor_auc["all"]["value"] - 0.5) < 3.5 * floor_auc["all"]["error"]
    assert distance_from_floor(auc["all"], floor_auc["all"]) > 3
    # the jets' defect grows with the number of jets: seen per multiplicity as well
    assert distance_from_floor(auc["2"], floor_auc["2"]) > 2


def test_strata_check_counts_each_sample():
    labels = np.r_[np.zeros(200, int), np.ones(200, int)]
    strata = np.r_[np.ones(200, int), np.ones(100, int), np.full(100, 2)]
    with pytest.raises(LhcgenError, match="jet multiplicity 2: the generated sample has 0 "
                                          "events; 3-fold cross-fitting needs at least 60"):
        check_strata(labels, strata, FAST)
    check_strata(labels, np.ones(400, int), FAST)


def test_gaussian_quantiles_spread_every_feature_as_a_normal():
    """A narrow peak on a wide range comes out N(0, 1); the map is monotonic and ties (a
    padded 0, an integer multiplicity) keep one value each."""
    rng = np.random.default_rng(6)
    peak = np.where(rng.random(20000) < 0.9, rng.normal(91.2, 2.5, 20000),
                    rng.uniform(40, 180, 20000))
    padded = np.where(rng.random(20000) < 0.6, 0.0, 20 + rng.exponential(30, 20000))
    x = np.c_[peak, padded, rng.choice([1.0, 2.0, 3.0], 20000)]
    scaling = GaussianQuantiles.fit(x)
    z = scaling(x)
    assert kstest(z[:, 0], "norm").statistic < 0.01
    order = np.argsort(x[:, 0])
    assert np.all(np.diff(z[order, 0]) >= 0)
    assert len(np.unique(z[x[:, 1] == 0, 1])) == 1
    assert len(np.unique(z[:, 2])) == 3
    assert np.isfinite(scaling(np.array([[1e6, -5.0, 7.0]]))).all()  # beyond the training range
    standard = Standardise.fit(x)(x)
    assert np.allclose(standard.mean(axis=0), 0, atol=1e-9)
    assert np.allclose(standard.std(axis=0), 1)
