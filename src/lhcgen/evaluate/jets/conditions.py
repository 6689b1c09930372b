"""The jet-level conditions of generated jets against the truth: pT, eta, m, N.

Fully generated jets take their pT, eta, mass and constituent count from the run's conditions
model before the constituents are made; the JetNet metrics see only the constituents, so
they cannot say whether a jet's distance from the truth comes from its conditions or from
its constituents. This compares the conditions themselves: the batched W1 of each variable
(``w1_features``, jetnet's batching) against the truth, and as a ratio to the same W1
between two truth samples (the floor), as the benchmarks quote the JetNet metrics.
"""

from __future__ import annotations

import numpy as np

from lhcgen.data.jets import JetCloudSample
from lhcgen.evaluate.jets.metrics import JetMetricSettings, ratio_to_floor, w1_features

CONDITION_LABELS = ("pt", "eta", "mass", "n_constituents")
"""The jet-level conditions, in the order of ``condition_features``: pT and m in GeV, the
untruncated constituent count."""


def condition_features(jets: JetCloudSample) -> np.ndarray:
    """(N, 4) float64: each jet's pT, eta, m and untruncated constituent count."""
    return np.column_stack([np.asarray(jets.jets[:, :3], dtype=np.float64),
                            np.asarray(jets.n_constituents, dtype=np.float64)])


def condition_w1(real: JetCloudSample, gen: JetCloudSample, *, seed: int,
                 settings: JetMetricSettings | None = None) -> dict[str, dict[str, float]]:
    """{label: {"value", "error"}} of W1 per condition, batched as the JetNet W1 metrics
    (``settings``' w1 sample size and batch count; jetnet's defaults if None)."""
    return feature_w1(condition_features(real), condition_features(gen), seed=seed,
                      settings=settings)


def feature_w1(real: np.ndarray, gen: np.ndarray, *, seed: int,
               settings: JetMetricSettings | None = None) -> dict[str, dict[str, float]]:
    """``condition_w1`` of two (N, 4) arrays of ``condition_features`` (e.g. conditions
    sampled without constituents)."""
    s = settings or JetMetricSettings()
    result = w1_features("w1_conditions", real, gen, CONDITION_LABELS, seed=seed,
                         num_eval_samples=s.w1_num_eval_samples, num_batches=s.w1_num_batches)
    return {label: {"value": float(value), "error": float(error)}
            for label, value, error in result.parts}


def relative_mass_w1(real: np.ndarray, gen: np.ndarray, *, seed: int,
                     settings: JetMetricSettings | None = None) -> dict[str, float]:
    """{"value", "error"} of the batched W1 of m / pT between two (N, 4) arrays of
    ``condition_features``: how the conditions depend on one another where the constituents
    see it (the JetNet W1m is the constituents' m / pT), which the four marginals alone do
    not show."""
    s = settings or JetMetricSettings()
    result = w1_features("w1_relative_mass", real[:, 2:3] / real[:, 0:1],
                         gen[:, 2:3] / gen[:, 0:1], ("mass_over_pt",), seed=seed,
                         num_eval_samples=s.w1_num_eval_samples, num_batches=s.w1_num_batches)
    (_, value, error), = result.parts
    return {"value": float(value), "error": float(error)}


def condition_ratios(w1: dict[str, dict[str, float]],
                     floor: dict[str, dict[str, float]]) -> dict[str, float | None]:
    """{label: W1 / max(floor W1, floor error)} (``ratio_to_floor``); None where that scale
    is 0."""
    return {label: ratio_to_floor(w1[label]["value"], floor[label])
            for label in CONDITION_LABELS}
