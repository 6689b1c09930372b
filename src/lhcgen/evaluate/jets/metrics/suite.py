"""All JetNet metrics of one generated sample against truth, with jetnet's defaults.

The command ``lhcgen metrics jets`` calls ``jet_metrics(truth, generated, ...)`` and, for the
statistical floor, ``jet_metrics(truth, independent_truth, ...)`` with the same settings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from lhcgen.errors import LhcgenError
from lhcgen.evaluate.jets.metrics.frechet import fpd
from lhcgen.evaluate.jets.metrics.kernel import kpd
from lhcgen.evaluate.jets.metrics.result import MetricResult
from lhcgen.evaluate.jets.metrics.wasserstein import w1efp, w1m, w1p
from lhcgen.physics.efp import W1_COLUMNS, efps_d_le_4
from lhcgen.physics.particle_cloud import relative_jet_mass


@dataclass(frozen=True)
class JetMetricSettings:
    """Sample sizes and batch counts of the metrics; the defaults are jetnet v0.2.5's."""

    w1_num_eval_samples: int = 50_000
    w1_num_batches: int = 5
    w1p_exclude_zeros: bool = True
    fpd_min_samples: int = 20_000
    fpd_max_samples: int = 50_000
    fpd_num_batches: int = 20
    fpd_num_points: int = 10
    kpd_num_batches: int = 10
    kpd_batch_size: int = 5_000
    normalise: bool = True

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class JetSample:
    """A sample of particle-cloud jets with the per-jet features the metrics need.

    particles : (N, P, 3) float64, (Delta eta, Delta phi, pT_rel).
    mask : (N, P) bool.
    mass : (N,) float64, relative jet mass.
    efps : (N, 36) float64, the d <= 4 EFPs (columns ``W1_COLUMNS`` are W1efp's five).
    weights : (N,) float64 event weights, or None (unweighted).
    """

    particles: np.ndarray
    mask: np.ndarray
    mass: np.ndarray
    efps: np.ndarray
    weights: np.ndarray | None = None

    @classmethod
    def from_particles(cls, particles: np.ndarray, mask: np.ndarray | None = None,
                       weights: np.ndarray | None = None) -> JetSample:
        particles = np.asarray(particles, dtype=np.float64)
        if particles.ndim != 3 or particles.shape[-1] < 3:
            raise LhcgenError(f"particles must have shape (N, P, 3), got {particles.shape}")
        particles = particles[..., :3]
        mask = (np.ones(particles.shape[:2], dtype=bool) if mask is None
                else np.asarray(mask, dtype=bool))
        if weights is not None:
            weights = np.asarray(weights, dtype=np.float64)
            if weights.shape != (len(particles),):
                raise LhcgenError(f"weights must have shape ({len(particles)},), got "
                                  f"{weights.shape}")
        return cls(particles, mask, relative_jet_mass(particles, mask),
                   efps_d_le_4(particles, mask), weights)

    def __len__(self) -> int:
        return len(self.particles)

    def subset(self, keep: np.ndarray) -> JetSample:
        """The jets selected by ``keep`` (a boolean mask or indices), their features with
        them: nothing is recomputed."""
        return JetSample(self.particles[keep], self.mask[keep], self.mass[keep],
                         self.efps[keep], None if self.weights is None else self.weights[keep])


def jet_metrics(real: JetSample, gen: JetSample, *, seed: int,
                settings: JetMetricSettings | None = None) -> dict[str, MetricResult]:
    """W1m, W1p, W1efp, FPD and KPD of ``gen`` against ``real``, each seeded with ``seed``.

    Returns
    -------
    {"w1m", "w1p", "w1efp", "fpd", "kpd"} -> MetricResult.
    """
    s = settings or JetMetricSettings()
    weights = (real.weights, gen.weights)
    w1 = {"seed": seed, "num_eval_samples": s.w1_num_eval_samples,
          "num_batches": s.w1_num_batches, "weights": weights}
    columns = list(W1_COLUMNS)
    return {
        "w1m": w1m(real.mass, gen.mass, **w1),
        "w1p": w1p(real.particles, gen.particles, real.mask, gen.mask,
                   exclude_zeros=s.w1p_exclude_zeros, **w1),
        "w1efp": w1efp(real.efps[:, columns], gen.efps[:, columns], **w1),
        **efp_distances(real, gen, seed=seed, settings=s),
    }


def efp_distances(real: JetSample, gen: JetSample, *, seed: int,
                  settings: JetMetricSettings | None = None) -> dict[str, MetricResult]:
    """FPD and KPD of ``gen`` against ``real`` alone, as ``jet_metrics`` computes them: the two
    metrics on all 36 EFPs, scaled by the truth's largest value of each."""
    s = settings or JetMetricSettings()
    weights = (real.weights, gen.weights)
    return {
        "fpd": fpd(real.efps, gen.efps, seed=seed, min_samples=s.fpd_min_samples,
                   max_samples=s.fpd_max_samples, num_batches=s.fpd_num_batches,
                   num_points=s.fpd_num_points, normalise=s.normalise, weights=weights),
        "kpd": kpd(real.efps, gen.efps, seed=seed, num_batches=s.kpd_num_batches,
                   batch_size=s.kpd_batch_size, normalise=s.normalise, weights=weights),
    }
