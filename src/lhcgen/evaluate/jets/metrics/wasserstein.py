"""W1m, W1p and W1efp: 1D Wasserstein distances between real and generated jets.

As defined by the ``jetnet`` package v0.2.5 (Kansal et al., arXiv:2106.11535): in each of
``num_batches`` batches, draw ``num_eval_samples`` jets *with replacement* from each sample,
compute ``scipy.stats.wasserstein_distance`` per feature, and report the mean over batches
with the standard deviation over batches (ddof = 0) as the error.

Differences from jetnet, on purpose:

- the random draws come from ``numpy.random.default_rng(seed)`` with an explicit seed
  (jetnet uses one unseeded module-level generator); the draws are in jetnet's order
  (real, then generated, per batch), so with jetnet's generator replaced by the same seeded
  one the two give the same numbers;
- a sample smaller than ``num_eval_samples`` is an error, not a warning;
- the error is always returned (jetnet's W1m returns (mean, mean) when ``return_std`` is
  False), and the mean over features comes with its own error: the spread over batches of
  the per-batch mean over features.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import wasserstein_distance

from lhcgen.errors import LhcgenError
from lhcgen.evaluate.jets.metrics.result import MetricResult, draw_jets, require_samples

W1_ERROR = "standard deviation over batches (ddof=0)"
PARTICLE_FEATURES = ("eta_rel", "phi_rel", "pt_rel")


def _summarise(name: str, w1s: np.ndarray, labels: Sequence[str], settings: dict
               ) -> MetricResult:
    """(B, K) per-batch W1s -> mean over batches and features, errors as spreads."""
    per_batch_mean = w1s.mean(axis=1)
    parts = tuple((label, float(w1s[:, k].mean()), float(w1s[:, k].std()))
                  for k, label in enumerate(labels))
    return MetricResult(name, float(per_batch_mean.mean()), float(per_batch_mean.std()),
                        W1_ERROR, settings, parts)


def _as_columns(x: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise LhcgenError(f"{what} must have shape (N,) or (N, K), got {x.shape}")
    return x


def w1_features(name: str, real: np.ndarray, gen: np.ndarray, labels: Sequence[str], *,
                seed: int, num_eval_samples: int = 50_000, num_batches: int = 5,
                weights: tuple[np.ndarray | None, np.ndarray | None] = (None, None)
                ) -> MetricResult:
    """Batched W1 between per-jet features, per feature and averaged over features.

    Parameters
    ----------
    name : metric name recorded in the result.
    real : (N,) or (N, K) float, real (truth) features.
    gen : (M,) or (M, K) float, generated features.
    labels : K names of the features.
    seed : seed of the generator that draws the batches.
    num_eval_samples : jets drawn (with replacement) from each sample per batch.
    num_batches : number of batches.
    weights : event weights of the real and generated jets (None: unweighted); jets are
        drawn with probability proportional to them (``draw_jets``).

    Returns
    -------
    MetricResult with the mean over features and batches; ``parts`` per feature.
    """
    real, gen = _as_columns(real, "real features"), _as_columns(gen, "generated features")
    if real.shape[1] != gen.shape[1] or real.shape[1] != len(labels):
        raise LhcgenError(f"{name}: feature counts differ: real {real.shape[1]}, generated "
                          f"{gen.shape[1]}, labels {len(labels)}")
    require_samples(name, num_eval_samples, {"real": len(real), "generated": len(gen)},
                    "num_eval_samples")
    if num_batches < 1:
        raise LhcgenError(f"{name}: num_batches must be at least 1, got {num_batches}")
    rng = np.random.default_rng(seed)
    w1s = np.empty((num_batches, real.shape[1]))
    for b in range(num_batches):
        sample_real = real[draw_jets(rng, len(real), num_eval_samples, weights[0])]
        sample_gen = gen[draw_jets(rng, len(gen), num_eval_samples, weights[1])]
        w1s[b] = [wasserstein_distance(sample_real[:, k], sample_gen[:, k])
                  for k in range(real.shape[1])]
    settings = {"num_eval_samples": num_eval_samples, "num_batches": num_batches,
                "seed": seed, "n_real": len(real), "n_gen": len(gen)}
    return _summarise(name, w1s, labels, settings)


def w1m(real_mass: np.ndarray, gen_mass: np.ndarray, *, seed: int,
        num_eval_samples: int = 50_000, num_batches: int = 5,
        weights: tuple[np.ndarray | None, np.ndarray | None] = (None, None)) -> MetricResult:
    """W1m: W1 of the relative jet mass.

    Parameters
    ----------
    real_mass, gen_mass : (N,), (M,) float, relative jet masses
        (``lhcgen.physics.particle_cloud.relative_jet_mass``).
    seed, num_eval_samples, num_batches : see ``w1_features`` (jetnet defaults).
    """
    return w1_features("w1m", real_mass, gen_mass, ("mass_rel",), seed=seed,
                       num_eval_samples=num_eval_samples, num_batches=num_batches,
                       weights=weights)


def w1efp(real_efps: np.ndarray, gen_efps: np.ndarray, *, seed: int,
          num_eval_samples: int = 50_000, num_batches: int = 5,
          weights: tuple[np.ndarray | None, np.ndarray | None] = (None, None)
          ) -> MetricResult:
    """W1efp: W1 of each EFP (jetnet: the 5 prime n = 4, d = 4 EFPs) and their mean.

    Parameters
    ----------
    real_efps, gen_efps : (N, K), (M, K) float, EFPs per jet
        (``lhcgen.physics.efp.efps_w1``, K = 5).
    seed, num_eval_samples, num_batches : see ``w1_features`` (jetnet defaults).
    """
    real_efps = _as_columns(real_efps, "real EFPs")
    labels = [f"efp{k}" for k in range(real_efps.shape[1])]
    return w1_features("w1efp", real_efps, gen_efps, labels, seed=seed,
                       num_eval_samples=num_eval_samples, num_batches=num_batches,
                       weights=weights)


def w1p(real_particles: np.ndarray, gen_particles: np.ndarray,
        real_mask: np.ndarray | None = None, gen_mask: np.ndarray | None = None, *,
        seed: int, num_eval_samples: int = 50_000, num_batches: int = 5,
        exclude_zeros: bool = True,
        weights: tuple[np.ndarray | None, np.ndarray | None] = (None, None)) -> MetricResult:
    """W1p: W1 of each particle feature (Delta eta, Delta phi, pT_rel) and their mean.

    Per batch, ``num_eval_samples`` jets are drawn from each sample and all their real
    particles pooled, as jetnet's ``w1p``.

    Parameters
    ----------
    real_particles, gen_particles : (N, P, F), (M, P', F) float, (Delta eta, Delta phi,
        pT_rel) first.
    real_mask, gen_mask : (N, P), (M, P') bool or None; masked-out particles are ignored.
    seed, num_eval_samples, num_batches : see ``w1_features`` (jetnet defaults).
    exclude_zeros : also ignore particles whose features are all exactly 0 (zero padding),
        as jetnet does by default.
    """
    masks = []
    for which, particles, mask in (("real", real_particles, real_mask),
                                   ("generated", gen_particles, gen_mask)):
        if np.ndim(particles) != 3 or np.shape(particles)[-1] < 3:
            raise LhcgenError(f"w1p: {which} particles must have shape (N, P, 3), got "
                              f"{np.shape(particles)}")
        keep = np.ones(np.shape(particles)[:2], dtype=bool)
        if mask is not None:
            if np.shape(mask) != keep.shape:
                raise LhcgenError(f"w1p: {which} mask shape {np.shape(mask)} does not "
                                  f"match particles {keep.shape}")
            keep &= np.asarray(mask, dtype=bool)
        if exclude_zeros:
            keep &= np.any(np.asarray(particles)[..., :3] != 0, axis=-1)
        masks.append(keep)
    real = np.asarray(real_particles, dtype=np.float64)[..., :3]
    gen = np.asarray(gen_particles, dtype=np.float64)[..., :3]
    require_samples("w1p", num_eval_samples, {"real": len(real), "generated": len(gen)},
                    "num_eval_samples")
    if num_batches < 1:
        raise LhcgenError(f"w1p: num_batches must be at least 1, got {num_batches}")
    rng = np.random.default_rng(seed)
    w1s = np.empty((num_batches, 3))
    for b in range(num_batches):
        pick_real = draw_jets(rng, len(real), num_eval_samples, weights[0])
        pick_gen = draw_jets(rng, len(gen), num_eval_samples, weights[1])
        parts_real = real[pick_real][masks[0][pick_real]]
        parts_gen = gen[pick_gen][masks[1][pick_gen]]
        if len(parts_real) == 0 or len(parts_gen) == 0:
            raise LhcgenError("w1p: a batch has no unmasked particles in one sample")
        w1s[b] = [wasserstein_distance(parts_real[:, k], parts_gen[:, k]) for k in range(3)]
    settings = {"num_eval_samples": num_eval_samples, "num_batches": num_batches,
                "seed": seed, "exclude_zeros": exclude_zeros, "n_real": len(real),
                "n_gen": len(gen)}
    return _summarise("w1p", w1s, PARTICLE_FEATURES, settings)
