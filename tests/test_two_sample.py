"""Pure functions of the classifier two-sample test against brute force and closed forms."""

import numpy as np
import pytest
from scipy.special import expit, logit
from scipy.stats import norm

from lhcgen.errors import LhcgenError
from lhcgen.evaluate.classifier.two_sample import (
    accuracy,
    apply_platt,
    calibration_curve,
    class_balanced,
    effective_sample_size,
    extreme_weight_events,
    fit_platt,
    likelihood_ratio_weights,
    roc_auc,
    roc_auc_with_error,
    weight_histograms,
)


def brute_force_auc(labels, scores, weights):
    """sum over all (truth, generated) pairs of w_i w_j ([s_i > s_j] + [s_i = s_j] / 2)."""
    pos, neg = labels == 1, labels == 0
    s_i, s_j = scores[pos][:, None], scores[neg][None, :]
    pair = (s_i > s_j) + 0.5 * (s_i == s_j)
    w = weights[pos][:, None] * weights[neg][None, :]
    return np.sum(w * pair) / np.sum(w)


@pytest.mark.parametrize("signed", [False, True])
def test_auc_matches_brute_force_with_ties_and_weights(signed):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 300)
    scores = np.round(rng.normal(0.4 * labels, 1.0), 1)  # rounding makes many ties
    weights = rng.uniform(0.2, 2.0, 300)
    if signed:
        weights[rng.random(300) < 0.1] *= -0.5  # MC weights may be negative
    assert roc_auc(labels, scores, weights) == pytest.approx(
        brute_force_auc(labels, scores, weights), rel=1e-12)
    unit = np.ones(300)
    assert roc_auc(labels, scores) == pytest.approx(brute_force_auc(labels, scores, unit),
                                                    rel=1e-12)


def test_auc_extremes_and_monotonic_invariance():
    labels = np.array([0, 0, 1, 1])
    assert roc_auc(labels, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert roc_auc(labels, np.array([0.8, 0.9, 0.1, 0.2])) == 0.0
    assert roc_auc(labels, np.full(4, 0.3)) == 0.5
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 500)
    d = expit(rng.normal(labels, 1.0))
    assert roc_auc(labels, d) == pytest.approx(roc_auc(labels, logit(d)), abs=1e-15)


def test_auc_of_shifted_unit_gaussians_has_closed_form():
    """Scores x ~ N(delta, 1) (truth) vs N(0, 1): AUC = Phi(delta / sqrt 2)."""
    rng = np.random.default_rng(2)
    n, delta = 20000, 0.5
    scores = np.concatenate([rng.normal(0, 1, n), rng.normal(delta, 1, n)])
    labels = np.r_[np.zeros(n), np.ones(n)]
    value, error = roc_auc_with_error(labels, scores, n_bootstrap=50, seed=0)
    expected = norm.cdf(delta / np.sqrt(2))
    print(f"AUC {value:.4f} +- {error:.4f}, closed form {expected:.4f}")
    assert abs(value - expected) < 4 * error
    assert 0.002 < error < 0.006  # about sqrt(AUC (1 - AUC) / n) scale


def test_bootstrap_error_shrinks_like_inverse_sqrt_n():
    rng = np.random.default_rng(3)

    def error(n):
        scores = np.concatenate([rng.normal(0, 1, n), rng.normal(0.3, 1, n)])
        labels = np.r_[np.zeros(n), np.ones(n)]
        return roc_auc_with_error(labels, scores, n_bootstrap=200, seed=1)[1]

    ratio = error(500) / error(8000)
    print(f"bootstrap error ratio for 16x the events: {ratio:.2f} (expected 4)")
    assert 3.0 < ratio < 5.3


def test_bootstrap_is_deterministic_with_seed():
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 2, 400)
    scores = rng.normal(labels * 0.2, 1)
    a = roc_auc_with_error(labels, scores, n_bootstrap=20, seed=7)
    assert a == roc_auc_with_error(labels, scores, n_bootstrap=20, seed=7)
    assert a[1] != roc_auc_with_error(labels, scores, n_bootstrap=20, seed=8)[1]


def test_effective_sample_size_closed_forms():
    assert effective_sample_size(np.full(37, 2.5)) == pytest.approx(37.0)
    assert effective_sample_size(np.r_[np.zeros(99), 3.0]) == pytest.approx(1.0)
    # two groups: n1 events of weight 1 and n2 of weight 2: (n1 + 2 n2)^2 / (n1 + 4 n2)
    assert effective_sample_size(np.r_[np.ones(10), np.full(5, 2.0)]) == pytest.approx(
        400 / 30)
    with pytest.raises(LhcgenError):
        effective_sample_size(np.zeros(4))


def test_class_balanced_gives_equal_class_totals():
    labels = np.r_[np.zeros(30), np.ones(10)]
    weights = np.r_[np.full(30, 2.0), np.linspace(0.5, 1.5, 10)]
    balanced = class_balanced(labels, weights)
    assert balanced[labels == 0].sum() == pytest.approx(20.0)
    assert balanced[labels == 1].sum() == pytest.approx(20.0)
    assert np.allclose(balanced[labels == 1] / weights[labels == 1], 2.0)


def test_accuracy_balanced_and_plain():
    labels = np.r_[np.zeros(3), np.ones(1)]
    d = np.array([0.2, 0.2, 0.2, 0.2])  # everything called "generated"
    assert accuracy(labels, d, balanced=False) == pytest.approx(0.75)
    assert accuracy(labels, d) == pytest.approx(0.5)  # no better than guessing
    assert accuracy(np.array([0, 1]), np.array([0.1, 0.9])) == 1.0


def test_calibration_curve_of_a_calibrated_classifier_with_unequal_classes():
    """y ~ Bernoulli(d) is calibrated for balanced classes; dropping 2/3 of the generated
    events must not move the class-balanced curve off the diagonal."""
    rng = np.random.default_rng(5)
    d = rng.uniform(0, 1, 200000)
    labels = (rng.random(len(d)) < d).astype(int)
    keep = (labels == 1) | (rng.random(len(d)) < 1 / 3)
    curve = calibration_curve(labels[keep], d[keep], n_bins=10)
    pull = (curve["observed_fraction"] - curve["mean_prediction"]) / curve["error"]
    assert np.all(np.abs(pull) < 4), pull
    assert curve["n_events"].sum() == keep.sum()
    assert len(curve["edges"]) == 11


def test_platt_recovers_a_temperature_and_leaves_a_calibrated_classifier_alone():
    rng = np.random.default_rng(6)
    z = rng.normal(0, 1.5, 40000)
    labels = (rng.random(len(z)) < expit(2.0 * z)).astype(int)  # classifier too cautious
    platt = fit_platt(labels, z)
    assert platt["a"] == pytest.approx(2.0, rel=0.05)
    assert abs(platt["b"]) < 0.05
    assert platt["apply"]
    assert np.allclose(apply_platt(z, platt), platt["a"] * z + platt["b"])
    calibrated = (rng.random(len(z)) < expit(z)).astype(int)
    platt = fit_platt(calibrated, z)
    assert not platt["apply"], platt
    assert np.array_equal(apply_platt(z, platt), z)


def test_likelihood_ratio_weights_and_clip_record():
    d = np.array([0.0, 0.001, 0.5, 0.75, 0.999, 1.0])
    w, record = likelihood_ratio_weights(d, clip=100.0)
    assert np.allclose(w, [0.01, 0.01, 1.0, 3.0, 100.0, 100.0])
    assert record["n_clipped_low"] == 2  # 0 and 0.001/0.999 ~ 0.001 both below 1/100
    assert record["n_clipped_high"] == 2
    assert record["fraction_clipped"] == pytest.approx(4 / 6)
    assert record["clip_min"] == 0.01 and record["clip_max"] == 100.0
    with pytest.raises(LhcgenError, match="larger than 1"):
        likelihood_ratio_weights(d, clip=1.0)
    with pytest.raises(LhcgenError, match="within"):
        likelihood_ratio_weights(np.array([np.nan]), clip=10.0)


def test_weight_histograms_keep_every_event():
    rng = np.random.default_rng(7)
    w = np.exp(rng.normal(0, 1, 1000)).clip(0.01, 100)
    mc = rng.uniform(0.5, 1.5, 1000)
    hists = weight_histograms(w, mc, clip=100.0, n_bins=20)
    for axis in ("linear", "log"):
        assert hists[axis]["counts"].sum() == pytest.approx(mc.sum())
        assert len(hists[axis]["edges"]) == 21
    assert hists["log"]["edges"][0] == pytest.approx(0.01)
    assert hists["log"]["edges"][-1] == pytest.approx(100.0)


def test_extreme_weight_events_name_the_mismodelled_observable():
    """Weights grow with observable 'b' only: the tails must be described by 'b'."""
    rng = np.random.default_rng(8)
    values = rng.normal(0, 1, (2000, 3))
    defined = np.ones_like(values, dtype=bool)
    defined[:1000, 2] = False  # a jet that exists in half of the events
    values[~defined] = 0.0
    weights = np.exp(0.8 * values[:, 1])
    out = extreme_weight_events(values, ("a", "b", "c"), defined, weights, k=5,
                                index=np.arange(2000) + 100)
    assert [e["weight"] for e in out["highest"]] == sorted(weights)[::-1][:5]
    assert [e["weight"] for e in out["lowest"]] == sorted(weights)[:5]
    assert out["highest"][0]["index"] == int(np.argmax(weights)) + 100
    assert out["under_populated"][0]["observable"] == "b"
    assert out["under_populated"][0]["shift_in_std"] > 1.5
    assert out["over_populated"][0]["observable"] == "b"
    assert out["over_populated"][0]["shift_in_std"] < -1.5
    for event in out["highest"] + out["lowest"]:
        assert (event["observables"]["c"] is None) == (event["index"] - 100 < 1000)
    assert out["tail_events"] == 20


def test_bad_inputs_raise_one_line_errors():
    with pytest.raises(LhcgenError, match="NaN"):
        roc_auc(np.array([0, 1]), np.array([0.1, np.nan]))
    with pytest.raises(LhcgenError, match="0 \\(generated\\) or 1"):
        roc_auc(np.array([0, 2]), np.array([0.1, 0.2]))
    with pytest.raises(LhcgenError, match="truth class"):
        roc_auc(np.array([0, 0]), np.array([0.1, 0.2]))
