"""The prongs of a jet (lhcgen.physics.prongs): closed forms, FastJet jet by jet, physics."""

from __future__ import annotations

import fastjet
import numpy as np
import pytest

from lhcgen.data.jet_run import generate_jets
from lhcgen.data.jets import JetSettings
from lhcgen.errors import LhcgenError
from lhcgen.physics import fourvectors as fv
from lhcgen.physics.particle_cloud import relative_jet_mass
from lhcgen.physics.prongs import PRONG_OBSERVABLES, prong_labels, prong_observables
from tests.test_jets_data import toy_jets


def _cloud(*particles: list[float], slots: int = 6) -> tuple[np.ndarray, np.ndarray]:
    out = np.zeros((1, slots, 3))
    out[0, :len(particles)] = particles
    return out, np.arange(slots)[None] < len(particles)


def _p4(rows: np.ndarray) -> np.ndarray:
    return fv.from_pt_eta_phi_massless(rows[:, 2], rows[:, 0], rows[:, 1])


def test_a_jet_of_as_many_particles_as_prongs_has_point_prongs():
    """Each prong one massless particle: no width, no mass of its own, the whole m^2
    between them, the separations the particles' own distances."""
    rows = [[0.2, 0.0, 0.5], [-0.1, 0.15, 0.3], [-0.05, -0.2, 0.2]]
    particles, mask = _cloud(*rows)
    o = prong_observables(particles, mask, 3)
    distances = [np.hypot(rows[a][0] - rows[b][0], rows[a][1] - rows[b][1])
                 for a, b in ((0, 1), (0, 2), (1, 2))]
    assert o["separation_min"][0] == pytest.approx(min(distances), abs=1e-14)
    assert o["separation_max"][0] == pytest.approx(max(distances), abs=1e-14)
    assert o["softest_share"][0] == pytest.approx(0.2, abs=1e-14)
    assert o["width"][0] == pytest.approx(0.0, abs=1e-14)
    assert o["within"][0] == pytest.approx(0.0, abs=1e-14)
    assert o["between"][0] == pytest.approx(relative_jet_mass(particles, mask)[0] ** 2,
                                            rel=1e-12)


def test_two_prongs_of_two_particles_match_their_closed_form():
    rows = np.array([[0.2, 0.01, 0.3], [0.21, -0.01, 0.1], [-0.2, 0.0, 0.4], [-0.19, 0.02, 0.2]])
    particles, mask = _cloud(*rows.tolist())
    assert prong_labels(particles, mask, 2)[0].tolist() in ([0, 0, 1, 1, -1, -1],
                                                            [1, 1, 0, 0, -1, -1])
    o = prong_observables(particles, mask, 2)
    prongs = [rows[:2], rows[2:]]
    masses, width = [], 0.0
    for prong in prongs:
        p = _p4(prong).sum(axis=0)
        masses.append(p[0] ** 2 - (p[1:] ** 2).sum())
        y, phi = 0.5 * np.log((p[0] + p[3]) / (p[0] - p[3])), np.arctan2(p[2], p[1])
        width += (prong[:, 2] * np.hypot(prong[:, 0] - y, prong[:, 1] - phi)).sum()
    assert o["within"][0] == pytest.approx(sum(masses), rel=1e-12)
    assert o["width"][0] == pytest.approx(width / rows[:, 2].sum(), rel=1e-12)
    assert o["separation_min"][0] == pytest.approx(np.hypot(0.4, 0.01), rel=1e-12)
    pts = [np.hypot(*_p4(prong).sum(axis=0)[1:3]) for prong in prongs]
    assert o["softest_share"][0] == pytest.approx(min(pts) / sum(pts), rel=1e-12)
    assert o["within"][0] + o["between"][0] == pytest.approx(
        relative_jet_mass(particles, mask)[0] ** 2, rel=1e-12)


def _fastjet_one_by_one(particles: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    """The same observables from one FastJet ClusterSequence of PseudoJets per jet (float64,
    kT, R = 1000), an implementation independent of the vectorised one."""
    out = np.full((len(particles), len(PRONG_OBSERVABLES)), np.nan)
    definition = fastjet.JetDefinition(fastjet.kt_algorithm, 1000.0)
    for k in range(len(particles)):
        rows = particles[k][mask[k]].astype(np.float64)
        if len(rows) < n:
            continue
        p4 = _p4(rows)
        vectors = [fastjet.PseudoJet(float(px), float(py), float(pz), float(e))
                   for e, px, py, pz in p4]
        for i, v in enumerate(vectors):
            v.set_user_index(i)
        sequence = fastjet.ClusterSequence(vectors, definition)
        subjets = sequence.exclusive_jets(n)
        members = [[c.user_index() for c in j.constituents()] for j in subjets]
        hardest = [rows[m][np.argmax(rows[m, 2])] for m in members]
        separations = [np.hypot(hardest[a][0] - hardest[b][0],
                                fv.wrap_phi(hardest[a][1] - hardest[b][1]))
                       for a in range(n) for b in range(a + 1, n)]
        sums = [p4[m].sum(axis=0) for m in members]
        pts = [np.hypot(s[1], s[2]) for s in sums]
        width = sum(rows[i, 2] * np.hypot(rows[i, 0] - j.rap(),
                                          fv.wrap_phi(rows[i, 1] - j.phi_std()))
                    for j, m in zip(subjets, members, strict=True) for i in m) / rows[:, 2].sum()
        total = p4.sum(axis=0)
        within = sum(s[0] ** 2 - (s[1:] ** 2).sum() for s in sums)
        out[k] = [min(separations), max(separations), min(pts) / sum(pts), width, within,
                  total[0] ** 2 - (total[1:] ** 2).sum() - within]
    return out


@pytest.mark.parametrize("n", [2, 3])
def test_the_vectorised_prongs_agree_with_fastjet_jet_by_jet(n):
    jets = toy_jets(80, seed=5)
    o = prong_observables(jets.particles, jets.mask, n)
    reference = _fastjet_one_by_one(jets.particles, jets.mask, n)
    got = np.column_stack([o[name] for name in PRONG_OBSERVABLES])
    np.testing.assert_array_equal(np.isnan(got), np.isnan(reference))
    assert np.isnan(got[:, 0]).sum() == (jets.mask.sum(axis=1) < n).sum()
    np.testing.assert_allclose(got, reference, rtol=1e-10, atol=1e-14)


def test_the_slots_may_come_in_any_order_with_gaps():
    jets = toy_jets(40, seed=6)
    order = np.random.default_rng(0).permutation(jets.mask.shape[1])
    shuffled = prong_observables(jets.particles[:, order], jets.mask[:, order], 3)
    for name, values in prong_observables(jets.particles, jets.mask, 3).items():
        np.testing.assert_allclose(shuffled[name], values, rtol=1e-12, atol=1e-15)


def test_too_few_constituents_give_nan_and_no_prongs_is_refused():
    particles, mask = _cloud([0.1, 0.0, 0.6], [-0.1, 0.0, 0.4])
    assert (prong_labels(particles, mask, 3) == -1).all()
    assert all(np.isnan(v[0]) for v in prong_observables(particles, mask, 3).values())
    with pytest.raises(LhcgenError, match="at least 1"):
        prong_labels(particles, mask, 0)


@pytest.fixture(scope="module")
def pythia_jets():
    def make(jet_type: str):
        return generate_jets(150, seed=11, settings=JetSettings(jet_type=jet_type),
                             progress=False)
    return {t: make(t) for t in ("w", "g", "t")}


def test_w_jets_decay_in_two_prongs_by_two_body_kinematics(pythia_jets):
    """A W decays to two massless quarks: m^2 = z (1 - z) pT^2 Delta R^2 at small angles, so
    Delta R sqrt(z (1 - z)) / (m / pT) is 1 up to the radiation (median 0.95 on 1000 of our W
    jets), and almost all of m^2 lies between the prongs; gluon jets carry more of their
    mass inside their prongs. A top's three prongs: the closest pair is not the whole jet's
    two-body decay (its ratio 0.42 on 1000 jets, near m_W / m_t = 0.46), and nearly all
    of m^2 lies between the three."""
    ratio, between = {}, {}
    for jet_type, n in (("w", 2), ("g", 2), ("t", 3)):
        jets = pythia_jets[jet_type]
        o = prong_observables(jets.particles, jets.mask, n)
        z = o["softest_share"]
        ratio[jet_type] = np.nanmedian(o["separation_min"] * np.sqrt(z * (1 - z))
                                       / relative_jet_mass(jets.particles, jets.mask))
        between[jet_type] = np.nanmedian(o["between"] / (o["within"] + o["between"]))
        assert (o["separation_max"] >= o["separation_min"]).all()
    assert 0.85 < ratio["w"] < 1.05
    assert 0.3 < ratio["t"] < 0.6
    assert between["w"] > 0.85 and between["g"] < between["w"] and between["t"] > 0.95
