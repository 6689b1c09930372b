"""The mass of a particle cloud: the stored constituents of a jet, taken massless, are never
heavier than the jet, and generated jets that are get brought to the bound
(physics/particle_cloud.py ``bound_cloud_mass``)."""

from __future__ import annotations

import numpy as np
import pytest

from lhcgen.data.jets import JetSettings, generate_jet_shard
from lhcgen.errors import LhcgenError
from lhcgen.physics.particle_cloud import bound_cloud_mass, relative_cloud_pt, relative_jet_mass

HADRON_MASSES = np.array([0.13957, 0.49368, 0.93827, 0.0])  # pi, K, p (GeV) and a photon


def hadron_jets(n: int = 200, slots: int = 40, seed: int = 0):
    """Jets of massive hadrons built from four-vectors (independent of particle_cloud.py):
    returns the constituents relative to the jet, pT-ordered, in lhcgen's convention
    (pseudorapidity and phi differences, pT over the jet pT), the mask and m_jet / pT_jet."""
    rng = np.random.default_rng(seed)
    pt = rng.exponential(20.0, (n, slots)) + 0.5
    eta = rng.normal(0.0, 0.15, (n, slots)) + rng.uniform(-2, 2, (n, 1))
    phi = rng.normal(0.0, 0.15, (n, slots))
    mass = rng.choice(HADRON_MASSES, (n, slots), p=[0.6, 0.15, 0.05, 0.2])
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    energy = np.sqrt(px**2 + py**2 + pz**2 + mass**2)
    jet = [c.sum(axis=1) for c in (energy, px, py, pz)]
    jet_pt = np.hypot(jet[1], jet[2])
    jet_eta = np.arcsinh(jet[3] / jet_pt)
    jet_mass = np.sqrt(jet[0] ** 2 - jet_pt**2 - jet[3] ** 2)
    particles = np.stack([eta - jet_eta[:, None],
                          np.angle(np.exp(1j * (phi - np.arctan2(jet[2], jet[1])[:, None]))),
                          pt / jet_pt[:, None]], axis=-1)
    order = np.argsort(-pt, axis=1)
    particles = np.take_along_axis(particles, order[..., None], axis=1)
    return particles, np.ones((n, slots), bool), jet_mass / jet_pt


@pytest.mark.parametrize("stored", [40, 25, 5])
def test_massless_stored_constituents_are_never_heavier_than_a_jet_of_hadrons(stored):
    """The fact the bound rests on, from four-vectors: taking the hadrons massless lowers the
    mass, dropping the softest lowers it further (the reverse triangle inequality)."""
    particles, mask, jet_relative_mass = hadron_jets()
    mask[:, stored:] = False
    ratio = relative_jet_mass(particles, mask) / jet_relative_mass
    assert np.all(ratio <= 1.0 + 1e-12)
    if stored == 40:  # every constituent: the jet's pT, and hadrons of ~20 GeV lose little mass
        np.testing.assert_allclose(relative_cloud_pt(particles, mask), 1.0, rtol=1e-12)
        assert np.median(ratio) > 0.95
    else:
        assert np.median(ratio) < 0.95
    out, scale = bound_cloud_mass(particles, mask, jet_relative_mass)
    assert np.all(scale == 1.0)
    np.testing.assert_array_equal(out, particles)


def test_two_prongs_heavier_than_the_jet_are_brought_together_in_closed_form():
    """Two particles of pT_rel 1/2 at Delta eta = +-a (Delta phi 0) have m / pT = sinh(a)
    and sum to the jet pT at any a; the bound to m_jet / pT_jet = t is a' = asinh(t)."""
    a = np.array([0.3, 0.2, 0.1])
    particles = np.zeros((3, 3, 3))
    particles[:, 0] = np.stack([a, 0 * a, 0.5 + 0 * a], axis=-1)
    particles[:, 1] = np.stack([-a, 0 * a, 0.5 + 0 * a], axis=-1)
    mask = np.broadcast_to(np.arange(3) < 2, (3, 3))
    np.testing.assert_allclose(relative_jet_mass(particles, mask), np.sinh(a), rtol=1e-12)
    target = np.array([0.15, 0.25, 0.05])  # jets 0 and 2 too heavy, jet 1 within
    out, scale = bound_cloud_mass(particles, mask, target)
    np.testing.assert_allclose(scale, [np.arcsinh(0.15) / 0.3, 1.0, np.arcsinh(0.05) / 0.1],
                               rtol=1e-12)
    np.testing.assert_allclose(out[:, 0, 0], [np.arcsinh(0.15), 0.2, np.arcsinh(0.05)],
                               rtol=1e-12)
    np.testing.assert_allclose(out[..., 2], particles[..., 2], rtol=1e-12)
    np.testing.assert_array_equal(out[1], particles[1])


def test_a_heavy_jet_keeps_its_summed_pt_its_ordering_and_its_shape():
    """Generic jets: after the bound each jet that was too heavy has the jet's mass (never
    more), the same transverse momentum of its summed particles, every (Delta eta, Delta phi)
    scaled by one factor < 1 and every pT_rel by one factor (the ordering kept)."""
    rng = np.random.default_rng(3)
    particles = np.stack([rng.normal(0, 0.2, (60, 25)), rng.normal(0, 0.2, (60, 25)),
                          rng.exponential(0.05, (60, 25))], axis=-1)
    mask = np.arange(25) < rng.integers(2, 26, 60)[:, None]
    particles[~mask] = 0.0
    particles[:, 0, 2] += 0.3  # a hard leading particle, as in a jet
    mass, pt_sum = relative_jet_mass(particles, mask), relative_cloud_pt(particles, mask)
    target = mass * rng.uniform(0.6, 1.3, 60)
    heavy = mass > target
    assert 10 < heavy.sum() < 50
    out, scale = bound_cloud_mass(particles, mask, target)
    after = relative_jet_mass(out, mask)
    np.testing.assert_allclose(after[heavy], target[heavy], rtol=1e-10)
    assert np.all(after[heavy] <= target[heavy] * (1 + 1e-12))
    np.testing.assert_allclose(relative_cloud_pt(out, mask), pt_sum, rtol=1e-12)
    assert np.all((scale[heavy] > 0) & (scale[heavy] < 1)) and np.all(scale[~heavy] == 1.0)
    np.testing.assert_array_equal(out[~heavy], particles[~heavy])
    real = mask & heavy[:, None]
    np.testing.assert_allclose(out[real][:, :2],
                               particles[real][:, :2] * np.broadcast_to(
                                   scale[:, None], mask.shape)[real][:, None], rtol=1e-12)
    factor = out[real][:, 2] / particles[real][:, 2]
    rows = np.nonzero(real)[0]
    for jet in np.nonzero(heavy)[0]:  # one pT factor per jet: the ordering stays
        np.testing.assert_allclose(factor[rows == jet], factor[rows == jet][0], rtol=1e-12)
    assert np.all(out[~mask] == 0.0)


def test_jets_without_a_bound_to_apply_are_left_as_they_are():
    particles = np.zeros((5, 3, 3))
    particles[:, 0] = [0.1, 0.0, 0.6]
    particles[:, 1] = [-0.1, 0.05, 0.4]
    mask = np.ones((5, 3), bool)
    mask[:, 2] = False
    mask[3, 1:] = False  # one particle: massless, never heavier
    mask[4] = False  # empty
    target = np.array([np.nan, 0.0, -1.0, 1e-6, 1e-6])
    out, scale = bound_cloud_mass(particles, mask, target)
    assert np.all(scale == 1.0)
    np.testing.assert_array_equal(out, particles)
    with pytest.raises(LhcgenError, match="jet_relative_mass must have shape"):
        bound_cloud_mass(particles, mask, target[:3])


@pytest.mark.slow
def test_every_pythia_top_jet_is_lighter_than_the_jet_it_came_from():
    """The bound on the data lhcgen makes: at 150 particles most top jets keep every
    constituent, whose massless sum sits a few per cent below the jet mass; none exceeds it."""
    sample, _ = generate_jet_shard(JetSettings(jet_type="t", n_particles=150), 30, 5)
    target = sample.jets[:, 2] / sample.jets[:, 0]
    ratio = relative_jet_mass(sample.particles, sample.mask) / target
    assert np.all(ratio < 1.0) and np.median(ratio) > 0.9
    out, scale = bound_cloud_mass(sample.particles, sample.mask, target)
    assert np.all(scale == 1.0)
    np.testing.assert_array_equal(out, sample.particles)


def test_jets_heavier_than_the_jet_are_counted_in_any_file():
    """``lhcgen metrics jets``' count: jets given 0.97 and 1.05 of their constituents' mass
    as the jet mass count as lighter and heavier; a jet stored in float32 at exactly the
    bound does not count; jets without a positive jet mass or pT are not judged."""
    from lhcgen.data.jets import JetCloudSample
    from lhcgen.evaluate.jets.mass_bound import heavier_than_jet

    particles, mask, _ = hadron_jets(n=10)
    pt = np.full(10, 1000.0)
    constituents = relative_jet_mass(particles, mask) * pt
    mass = constituents / np.array([0.97] * 4 + [1.05] * 3 + [1.0, 1.0, 1.0])
    mass[8], pt[9] = 0.0, np.nan
    jets = np.stack([pt, np.zeros(10), mass, np.full(10, 40.0)], axis=-1)
    sample = JetCloudSample(particles.astype(np.float32).astype(np.float64), mask, jets,
                            np.full(10, 2), np.ones(10), np.full(10, 40), {"type": "t"})
    counted = heavier_than_jet(sample)
    assert (counted.n_jets, counted.n_heavier) == (8, 3)
    assert counted.largest_ratio == pytest.approx(1.05, rel=1e-6)
