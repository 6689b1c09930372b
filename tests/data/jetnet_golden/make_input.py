"""Write input.npz: two small samples of synthetic 30-particle jets for the jetnet golden test.

Deterministic numpy recipe (any numpy >= 1.17); run from the repository root with

    python tests/data/jetnet_golden/make_input.py

The jets are JetNet-like particle clouds, (Delta eta, Delta phi, pT_rel) per particle,
zero-padded to 30 particles, stored as float16 to keep the file small (the values are what
they are: both lhcgen and jetnet read the same numbers, converted to float64). ``real``
has narrower jets and fewer two-prong jets than ``gen``, so the metrics are not zero. The
first jets of ``real`` are edge cases: one particle; two particles at phi = +-3 (the
Delta phi wrap); all 30 particles.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

N_JETS = 2000
N_PARTICLES = 30


def synthetic_jets(rng: np.random.Generator, n_jets: int, width: float, two_prong: float,
                   mean_multiplicity: float) -> np.ndarray:
    """(n_jets, 30, 3) float64 jets, pT-ordered, zero rows after the last particle."""
    multiplicity = np.clip(rng.poisson(mean_multiplicity, n_jets), 1, N_PARTICLES)
    real = np.arange(N_PARTICLES)[None, :] < multiplicity[:, None]
    pt = (rng.gamma(0.7, size=(n_jets, N_PARTICLES)) + 0.02) * real
    pt = -np.sort(-pt, axis=1)
    pt /= pt.sum(axis=1, keepdims=True)
    spread = width * (0.2 + np.sqrt(0.05 / np.maximum(pt, 1e-3)))
    eta = rng.normal(0.0, 1.0, pt.shape) * spread * 0.3
    phi = rng.normal(0.0, 1.0, pt.shape) * spread * 0.3
    # two-prong jets: every other particle sits around a second axis
    prong = rng.random(n_jets) < two_prong
    angle = rng.uniform(0, 2 * np.pi, n_jets)
    distance = rng.uniform(0.15, 0.4, n_jets)
    second = prong[:, None] & (np.arange(N_PARTICLES)[None, :] % 2 == 1)
    eta += second * (distance * np.cos(angle))[:, None]
    phi += second * (distance * np.sin(angle))[:, None]
    # relative to the pT-weighted centre, as JetNet's coordinates are
    eta -= (pt * eta).sum(axis=1, keepdims=True)
    phi -= (pt * phi).sum(axis=1, keepdims=True)
    return np.stack([eta, phi, pt], axis=-1) * real[..., None]


def main() -> None:
    rng = np.random.default_rng(20250607)
    real = synthetic_jets(rng, N_JETS, width=0.10, two_prong=0.2, mean_multiplicity=10)
    gen = synthetic_jets(rng, N_JETS, width=0.12, two_prong=0.3, mean_multiplicity=9)
    real[0] = 0.0
    real[0, 0] = (0.01, -0.02, 1.0)
    real[1] = 0.0
    real[1, :2] = ((0.1, 3.0, 0.6), (-0.1, -3.0, 0.4))
    full = synthetic_jets(rng, 1, width=0.1, two_prong=0.0, mean_multiplicity=200)
    real[2] = full[0]
    real16, gen16 = real.astype(np.float16), gen.astype(np.float16)
    out = Path(__file__).with_name("input.npz")
    np.savez_compressed(out, real=real16, real_mask=real16[..., 2] > 0,
                        gen=gen16, gen_mask=gen16[..., 2] > 0)
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
