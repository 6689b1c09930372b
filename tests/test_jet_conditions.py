"""The jet-level conditions (pT, eta, m, N) of generated jets against the truth: W1 per
variable against closed forms, its ×floor, and the benchmark's table of them."""

from __future__ import annotations

import numpy as np
import pytest
from benchmarks.jets_time_fidelity import _conditions_table

from lhcgen.data.jets import JetCloudSample
from lhcgen.evaluate.jets.conditions import (
    CONDITION_LABELS,
    condition_features,
    condition_ratios,
    condition_w1,
    relative_mass_w1,
)
from lhcgen.evaluate.jets.metrics import JetMetricSettings

SETTINGS = JetMetricSettings(w1_num_eval_samples=4000, w1_num_batches=5)


def _jets(pt, eta, mass, n_constituents) -> JetCloudSample:
    n = len(pt)
    particles = np.zeros((n, 2, 3))
    particles[:, 0, 2] = 1.0
    mask = np.zeros((n, 2), dtype=bool)
    mask[:, 0] = True
    jets = np.column_stack([pt, eta, mass, np.ones(n)])
    return JetCloudSample(particles, mask, jets, np.full(n, 2), np.ones(n),
                          np.asarray(n_constituents), {})


def test_features_are_the_conditions_with_the_untruncated_count():
    jets = _jets([900.0, 1200.0], [0.1, -2.0], [175.0, 80.4], [41, 77])
    np.testing.assert_array_equal(condition_features(jets),
                                  [[900.0, 0.1, 175.0, 41.0], [1200.0, -2.0, 80.4, 77.0]])


def test_point_masses_are_as_far_apart_as_their_shift():
    """W1 between two point masses is their distance, in every batch."""
    n = 4000
    real = _jets(np.full(n, 1000.0), np.zeros(n), np.full(n, 80.4), np.full(n, 40))
    gen = _jets(np.full(n, 1010.0), np.full(n, 0.5), np.full(n, 91.2), np.full(n, 43))
    w1 = condition_w1(real, gen, seed=1, settings=SETTINGS)
    for label, shift in zip(CONDITION_LABELS, (10.0, 0.5, 10.8, 3.0), strict=True):
        assert w1[label]["value"] == pytest.approx(shift)
        assert w1[label]["error"] == pytest.approx(0.0, abs=1e-12)


def test_a_shifted_distribution_is_its_shift_away_and_a_sample_is_near_itself():
    """Uniform pT in [800, 1600] GeV against the same shifted by 20 GeV: W1 = 20 up to the
    resampling; the same distribution, drawn twice: W1 of order (width) / sqrt(n)."""
    rng = np.random.default_rng(3)
    n = 4000

    def draw(shift):
        return _jets(rng.uniform(800, 1600, n) + shift, rng.uniform(-2.5, 2.5, n),
                     rng.uniform(50, 250, n), rng.integers(20, 80, n))

    real = draw(0.0)
    shifted = condition_w1(real, draw(20.0), seed=2, settings=SETTINGS)
    same = condition_w1(real, draw(0.0), seed=2, settings=SETTINGS)
    assert shifted["pt"]["value"] == pytest.approx(20.0, abs=5.0)
    assert same["pt"]["value"] < 15.0
    assert same["mass"]["value"] < 5.0 and same["eta"]["value"] < 0.1


def test_relative_mass_sees_what_the_marginals_cannot():
    """The same pT and m marginals, paired differently: the four conditions' W1 are those
    of a sample against itself (resampling alone), but m / pT is as far apart as its closed
    form. Heavy jets at low pT (m/pT 0.2) and light ones at high pT (0.05), against each
    mass paired with the other pT (m/pT 0.1 and 0.1): W1 = (0.1 + 0.05) / 2 = 0.075."""
    n = 4000
    pt = np.repeat([800.0, 1600.0], n // 2)
    mass = np.repeat([160.0, 80.0], n // 2)
    count = np.full(n, 40)
    real = _jets(pt, np.zeros(n), mass, count)
    swapped = _jets(pt, np.zeros(n), mass[::-1], count)
    w1 = condition_w1(real, swapped, seed=1, settings=SETTINGS)
    itself = condition_w1(real, real, seed=1, settings=SETTINGS)
    assert w1["pt"] == itself["pt"] and w1["eta"]["value"] == 0.0
    assert w1["mass"]["value"] < 3.0  # 80 GeV times the resampled fractions' spread
    relative = relative_mass_w1(condition_features(real), condition_features(swapped), seed=1,
                                settings=SETTINGS)
    assert relative["value"] == pytest.approx(0.075, abs=0.004)
    same = relative_mass_w1(condition_features(real), condition_features(real), seed=1,
                            settings=SETTINGS)
    assert same["value"] < 0.004


def test_ratios_divide_by_the_floor_or_its_error():
    w1 = {c: {"value": 2.0, "error": 0.1} for c in CONDITION_LABELS}
    floor = {"pt": {"value": 1.0, "error": 0.2}, "eta": {"value": 0.5, "error": 1.0},
             "mass": {"value": 0.0, "error": 0.0}, "n_constituents": {"value": 4.0,
                                                                      "error": 0.5}}
    assert condition_ratios(w1, floor) == {"pt": 2.0, "eta": 2.0, "mass": None,
                                           "n_constituents": 0.5}


def test_the_benchmark_tables_the_generated_conditions():
    entry = {c: {"value": 1.5, "error": 0.25, "ratio": 3.0} for c in CONDITION_LABELS}
    floor = {c: {"value": 0.5, "error": 0.1} for c in CONDITION_LABELS}
    row = {"run": "r", "solver": "midpoint", "steps": 16, "type": "w",
           "protocol": "generated", "options": {}, "conditions": entry}
    result = {"types": {"w": {"conditions_floor": floor}}, "rows": [row]}
    lines = _conditions_table(result)
    assert "| w | r midpoint 16 | 1.5 ± 0.25 | 3 | 1.5 ± 0.25 | 3 |" in "\n".join(lines)
    assert lines[-1].startswith("Floors (W1): w: pt 0.5 ± 0.1")
    assert _conditions_table({"types": {}, "rows": [{**row, "conditions": None}]}) == []


def test_ratio_to_floor_is_none_where_undefined():
    from lhcgen.evaluate.jets.metrics import ratio_to_floor

    assert ratio_to_floor(3.0, {"value": -1e-6, "error": 1.5}) == 2.0  # KPD-like floor < 0
    assert ratio_to_floor(None, {"value": 1.0, "error": 0.1}) is None
    assert ratio_to_floor(1.0, {"value": None, "error": None}) is None
    assert ratio_to_floor(float("inf"), {"value": 1.0, "error": 0.1}) is None


def test_ratio_to_floor_error_closed_forms():
    from lhcgen.evaluate.jets.metrics import ratio_to_floor_error

    # r = 4 / 2 = 2: sigma_r = sqrt(0.3^2 + 2^2 0.1^2) / 2
    assert ratio_to_floor_error(4.0, 0.3, {"value": 2.0, "error": 0.1}) == \
        pytest.approx(np.sqrt(0.09 + 0.04) / 2, rel=1e-14)
    # a value of 0: the floor's error scales a zero ratio, so the value's error alone
    assert ratio_to_floor_error(0.0, 0.3, {"value": 2.0, "error": 0.1}) == \
        pytest.approx(0.15, rel=1e-14)
    # a floor below its error (KPD): the error is the scale, a convention with no error
    assert ratio_to_floor_error(3e-5, 6e-6, {"value": -7e-6, "error": 1.2e-5}) == \
        pytest.approx(0.5, rel=1e-12)
    for undefined in ((None, 0.1), (1.0, None), (1.0, float("nan"))):
        assert ratio_to_floor_error(*undefined, {"value": 1.0, "error": 0.1}) is None
    assert ratio_to_floor_error(1.0, 0.1, {"value": None, "error": None}) is None


def test_ratio_to_floor_error_matches_the_spread_of_sampled_ratios():
    """Draw the value and the floor from Gaussians of their errors: the ratio's standard
    deviation is the propagated error, to first order (small relative errors)."""
    from lhcgen.evaluate.jets.metrics import ratio_to_floor_error

    rng = np.random.default_rng(7)
    value, error, floor, floor_error = 5.0, 0.15, 2.0, 0.04
    ratios = rng.normal(value, error, 200_000) / rng.normal(floor, floor_error, 200_000)
    predicted = ratio_to_floor_error(value, error, {"value": floor, "error": floor_error})
    assert ratios.std() == pytest.approx(predicted, rel=0.02)


def test_mean_of_draws_closed_forms():
    from lhcgen.evaluate.jets.metrics import mean_of_draws

    # scatter 1 beyond the draws' own errors 0.1: the scatter sets the mean's error, 1 / sqrt 3
    mean = mean_of_draws([{"value": v, "error": 0.1} for v in (1.0, 2.0, 3.0)])
    assert mean["value"] == pytest.approx(2.0, rel=1e-15) and mean["n"] == 3
    assert mean["error"] == pytest.approx(1 / np.sqrt(3), rel=1e-14)
    assert mean["resolution"] == pytest.approx(0.1, rel=1e-14)
    # two draws that agree by chance: their own errors (rms sqrt((0.3^2 + 0.4^2) / 2)) set it
    mean = mean_of_draws([{"value": 1.0, "error": 0.3}, {"value": 1.01, "error": 0.4}])
    assert mean["resolution"] == pytest.approx(np.sqrt(0.125), rel=1e-14)
    assert mean["error"] == pytest.approx(np.sqrt(0.125) / np.sqrt(2), rel=1e-14)
    # one draw is its own value and error; draws without a value or error are left out
    assert mean_of_draws([{"value": 2.0, "error": 0.5}, {"value": None, "error": 0.1},
                          {"value": 1.0, "error": None}]) == {
        "value": 2.0, "error": 0.5, "resolution": 0.5, "n": 1}
    assert mean_of_draws([{"value": None, "error": None}]) is None


def test_ratio_to_a_mean_floor_closed_forms():
    """A mean floor carries its own error (the mean's) and one draw's (its resolution): the
    first propagates, the second decides whether the floor is a scale and is the scale where
    it is not."""
    from lhcgen.evaluate.jets.metrics import ratio_to_floor, ratio_to_floor_error

    floor = {"value": 1.0, "error": 0.1, "resolution": 0.3}
    assert ratio_to_floor(3.0, floor) == 3.0
    assert ratio_to_floor_error(3.0, 0.2, floor) == pytest.approx(np.hypot(0.2, 0.3),
                                                                  rel=1e-14)
    # the mean floor below one draw's error (an unbiased KPD): that error is the scale
    kpd = {"value": 2e-6, "error": 4e-6, "resolution": 1.2e-5}
    assert ratio_to_floor(3e-5, kpd) == pytest.approx(2.5, rel=1e-12)
    assert ratio_to_floor_error(3e-5, 6e-6, kpd) == pytest.approx(0.5, rel=1e-12)
    # without a resolution the floor's error plays both parts, as before
    assert ratio_to_floor_error(3.0, 0.2, {"value": 1.0, "error": 0.1}) == \
        ratio_to_floor_error(3.0, 0.2, {"value": 1.0, "error": 0.1, "resolution": 0.1})


def test_ratio_to_a_mean_floor_matches_the_spread_of_sampled_ratios():
    """Nine truth draws and three generator seeds, each a Gaussian of its own error
    (W1m-like: the floor known to 25 % per draw): the error predicted from the draws
    themselves matches the spread of the ratio over many repetitions, and is three times
    smaller than one floor draw's."""
    from lhcgen.evaluate.jets.metrics import mean_of_draws, ratio_to_floor, ratio_to_floor_error

    rng = np.random.default_rng(11)
    floor, generated, error = 1.6, 4.6, 0.4  # 1e-3 units; the truth ratio is 2.875
    trials = 20_000
    floors = rng.normal(floor, error, (trials, 9))
    seeds = rng.normal(generated, error, (trials, 3))
    ratios, predicted, single = [], [], []
    for f, g in zip(floors, seeds, strict=True):
        mean_f = mean_of_draws([{"value": v, "error": error} for v in f])
        mean_g = mean_of_draws([{"value": v, "error": error} for v in g])
        ratios.append(ratio_to_floor(mean_g["value"], mean_f))
        predicted.append(ratio_to_floor_error(mean_g["value"], mean_g["error"], mean_f))
        single.append(g[0] / f[0])
    ratios = np.array(ratios)
    assert ratios.mean() == pytest.approx(generated / floor, rel=0.01)
    # the error from max(scatter, own error) errs on the safe side, by under a fifth
    assert ratios.std() <= np.median(predicted) <= 1.2 * ratios.std()
    # one floor draw and one seed: a ratio known to about 30 %, three times worse
    spread_single = np.subtract(*np.quantile(single, [0.84, 0.16])) / 2
    assert spread_single > 2.5 * ratios.std()
