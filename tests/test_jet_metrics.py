"""JetNet metrics: closed forms, seeds, sample-size errors, and jetnet v0.2.5's values."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.linalg import sqrtm
from scipy.optimize import curve_fit

from lhcgen.errors import LhcgenError
from lhcgen.evaluate.jets.metrics import (
    JetMetricSettings,
    JetSample,
    fpd,
    frechet_distance,
    jet_metrics,
    kpd,
    mmd_poly_unbiased,
    w1_features,
    w1efp,
    w1m,
    w1p,
)
from lhcgen.evaluate.jets.metrics.frechet import fit_intercept, normalise_features
from lhcgen.physics.efp import W1_COLUMNS
from lhcgen.physics.particle_cloud import relative_jet_mass

GOLDEN = Path(__file__).parent / "data" / "jetnet_golden"

# Agreement with jetnet v0.2.5 (reference.json, made by make_reference.py), relative:
W1_RTOL = 1e-8  # W1m, W1p, W1efp values and errors (seen: <= 3e-10, same draws)
KPD_RTOL = 1e-8  # KPD median and spread (seen: ~1e-11)
FPD_RTOL = 1e-4  # FPD intercept: jetnet's iterative curve_fit stops early (seen: 1.3e-5)
FPD_ERROR_RTOL = 1e-5  # its standard error (seen: 1e-6)
FRECHET_RTOL = 1e-6  # one Frechet distance of near-singular EFP covariances (seen: 5e-8)
MASS_ATOL = 1e-7  # relative jet mass: rounding of E^2 - p^2 for a one-particle jet


def constant_jets(n_jets: int, particle: tuple[float, float, float], n_real: int = 3,
                  n_padded: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Jets whose real particles are all ``particle``; padded rows hold garbage."""
    particles = np.full((n_jets, n_real + n_padded, 3), 9.0)
    particles[:, :n_real] = particle
    mask = np.zeros(particles.shape[:2], dtype=bool)
    mask[:, :n_real] = True
    return particles, mask


# ---------------------------------------------------------------------------------------
# W1
# ---------------------------------------------------------------------------------------


def test_w1_of_constant_samples_is_the_shift_with_zero_spread():
    result = w1_features("w1", np.full((50, 2), 1.0), np.full((60, 2), [1.25, 0.5]),
                         ("a", "b"), seed=0, num_eval_samples=40, num_batches=3)
    assert [p[1] for p in result.parts] == pytest.approx([0.25, 0.5])
    assert result.value == pytest.approx(0.375)
    assert result.error == 0


def test_w1_of_a_shifted_distribution_is_the_shift():
    rng = np.random.default_rng(0)
    real = rng.normal(size=20_000)
    result = w1m(real, rng.normal(size=20_000) + 0.3, seed=1, num_eval_samples=20_000,
                 num_batches=3)
    assert result.value == pytest.approx(0.3, abs=0.03)
    assert result.settings == {"num_eval_samples": 20_000, "num_batches": 3, "seed": 1,
                               "n_real": 20_000, "n_gen": 20_000}


def test_w1p_ignores_masked_and_zero_particles_and_measures_each_feature():
    real, real_mask = constant_jets(30, (0.1, -0.2, 0.3))
    gen, gen_mask = constant_jets(30, (0.15, -0.2, 0.1))
    gen[:, -1] = 0.0  # zero padding, dropped by exclude_zeros ...
    gen_mask[:, -1] = True  # ... even where the mask says it is real
    result = w1p(real, gen, real_mask, gen_mask, seed=0, num_eval_samples=20, num_batches=2)
    assert [p[1] for p in result.parts] == pytest.approx([0.05, 0.0, 0.2])
    assert result.value == pytest.approx(0.25 / 3)
    assert [p[0] for p in result.parts] == ["eta_rel", "phi_rel", "pt_rel"]


def test_w1m_uses_the_relative_jet_mass():
    particles = np.array([[[0.1, 0.0, 0.5], [-0.1, 0.0, 0.5]]])
    expected = np.sqrt(2 * 0.25 * (np.cosh(0.2) - 1))
    assert relative_jet_mass(particles)[0] == pytest.approx(expected, rel=1e-12)
    mask = np.array([[True, False]])
    assert relative_jet_mass(particles, mask)[0] == pytest.approx(0, abs=1e-7)


def test_w1_metrics_are_deterministic_given_the_seed():
    rng = np.random.default_rng(3)
    real, gen = rng.normal(size=(500, 5)), rng.normal(size=(400, 5)) + 0.1
    first = w1efp(real, gen, seed=11, num_eval_samples=300, num_batches=4)
    assert w1efp(real, gen, seed=11, num_eval_samples=300, num_batches=4) == first
    assert w1efp(real, gen, seed=12, num_eval_samples=300, num_batches=4).value != first.value
    assert [p[0] for p in first.parts] == ["efp0", "efp1", "efp2", "efp3", "efp4"]


@pytest.mark.parametrize("metric", ["w1m", "w1p", "w1efp", "fpd", "kpd"])
def test_a_sample_smaller_than_the_batch_is_a_user_error(metric):
    small = np.zeros((10, 4, 3))
    calls = {
        "w1m": lambda: w1m(np.zeros(10), np.zeros(100), seed=0, num_eval_samples=50),
        "w1p": lambda: w1p(np.ones((100, 4, 3)), small, seed=0, num_eval_samples=50),
        "w1efp": lambda: w1efp(np.zeros((10, 5)), np.zeros((100, 5)), seed=0,
                               num_eval_samples=50),
        "fpd": lambda: fpd(np.zeros((100, 3)), np.zeros((10, 3)), seed=0, min_samples=20,
                           max_samples=50),
        "kpd": lambda: kpd(np.zeros((100, 3)), np.zeros((10, 3)), seed=0, batch_size=50),
    }
    with pytest.raises(LhcgenError, match="needs at least 50 jets") as error:
        calls[metric]()
    assert "\n" not in str(error.value)


# ---------------------------------------------------------------------------------------
# FPD
# ---------------------------------------------------------------------------------------


def test_fpd_of_constant_samples_is_known_as_in_jetnets_test():
    zeros, ones = np.zeros((5_000, 2)), np.ones((5_000, 2))
    result = fpd(zeros, ones, seed=0, min_samples=1_000, max_samples=5_000, num_batches=2)
    assert result.value == pytest.approx(2.0, rel=1e-12)  # |mu_1 - mu_2|^2 = 2
    assert result.error < 1e-10
    result = fpd(zeros, zeros, seed=0, min_samples=1_000, max_samples=5_000, num_batches=2)
    assert result.value == pytest.approx(0.0, abs=1e-12)


def test_fpd_of_two_samples_of_one_gaussian_extrapolates_to_zero():
    rng = np.random.default_rng(5)
    real, gen = rng.normal(size=(20_000, 3)), rng.normal(size=(20_000, 3))
    result = fpd(real, gen, seed=1, min_samples=2_000, max_samples=20_000, num_batches=5)
    assert abs(result.value) < 3 * result.error + 1e-4
    assert result.settings["batch_sizes"][0] == 2_000
    assert result.settings["batch_sizes"][-1] in (19_999, 20_000)


def test_fpd_of_shifted_gaussians_is_the_squared_shift():
    rng = np.random.default_rng(6)
    real, gen = rng.normal(size=(20_000, 2)), rng.normal(size=(20_000, 2)) + [0.3, 0.4]
    result = fpd(real, gen, seed=1, min_samples=2_000, max_samples=20_000, num_batches=5,
                 normalise=False)
    assert result.value == pytest.approx(0.25, abs=5 * result.error + 0.01)


def test_frechet_distance_closed_forms_and_scipy_sqrtm():
    assert frechet_distance([0.0], [[4.0]], [1.0], [[1.0]]) == pytest.approx(1 + (2 - 1) ** 2)
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=(6, 6)), rng.normal(size=(6, 6))
    s1, s2 = a @ a.T, b @ b.T
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    expected = (np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2)
                - 2 * np.trace(sqrtm(s1 @ s2)).real)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-10)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0, abs=1e-10)


def test_fit_intercept_matches_curve_fit_and_respects_the_bounds():
    x = np.linspace(1 / 20_000, 1 / 50_000, 10)
    y = 0.02 + 30 * x + np.random.default_rng(8).normal(0, 1e-4, 10)
    intercept, slope, error = fit_intercept(x, y)
    params, covariance = curve_fit(lambda x, a, b: a + b * x, x, y)
    assert (intercept, slope) == pytest.approx(tuple(params), rel=1e-6)  # its tolerance
    assert error == pytest.approx(np.sqrt(covariance[0, 0]), rel=1e-6)
    intercept, slope, _ = fit_intercept(x, 0.02 - 30 * x)  # falling: slope clipped to 0
    assert slope == 0 and intercept == pytest.approx(np.mean(0.02 - 30 * x))
    intercept, slope, _ = fit_intercept(x, -0.001 + 30 * x)  # negative intercept clipped
    assert intercept == 0 and slope > 0


# ---------------------------------------------------------------------------------------
# KPD
# ---------------------------------------------------------------------------------------


def test_kpd_of_constant_samples_is_known_as_in_jetnets_test():
    zeros, ones = np.zeros((1_000, 2)), np.ones((1_000, 2))
    result = kpd(zeros, ones, seed=0, batch_size=200)
    assert (result.value, result.error) == pytest.approx((15.0, 0.0))  # 1 + 16 - 2 * 1
    assert kpd(zeros, zeros, seed=0, batch_size=200).value == pytest.approx(0.0)


def test_kpd_of_two_samples_of_one_distribution_is_zero_within_its_error():
    rng = np.random.default_rng(9)
    real, gen = rng.gamma(2.0, size=(4_000, 4)), rng.gamma(2.0, size=(4_000, 4))
    result = kpd(real, gen, seed=2, batch_size=1_000)
    assert abs(result.value) < 3 * result.error
    shifted = kpd(real, gen * 1.3, seed=2, batch_size=1_000)
    assert shifted.value > 5 * shifted.error


def test_blocked_mmd_equals_the_full_matrix_formula():
    rng = np.random.default_rng(10)
    x, y = rng.normal(size=(30, 3)), rng.normal(size=(25, 3)) + 0.2

    def kernel(a, b):
        return (a @ b.T / 3 + 1) ** 4

    kxx, kyy, kxy = kernel(x, x), kernel(y, y), kernel(x, y)
    expected = ((kxx.sum() - np.trace(kxx)) / (30 * 29) + (kyy.sum() - np.trace(kyy))
                / (25 * 24) - 2 * kxy.mean())
    assert mmd_poly_unbiased(x, y, block=7) == pytest.approx(expected, rel=1e-12)


def test_fpd_and_kpd_are_deterministic_given_the_seed():
    rng = np.random.default_rng(11)
    real, gen = rng.normal(size=(2_000, 3)), rng.normal(size=(2_000, 3))
    options = {"min_samples": 500, "max_samples": 2_000, "num_batches": 3}
    assert fpd(real, gen, seed=4, **options) == fpd(real, gen, seed=4, **options)
    assert kpd(real, gen, seed=4, batch_size=500) == kpd(real, gen, seed=4, batch_size=500)
    assert kpd(real, gen, seed=5, batch_size=500) != kpd(real, gen, seed=4, batch_size=500)


# ---------------------------------------------------------------------------------------
# the suite and the golden values
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def golden():
    data = np.load(GOLDEN / "input.npz")
    reference = json.loads((GOLDEN / "reference.json").read_text())
    real = JetSample.from_particles(data["real"].astype(np.float64), data["real_mask"])
    gen = JetSample.from_particles(data["gen"].astype(np.float64), data["gen_mask"])
    return real, gen, reference


def test_the_golden_input_is_the_one_jetnet_saw(golden):
    digest = hashlib.sha256((GOLDEN / "input.npz").read_bytes()).hexdigest()
    assert digest == golden[2]["input_sha256"]
    assert golden[2]["versions"]["jetnet"] == "0.2.5"


def test_relative_jet_mass_agrees_with_jetnet(golden):
    real, gen, reference = golden
    np.testing.assert_allclose(real.mass[:reference["efps"]["rows"]],
                               reference["mass"]["real"], rtol=1e-10, atol=MASS_ATOL)
    assert real.mass.mean() == pytest.approx(reference["mass"]["real_mean"], rel=1e-10)
    assert gen.mass.mean() == pytest.approx(reference["mass"]["gen_mean"], rel=1e-10)


def test_w1_metrics_agree_with_jetnet(golden):
    real, gen, reference = golden
    settings = dict(reference["w1m"]["settings"])
    result = w1m(real.mass, gen.mass, **settings)
    assert result.value == pytest.approx(reference["w1m"]["value"], rel=W1_RTOL)
    assert result.error == pytest.approx(reference["w1m"]["error"], rel=W1_RTOL)

    result = w1p(real.particles, gen.particles, real.mask, gen.mask,
                 **reference["w1p"]["settings"])
    values, errors = reference["w1p"]["values"], reference["w1p"]["errors"]
    assert [p[1] for p in result.parts] == pytest.approx(values, rel=W1_RTOL)
    assert [p[2] for p in result.parts] == pytest.approx(errors, rel=W1_RTOL)
    assert result.value == pytest.approx(np.mean(values), rel=W1_RTOL)

    columns = list(W1_COLUMNS)
    result = w1efp(real.efps[:, columns], gen.efps[:, columns], **settings)
    values, errors = reference["w1efp"]["values"], reference["w1efp"]["errors"]
    assert [p[1] for p in result.parts] == pytest.approx(values, rel=W1_RTOL)
    assert [p[2] for p in result.parts] == pytest.approx(errors, rel=W1_RTOL)


def test_fpd_and_kpd_agree_with_jetnet(golden):
    real, gen, reference = golden
    result = fpd(real.efps, gen.efps, **reference["fpd"]["settings"])
    assert result.value == pytest.approx(reference["fpd"]["value"], rel=FPD_RTOL)
    assert result.error == pytest.approx(reference["fpd"]["error"], rel=FPD_ERROR_RTOL)
    result = kpd(real.efps, gen.efps, **reference["kpd"]["settings"])
    assert result.value == pytest.approx(reference["kpd"]["value"], rel=KPD_RTOL)
    assert result.error == pytest.approx(reference["kpd"]["error"], rel=KPD_RTOL)

    half = reference["floor_fpd"]["split"]
    floor = fpd(real.efps[:half], real.efps[half:], **reference["floor_fpd"]["settings"])
    assert floor.value == pytest.approx(reference["floor_fpd"]["value"],
                                        abs=1e-6 * floor.error)
    assert floor.error == pytest.approx(reference["floor_fpd"]["error"], rel=FPD_ERROR_RTOL)
    floor = kpd(real.efps[:half], real.efps[half:], **reference["floor_kpd"]["settings"])
    assert floor.value == pytest.approx(reference["floor_kpd"]["value"], rel=KPD_RTOL)
    assert floor.error == pytest.approx(reference["floor_kpd"]["error"], rel=KPD_RTOL)


def test_per_batch_formulas_agree_with_jetnet_on_the_full_samples(golden):
    from scipy.stats import wasserstein_distance

    real, gen, reference = golden
    full = reference["full_sample_formulas"]
    assert wasserstein_distance(real.mass, gen.mass) == pytest.approx(full["w1_mass"],
                                                                      rel=W1_RTOL)
    x, y = normalise_features(real.efps, gen.efps)
    value = frechet_distance(x.mean(axis=0), np.cov(x, rowvar=False), y.mean(axis=0),
                             np.cov(y, rowvar=False))
    assert value == pytest.approx(full["frechet"], rel=FRECHET_RTOL)
    assert mmd_poly_unbiased(x, y) == pytest.approx(full["mmd_poly4"], rel=KPD_RTOL)


def test_the_suite_runs_every_metric_with_its_settings_and_seed(golden):
    real, gen, _ = golden
    settings = JetMetricSettings(w1_num_eval_samples=500, w1_num_batches=2,
                                 fpd_min_samples=300, fpd_max_samples=1_000,
                                 fpd_num_batches=2, fpd_num_points=4,
                                 kpd_num_batches=3, kpd_batch_size=300)
    results = jet_metrics(real, gen, seed=21, settings=settings)
    assert list(results) == ["w1m", "w1p", "w1efp", "fpd", "kpd"]
    assert results["w1m"] == w1m(real.mass, gen.mass, seed=21, num_eval_samples=500,
                                 num_batches=2)
    assert results["kpd"] == kpd(real.efps, gen.efps, seed=21, num_batches=3,
                                 batch_size=300)
    for result in results.values():
        assert result.settings["seed"] == 21
        assert np.isfinite(result.value) and result.error >= 0
    text = json.dumps({name: r.as_dict() for name, r in results.items()})
    assert json.loads(text)["w1p"]["parts"]["pt_rel"]["value"] > 0
    floor = jet_metrics(real, JetSample.from_particles(real.particles[::-1],
                                                       real.mask[::-1]),
                        seed=21, settings=settings)
    assert floor["fpd"].value < results["fpd"].value


def test_event_weights_resample_jets_and_equal_weights_change_nothing():
    from lhcgen.errors import LhcgenError
    from lhcgen.evaluate.jets.metrics.result import draw_jets
    from lhcgen.evaluate.jets.metrics.wasserstein import w1m

    rng = np.random.default_rng(1)
    real = rng.normal(0.0, 1.0, 4000)
    gen = np.concatenate([rng.normal(0.0, 1.0, 4000), rng.normal(5.0, 1.0, 4000)])
    weights = np.r_[np.ones(4000), np.zeros(4000)]  # the weights remove the second bump
    args = {"seed": 3, "num_eval_samples": 2000, "num_batches": 3}
    unweighted = w1m(real, gen, **args)
    weighted = w1m(real, gen, weights=(None, weights), **args)
    assert unweighted.value > 2.0 and weighted.value < 0.15
    # equal weights draw exactly as jetnet does
    same = w1m(real, gen, weights=(np.full(4000, 2.0), np.full(8000, 0.5)), **args)
    assert same.value == unweighted.value
    picks = draw_jets(np.random.default_rng(0), 8000, 1000, weights)
    assert picks.max() < 4000
    with pytest.raises(LhcgenError, match="negative"):
        draw_jets(np.random.default_rng(0), 3, 5, np.array([1.0, -1.0, 1.0]))
