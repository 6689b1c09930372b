"""Quantile marginals: each coordinate through its empirical distribution onto a standard
normal, per group. Tested against closed forms: the normal quantiles of known
distributions, a Breit-Wigner peak on a falling background given back to within its
sampling error, ranks (the copula) untouched, the bounds of the training range, ties."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from lhcgen.errors import LhcgenError
from lhcgen.transforms.quantile_marginals import KNOTS, QuantileMarginals


def _two_groups(n: int = 20000, seed: int = 0):
    """Group 2: an exponential and a correlated normal; group 4: a uniform and a normal
    far away. Columns: (exponential or uniform, normal)."""
    rng = np.random.default_rng(seed)
    a = rng.exponential(3.0, n)
    b = 0.5 * a + rng.normal(0, 1, n)
    c = rng.uniform(800.0, 1600.0, n)
    d = rng.normal(100.0, 5.0, n)
    values = np.concatenate([np.stack([a, b], 1), np.stack([c, d], 1)])
    groups = np.repeat([2, 4], n)
    return values, groups


def test_training_values_map_to_standard_normal_marginals_per_group():
    values, groups = _two_groups()
    marginals = QuantileMarginals.fit(values, groups)
    z = marginals.forward(values, groups)
    assert marginals.groups == (2, 4) and marginals.knots.shape == (2, 2, KNOTS)
    for g in (2, 4):
        for d in range(2):
            column = z[groups == g, d]
            assert abs(column.mean()) < 0.01 and abs(column.std() - 1) < 0.01
            assert stats.kstest(column, "norm").pvalue > 0.01


def test_the_inverse_of_normal_draws_gives_the_known_distribution_back():
    """z ~ N(0, 1) through the inverse: the exponential and the uniform of the training
    groups, their CDFs within the sampling error of 20000 training values (KS)."""
    values, groups = _two_groups()
    marginals = QuantileMarginals.fit(values, groups)
    rng = np.random.default_rng(1)
    z = rng.normal(size=(40000, 2))
    exp_like = marginals.inverse(z, np.full(40000, 2))[:, 0]
    uni_like = marginals.inverse(z, np.full(40000, 4))[:, 0]
    # KS against the exact CDF: 20000 training and 40000 drawn values allow about 0.012 (95 %)
    assert stats.kstest(exp_like, stats.expon(scale=3.0).cdf).statistic < 0.015
    assert stats.kstest(uni_like, stats.uniform(800.0, 800.0).cdf).statistic < 0.015
    assert uni_like.min() > 800.0 and uni_like.max() < 1600.0


def test_a_sharp_peak_comes_back_as_sharp_as_the_training_data():
    """A W-like Breit-Wigner (Gamma 2.1 GeV at 80.4 GeV) on a falling background: the
    fraction of generated values within +-1 GeV of the peak is the truth's, to within the
    binomial error of the training sample."""
    rng = np.random.default_rng(3)
    n = 50000
    peak = stats.cauchy(80.4, 1.05).rvs(int(0.6 * n), random_state=rng)
    peak = peak[(peak > 40) & (peak < 300)]
    background = 40 + rng.exponential(60, n - len(peak))
    mass = np.concatenate([peak, background])[:, None]
    marginals = QuantileMarginals.fit(mass, np.zeros(n, dtype=int))
    generated = marginals.inverse(rng.normal(size=(n, 1)), np.zeros(n, dtype=int))[:, 0]

    def core(m):
        return np.mean(np.abs(m - 80.4) < 1.0)

    assert core(generated) == pytest.approx(core(mass[:, 0]), abs=3 * np.sqrt(0.3 * 0.7 / n)
                                            * np.sqrt(2))


def test_forward_then_inverse_is_the_identity_inside_the_clipped_probabilities():
    values, groups = _two_groups(5000)
    marginals = QuantileMarginals.fit(values, groups)
    back = marginals.inverse(marginals.forward(values, groups), groups)
    moved = ~np.isclose(back, values, rtol=1e-10, atol=1e-9)
    # only values within half a training value's probability of either end move: all of
    # them in the outermost knot intervals, and none far
    for index, g in enumerate(marginals.groups):
        rows = groups == g
        knots = marginals.knots[index]
        outer = (values[rows] < knots[:, 1]) | (values[rows] > knots[:, -2])
        assert np.all(outer[moved[rows]]) and 0 < moved[rows].sum() <= 10
        # and they move inwards, staying in their outer interval
        low = moved[rows] & (values[rows] < knots[:, 1])
        assert np.all((back[rows] >= values[rows])[low])
        assert np.all((back[rows] <= knots[:, 1])[low])


def test_ranks_and_so_the_dependence_between_coordinates_are_unchanged():
    values, groups = _two_groups(3000)
    z = QuantileMarginals.fit(values, groups).forward(values, groups)
    for g in (2, 4):
        rows = groups == g
        for d in range(2):
            steps = np.diff(z[rows, d][np.argsort(values[rows, d])])
            assert np.all(steps >= 0)  # monotone: the order of the jets is kept
            # strictly, but for the extremes clipped together at either end
            assert np.sum(steps == 0) <= 4
            assert stats.spearmanr(z[rows, d], values[rows, d]).statistic > 0.999999
        assert stats.spearmanr(*z[rows].T).statistic == pytest.approx(
            stats.spearmanr(*values[rows].T).statistic, abs=1e-5)


def test_any_coordinate_decodes_inside_the_training_range_of_its_group():
    values, groups = _two_groups(2000)
    marginals = QuantileMarginals.fit(values, groups)
    wild = np.array([[-np.inf, np.inf], [1e6, -1e6], [40.0, -40.0], [np.nan, 0.0]])
    for g in (2, 4):
        out = marginals.inverse(wild, np.full(4, g))
        lo, hi = values[groups == g].min(0), values[groups == g].max(0)
        finite = out[:3]
        assert np.all(finite >= lo) and np.all(finite <= hi)
        np.testing.assert_allclose(finite[0], [lo[0], hi[1]])
        assert np.isnan(out[3, 0]) and np.isfinite(out[3, 1])
    # the extremes of the training data map to finite coordinates
    assert np.all(np.isfinite(marginals.forward(values, groups)))
    assert np.abs(marginals.forward(values, groups)).max() == pytest.approx(
        -stats.norm.ppf(0.5 / 2000))


def test_a_tied_value_maps_to_the_middle_of_its_step():
    """Half the values exactly 0 (masses at the floor, say), half uniform on (0, 1): F steps
    from 0 to 1/2 at 0, so 0 goes to the normal quantile of 1/4."""
    rng = np.random.default_rng(5)
    x = np.concatenate([np.zeros(10000), rng.uniform(0, 1, 10000)])[:, None]
    marginals = QuantileMarginals.fit(x, np.zeros(len(x), dtype=int))
    z0 = marginals.forward(np.zeros((1, 1)), np.zeros(1, dtype=int))[0, 0]
    assert z0 == pytest.approx(stats.norm.ppf(0.25), abs=2e-3)
    z = marginals.forward(np.array([[0.5]]), np.zeros(1, dtype=int))[0, 0]
    assert z == pytest.approx(stats.norm.ppf(0.75), abs=0.01)


def test_state_round_trips_and_bad_input_is_one_line():
    values, groups = _two_groups(500)
    marginals = QuantileMarginals.fit(values, groups)
    again = QuantileMarginals.from_state(marginals.state_dict())
    np.testing.assert_array_equal(again.forward(values, groups), marginals.forward(values, groups))
    with pytest.raises(LhcgenError, match=r"fitted on groups \[2, 4\], not \[3\]"):
        marginals.inverse(np.zeros((1, 2)), np.array([3]))
    bad = values.copy()
    bad[7, 1] = np.nan
    with pytest.raises(LhcgenError, match="1 rows hold values that are not finite"):
        QuantileMarginals.fit(bad, groups)
    with pytest.raises(LhcgenError, match="group 9 has 1 value"):
        QuantileMarginals.fit(values[:1], np.array([9]))
    with pytest.raises(LhcgenError, match="knots of shape"):
        QuantileMarginals.from_state({"groups": [1], "counts": [3], "knots": [[1.0, 2.0]]})
