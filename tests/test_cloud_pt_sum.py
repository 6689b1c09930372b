"""The pT sum of a particle cloud: a jet that keeps all its constituents is their sum, a
truncated one falls short by at most what was cut, and generated jets are rescaled to obey
both (physics/particle_cloud.py ``conserve_cloud_pt``, ``bound_truncated_cloud_pt``)."""

from __future__ import annotations

import numpy as np
import pytest

from lhcgen.data.jets import JetSettings, generate_jet_shard
from lhcgen.errors import LhcgenError
from lhcgen.physics.particle_cloud import (
    bound_truncated_cloud_pt,
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


def _three_along_the_axis(scale: float) -> tuple[np.ndarray, np.ndarray]:
    """One jet of three collinear-ish particles summing to about ``scale`` of the jet pT."""
    particles = np.zeros((1, 4, 3))
    particles[0, :3] = [[0.0, 0.0, 0.7 * scale], [0.1, 0.0, 0.2 * scale],
                        [-0.1, 0.0, 0.1 * scale]]
    return particles, np.arange(4)[None] < 3


@pytest.mark.parametrize("scale", [1.2, 0.8])
def test_a_truncated_jet_beyond_what_its_cut_constituents_allow_is_brought_to_the_edge(scale):
    """Three stored particles, one cut (softer than the softest stored, 0.1 scale): the stored
    ones may sum to 1 +- that softest pT. A sum of 1.2 (or 0.8) is outside; the factor
    nearest 1 puts the jet on the edge of the band, C' -+ pT_min' = 1, and every angle stays."""
    particles, mask = _three_along_the_axis(scale)
    before = relative_cloud_pt(particles, mask)[0]
    out, factor = bound_truncated_cloud_pt(particles, mask, np.array([1]))
    after = relative_cloud_pt(out, mask)[0]
    softest = out[0, 2, 2]
    edge = after - softest if scale > 1 else after + softest
    assert edge == pytest.approx(1.0, rel=1e-12)
    assert factor[0] == pytest.approx(1.0 / (before - 0.1 * scale) if scale > 1
                                      else 1.0 / (before + 0.1 * scale), rel=1e-12)
    np.testing.assert_array_equal(out[..., :2], particles[..., :2])


def test_jets_inside_the_band_complete_or_empty_are_left_as_they_are():
    particles, mask = _three_along_the_axis(1.2)
    many = bound_truncated_cloud_pt(particles, mask, np.array([3]))  # band 1 +- 0.36
    complete = bound_truncated_cloud_pt(particles, mask, np.array([0]))
    for out, factor in (many, complete):
        np.testing.assert_array_equal(out, particles)
        assert factor[0] == 1.0
    empty = bound_truncated_cloud_pt(particles, np.zeros_like(mask), np.array([2]))
    assert empty[1][0] == 1.0
    with pytest.raises(LhcgenError, match="missing must have shape"):
        bound_truncated_cloud_pt(particles, mask, np.array([1, 2]))


@pytest.mark.slow
@pytest.mark.parametrize("n_particles", [30, 150])
def test_every_pythia_truncated_jet_lies_inside_the_band_its_cut_constituents_allow(
        n_particles):
    """The fact the bound rests on: Pythia's truncated top jets (almost all at 30 particles)
    are left exactly as they are."""
    sample, _ = generate_jet_shard(JetSettings(jet_type="t", n_particles=n_particles), 40, 6)
    missing = sample.n_constituents - sample.mask.sum(axis=1)
    assert (missing > 0).sum() >= (30 if n_particles == 30 else 0)
    out, factor = bound_truncated_cloud_pt(sample.particles, sample.mask, missing)
    assert (factor == 1.0).all()
    np.testing.assert_array_equal(out, sample.particles)
