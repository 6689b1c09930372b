"""The pT sum of a particle cloud: a jet that keeps all its constituents is their sum, and
generated jets are rescaled to obey it (physics/particle_cloud.py ``conserve_cloud_pt``)."""

from __future__ import annotations

import numpy as np
import pytest

from lhcgen.data.jets import JetSettings, generate_jet_shard
from lhcgen.errors import LhcgenError
from lhcgen.physics.particle_cloud import (
    conserve_cloud_pt,
    relative_cloud_pt,
    relative_jet_mass,
)


def clouds(n: int = 50, slots: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    mask = np.arange(slots) < rng.integers(1, slots + 1, n)[:, None]
    particles = np.stack([rng.normal(0, 0.2, (n, slots)), rng.normal(0, 0.2, (n, slots)),
                          rng.exponential(0.08, (n, slots))], axis=-1)
    particles[~mask] = 0.0
    return particles, mask


def test_cloud_pt_is_the_length_of_the_summed_transverse_momenta():
    particles, mask = clouds()
    px = py = np.zeros(len(particles))
    for i in range(particles.shape[1]):  # a loop over the particles, independent of numpy's
        pt = particles[:, i, 2] * mask[:, i]
        px, py = px + pt * np.cos(particles[:, i, 1]), py + pt * np.sin(particles[:, i, 1])
    np.testing.assert_allclose(relative_cloud_pt(particles, mask), np.hypot(px, py),
                               rtol=1e-13)


def test_complete_jets_are_rescaled_to_sum_to_the_jet_pt_and_keep_their_shape():
    particles, mask = clouds()
    complete = np.arange(len(particles)) % 3 != 0
    before = relative_cloud_pt(particles, mask)
    out, sums = conserve_cloud_pt(particles, mask, complete)
    np.testing.assert_allclose(relative_cloud_pt(out, mask)[complete], 1.0, rtol=1e-12)
    np.testing.assert_array_equal(out[~complete], particles[~complete])  # truncated: kept
    np.testing.assert_array_equal(out[..., :2], particles[..., :2])  # every angle kept
    np.testing.assert_allclose(sums[complete], before[complete], rtol=1e-15)
    assert np.isnan(sums[~complete]).all()
    # one factor per jet: the pT ordering and m / pT of the summed particles stay
    scaled = mask & complete[:, None]
    factor = np.broadcast_to(1 / before[:, None], mask.shape)
    np.testing.assert_allclose(out[scaled, 2] / particles[scaled, 2], factor[scaled],
                               rtol=1e-12)
    np.testing.assert_allclose(relative_jet_mass(out, mask)[complete],
                               (relative_jet_mass(particles, mask) / before)[complete],
                               rtol=1e-10, atol=1e-7)
    assert np.all(out[~mask] == 0.0)


def test_a_jet_without_a_positive_sum_is_left_as_it_is_and_shapes_are_checked():
    particles, mask = clouds(4)
    particles[0, :, 2] = 0.0
    out, sums = conserve_cloud_pt(particles, mask, np.ones(4, bool))
    np.testing.assert_array_equal(out[0], particles[0])
    assert np.isnan(sums[0]) and np.isfinite(sums[1:]).all()
    with pytest.raises(LhcgenError, match="complete must have shape"):
        conserve_cloud_pt(particles, mask, np.ones(3, bool))


@pytest.mark.slow
def test_pythia_top_jets_that_keep_every_constituent_sum_to_the_jet_pt():
    """The fact the rescaling rests on, checked on the data lhcgen makes: at 150 particles
    most top jets keep every constituent, and those sum to the jet pT; truncated ones fall
    short by the pT of what was cut."""
    sample, _ = generate_jet_shard(JetSettings(jet_type="t", n_particles=150), 30, 5)
    sums = relative_cloud_pt(sample.particles, sample.mask)
    complete = sample.n_constituents == sample.mask.sum(axis=1)
    assert complete.sum() >= 20
    np.testing.assert_allclose(sums[complete], 1.0, atol=1e-6)
    assert np.all(sums[~complete] <= 1.0 + 1e-6)
