"""The parametric detector held to its physics: card validation, tracking efficiency and
resolution, calorimeter response, particle flow without double counting, lepton isolation,
missing pT, b-tagging and determinism. The reference numbers are the Delphes ATLAS card's,
written out here rather than read back from our card."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import yaml

from lhcgen.errors import LhcgenError
from lhcgen.physics import fourvectors as fv
from lhcgen.physics.detector import (
    DEFAULT_CARD,
    EFLOW_NEUTRAL_HADRON,
    EFLOW_PHOTON,
    EFLOW_TRACK,
    FinalState,
    btag,
    btag_efficiency,
    card_as_dict,
    card_from_dict,
    load_card,
    missing_transverse_momentum,
    reconstruct_tracks,
    simulate_detector,
    track_efficiency,
)
from lhcgen.physics.detector.calorimeter import NO_TOWER, tower_grid, tower_index

CARD = load_card(None)
MASS = {211: 0.13957, 13: 0.10566, 11: 0.000511, 22: 0.0, 130: 0.49761, 310: 0.49761}
CHARGE = {211: 1.0, -211: -1.0, 13: -1.0, -13: 1.0, 11: -1.0, -11: 1.0}


def particles(event, pid, pt, eta, phi, n_events=None) -> FinalState:
    """A FinalState from per-particle columns (masses and charges by pid)."""
    pid = np.asarray(pid, dtype=np.int64)
    mass = np.array([MASS[abs(p)] for p in pid])
    charge = np.array([CHARGE.get(p, 0.0) for p in pid])
    event = np.asarray(event, dtype=np.int64)
    n_events = int(event.max()) + 1 if n_events is None else n_events
    return FinalState(n_events, event, fv.from_pt_eta_phi_m(pt, eta, phi, mass), pid, charge)


def one_per_event(pid, pt, eta, phi) -> FinalState:
    n = len(pt)
    return particles(np.arange(n), np.broadcast_to(pid, (n,)), pt, eta, phi)


def random_events(n_events: int, per_event: int, seed: int) -> FinalState:
    """Mixed events: pions, photons, K_L, K0S, electrons, muons and neutrinos over |eta| < 5."""
    rng = np.random.default_rng(seed)
    n = n_events * per_event
    pid = rng.choice([211, -211, 22, 22, 130, 310, 11, -11, 13, -13], n)
    pt = np.exp(rng.uniform(np.log(0.2), np.log(80.0), n))
    final = particles(np.repeat(np.arange(n_events), per_event), pid, pt,
                      rng.uniform(-5, 5, n), rng.uniform(-np.pi, np.pi, n))
    neutrino = rng.random(n) < 0.05  # make a few of them invisible
    return dataclasses.replace(final, pid=np.where(neutrino, 12, final.pid),
                               charge=np.where(neutrino, 0.0, final.charge))


def within(value, expected, error, n_sigma=4.0):
    assert abs(value - expected) <= n_sigma * error, (value, expected, error)


def ecal_sigma(energy):
    """ATLAS card ECAL |eta| <= 3.2."""
    return math.sqrt((0.0017 * energy) ** 2 + 0.101**2 * energy)


def hcal_sigma(energy):
    """ATLAS card HCAL |eta| <= 1.7."""
    return math.sqrt((0.0302 * energy) ** 2 + 0.5205**2 * energy + 1.59**2)


# --- the card --------------------------------------------------------------------------


def test_default_card_loads_and_round_trips():
    assert load_card(DEFAULT_CARD) == CARD
    assert CARD.tracking.muon.resolution[0].constant == 0.01
    assert CARD.hcal.resolution[0].noise == 1.59
    plain = json.loads(json.dumps(card_as_dict(CARD)))
    assert card_from_dict(plain) == CARD


def _default_data() -> dict:
    return yaml.safe_load(DEFAULT_CARD.read_text())


def _unknown(d):
    d["ecal"]["energy_minimum"] = 1.0


def _negative_resolution(d):
    d["tracking"]["muon"]["resolution"][0]["constant"] = -0.01


def _efficiency_above_one(d):
    d["electron"]["efficiency"]["values"][0][0] = 1.2


def _edges_not_increasing(d):
    d["tracking"]["charged_hadron"]["efficiency"]["abs_eta_edges"] = [0.0, 2.5, 1.5]


def _missing(d):
    del d["hcal"]["energy_min"]


def _negative_threshold(d):
    d["hcal"]["energy_min"] = -1.0


def _partial_towers(d):
    d["ecal"]["towers"][4]["d_eta"] = 0.3


def _typo_in_a_partial_card(d):
    d.clear()
    d["tracking"] = {"nonsense": 1}


def _not_a_number(d):
    d["btag"]["b"]["norm"] = "high"


@pytest.mark.parametrize("edit, message", [
    (_unknown, "unknown key 'ecal.energy_minimum'"),
    (_negative_resolution, "'tracking.muon.resolution[0].constant' must be >= 0, got -0.01"),
    (_efficiency_above_one, "'electron.efficiency.values[0][0]' must be in [0, 1], got 1.2"),
    (_edges_not_increasing, "'tracking.charged_hadron.efficiency.abs_eta_edges' must be "
                            "increasing"),
    (_missing, "missing key 'hcal.energy_min'"),
    (_negative_threshold, "'hcal.energy_min' must be >= 0"),
    (_partial_towers, "'ecal.towers[4].d_eta' = 0.3 must divide"),
    (_not_a_number, "'btag.b.norm' must be a number"),
    (_typo_in_a_partial_card, "unknown key 'tracking.nonsense'"),
])
def test_bad_card_is_one_line_naming_the_key(tmp_path, edit, message):
    data = _default_data()
    edit(data)
    path = tmp_path / "card.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(LhcgenError) as info:
        load_card(path)
    text = str(info.value)
    assert message in text and "\n" not in text and str(path) in text
    assert "detector card" in text


# --- tracking --------------------------------------------------------------------------


def test_tracking_efficiency_per_bin_matches_the_atlas_table():
    rng = np.random.default_rng(11)
    n = 100_000
    abs_eta = rng.uniform(0.0, 3.0, n)
    pt = np.exp(rng.uniform(np.log(0.05), np.log(20.0), n))
    final = particles(np.arange(n) // 1000, rng.choice([211, -211], n), pt,
                      abs_eta * rng.choice([-1.0, 1.0], n), rng.uniform(-np.pi, np.pi, n))
    tracked = np.zeros(n, dtype=bool)
    tracked[reconstruct_tracks(final, CARD, rng).source] = True
    eta_edges, pt_edges = [0.0, 1.5, 2.5, 3.0], [0.0, 0.1, 1.0, np.inf]
    expected = [[0.0, 0.70, 0.95], [0.0, 0.60, 0.85], [0.0, 0.0, 0.0]]  # ATLAS card
    for i in range(3):
        for j in range(3):
            in_bin = ((abs_eta > eta_edges[i]) & (abs_eta <= eta_edges[i + 1])
                      & (pt > pt_edges[j]) & (pt <= pt_edges[j + 1]))
            p, m = expected[i][j], in_bin.sum()
            assert m > 1000
            if p == 0.0:
                assert not tracked[in_bin].any()
            else:
                within(tracked[in_bin].mean(), p, math.sqrt(p * (1 - p) / m))


def test_track_efficiency_per_class():
    pid = np.array([11, -11, 13, -13, 211, 2212])
    pt = np.array([200.0, 50.0, 5.0, 0.5, 5.0, 0.05])
    eta = np.array([0.5, -2.0, 2.0, 1.0, 2.6, 0.0])
    np.testing.assert_array_equal(track_efficiency(pid, pt, eta, CARD.tracking),
                                  [0.99, 0.83, 0.98, 0.75, 0.0, 0.0])


@pytest.mark.parametrize("pt, eta_low, eta_high, constant, slope", [
    (50.0, 0.0, 0.5, 0.010, 1.0e-4),
    (500.0, 1.6, 2.4, 0.025, 3.5e-4),
])
def test_muon_pt_resolution(pt, eta_low, eta_high, constant, slope):
    rng = np.random.default_rng(5)
    n = 20_000
    eta = rng.uniform(eta_low, eta_high, n) * rng.choice([-1.0, 1.0], n)
    phi = rng.uniform(-np.pi, np.pi, n)
    final = particles(np.arange(n) // 100, rng.choice([13, -13], n), np.full(n, pt), eta, phi)
    tracks = reconstruct_tracks(final, CARD, rng)
    truth = final.p4[tracks.source]
    ratio = fv.pt(tracks.p4) / pt - 1.0
    sigma = math.hypot(constant, slope * pt)
    within(ratio.mean(), 0.0, sigma / math.sqrt(len(ratio)), 5.0)
    assert ratio.std() == pytest.approx(sigma, rel=0.04)
    np.testing.assert_allclose(fv.eta(tracks.p4), fv.eta(truth), atol=1e-10)
    np.testing.assert_allclose(fv.phi(tracks.p4), fv.phi(truth), atol=1e-12)
    np.testing.assert_allclose(fv.mass(tracks.p4), MASS[13], rtol=1e-5)


# --- calorimeters ----------------------------------------------------------------------


def test_towers_contain_their_particles_and_stop_at_eta_4p9():
    rng = np.random.default_rng(3)
    eta, phi = rng.uniform(-5.2, 5.2, 50_000), rng.uniform(-np.pi, np.pi, 50_000)
    for cal in (CARD.ecal, CARD.hcal):
        grid = tower_grid(cal)
        tower = tower_index(eta, phi, grid)
        assert np.array_equal(tower == NO_TOWER, np.abs(eta) > 4.9)
        t, inside = tower[tower != NO_TOWER], tower != NO_TOWER
        assert np.all((grid.eta_low[t] <= eta[inside]) & (eta[inside] <= grid.eta_high[t]))
        assert np.all((grid.phi_low[t] <= phi[inside]) & (phi[inside] <= grid.phi_high[t]))
    barrel = tower_grid(CARD.ecal)
    t = tower_index(np.array([0.3]), np.array([1.0]), barrel)
    assert barrel.eta_high[t] - barrel.eta_low[t] == pytest.approx(0.0174)
    assert barrel.phi_high[t] - barrel.phi_low[t] == pytest.approx(np.pi / 180)


@pytest.mark.parametrize("energy", [20.0, 200.0])
def test_photon_energy_response_of_the_ecal(energy):
    rng = np.random.default_rng(int(energy))
    n = 20_000
    eta = rng.uniform(-1.0, 1.0, n)
    final = one_per_event(22, energy / np.cosh(eta), eta, rng.uniform(-np.pi, np.pi, n))
    eflow = simulate_detector(final, CARD, rng).eflow
    assert np.all(eflow.kind == EFLOW_PHOTON) and np.array_equal(eflow.event, np.arange(n))
    measured, sigma = eflow.p4[:, 0], ecal_sigma(energy)
    within(measured.mean(), energy, sigma / math.sqrt(n))
    assert measured.std() == pytest.approx(sigma, rel=0.03)
    # the direction is drawn in the particle's 0.0174 x 1 degree tower
    assert np.all(np.abs(fv.eta(eflow.p4) - eta) < 0.0174)
    assert np.all(np.abs(fv.delta_phi(eflow.p4, final.p4)) < np.pi / 180)
    np.testing.assert_allclose(fv.mass(eflow.p4), 0.0, atol=1e-6 * energy)


def test_neutral_hadron_energy_response_of_the_hcal():
    rng = np.random.default_rng(8)
    n, energy = 10_000, 50.0
    eta = rng.uniform(-1.0, 1.0, n)
    pt = math.sqrt(energy**2 - MASS[130] ** 2) / np.cosh(eta)
    final = one_per_event(130, pt, eta, rng.uniform(-np.pi, np.pi, n))
    eflow = simulate_detector(final, CARD, rng).eflow
    assert np.all(eflow.kind == EFLOW_NEUTRAL_HADRON) and len(eflow.event) == n
    sigma = hcal_sigma(energy)
    within(eflow.p4[:, 0].mean(), energy, sigma / math.sqrt(n))
    assert eflow.p4[:, 0].std() == pytest.approx(sigma, rel=0.04)


def test_k0s_splits_its_energy_0p3_ecal_0p7_hcal():
    rng = np.random.default_rng(9)
    n, energy = 5_000, 50.0
    eta = rng.uniform(-1.0, 1.0, n)
    pt = math.sqrt(energy**2 - MASS[310] ** 2) / np.cosh(eta)
    eflow = simulate_detector(one_per_event(310, pt, eta, rng.uniform(-np.pi, np.pi, n)),
                              CARD, rng).eflow
    photon, hadron = eflow.kind == EFLOW_PHOTON, eflow.kind == EFLOW_NEUTRAL_HADRON
    assert photon.sum() == n and hadron.sum() >= 0.999 * n
    within(eflow.p4[photon, 0].mean(), 0.3 * energy, ecal_sigma(15.0) / math.sqrt(n))
    within(eflow.p4[hadron, 0].mean(), 0.7 * energy, hcal_sigma(35.0) / math.sqrt(n))


def test_unsmeared_tower_centre():
    card = dataclasses.replace(CARD, ecal=dataclasses.replace(CARD.ecal,
                                                              smear_tower_center=False))
    final = one_per_event(22, np.array([30.0, 30.0]), np.array([0.3, -2.0]),
                          np.array([1.0, -3.0]))
    eflow = simulate_detector(final, card, np.random.default_rng(0)).eflow
    grid = tower_grid(card.ecal)
    tower = tower_index(fv.eta(final.p4), fv.phi(final.p4), grid)
    np.testing.assert_allclose(fv.eta(eflow.p4), 0.5 * (grid.eta_low + grid.eta_high)[tower])
    np.testing.assert_allclose(fv.phi(eflow.p4), 0.5 * (grid.phi_low + grid.phi_high)[tower])


# --- particle flow ---------------------------------------------------------------------


def test_a_tracked_pion_is_not_counted_twice():
    rng = np.random.default_rng(21)
    n = 5_000
    eta = rng.uniform(-1.0, 1.0, n)
    final = one_per_event(211, np.full(n, 20.0), eta, rng.uniform(-np.pi, np.pi, n))
    eflow = simulate_detector(final, CARD, rng).eflow
    track = eflow.kind == EFLOW_TRACK
    tracked_events = eflow.event[track]
    assert len(tracked_events) == pytest.approx(0.95 * n, abs=4 * math.sqrt(0.05 * 0.95 * n))
    assert np.all(np.bincount(tracked_events, minlength=n) <= 1)
    assert not np.any(eflow.kind == EFLOW_PHOTON)  # a pion leaves nothing in the ECAL
    with_neutral = np.isin(tracked_events, eflow.event[~track])
    assert with_neutral.mean() < 0.05  # only upward > 2 sigma fluctuations of the tower
    untracked = np.setdiff1d(np.arange(n), tracked_events)
    assert np.all(np.isin(untracked, eflow.event[~track]))  # ... whose HCAL energy stays
    # double counting would double it; upward fluctuations kept as neutrals add ~1%
    total = np.bincount(eflow.event, weights=eflow.p4[:, 0], minlength=n)
    assert total.mean() == pytest.approx(final.p4[:, 0].mean(), rel=0.02)


def test_an_untracked_pion_beyond_the_tracker_is_a_neutral_hadron():
    rng = np.random.default_rng(22)
    n = 5_000
    eta = 3.05 * rng.choice([-1.0, 1.0], n)
    final = one_per_event(-211, np.full(n, 5.0), eta, rng.uniform(-np.pi, np.pi, n))
    eflow = simulate_detector(final, CARD, rng).eflow
    assert np.all(eflow.kind == EFLOW_NEUTRAL_HADRON) and len(eflow.event) == n
    energy = final.p4[0, 0]  # 5 cosh(3.05) GeV; HCAL 1.7 < |eta| <= 3.2 resolution
    sigma = math.sqrt((0.05 * energy) ** 2 + 0.706**2 * energy)
    within(eflow.p4[:, 0].mean(), energy, sigma / math.sqrt(n))


def test_an_electron_deposit_is_absorbed_by_its_track():
    rng = np.random.default_rng(23)
    n = 2_000
    eta = rng.uniform(-1.0, 1.0, n)
    final = one_per_event(11, np.full(n, 50.0), eta, rng.uniform(-np.pi, np.pi, n))
    response = simulate_detector(final, CARD, rng)
    eflow = response.eflow
    tracked = eflow.event[eflow.kind == EFLOW_TRACK]
    photon = eflow.event[eflow.kind == EFLOW_PHOTON]
    assert len(tracked) == pytest.approx(0.95 * n, abs=4 * math.sqrt(0.05 * 0.95 * n))
    # the track (7-10% resolution here) takes the ECAL deposit; a photon remains only
    # for a significant (> 2 sigma) excess of the tower over the track
    assert np.isin(tracked, photon).mean() < 0.06
    assert np.all(np.isin(np.setdiff1d(np.arange(n), tracked), photon))  # untracked ones
    electrons = response.electrons
    assert len(electrons.event) == pytest.approx(0.95 * 0.95 * n, rel=0.05)
    assert np.all(electrons.pid == 11) and electrons.isolated.mean() > 0.9


# --- leptons and missing pT ------------------------------------------------------------


def test_a_lone_muon_is_isolated():
    rng = np.random.default_rng(31)
    n = 300
    final = one_per_event(rng.choice([13, -13], n), np.full(n, 50.0),
                          rng.uniform(-1, 1, n), rng.uniform(-np.pi, np.pi, n))
    response = simulate_detector(final, CARD, rng)
    muons = response.muons
    assert len(muons.event) > 0.9 * n and len(response.electrons.event) == 0
    assert np.all(muons.isolation == 0.0) and np.all(muons.isolated)
    np.testing.assert_array_equal(muons.pid, final.pid[muons.source])
    np.testing.assert_array_equal(response.eflow.source[muons.eflow], muons.source)
    np.testing.assert_array_equal(response.eflow.p4[muons.eflow], muons.p4)


def test_a_muon_with_a_close_photon_is_not_isolated():
    rng = np.random.default_rng(32)
    n = 300
    eta, phi = rng.uniform(-1, 1, n), rng.uniform(-np.pi, np.pi, n)
    final = particles(np.repeat(np.arange(n), 2), np.tile([13, 22], n), np.full(2 * n, 50.0),
                      np.repeat(eta, 2), np.stack([phi, fv.wrap_phi(phi + 0.2)], 1).ravel())
    muons = simulate_detector(final, CARD, rng).muons
    assert len(muons.event) > 0.9 * n
    assert not muons.isolated.any()
    assert np.all(np.abs(muons.isolation - 1.0) < 0.1)  # a 50 GeV photon over a 50 GeV muon


def test_met_of_a_lone_photon_balances_it():
    rng = np.random.default_rng(41)
    n = 1_000
    phi = rng.uniform(-np.pi, np.pi, n)
    final = one_per_event(22, np.full(n, 100.0), np.zeros(n), phi)
    met = simulate_detector(final, CARD, rng).met
    assert met.shape == (n, 2)
    # ECAL sigma(100 GeV) ~ 1 GeV, direction within a 1 degree tower: ~ 0.9 GeV
    assert np.all(np.hypot(*(met + final.p4[:, 1:3]).T) < 6.0)


def test_met_is_minus_the_sum_of_the_energy_flow():
    final = random_events(20, 300, seed=1)
    response = simulate_detector(final, CARD, np.random.default_rng(2))
    eflow = response.eflow
    expected = np.zeros((final.n_events + 1, 2))
    np.add.at(expected, eflow.event, -eflow.p4[:, 1:3])
    np.testing.assert_allclose(response.met, expected[:-1], atol=1e-9)
    empty = missing_transverse_momentum(eflow, final.n_events + 1)
    assert np.array_equal(empty[-1], [0.0, 0.0])


# --- b-tagging -------------------------------------------------------------------------


def _atlas_btag(pt, flavour):
    if flavour == 5:
        return 0.80 * math.tanh(0.003 * pt) * (30 / (1 + 0.086 * pt))
    if flavour == 4:
        return 0.20 * math.tanh(0.02 * pt) * (1 / (1 + 0.0034 * pt))
    return 0.002 + 7.3e-6 * pt


@pytest.mark.parametrize("flavour", [5, 4, 0])
def test_btag_efficiency_is_the_atlas_form(flavour):
    for pt in (50.0, 200.0):
        value = btag_efficiency(np.array([pt]), np.array([1.0]), np.array([flavour]), CARD.btag)
        assert value[0] == pytest.approx(_atlas_btag(pt, flavour), rel=1e-12)
    assert btag_efficiency(np.array([100.0]), np.array([2.7]), np.array([flavour]),
                           CARD.btag)[0] == 0.0
    n = 100_000
    rng = np.random.default_rng(flavour)
    tagged = btag(np.full(n, 100.0), rng.uniform(-2.5, 2.5, n), np.full(n, flavour), CARD,
                  rng)
    p = _atlas_btag(100.0, flavour)
    within(tagged.mean(), p, math.sqrt(p * (1 - p) / n))


# --- determinism and structure ---------------------------------------------------------


def _arrays(response):
    out = []
    for part in (response.eflow, response.electrons, response.muons):
        out += [getattr(part, f.name) for f in dataclasses.fields(part)]
    return out + [response.met]


def test_same_seed_same_response_and_a_new_seed_differs():
    final = random_events(30, 300, seed=4)
    first = simulate_detector(final, CARD, np.random.default_rng(7))
    again = simulate_detector(final, CARD, np.random.default_rng(7))
    for a, b in zip(_arrays(first), _arrays(again), strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    other = simulate_detector(final, CARD, np.random.default_rng(8))
    assert not np.array_equal(first.met, other.met)


def test_empty_events_and_particles_along_the_beam():
    nothing = FinalState(3, np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0, np.int64),
                         np.zeros(0))
    response = simulate_detector(nothing, CARD, np.random.default_rng(0))
    assert len(response.eflow.event) == 0 and len(response.muons.event) == 0
    assert np.array_equal(response.met, np.zeros((3, 2)))
    beam = FinalState(2, np.array([1]), np.array([[100.0, 0.0, 0.0, 100.0]]), np.array([22]),
                      np.array([0.0]))
    response = simulate_detector(beam, CARD, np.random.default_rng(0))
    assert len(response.eflow.event) == 0


def test_response_structure():
    final = random_events(30, 300, seed=5)
    response = simulate_detector(final, CARD, np.random.default_rng(6))
    eflow = response.eflow
    assert np.all(np.diff(eflow.event) >= 0)
    track = eflow.kind == EFLOW_TRACK
    assert np.all(final.charge[eflow.source[track]] != 0)
    assert np.all(eflow.source[~track] == -1) and np.all(eflow.pid[~track] == 0)
    assert np.array_equal(eflow.pid[track], final.pid[eflow.source[track]])
    assert np.array_equal(eflow.event[track], final.event[eflow.source[track]])
    assert np.all(np.abs(fv.eta(eflow.p4[track])) <= 2.5)
    assert np.all(eflow.p4[~track, 0] > CARD.ecal.energy_min)
    for leptons, abs_pid in ((response.electrons, 11), (response.muons, 13)):
        assert np.all(eflow.kind[leptons.eflow] == EFLOW_TRACK)
        assert np.all(np.abs(leptons.pid) == abs_pid)
        assert np.all(fv.pt(leptons.p4) > 10.0) and np.all(np.diff(leptons.event) >= 0)
        assert np.array_equal(leptons.isolated, leptons.isolation <= 0.25 if abs_pid == 13
                              else leptons.isolation <= 0.12)
