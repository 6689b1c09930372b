"""Binning, filling and normalising weighted histograms (lhcgen.evaluate.histograms)."""

import numpy as np
import pytest

from lhcgen.errors import LhcgenError
from lhcgen.evaluate.histograms import (
    binning,
    histogram,
    normalised,
    observable_edges,
    outside_fraction,
    weighted_quantile,
)
from lhcgen.physics.zjets_observables import zjets_observables
from tests.toys import toy_zjets


def test_overflow_is_folded_so_every_event_counts():
    edges = np.array([0.0, 1.0, 2.0, 3.0])
    values = np.array([-5.0, 0.5, 1.0, 2.5, 3.0, 7.0, 1e9])
    weights = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    sumw, sumw2 = histogram(values, weights, edges)
    # underflow -5 joins bin 0; 1.0 lies on an inner edge and belongs to bin 1;
    # 3.0 (the last edge), 7 and 1e9 join the last bin
    np.testing.assert_array_equal(sumw, [1.0 + 2.0, 3.0, 4.0 + 5.0 + 6.0 + 7.0])
    np.testing.assert_array_equal(sumw2, [1.0 + 4.0, 9.0, 16.0 + 25.0 + 36.0 + 49.0])
    assert sumw.sum() == pytest.approx(weights.sum())


def test_histogram_matches_numpy_inside_the_range():
    rng = np.random.default_rng(3)
    values = rng.uniform(0.0, 10.0, 5000)
    weights = rng.uniform(0.5, 2.0, 5000)
    edges = np.linspace(0.0, 10.0, 21)
    sumw, sumw2 = histogram(values, weights, edges)
    np.testing.assert_allclose(sumw, np.histogram(values, edges, weights=weights)[0])
    np.testing.assert_allclose(sumw2, np.histogram(values, edges, weights=weights**2)[0])


def test_normalised_integrates_to_one_with_sqrt_n_errors():
    rng = np.random.default_rng(4)
    values = rng.normal(size=10000)
    edges = np.array([-4.0, -1.0, -0.2, 0.0, 0.5, 3.0])  # unequal widths
    sumw, sumw2 = histogram(values, np.ones_like(values), edges)
    density, error = normalised(sumw, sumw2, edges)
    widths = np.diff(edges)
    assert np.sum(density * widths) == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_allclose(error, np.sqrt(sumw) / len(values) / widths)


def test_integer_weights_equal_duplicated_events():
    rng = np.random.default_rng(5)
    values = rng.exponential(30.0, 3000) + 20.0
    counts = rng.integers(1, 4, 3000)
    duplicated = np.repeat(values, counts)
    edges_weighted = binning(values, counts.astype(float))
    edges_duplicated = binning(duplicated, np.ones_like(duplicated))
    np.testing.assert_allclose(edges_weighted, edges_duplicated, rtol=1e-3)
    sumw_w, sumw2_w = histogram(values, counts.astype(float), edges_weighted)
    sumw_d, sumw2_d = histogram(duplicated, np.ones_like(duplicated), edges_weighted)
    np.testing.assert_allclose(sumw_w, sumw_d)
    np.testing.assert_allclose(normalised(sumw_w, sumw2_w, edges_weighted)[0],
                               normalised(sumw_d, sumw2_d, edges_weighted)[0])
    # the variance is not the same: a weight-3 event fluctuates like 3 x one count
    assert np.all(sumw2_w >= sumw2_d)


def test_weighted_quantile_closed_form():
    values = np.array([0.0, 1.0, 2.0, 3.0])
    assert weighted_quantile(values, np.ones(4), np.array([0.5]))[0] == pytest.approx(1.5)
    # all the weight on one point: every quantile sits there
    q = weighted_quantile(values, np.array([0.0, 0.0, 1.0, 0.0]), np.array([0.1, 0.9]))
    np.testing.assert_allclose(q, [2.0, 2.0])


def test_continuous_binning_spans_the_weighted_quantile_range():
    rng = np.random.default_rng(6)
    values = rng.uniform(0.0, 1.0, 1_000_000)
    edges = binning(values, np.ones_like(values), n_bins=40)
    assert len(edges) == 41
    assert edges[0] == pytest.approx(0.001, abs=2e-4)
    assert edges[-1] == pytest.approx(0.999, abs=2e-4)
    np.testing.assert_allclose(np.diff(edges), np.diff(edges)[0])


def test_periodic_binning_is_minus_pi_to_pi():
    edges = binning(np.array([0.1, 0.2]), np.ones(2), n_bins=16, periodic=True)
    assert edges[0] == -np.pi and edges[-1] == np.pi and len(edges) == 17


def test_discrete_binning_is_centred_on_integers():
    values = np.array([1.0, 2.0, 3.0, 3.0, 1.0])
    np.testing.assert_array_equal(binning(values, np.ones(5), discrete=True),
                                  [0.5, 1.5, 2.5, 3.5])
    wide = binning(np.arange(100.0), np.ones(100), n_bins=40, discrete=True)
    widths = np.diff(wide)
    assert len(wide) - 1 <= 40 and np.all(widths == widths[0]) and widths[0] == int(widths[0])
    assert wide[0] == -0.5 and wide[-1] >= 99.5


def test_constant_sample_gets_a_valid_binning():
    edges = binning(np.full(50, 91.2), np.ones(50))
    assert np.all(np.diff(edges) > 0) and edges[0] < 91.2 < edges[-1]


def test_non_finite_values_are_refused_not_dropped():
    with pytest.raises(LhcgenError, match="1 of 3"):
        histogram(np.array([0.0, np.nan, 1.0]), np.ones(3), np.array([0.0, 1.0]))
    with pytest.raises(LhcgenError):
        binning(np.array([0.0, np.inf]), np.ones(2))


def test_normalising_zero_weight_raises():
    with pytest.raises(LhcgenError):
        normalised(np.zeros(3), np.zeros(3), np.arange(4.0))


def test_observables_are_binned_where_their_physics_lives():
    """m_mumu in 1 GeV bins over 70-110 GeV; pT from the 20 GeV cut; muon eta over the
    acceptance; the rest over the quantiles of the reference."""
    sample = toy_zjets(3000, seed=3)
    observables = {o.name: o for o in zjets_observables()}
    edges = {}
    for name in ("m_mumu", "pt_j1", "eta_mu1", "delta_r_j1j2", "eta_j1", "n_jets"):
        values, defined = observables[name].compute(sample)
        edges[name] = observable_edges(observables[name], values, sample.weights[defined])
    assert np.allclose(edges["m_mumu"], np.arange(70.0, 110.5, 1.0))
    assert edges["pt_j1"][0] == 20.0 and len(edges["pt_j1"]) == 41
    assert edges["eta_mu1"][0] == -2.5 and edges["eta_mu1"][-1] == 2.5
    assert edges["delta_r_j1j2"][0] == 0.0
    assert np.allclose(edges["n_jets"], [0.5, 1.5, 2.5, 3.5])
    values, defined = observables["m_mumu"].compute(sample)
    below, above = outside_fraction(values, sample.weights[defined], edges["m_mumu"])
    assert below == pytest.approx(np.mean(values < 70)) and above == pytest.approx(
        np.mean(values > 110))


def test_fixed_width_binning_rounds_the_range_up_to_whole_bins():
    edges = binning(np.linspace(0, 10, 100), np.ones(100), low=0.0, high=9.5, width=2.0)
    assert np.allclose(edges, [0, 2, 4, 6, 8, 10])
    with pytest.raises(LhcgenError, match="bin width must be positive"):
        binning(np.ones(3), np.ones(3), width=0.0)
