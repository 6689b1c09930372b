"""Jet substructure from particle clouds: closed forms on hand-made jets."""

from __future__ import annotations

import numpy as np
import pytest

from lhcgen.errors import LhcgenError
from lhcgen.physics.substructure import (
    d2,
    energy_correlations,
    momentum_fractions,
    nsubjettiness,
    pairwise_delta_r,
    substructure,
)


def _jets(*rows: list[list[float]], slots: int = 5) -> tuple[np.ndarray, np.ndarray]:
    particles = np.zeros((len(rows), slots, 3))
    mask = np.zeros((len(rows), slots), dtype=bool)
    for k, row in enumerate(rows):
        particles[k, :len(row)] = row
        mask[k, :len(row)] = True
    return particles, mask


def test_two_prong_jet_has_tau21_zero_and_tau1_the_mean_distance_to_the_axis():
    particles, mask = _jets([[0.1, 0.0, 0.5], [-0.1, 0.0, 0.5]])
    taus = nsubjettiness(particles, mask)
    # Symmetric massless pair: the axis is at (0, 0), each particle 0.1 away.
    np.testing.assert_allclose(taus[0], [0.1, 0.0, 0.0], atol=1e-12)
    assert substructure(particles, mask)["tau21"][0] == 0.0


def test_tau2_of_three_particles_is_the_softest_particle_distance_to_its_nearest_axis():
    particles, mask = _jets([[0.3, 0.0, 0.45], [-0.3, 0.0, 0.45], [0.3, 0.05, 0.1]])
    taus = nsubjettiness(particles, mask)
    # kT merges the soft particle into the first prong: axis = E-scheme sum of the two.
    p = particles[0, [0, 2]]
    px = (p[:, 2] * np.cos(p[:, 1])).sum()
    py = (p[:, 2] * np.sin(p[:, 1])).sum()
    pz = (p[:, 2] * np.sinh(p[:, 0])).sum()
    e = (p[:, 2] * np.cosh(p[:, 0])).sum()
    y, phi = 0.5 * np.log((e + pz) / (e - pz)), np.arctan2(py, px)
    distances = np.hypot(p[:, 0] - y, p[:, 1] - phi)
    expected = (p[:, 2] * distances).sum() / particles[0, :3, 2].sum()
    np.testing.assert_allclose(taus[0, 1], expected, rtol=1e-10)
    assert taus[0, 2] == 0.0  # three particles, three axes


def test_energy_correlations_closed_forms():
    particles, mask = _jets([[0.1, 0.0, 0.5], [-0.1, 0.0, 0.5]],
                            [[0.1, 0.0, 0.4], [-0.1, 0.0, 0.4], [0.0, 0.2, 0.2]])
    e2, e3 = energy_correlations(particles, mask)
    # Two particles: e2 = z1 z2 R12, e3 = 0.
    np.testing.assert_allclose(e2[0], 0.5 * 0.5 * 0.2, rtol=1e-12)
    assert e3[0] == 0.0
    # Three particles: e3 = z1 z2 z3 R12 R13 R23.
    r12, r13 = 0.2, np.hypot(0.1, 0.2)
    np.testing.assert_allclose(e3[1], 0.4 * 0.4 * 0.2 * r12 * r13 * r13, rtol=1e-12)
    np.testing.assert_allclose(e2[1], 0.4 * 0.4 * r12 + 2 * 0.4 * 0.2 * r13, rtol=1e-12)
    np.testing.assert_allclose(d2(particles, mask)[1], e3[1] / e2[1] ** 3, rtol=1e-12)


def test_energy_correlations_match_a_direct_triple_sum_and_ignore_padding():
    rng = np.random.default_rng(3)
    particles = np.stack([rng.normal(0, 0.2, (4, 7)), rng.normal(0, 0.2, (4, 7)),
                          rng.uniform(0.01, 0.3, (4, 7))], axis=-1)
    mask = np.arange(7) < np.array([7, 5, 3, 1])[:, None]
    particles[~mask] = 0.0
    e2, e3 = energy_correlations(particles, mask, chunk=3)
    z = momentum_fractions(particles, mask)
    r = pairwise_delta_r(particles)
    for n in range(4):
        k = mask[n].sum()
        direct2 = sum(z[n, i] * z[n, j] * r[n, i, j] for i in range(k) for j in range(i + 1, k))
        direct3 = sum(z[n, i] * z[n, j] * z[n, m] * r[n, i, j] * r[n, i, m] * r[n, j, m]
                      for i in range(k) for j in range(i + 1, k) for m in range(j + 1, k))
        np.testing.assert_allclose([e2[n], e3[n]], [direct2, direct3], rtol=1e-12, atol=1e-15)


def test_delta_phi_is_wrapped_in_pairwise_distances():
    particles, _ = _jets([[0.0, 3.1, 0.5], [0.0, -3.1, 0.5]])
    np.testing.assert_allclose(pairwise_delta_r(particles)[0, 0, 1], 2 * np.pi - 6.2)


def test_substructure_is_invariant_under_a_rotation_in_phi_for_small_angles():
    rng = np.random.default_rng(5)
    particles = np.stack([rng.normal(0, 0.1, (20, 10)), rng.normal(0, 0.1, (20, 10)),
                          rng.uniform(0.01, 0.2, (20, 10))], axis=-1)
    shifted = particles.copy()
    shifted[..., 1] += 0.3
    a, b = substructure(particles), substructure(shifted)
    for key in ("tau21", "tau32", "d2"):
        np.testing.assert_allclose(a[key], b[key], rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(a["multiplicity"], 10)


def test_bad_shapes_are_user_errors():
    with pytest.raises(LhcgenError, match="shape"):
        substructure(np.zeros((3, 4)))
    with pytest.raises(LhcgenError, match="mask shape"):
        d2(np.zeros((2, 4, 3)), np.ones((2, 3), bool))
