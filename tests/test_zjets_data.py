"""Z(->mumu)+jets generation: determinism across workers, the cuts, the file round trip."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import awkward as ak
import numpy as np
import pytest

from lhcgen.data.events import ZJETS_OBJECTS
from lhcgen.data.hdf5 import read_events, write_events
from lhcgen.data.pythia import PYTHIA_SEED_MAX, pythia_seed
from lhcgen.data.shards import generate_zjets, shard_sizes
from lhcgen.data.zjets import (
    ACCEPTED,
    FAILED_MUON_CHARGE,
    FAILED_MUON_COUNT,
    FAILED_NO_JET,
    FAILED_OVERLAP,
    ZJetsSettings,
    generate_shard,
    select_batch,
)
from lhcgen.errors import LhcgenError
from lhcgen.physics.dressing import dress_leptons
from lhcgen.physics.fourvectors import delta_r, eta, mass, pt

pytestmark = pytest.mark.slow

MUON_MASS = 0.1056584


@pytest.fixture(scope="module")
def sample_one_worker():
    return generate_zjets(30, seed=11, workers=1, shard_size=10, progress=False)


@pytest.fixture(scope="module")
def sample_two_workers():
    return generate_zjets(30, seed=11, workers=2, shard_size=10, progress=True)


# --- determinism ---------------------------------------------------------------------------


def test_same_events_for_any_worker_count(sample_one_worker, sample_two_workers):
    a, b = sample_one_worker, sample_two_workers
    assert len(a) == len(b) == 30
    np.testing.assert_array_equal(a.momenta, b.momenta)
    np.testing.assert_array_equal(a.mask, b.mask)
    np.testing.assert_array_equal(a.multiplicity, b.multiplicity)
    np.testing.assert_array_equal(a.weights, b.weights)
    assert a.attrs == b.attrs


def test_different_seed_gives_different_events(sample_one_worker):
    other = generate_zjets(10, seed=12, shard_size=10, progress=False)
    assert not np.allclose(other.momenta, sample_one_worker.momenta[:10])


def test_shard_does_not_depend_on_batch_size():
    small, small_stats = generate_shard(ZJetsSettings(batch_size=7), 6, seed=4242)
    large, large_stats = generate_shard(ZJetsSettings(batch_size=200), 6, seed=4242)
    np.testing.assert_array_equal(small.momenta, large.momenta)
    assert small_stats["n_generated"] == large_stats["n_generated"]
    assert small_stats["rejected_muon_count"] == large_stats["rejected_muon_count"]


def test_shard_seeds_are_fixed_by_seed_and_shard_index(sample_one_worker):
    seeds = [pythia_seed(11, k) for k in range(3)]
    assert sample_one_worker.attrs["shard_seeds"] == seeds
    assert len(set(seeds)) == 3
    assert all(1 <= s <= PYTHIA_SEED_MAX for s in seeds)
    assert pythia_seed(11, 0) != pythia_seed(12, 0)


def test_shard_sizes():
    assert shard_sizes(30, 10) == [10, 10, 10]
    assert shard_sizes(25, 10) == [10, 10, 5]
    assert shard_sizes(3, 10) == [3]


# --- the physics of the stored events ------------------------------------------------------


def test_events_pass_the_cuts(sample_one_worker):
    p, mask = sample_one_worker.momenta, sample_one_worker.mask
    muons, jets, jet_mask = p[:, :2], p[:, 2:], mask[:, 2:]
    assert np.all(pt(muons) > 20.0)
    assert np.all(np.abs(eta(muons)) < 2.5)
    assert np.all(pt(muons[:, 0]) >= pt(muons[:, 1]))
    # dressed muons: the muon mass, or more where collinear photons were added
    assert np.all(mass(muons) > MUON_MASS - 2e-3)
    assert np.mean(np.abs(mass(muons) - MUON_MASS) < 2e-3) > 0.5
    assert np.all(pt(jets)[jet_mask] > 20.0)
    jet_pt = np.where(jet_mask, pt(jets), 0.0)
    assert np.all(np.diff(jet_pt, axis=1) <= 0.0)
    assert np.all(jets[..., 0][jet_mask] >= 0.0)
    # anti-kT R = 0.4 jets are almost always more than 0.4 apart
    pairs = [(i, j) for i in range(3) for j in range(i + 1, 3)]
    dr = np.concatenate([delta_r(jets[:, i], jets[:, j])[jet_mask[:, i] & jet_mask[:, j]]
                         for i, j in pairs])
    if len(dr):
        assert np.mean(dr > 0.4) >= 0.9
    # the muon pair comes from a Z boson
    m_mumu = mass(muons[:, 0] + muons[:, 1])
    assert np.mean((m_mumu > 70.0) & (m_mumu < 110.0)) >= 0.8


def test_mask_multiplicity_and_padding(sample_one_worker):
    s = sample_one_worker
    assert s.momenta.shape == (30, 5, 4) and s.momenta.dtype == np.float64
    assert s.mask[:, :2].all()
    np.testing.assert_array_equal(s.multiplicity, s.mask.sum(axis=1) - 2)
    assert set(np.unique(s.multiplicity)) <= {1, 2, 3}
    assert np.all(s.mask[:, 3] <= s.mask[:, 2]) and np.all(s.mask[:, 4] <= s.mask[:, 3])
    assert np.all(s.momenta[~s.mask] == 0.0)
    assert np.all(np.isfinite(s.weights)) and np.all(s.weights != 0.0)


def test_run_attributes(sample_one_worker):
    a = sample_one_worker.attrs
    assert a["process"] == "zjets" and a["sqrt_s"] == 13000.0
    assert re.fullmatch(r"Pythia \d+\.\d+ \+ FastJet \d+\.\d+\.\d+", a["generator"])
    assert a["object_names"] == list(ZJETS_OBJECTS) and a["n_fixed_objects"] == 2
    assert a["seed"] == 11 and a["shard_size"] == 10 and a["n_accepted"] == 30
    flow = a["cut_flow"]
    assert flow["generated"] == a["n_generated"] == (
        flow["rejected_muon_count"] + flow["rejected_muon_charge"] + flow["rejected_no_jet"]
        + flow["rejected_overlap"] + flow["accepted"])
    assert a["pythia_tune"] == 14 and a["pdf_set"] == "13" and "Tune:pp = 14" in a["settings"]
    assert "Print:quiet = on" in a["pythia_run_settings"]
    assert 0.0 < a["acceptance"] < 1.0
    assert a["cross_section_pb"] > 0.0 and a["cross_section_error_pb"] > 0.0
    assert "WeakZ0:gmZmode = 2" in a["settings"]
    assert a["cuts"]["jet_radius"] == 0.4


def test_write_read_round_trip(sample_one_worker, tmp_path):
    path = tmp_path / "zjets.h5"
    write_events(path, sample_one_worker)
    back = read_events(path)
    np.testing.assert_array_equal(back.momenta, sample_one_worker.momenta)
    np.testing.assert_array_equal(back.mask, sample_one_worker.mask)
    np.testing.assert_array_equal(back.multiplicity, sample_one_worker.multiplicity)
    np.testing.assert_array_equal(back.weights, sample_one_worker.weights)
    for key, value in sample_one_worker.attrs.items():
        assert back.attrs[key] == value, key
    for key, value in sample_one_worker.event_info.items():
        np.testing.assert_array_equal(back.event_info[key], value)


# --- the selection on hand-made events -----------------------------------------------------


def _particle(pid, pt_, eta_, phi_, m=0.0, status=1):
    px, py, pz = pt_ * np.cos(phi_), pt_ * np.sin(phi_), pt_ * np.sinh(eta_)
    e = float(np.sqrt(m**2 + px**2 + py**2 + pz**2))
    return {"id": pid, "status": status, "p": {"px": px, "py": py, "pz": pz, "e": e}}


def _batch(events):
    system = {"id": 90, "status": -11, "p": {"px": 0.0, "py": 0.0, "pz": 0.0, "e": 13000.0}}
    return ak.Array([{"prt": [system, *prt], "info": {"weights": [1.0], "pT2Hat": 900.0}}
                     for prt in events])


def test_selection_on_hand_made_events():
    mu_minus = _particle(13, 40.0, 0.0, 0.0, MUON_MASS)
    mu_plus = _particle(-13, 30.0, 0.5, 2.0, MUON_MASS)
    pion = _particle(211, 50.0, -1.0, 4.0, 0.14)
    neutrino = _particle(14, 100.0, 1.5, 1.0)
    events = [
        [mu_plus, mu_minus, pion, neutrino],  # accepted, one jet (the pion)
        [mu_minus, _particle(13, 30.0, 0.5, 2.0, MUON_MASS), pion],  # same charge
        [mu_minus, mu_plus, _particle(-13, 25.0, -2.0, 5.0, MUON_MASS), pion],  # three muons
        [mu_minus, mu_plus, neutrino, _particle(13, 10.0, 1.0, 4.0, MUON_MASS)],  # no jet
        [mu_minus, mu_plus, _particle(211, 50.0, -1.0, 4.0, 0.14, status=-84)],  # not final
        [mu_minus, mu_plus, _particle(-13, 30.0, 3.0, 4.0, MUON_MASS)],  # forward muon = jet
        [mu_minus, mu_plus] + [_particle(211, pt_, 0.0, phi_, 0.14)
                               for pt_, phi_ in [(25., 1.), (60., 2.), (40., 3.), (80., 4.)]],
    ]
    selected = select_batch(_batch(events), ZJetsSettings())
    np.testing.assert_array_equal(selected.stage, [
        ACCEPTED, FAILED_MUON_CHARGE, FAILED_MUON_COUNT, FAILED_NO_JET, FAILED_NO_JET,
        ACCEPTED, ACCEPTED])
    np.testing.assert_array_equal(selected.n_jets, [1, 1, 3])
    p = selected.momenta
    np.testing.assert_allclose(pt(p[:, :2]), [[40.0, 30.0]] * 3)  # muons ordered by pT
    np.testing.assert_allclose(pt(p[0, 2]), 50.0)
    np.testing.assert_allclose(eta(p[1, 2]), 3.0)
    np.testing.assert_allclose(pt(p[2, 2:]), [80.0, 60.0, 40.0])
    np.testing.assert_array_equal(selected.mask[0], [True, True, True, False, False])
    assert np.all(p[0, 3:] == 0.0)
    np.testing.assert_allclose(selected.pthat, 30.0)


def test_dressing_overlap_removal_jet_acceptance_and_untruncated_count():
    mu_minus = _particle(13, 40.0, 0.0, 0.0, MUON_MASS)
    mu_plus = _particle(-13, 30.0, 0.5, 2.0, MUON_MASS)
    pion = _particle(211, 50.0, -1.0, 4.0, 0.14)
    fsr = _particle(22, 15.0, 0.05, 0.0)  # Delta R = 0.05 from mu-: dresses it
    far_photon = _particle(22, 25.0, 0.0, 0.2)  # Delta R = 0.2: a jet, then removed (< 0.4)
    soft_mu = _particle(13, 8.0, 0.0, 0.5, MUON_MASS)  # fails pT: a jet input, not selected
    events = [
        [mu_minus, mu_plus, pion, fsr],
        [mu_minus, mu_plus, far_photon],  # only jet overlaps a muon
        [mu_minus, mu_plus, far_photon, pion],  # one jet removed, one kept
        [mu_minus, mu_plus, _particle(211, 60.0, 4.6, 1.0, 0.14)],  # jet beyond |eta| 4.5
        [mu_minus, mu_plus] + [_particle(211, pt_, -0.5, phi_, 0.14)
                               for pt_, phi_ in [(25., 1.), (60., 2.5), (40., 3.5), (80., 4.5),
                                                 (30., 5.5)]],
        [_particle(13, 18.0, 0.0, 0.0, MUON_MASS), _particle(22, 5.0, 0.0, 0.05), mu_plus,
         soft_mu, pion],  # 18 GeV muon dressed above 20 GeV
    ]
    selected = select_batch(_batch(events), ZJetsSettings())
    np.testing.assert_array_equal(selected.stage, [
        ACCEPTED, FAILED_OVERLAP, ACCEPTED, FAILED_NO_JET, ACCEPTED, ACCEPTED])
    p = selected.momenta
    dressed = np.add(mu_minus["p"]["e"], fsr["p"]["e"])
    np.testing.assert_allclose(p[0, 0, 0], dressed)  # the photon is in the muon
    np.testing.assert_allclose(pt(p[0, 2]), 50.0)  # ... and not in the jet
    np.testing.assert_array_equal(selected.n_jets, [1, 1, 3, 1])
    np.testing.assert_array_equal(selected.n_jets_all, [1, 1, 5, 1])
    np.testing.assert_array_equal(selected.n_overlap_removed, [0, 1, 0, 0])
    np.testing.assert_array_equal(selected.n_dressing_photons, [1, 0, 0, 1])
    np.testing.assert_allclose(pt(p[2, 2:]), [80.0, 60.0, 40.0])
    np.testing.assert_allclose(pt(p[3, 0]), 30.0)
    np.testing.assert_allclose(pt(p[3, 1]), 23.0, rtol=1e-3)  # 18 GeV + 5 GeV collinear
    # bare muons: the 18 GeV muon fails, and the FSR photon of event 0 becomes part of a jet
    bare = select_batch(_batch(events), ZJetsSettings(dressing_radius=0.0,
                                                      overlap_radius=0.0,
                                                      jet_abs_eta_max=10.0))
    np.testing.assert_array_equal(bare.stage, [ACCEPTED, ACCEPTED, ACCEPTED, ACCEPTED,
                                               ACCEPTED, FAILED_MUON_COUNT])


def _dress_by_loops(event, muon, photon, p4, radius):
    """Reference: every photon, every muon of its event, nearest within radius."""
    def eta_phi(v):
        return float(np.arcsinh(v[3] / np.hypot(v[1], v[2]))), float(np.arctan2(v[2], v[1]))

    dressed = p4[muon].copy()
    for g in photon:
        best, best_dr = -1, radius
        ge, gp = eta_phi(p4[g])
        for k, m in enumerate(muon):
            if event[m] != event[g]:
                continue
            me, mp = eta_phi(p4[m])
            dr = np.hypot(ge - me, (gp - mp + np.pi) % (2 * np.pi) - np.pi)
            if dr < best_dr:
                best, best_dr = k, dr
        if best >= 0:
            dressed[best] += p4[g]
    return dressed


def test_dressing_matches_a_loop_over_pythia_events():
    from lhcgen.data.zjets import make_pythia

    batch = make_pythia(ZJetsSettings(), 5).nextBatch(40, "skip")
    counts = ak.to_numpy(ak.num(batch.prt, axis=1))
    event = np.repeat(np.arange(len(batch)), counts)
    flat = ak.flatten(batch.prt, axis=1)
    final, pid = ak.to_numpy(flat.status) > 0, ak.to_numpy(flat.id)
    p4 = np.stack([ak.to_numpy(flat.p[c]) for c in ("e", "px", "py", "pz")], axis=-1)
    muon = np.flatnonzero(final & (np.abs(pid) == 13))
    photon = np.flatnonzero(final & (pid == 22))
    dressed, owner = dress_leptons(event, muon, photon, p4, 0.1)
    np.testing.assert_allclose(dressed, _dress_by_loops(event, muon, photon, p4, 0.1))
    assert (owner >= 0).sum() > 0  # FSR photons exist in 40 Z events
    # energy is conserved: dressed muons carry exactly the muons plus the owned photons
    np.testing.assert_allclose(dressed.sum(0), p4[muon].sum(0) + p4[photon[owner >= 0]].sum(0))


def test_no_stored_jet_near_a_muon_and_untruncated_count(sample_one_worker):
    s = sample_one_worker
    for j in range(2, 5):
        for m in range(2):
            dr = delta_r(s.momenta[:, j], s.momenta[:, m])[s.mask[:, j]]
            assert np.all(dr >= 0.4)
    assert np.all(np.abs(eta(s.momenta[:, 2:]))[s.mask[:, 2:]] < 4.5)
    n_all = s.event_info["n_jets_all"]
    np.testing.assert_array_equal(np.minimum(n_all, 3), s.multiplicity)
    assert s.attrs["cut_flow"]["accepted_with_more_jets_than_stored"] == int((n_all > 3).sum())
    assert "pthat_gev" not in s.event_info  # inclusive Z (the default) has no 2 -> 2 p-hat


# --- arguments, errors, output, interruption -----------------------------------------------


@pytest.mark.parametrize("kwargs", [
    {"n_events": 0}, {"n_events": -5}, {"n_events": 2.5}, {"workers": 0},
    {"shard_size": 0}, {"seed": -1}, {"seed": "1"},
])
def test_invalid_arguments(kwargs):
    args = {"n_events": 10, "seed": 1, "workers": 1, "shard_size": 10, "progress": False}
    args.update(kwargs)
    with pytest.raises(LhcgenError) as info:
        generate_zjets(**args)
    assert "\n" not in str(info.value)


def test_invalid_settings():
    with pytest.raises(LhcgenError, match="max_jets"):
        ZJetsSettings(max_jets=4)
    with pytest.raises(LhcgenError, match="batch_size"):
        ZJetsSettings(batch_size=0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ZJetsSettings().jet_radius = 0.8  # type: ignore[misc]
    with pytest.raises(LhcgenError, match="n_accepted"):
        generate_shard(ZJetsSettings(), 0, seed=1)


@pytest.mark.parametrize("workers", [1, 2])
def test_failing_shard_becomes_lhcgen_error(workers):
    # p-hat above sqrt(s) / 2: Pythia cannot start
    impossible = ZJetsSettings(hard_process="zjet", pthat_min=1.0e5)
    with pytest.raises(LhcgenError, match="initialisation failed"):
        generate_zjets(20, seed=1, workers=workers, shard_size=10, settings=impossible,
                       progress=False)


def test_impossible_cuts_stop_with_lhcgen_error(monkeypatch):
    from lhcgen.data import zjets

    monkeypatch.setattr(zjets, "MAX_GENERATED_WITHOUT_ACCEPTED", 50)
    with pytest.raises(LhcgenError, match="passed the selection"):
        generate_zjets(5, seed=1, settings=ZJetsSettings(muon_pt_min=5000.0), progress=False)


def _python_command(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def test_nothing_printed_to_stdout():
    code = """
        from lhcgen.data.shards import generate_zjets
        if __name__ == "__main__":
            generate_zjets(4, seed=3, workers=1, shard_size=4, progress=True)
            generate_zjets(4, seed=3, workers=2, shard_size=2, progress=True)
    """
    result = subprocess.run(_python_command(code), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "FastJet" not in result.stderr


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                         text=True).stdout
    return [int(x) for x in out.split()]


def _is_pool_worker(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline") as f:
            return "spawn_main" in f.read()
    except FileNotFoundError:
        return False


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses ps and /proc")
def test_ctrl_c_stops_workers_and_raises_keyboard_interrupt():
    code = """
        from lhcgen.data.shards import generate_zjets
        if __name__ == "__main__":
            generate_zjets(100000, seed=5, workers=2, shard_size=1000, progress=False)
    """
    proc = subprocess.Popen(_python_command(code), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 60
        workers: list[int] = []
        while len(workers) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
            workers = [c for c in _children(proc.pid) if _is_pool_worker(c)]
        assert len(workers) >= 2, "the worker processes did not start"
        time.sleep(1.0)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode != 0
    assert "KeyboardInterrupt" in stderr
    assert not any(_alive(w) for w in workers)


def test_zjet_2to2_process_above_its_pthat_cut_passes_the_same_selection():
    default = ZJetsSettings()
    assert default.hard_process == "z" and default.pthat_min is None
    assert "WeakSingleBoson:ffbar2gmZ = on" in default.pythia_settings()
    assert not any("pTHatMin" in line for line in default.pythia_settings())
    settings = ZJetsSettings(hard_process="zjet")
    assert settings.pthat_min == 10.0
    assert "PhaseSpace:pTHatMin = 10.0" in settings.pythia_settings()
    sample, stats = generate_shard(settings, 12, seed=8)
    assert len(sample) == 12 and np.all(sample.event_info["pthat_gev"] >= 10.0)
    assert np.all(pt(sample.momenta[:, :2]) > 20.0)
    assert np.all(pt(sample.momenta[:, 2])[sample.mask[:, 2]] > 20.0)
    with pytest.raises(LhcgenError, match="hard_process"):
        ZJetsSettings(hard_process="zz")
    with pytest.raises(LhcgenError, match="pthat_min applies to the zjet"):
        ZJetsSettings(pthat_min=5.0)
    with pytest.raises(LhcgenError, match="pthat_min must be positive"):
        ZJetsSettings(hard_process="zjet", pthat_min=0.0)
