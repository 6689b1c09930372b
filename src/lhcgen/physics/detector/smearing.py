"""Log-normal smearing, as Delphes does it: positive values with the given mean and width."""

from __future__ import annotations

import numpy as np


def log_normal(mean: np.ndarray, sigma: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw per element from the log-normal distribution with mean ``mean`` and standard
    deviation ``sigma`` (same units); 0 where mean <= 0, ``mean`` where sigma = 0.

    With b^2 = log(1 + sigma^2 / mean^2) and a = log(mean) - b^2 / 2 the draw is
    exp(a + b z), z standard normal (Delphes' MomentumSmearing and SimpleCalorimeter).
    One normal number is drawn per element, whatever its mean.
    """
    mean = np.asarray(mean, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    z = rng.standard_normal(mean.shape)
    positive = mean > 0
    safe_mean = np.where(positive, mean, 1.0)
    b = np.sqrt(np.log1p((sigma / safe_mean) ** 2))
    a = np.log(safe_mean) - 0.5 * b**2
    return np.where(positive, np.exp(a + b * z), 0.0)
