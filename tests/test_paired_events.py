"""Paired particle/detector events from Pythia: the particle level is `lhcgen data zjets`'s
definition, the preselection loses nothing, and both levels show the physics they should
(Z peak, W mass from lepton + neutrino, MET against the neutrino, b-tagging, migrations)."""

from __future__ import annotations

import numpy as np
import pytest

from lhcgen.cli import main
from lhcgen.data.paired import B_JET, JET_TYPES, MET, NEUTRINO, read_paired
from lhcgen.data.paired_events import (
    PASSED_NEITHER,
    PASSED_PARTICLE_ONLY,
    PairedSettings,
    _detector_possible,
    generate_paired_shard,
    select_paired_batch,
)
from lhcgen.data.pythia import start_pythia
from lhcgen.data.pythia_record import EventRecord, charge_lookup
from lhcgen.data.zjets import generate_shard
from lhcgen.errors import LhcgenError
from lhcgen.physics import fourvectors as fv
from lhcgen.physics.detector import load_card

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def card():
    return load_card(None)


@pytest.fixture(scope="module")
def zjets_paired(card):
    return generate_paired_shard(PairedSettings("zjets", card), 300, seed=21)


@pytest.fixture(scope="module")
def ttbar_paired(card):
    return generate_paired_shard(PairedSettings("ttbar", card), 300, seed=22)


def test_zjets_particle_level_is_the_zjets_definition(zjets_paired):
    """The same Pythia stream: the paired events that pass the particle level are, in
    order, the events `lhcgen data zjets` writes for that seed."""
    sample, _ = zjets_paired
    passed = sample.particle.passed
    reference, _ = generate_shard(__import__("lhcgen.data.zjets", fromlist=["x"])
                                  .ZJetsSettings(), int(passed.sum()), seed=21)
    np.testing.assert_allclose(sample.particle.momenta[passed], reference.momenta,
                               rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(sample.particle.n_jets_all[passed],
                                  reference.event_info["n_jets_all"])
    np.testing.assert_array_equal(sample.weights[passed], reference.weights)


def test_preselection_loses_no_event(card):
    """Without the preselection, no event it would have skipped passes either level."""
    for process, seed in (("zjets", 31), ("ttbar", 32)):
        settings = PairedSettings(process, card, preselect=False)
        pythia = start_pythia(settings.pythia_settings(), seed, process)
        batch = pythia.nextBatch(150, "skip")
        selected = select_paired_batch(batch, settings, charge_lookup(pythia),
                                       np.random.default_rng(seed))
        skipped = ~_detector_possible(EventRecord.from_batch(batch), settings.cuts())
        assert skipped.any()
        # never a detector-level pass among the events the preselection would skip
        assert set(np.unique(selected.stage[skipped])) <= {PASSED_NEITHER,
                                                           PASSED_PARTICLE_ONLY}


def test_zjets_detector_level_physics(zjets_paired):
    sample, stats = zjets_paired
    det, par = sample.detector, sample.particle
    both = det.passed & par.passed
    m_det = fv.mass(det.momenta[both, 0] + det.momenta[both, 1])
    m_par = fv.mass(par.momenta[both, 0] + par.momenta[both, 1])
    assert abs(np.median(m_det) - 91.2) < 1.5
    assert abs(np.median(m_det / m_par) - 1.0) < 0.01  # muons: percent-level resolution
    assert np.all(det.object_type[:, 2][det.mask[:, 2]] == MET)
    # fakes and inefficiencies are kept, with their flags
    assert (det.passed & ~par.passed).any() and (par.passed & ~det.passed).any()
    # jet multiplicities migrate between the levels, mostly along the diagonal
    diagonal = np.mean(det.n_jets_all[both] == par.n_jets_all[both])
    assert 0.5 < diagonal < 0.98
    assert stats["passed_both"] == both.sum()


def test_ttbar_levels_physics(ttbar_paired):
    sample, _ = ttbar_paired
    par, det = sample.particle, sample.detector
    p = par.passed
    assert np.all(par.object_type[p, 1] == NEUTRINO)
    m_w = fv.mass(par.momenta[p, 0] + par.momenta[p, 1])  # lepton + neutrino
    assert 70.0 < np.median(m_w) < 82.0  # at or below the W mass (a Jacobian edge)
    assert np.mean(np.abs(m_w - 80.4) < 10.0) > 0.6
    n_b = (par.object_type[p] == B_JET).sum(axis=1)
    assert np.all(n_b >= 2) and np.all(par.n_jets_all[p] >= 4)
    # MET against the neutrino pT, events passing both
    both = p & det.passed
    ratio = fv.pt(det.momenta[both, 1]) / fv.pt(par.momenta[both, 1])
    assert 0.8 < np.median(ratio) < 1.25
    # detector b-tags: most particle-level b jets that are matched stay b jets
    jets = np.isin(det.object_type, JET_TYPES)
    assert (det.object_type[det.passed] == B_JET).sum(axis=1).min() >= 2
    assert jets.sum() > 0


def test_paired_file_cli_round_trip(tmp_path, capsys):
    out = tmp_path / "tt.h5"
    code = main(["data", "ttbar", "--events", "40", "--seed", "3", "--workers", "1",
                 "--shard-size", "20", "--out", str(out), "--no-progress"])
    assert code == 0, capsys.readouterr().err
    assert "paired events" in capsys.readouterr().out
    sample = read_paired(out)
    assert len(sample) == 40
    assert sample.attrs["process"] == "ttbar_paired"
    assert sample.attrs["detector_card"]["tracking"]
    flow = sample.attrs["cut_flow"]
    assert flow["passed_particle_only"] + flow["passed_detector_only"] + flow[
        "passed_both"] == 40
    assert not (tmp_path / "tt.h5.parts").exists()


def test_bad_paired_requests(tmp_path, capsys):
    bad_card = tmp_path / "card.yaml"
    bad_card.write_text("tracking:\n  nonsense: 1\n")
    for argv, words in (
            (["data", "ttbar", "--events", "5", "--lepton", "tau"], "invalid choice"),
            (["data", "ttbar", "--events", "5", "--detector", str(bad_card)], "nonsense"),
            (["data", "zjets", "--events", "5", "--detector", "--lhe", "x.lhe"], "--lhe"),
            (["data", "ttbar", "--events", "5", "--detector", str(tmp_path / "no.yaml")],
             "no.yaml")):
        with pytest.raises(SystemExit) if "invalid" in words else _no_raise():
            code = main([*argv, "--out", str(tmp_path / "o.h5"), "--workers", "1"])
            assert code != 0
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err
        assert not (tmp_path / "o.h5").exists()
    with pytest.raises(LhcgenError, match="e, mu or emu"):
        PairedSettings("ttbar", load_card(None), lepton="tau")


class _no_raise:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
