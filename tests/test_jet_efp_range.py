"""Generated jets beyond the truth's EFP range: counts against the closed form for
exchangeable samples, a jet made wider than the widest truth jet (beyond on the angular
EFPs, not on the pT sum), and one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from lhcgen.errors import LhcgenError
from lhcgen.evaluate.jets.efp_range import efp_range, efp_reach
from lhcgen.evaluate.jets.metrics import JetSample
from tests.test_jets_data import toy_jets


@pytest.mark.parametrize("features", [1, 3])
def test_independent_samples_of_one_distribution_match_the_closed_form(features):
    """m draws beyond the largest of n: each lies beyond one independent feature's maximum
    with probability 1 / (n + 1), so on average m (1 - (n / (n + 1))^D) jets are counted."""
    rng = np.random.default_rng(7)
    n, m, trials = 49, 20, 4000
    counts = [efp_range(rng.exponential(size=(n, features)),
                        rng.exponential(size=(m, features))).n_beyond for _ in range(trials)]
    expected = m * (1 - (n / (n + 1)) ** features)
    assert np.mean(counts) == pytest.approx(expected, abs=4 * np.std(counts) / np.sqrt(trials))


def test_the_truth_against_itself_reaches_exactly_its_range():
    real = np.random.default_rng(1).gamma(2.0, size=(500, 36))
    result = efp_range(real, real)
    assert result.n_beyond == 0 and result.n_jets == 500
    assert result.largest_reach == 1.0
    assert result.reach_quantiles[0] <= result.reach_quantiles[1] <= result.reach_quantiles[2] <= 1


def test_one_stray_jet_is_counted_with_how_far_it_reaches():
    real = np.random.default_rng(2).gamma(2.0, size=(1000, 5))
    gen = real[:400].copy()
    gen[17, 3] = 3.0 * real[:, 3].max()
    result = efp_range(real, gen)
    assert result.n_beyond == 1
    assert (result.n_beyond_pt_sum, result.n_beyond_angular) == (0, 1)  # column 3, not 0
    assert result.largest_reach == pytest.approx(3.0)
    two = gen.copy()
    two[5, 0] = 1.5 * real[:, 0].max()  # beyond on the pT-sum column (0) as well
    both = efp_range(real, two)
    assert (both.n_beyond, both.n_beyond_pt_sum, both.n_beyond_angular) == (2, 1, 1)
    assert efp_range(real, two, pt_sum_column=None).n_beyond_pt_sum is None
    assert efp_range(real, two, pt_sum_column=None).n_beyond_angular == 2
    reach = efp_reach(real, gen)
    assert np.argmax(reach) == 17 and np.sum(reach > 1) == 1
    # The reach is in units of the truth's largest: rescaling an EFP in both changes nothing.
    scale = np.array([1.0, 1e-6, 7.0, 1e3, 0.5])
    np.testing.assert_allclose(efp_reach(real * scale, gen * scale), reach, rtol=1e-12)


def test_a_jet_made_wider_than_the_widest_truth_jet_leaves_the_range():
    """EFPs with beta = 1 grow as (angle)^d for d edges: the widest truth jet (the largest
    d = 1 EFP, sum_ij z_i z_j theta_ij) with its angles 1.5 times larger reaches at least 1.5
    times the truth's largest of that EFP, its pT sum (the d = 0 EFP) stays, and no other
    (unchanged) jet is counted."""
    truth = toy_jets(300, seed=5)
    real = JetSample.from_particles(truth.particles[..., :3], truth.mask)
    widest = int(np.argmax(real.efps[:, 1]))
    wider = truth.particles[..., :3].copy()
    wider[widest, :, :2] *= 1.5
    gen = JetSample.from_particles(wider, truth.mask)
    assert gen.efps[widest, 0] == pytest.approx(real.efps[widest, 0], rel=1e-12)
    assert gen.efps[widest, 1] == pytest.approx(1.5 * real.efps[widest, 1], rel=1e-9)
    result = efp_range(real.efps, gen.efps)
    assert (result.n_beyond, result.n_beyond_pt_sum, result.n_beyond_angular) == (1, 0, 1)
    assert result.largest_reach >= 1.5 * (1 - 1e-12)
    assert np.argmax(efp_reach(real.efps, gen.efps)) == widest


@pytest.mark.parametrize(("real", "gen", "needle"), [
    (np.ones((10, 3)), np.ones((10, 4)), "same D"),
    (np.ones((10, 3)), np.zeros((0, 3)), "at least one jet"),
    (np.zeros((10, 3)), np.ones((10, 3)), "every truth EFP is 0"),
    (np.ones((10, 3)), np.array([[1.0, np.nan, 1.0]] * 2), "2 generated jets have non-finite"),
    (np.array([[np.inf, 1.0, 1.0]]), np.ones((10, 3)), "1 truth jets have non-finite"),
])
def test_bad_input_is_one_line_naming_the_problem(real, gen, needle):
    with pytest.raises(LhcgenError, match=needle):
        efp_range(real, gen)


def test_a_pt_sum_column_outside_the_features_is_refused():
    with pytest.raises(LhcgenError, match="pt_sum_column 3 is not one of the 3 EFP columns"):
        efp_range(np.ones((4, 3)), np.ones((4, 3)), pt_sum_column=3)
