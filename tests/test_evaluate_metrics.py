"""chi^2/ndf and Wasserstein-1 two-sample metrics (lhcgen.evaluate.distances)."""

import numpy as np
import pytest
from scipy.stats import wasserstein_distance

from lhcgen.errors import LhcgenError
from lhcgen.evaluate.distances import (
    _signed_cdf_distance,
    chi2_ndf,
    histogram_floor,
    w1_size_factor,
    wasserstein_1d,
)
from lhcgen.evaluate.histograms import binning, histogram


def test_chi2_closed_form_on_hand_made_histograms():
    # unit weights, so sumw2 = sumw; both totals are 100; the last bin is empty in both
    a = np.array([10.0, 20.0, 30.0, 40.0, 0.0])
    b = np.array([20.0, 20.0, 20.0, 40.0, 0.0])
    # p_a - p_b = (-0.1, 0, 0.1, 0); variances (30, 40, 50, 80) / 100^2
    expected_chi2 = 0.01 / 0.003 + 0.01 / 0.005
    value, ndf = chi2_ndf(a, a, b, b)
    assert ndf == 3
    assert value == pytest.approx(expected_chi2 / 3, rel=1e-12)


def test_chi2_is_symmetric_and_zero_for_identical_histograms():
    a, b = np.array([3.0, 5.0, 9.0]), np.array([4.0, 4.0, 1.0])
    assert chi2_ndf(a, a, b, b)[0] == pytest.approx(chi2_ndf(b, b, a, a)[0])
    assert chi2_ndf(a, a, a, a) == (0.0, 2)


def test_chi2_needs_two_used_bins():
    value, ndf = chi2_ndf(np.array([5.0, 0.0]), np.array([5.0, 0.0]), np.array([3.0, 0.0]),
                          np.array([3.0, 0.0]))
    assert np.isnan(value) and ndf == 0


def test_chi2_is_about_one_under_the_null_whatever_the_sample_sizes():
    """Two weighted samples of very different sizes from one distribution: chi2/ndf ~ 1."""
    values = []
    for seed in range(8):
        rng = np.random.default_rng(seed)
        a, b = rng.normal(size=200_000), rng.normal(size=30_000)
        wa, wb = rng.uniform(0.5, 1.5, a.size), rng.exponential(1.0, b.size)
        edges = binning(b, wb, n_bins=40)
        value, ndf = chi2_ndf(*histogram(a, wa, edges), *histogram(b, wb, edges))
        assert ndf == 39
        values.append(value)
    # the mean of 8 values of chi2_39/39 has a standard deviation of about 0.08
    assert np.mean(values) == pytest.approx(1.0, abs=0.25)


def test_chi2_sees_a_small_shift_in_large_samples():
    rng = np.random.default_rng(11)
    a, b = rng.normal(size=200_000), rng.normal(0.05, 1.0, size=200_000)
    edges = binning(a, np.ones_like(a))
    value, _ = chi2_ndf(*histogram(a, np.ones_like(a), edges),
                        *histogram(b, np.ones_like(b), edges))
    assert value > 5.0


def test_w1_of_two_point_masses_is_their_distance():
    assert wasserstein_1d(np.array([2.0]), np.array([-1.5])) == pytest.approx(3.5)
    # 3/4 of the mass at 1 has to move by 1
    assert wasserstein_1d(np.array([0.0, 1.0]), np.array([0.0]), np.array([1.0, 3.0]),
                          np.array([2.0])) == pytest.approx(0.75)


def test_w1_of_a_shift_is_the_shift():
    rng = np.random.default_rng(12)
    x = rng.gamma(2.0, 10.0, 5000)
    w = rng.uniform(0.2, 3.0, 5000)
    assert wasserstein_1d(x, x + 4.25, w, w) == pytest.approx(4.25, rel=1e-10)


def test_w1_integer_weights_equal_duplicated_events():
    rng = np.random.default_rng(13)
    x, y = rng.normal(size=300), rng.normal(0.3, 1.2, size=400)
    counts = rng.integers(1, 5, 300)
    assert wasserstein_1d(x, y, counts.astype(float)) == pytest.approx(
        wasserstein_1d(np.repeat(x, counts), y), rel=1e-12)


def test_w1_with_negative_weights_closed_form():
    # u: +2 at 0 and -1 at 1, so F_u = 2 on [0, 1) and 1 afterwards; v: F_v = 1 from 0
    value = wasserstein_1d(np.array([0.0, 1.0]), np.array([0.0]), np.array([2.0, -1.0]))
    assert value == pytest.approx(1.0)


def test_signed_cdf_distance_agrees_with_scipy_for_positive_weights():
    rng = np.random.default_rng(14)
    u, v = rng.normal(size=500), rng.exponential(size=300)
    uw, vw = rng.uniform(0.1, 2.0, 500), rng.uniform(0.1, 2.0, 300)
    assert _signed_cdf_distance(u, v, uw, vw) == pytest.approx(
        wasserstein_distance(u, v, uw, vw), rel=1e-10)


def test_w1_refuses_non_finite_input():
    with pytest.raises(LhcgenError, match="NaN"):
        wasserstein_1d(np.array([0.0, np.nan]), np.array([1.0]))


def _pair(n_a: int, n_b: int, seed: int):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n_a)
    b = rng.normal(size=n_b)
    return (a, np.ones(n_a)), (b, np.ones(n_b))


def test_floor_of_the_pair_as_it_is_is_chi2_ndf_and_w1_of_the_pair():
    a, b = _pair(3000, 2000, seed=1)
    edges = np.linspace(-4, 4, 41)
    floor = histogram_floor(a, b, edges)
    chi2, ndf = chi2_ndf(*histogram(*a, edges), *histogram(*b, edges))
    assert (floor.chi2_ndf, floor.ndf) == (chi2, ndf)
    assert floor.w1 == wasserstein_1d(a[0], b[0], a[1], b[1])
    assert floor.sizes == (3000, 2000) and floor.compared_sizes is None
    assert histogram_floor(a, b, edges, w1=False).w1 is None


def test_floor_cuts_the_larger_stand_in_to_the_compared_size_and_scales_w1():
    a, b = _pair(3000, 2000, seed=2)
    edges = np.linspace(-4, 4, 41)
    floor = histogram_floor(a, b, edges, compared_sizes=(1000, 2000))
    first = (a[0][:1000], a[1][:1000])  # the first 1000 entries, not a random draw
    assert floor.sizes == (1000, 2000) and floor.compared_sizes == (1000, 2000)
    assert floor.chi2_ndf == chi2_ndf(*histogram(*first, edges), *histogram(*b, edges))[0]
    assert floor.w1 == wasserstein_1d(first[0], b[0])  # sizes equal: factor 1
    # a stand-in smaller than the compared sample is kept whole, its W1 scaled down
    small = histogram_floor(a, b, edges, compared_sizes=(6000, 2000))
    assert small.sizes == (3000, 2000)
    assert small.chi2_ndf == chi2_ndf(*histogram(*a, edges), *histogram(*b, edges))[0]
    assert small.w1 == pytest.approx(wasserstein_1d(a[0], b[0]) * np.sqrt(
        (1 / 6000 + 1 / 2000) / (1 / 3000 + 1 / 2000)), rel=1e-15)


def test_w1_size_factor_by_hand():
    assert w1_size_factor((1000, 4000), (2000, 4000)) == pytest.approx(np.sqrt(0.6), rel=1e-15)
    assert w1_size_factor((500, 500), (500, 500)) == 1.0
    with pytest.raises(LhcgenError):
        w1_size_factor((0, 10), (10, 10))


def test_scaled_w1_floor_of_halves_matches_w1_at_the_full_sizes_on_average():
    # W1 of two samples of one distribution goes as sqrt(1/n1 + 1/n2): the floor from two
    # halves of 2000, scaled to (2000, 2000), averages to W1 of two samples of 2000
    edges = np.linspace(-4, 4, 41)
    halves, full = [], []
    for seed in range(40):
        a, b = _pair(2000, 2000, seed=100 + seed)
        halves.append(histogram_floor((a[0][:1000], a[1][:1000]), (a[0][1000:], a[1][1000:]),
                                      edges, compared_sizes=(2000, 2000)).w1)
        full.append(wasserstein_1d(a[0], b[0]))
    assert np.mean(halves) == pytest.approx(np.mean(full), rel=0.1)
