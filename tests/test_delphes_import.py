"""`lhcgen data import-delphes`: hand-made Delphes-like trees written with uproot, read into
the paired particle/detector schema with exact expectations."""

from __future__ import annotations

import argparse
import math

import awkward as ak
import numpy as np
import pytest
import uproot

from lhcgen.cli import data as cli_data
from lhcgen.cli import main
from lhcgen.cli.data_delphes import add_import_delphes
from lhcgen.data.delphes import import_delphes
from lhcgen.data.paired import MET, NEUTRINO, read_paired
from lhcgen.errors import LhcgenError
from lhcgen.physics import fourvectors as fv
from tests.cli_helpers import one_line_error

F = "float32"
I = "int32"
FIELDS = {
    "Particle": (("PID", I), ("Status", I), ("M1", I), ("PT", F), ("Eta", F), ("Phi", F),
                 ("Mass", F)),
    "GenJet": (("PT", F), ("Eta", F), ("Phi", F), ("Mass", F)),
    "Jet": (("PT", F), ("Eta", F), ("Phi", F), ("Mass", F), ("BTag", "uint32")),
    "Electron": (("PT", F), ("Eta", F), ("Phi", F), ("Charge", I)),
    "Muon": (("PT", F), ("Eta", F), ("Phi", F), ("Charge", I)),
    "MissingET": (("MET", F), ("Phi", F)),
    "Event": (("Weight", F),),
}
BEAMS = [(2212, 4, -1, 0.0, 999.9, 0.0, 0.938), (2212, 4, -1, 0.0, -999.9, 0.0, 0.938)]


def write_delphes(path, events, style="dot", drop=(), tree="Delphes"):
    """A Delphes-like tree: ``style`` "dot" (``Muon.PT`` with ``Muon_size`` counters, as
    uproot reads a real Delphes file) or "underscore" (``Muon_PT`` with ``nMuon``, as
    other converters write); ``drop``: branch names (dot spelling) to leave out."""
    columns = {}
    for collection, fields in FIELDS.items():
        rows = [event.get(collection, []) for event in events]
        for k, (field, dtype) in enumerate(fields):
            if f"{collection}.{field}" not in drop:
                columns[(collection, field)] = ak.values_astype(
                    ak.Array([[row[k] for row in objects] for objects in rows]), dtype)
    sep, counter = (".", "{}_size") if style == "dot" else ("_", "n{}")
    types, data = {}, {}
    for (collection, field), array in columns.items():
        types[counter.format(collection)] = np.int32
        data[counter.format(collection)] = ak.to_numpy(ak.num(array)).astype(np.int32)
        types[f"{collection}{sep}{field}"] = f"var * {array.type.content.content}"
        data[f"{collection}{sep}{field}"] = array
    with uproot.recreate(path) as f:
        f.mktree(tree, types, counter_name=lambda name: counter.format(name.split(sep)[0]))
        f[tree].extend(data)
    return path


def zjets_events():
    """0: Z->mumu + 2 jets, passes both (dressed mu-, a b jet, a soft muon from a B below
    the cut, a photon near the mu-, a GenJet on the mu- removed by overlap removal);
    1: a muon lost at detector level (particle only); 2: no muons (dropped);
    3: one muon from a tau: Z+jets counts every final-state muon, as `lhcgen data zjets`
    (passes both); 4: as 1 with a NaN weight (left out, counted)."""
    e0 = {"Particle": [*BEAMS,
                       (23, 22, 0, 30.0, 0.1, 1.0, 91.2),          # 2 Z
                       (13, 1, 2, 45.0, 0.5, 0.1, 0.10566),        # 3 mu- (prompt)
                       (-13, 1, 2, 40.0, -0.3, 2.8, 0.10566),      # 4 mu+ (prompt)
                       (22, 1, 3, 2.0, 0.52, 0.12, 0.0),           # 5 FSR photon of mu-
                       (111, 2, 0, 10.0, 1.5, -2.0, 0.135),        # 6 pi0
                       (22, 1, 6, 3.0, 0.45, 0.08, 0.0),           # 7 photon of the pi0
                       (511, 2, 0, 20.0, -1.0, -1.0, 5.28),        # 8 B0
                       (13, 1, 8, 8.0, -1.02, -1.0, 0.10566)],     # 9 mu- of the B
          "GenJet": [(60.0, 1.2, -2.0, 6.0), (35.0, -1.0, -1.05, 5.0), (47.0, 0.5, 0.1, 1.0)],
          "Jet": [(58.0, 1.2, -2.0, 5.0, 0), (33.0, -1.0, -1.05, 4.0, 3),
                  (25.0, 3.0, 1.5, 3.0, 2)],
          "Muon": [(45.5, 0.5, 0.1, -1), (39.0, -0.3, 2.8, 1)],
          "MissingET": [(12.0, 0.7)], "Event": [(2.5,)]}
    e1 = {"Particle": [*BEAMS, (23, 22, 0, 5.0, 0.0, 0.0, 91.2),
                       (13, 1, 2, 50.0, 0.0, 0.0, 0.10566),
                       (-13, 1, 2, 30.0, 1.0, 3.0, 0.10566)],
          "GenJet": [(40.0, 2.0, -1.5, 4.0)],
          "Jet": [(38.0, 2.0, -1.5, 4.0, 0)],
          "Muon": [(49.0, 0.0, 0.0, -1)],
          "MissingET": [(20.0, -1.0)], "Event": [(1.0,)]}
    e2 = {"Particle": BEAMS, "GenJet": [(100.0, 0.0, 0.0, 10.0)],
          "Jet": [(95.0, 0.0, 0.0, 10.0, 0)], "MissingET": [(5.0, 0.0)], "Event": [(1.0,)]}
    e3 = {"Particle": [*BEAMS, (23, 22, 0, 5.0, 0.0, 0.0, 91.2),
                       (13, 1, 2, 50.0, 0.3, 0.5, 0.10566),        # 3 prompt mu-
                       (-15, 2, 2, 40.0, -0.7, -2.5, 1.777),       # 4 tau+
                       (-13, 1, 4, 30.0, -0.7, -2.5, 0.10566)],    # 5 mu+ of the tau
          "GenJet": [(40.0, 1.0, 1.5, 4.0)],
          "Jet": [(41.0, 1.0, 1.5, 4.0, 0)],
          "Muon": [(50.0, 0.3, 0.5, -1), (29.0, -0.7, -2.5, 1)],
          "MissingET": [(15.0, 2.0)], "Event": [(0.5,)]}
    e4 = {**e1, "Event": [(float("nan"),)]}
    return [e0, e1, e2, e3, e4]


def ttbar_events():
    """0: t -> b mu+ nu, tbar -> bbar q q': 1 muon, 4 jets (2 b by B hadrons, one GenJet
    next to a B hadron below 5 GeV), a fifth jet below the cut, two prompt neutrinos and a
    non-prompt one; 1: the same with a positron (passes emu and e, not mu)."""
    particles = [*BEAMS,
                 (6, 62, 0, 100.0, 0.5, 0.5, 173.0),               # 2 t
                 (24, 22, 2, 60.0, 0.0, -1.0, 80.4),               # 3 W+
                 (-13, 1, 3, 50.0, 0.2, 0.3, 0.10566),             # 4 mu+
                 (14, 1, 3, 40.0, -0.5, -2.5, 0.0),                # 5 nu_mu
                 (16, 1, 2, 10.0, 0.0, 1.0, 0.0),                  # 6 a second prompt nu
                 (521, 2, 0, 30.0, 1.0, 1.0, 5.28),                # 7 B+
                 (12, 1, 7, 5.0, 1.1, 0.9, 0.0),                   # 8 nu_e of the B+
                 (-5122, 2, 0, 20.0, -1.5, -0.5, 5.62),            # 9 anti-Lambda_b
                 (511, 2, 0, 3.0, 2.0, 2.5, 5.28)]                 # 10 soft B0
    genjets = [(80.0, 1.0, 1.05, 8.0), (60.0, -1.5, -0.45, 7.0), (45.0, 2.0, 2.45, 5.0),
               (30.0, -2.0, -2.9, 4.0), (20.0, 0.0, -1.5, 3.0), (52.0, 0.2, 0.3, 1.0)]
    jets = [(78.0, 1.0, 1.05, 8.0, 1), (62.0, -1.5, -0.45, 7.0, 1), (44.0, 2.0, 2.45, 5.0, 0),
            (31.0, -2.0, -2.9, 4.0, 0)]
    e0 = {"Particle": particles, "GenJet": genjets, "Jet": jets,
          "Muon": [(49.0, 0.2, 0.3, 1)], "MissingET": [(38.0, -2.4)], "Event": [(1.0,)]}
    electron = [(-11 if p[0] == -13 else p[0], *p[1:]) for p in particles]
    e1 = {"Particle": electron, "GenJet": genjets, "Jet": jets,
          "Electron": [(49.0, 0.2, 0.3, 1)], "MissingET": [(38.0, -2.4)],
          "Event": [(1.0,)]}
    return [e0, e1]


def p4(pt, eta, phi, m):
    return fv.from_pt_eta_phi_m(*(np.float64(np.float32(v)) for v in (pt, eta, phi, m)))


def check_ptetaphi(got, pt, eta, phi):
    np.testing.assert_allclose([fv.pt(got), fv.eta(got), fv.phi(got)], [pt, eta, phi],
                               rtol=1e-5, atol=1e-5)


@pytest.fixture
def zjets_file(tmp_path):
    return write_delphes(tmp_path / "zjets.root", zjets_events())


def test_zjets_levels_pass_flags_and_objects(zjets_file, tmp_path):
    out = tmp_path / "paired.h5"
    done = import_delphes(zjets_file, out, progress=False)
    assert done["events_read"] == 5 and done["written"] == 3
    assert (done["passed_particle"], done["passed_detector"], done["passed_both"]) == (4, 2, 2)
    assert done["nonfinite_weight"] == 1

    s = read_paired(out)
    assert len(s) == 3
    np.testing.assert_array_equal(s.event_info["entry"], [0, 1, 3])
    np.testing.assert_allclose(s.weights, [2.5, 1.0, 0.5])
    np.testing.assert_array_equal(s.particle.passed, [True, True, True])
    np.testing.assert_array_equal(s.detector.passed, [True, False, True])
    assert s.particle.object_names == ("mu1", "mu2", "j1", "j2", "j3")
    assert s.detector.object_names == ("mu1", "mu2", "met", "j1", "j2", "j3")

    # Event 0, particle level: the mu- dressed with both photons within 0.1 (Z+jets dresses
    # with every final-state photon, as `lhcgen data zjets`), mu+, the GenJet on the mu-
    # removed, the GenJet next to the B0 is a b jet.
    part = s.particle
    np.testing.assert_array_equal(part.object_type[0], [13, -13, 1, 5, 0])
    np.testing.assert_allclose(part.momenta[0, 0], p4(45.0, 0.5, 0.1, 0.10566)
                               + p4(2.0, 0.52, 0.12, 0.0) + p4(3.0, 0.45, 0.08, 0.0),
                               rtol=1e-12)
    check_ptetaphi(part.momenta[0, 1], 40.0, -0.3, 2.8)
    check_ptetaphi(part.momenta[0, 2], 60.0, 1.2, -2.0)
    check_ptetaphi(part.momenta[0, 3], 35.0, -1.0, -1.05)
    assert fv.mass(part.momenta[0, 3]) == pytest.approx(5.0, rel=1e-5)
    np.testing.assert_array_equal(part.n_jets_all, [2, 1, 1])
    # Event 3: the muon from the tau counts for Z+jets (every final-state muon).
    np.testing.assert_array_equal(part.object_type[2], [13, -13, 1, 0, 0])

    # Detector level: Delphes' muons with signed PDG ids, MET (E = MET, pz = 0), jets by
    # pT; BTag 3 has bit 0 (b), BTag 2 has not.
    det = s.detector
    np.testing.assert_array_equal(det.object_type[0], [13, -13, MET, 1, 5, 1])
    check_ptetaphi(det.momenta[0, 0], 45.5, 0.5, 0.1)
    assert fv.mass(det.momenta[0, 0]) == pytest.approx(0.10566, rel=1e-3)
    check_ptetaphi(det.momenta[0, 1], 39.0, -0.3, 2.8)
    met = det.momenta[0, 2]
    np.testing.assert_allclose(met, [12.0, 12.0 * math.cos(0.7), 12.0 * math.sin(0.7), 0.0],
                               rtol=1e-6, atol=1e-6)
    check_ptetaphi(det.momenta[0, 4], 33.0, -1.0, -1.05)
    check_ptetaphi(det.momenta[0, 5], 25.0, 3.0, 1.5)
    np.testing.assert_array_equal(det.object_type[1], [13, 0, MET, 1, 0, 0])
    np.testing.assert_array_equal(det.object_type[2], [13, -13, MET, 1, 0, 0])
    np.testing.assert_array_equal(det.n_jets_all, [3, 1, 1])

    a = s.attrs
    assert a["process"] == "zjets_paired" and a["source"] == "delphes"
    assert a["input_file"] == str(zjets_file) and a["tree"] == "Delphes"
    assert a["detector_card"] is None and "card not recorded" in a["detector"]
    assert a["cuts_particle"]["n_leptons"] == 2 and a["cuts_detector"]["jet_pt_min"] == 20.0
    assert a["cut_flow"] == {"events_read": 5, "passed_particle": 4, "passed_detector": 2,
                             "passed_both": 2, "kept": 3, "nonfinite_weight": 1}
    assert "ghost association" in a["definitions"]["particle_bjets"]


def test_chunks_underscore_names_and_max_events(zjets_file, tmp_path):
    reference = tmp_path / "ref.h5"
    import_delphes(zjets_file, reference, progress=False)
    ref = read_paired(reference)

    chunked = tmp_path / "chunked.h5"
    import_delphes(zjets_file, chunked, progress=False, step_size=2)
    underscore = write_delphes(tmp_path / "underscore.root", zjets_events(),
                               style="underscore")
    with uproot.open(underscore) as f:
        assert "Muon_PT" in f["Delphes"].keys()
    other = tmp_path / "underscore.h5"
    import_delphes(underscore, other, progress=False)
    for path in (chunked, other):
        s = read_paired(path)
        for level in ("particle", "detector"):
            for key in ("momenta", "object_type", "passed", "n_jets_all"):
                np.testing.assert_array_equal(getattr(s.level(level), key),
                                              getattr(ref.level(level), key))
        np.testing.assert_array_equal(s.weights, ref.weights)
        np.testing.assert_array_equal(s.event_info["entry"], ref.event_info["entry"])

    first = tmp_path / "first2.h5"
    done = import_delphes(zjets_file, first, max_events=2, progress=True)
    assert done["events_read"] == 2 and done["written"] == 2


def test_ttbar_neutrino_slot_and_b_hadron_flavour(tmp_path):
    path = write_delphes(tmp_path / "ttbar.root", ttbar_events())
    out = tmp_path / "ttbar.h5"
    done = import_delphes(path, out, process="ttbar", lepton="emu", progress=False)
    assert done["written"] == 2 and done["passed_both"] == 2
    s = read_paired(out)
    assert s.attrs["process"] == "ttbar_paired"
    part, det = s.particle, s.detector
    assert part.object_names[:2] == ("lepton", "neutrino")
    # GenJets: b (B+ 30 GeV), b (anti-Lambda_b), light (a B0 of 3 GeV only), light;
    # the 20 GeV one is below the cut, the one on the muon removed by overlap removal.
    np.testing.assert_array_equal(part.object_type[0, :7], [-13, NEUTRINO, 5, 5, 1, 1, 0])
    np.testing.assert_array_equal(part.object_type[1, :2], [-11, NEUTRINO])
    np.testing.assert_array_equal(part.n_jets_all, [4, 4])
    np.testing.assert_allclose(part.momenta[0, 1], p4(40.0, -0.5, -2.5, 0.0)
                               + p4(10.0, 0.0, 1.0, 0.0), rtol=1e-12)
    check_ptetaphi(part.momenta[0, 0], 50.0, 0.2, 0.3)
    np.testing.assert_array_equal(det.object_type[0, :7], [-13, MET, 5, 5, 1, 1, 0])
    np.testing.assert_array_equal(det.object_type[1, :2], [-11, MET])
    np.testing.assert_allclose(det.momenta[0, 1, [0, 3]], [38.0, 0.0], atol=1e-6)
    assert fv.phi(det.momenta[0, 1]) == pytest.approx(-2.4, abs=1e-6)

    mu_only = tmp_path / "mu.h5"
    done = import_delphes(path, mu_only, process="ttbar", lepton="mu", progress=False)
    assert done["written"] == 1
    np.testing.assert_array_equal(read_paired(mu_only).event_info["entry"], [0])


def test_bad_inputs_are_one_error_and_write_nothing(tmp_path, zjets_file):
    out = tmp_path / "out.h5"
    with pytest.raises(LhcgenError, match="no such file"):
        import_delphes(tmp_path / "missing.root", out, progress=False)
    text = tmp_path / "notroot.root"
    text.write_text("this is not a ROOT file\n")
    with pytest.raises(LhcgenError, match="not a readable ROOT file"):
        import_delphes(text, out, progress=False)
    with pytest.raises(LhcgenError, match="no tree 'Events'.*Delphes"):
        import_delphes(zjets_file, out, tree="Events", progress=False)
    no_btag = write_delphes(tmp_path / "nobtag.root", zjets_events(), drop=("Jet.BTag",))
    with pytest.raises(LhcgenError) as info:
        import_delphes(no_btag, out, progress=False)
    assert str(info.value) == (f"{no_btag}: tree 'Delphes' has no branch 'Jet.BTag' "
                               "(needed for b-tagged jets)")
    no_electrons = write_delphes(tmp_path / "noel.root", ttbar_events(),
                                 drop=("Electron.Charge",))
    with pytest.raises(LhcgenError, match="no branch 'Electron.Charge'.*electrons"):
        import_delphes(no_electrons, out, process="ttbar", progress=False)
    # Muons only are needed for Z->mumu and for a ttbar muon selection.
    import_delphes(no_electrons, out, process="ttbar", lepton="mu", progress=False)
    out.unlink()
    with pytest.raises(LhcgenError, match="none of the 5 events passes the ttbar"):
        import_delphes(zjets_file, out, process="ttbar", progress=False)
    assert list(tmp_path.glob("out*")) == []


@pytest.fixture
def cli(monkeypatch):
    """`lhcgen data` with import-delphes, whether or not cli/data.py adds it yet."""
    original = cli_data.add_parsers

    def add_parsers(sub):
        original(sub)
        data = sub.choices["data"]
        action = next(a for a in data._actions if isinstance(a, argparse._SubParsersAction))
        if "import-delphes" not in action.choices:
            add_import_delphes(action)

    monkeypatch.setattr(cli_data, "add_parsers", add_parsers)
    return main


def test_cli_end_to_end(cli, zjets_file, tmp_path, capsys):
    out = tmp_path / "cli.h5"
    assert cli(["data", "import-delphes", str(zjets_file), "--out", str(out),
                "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == (
        f"wrote 3 paired events (4 pass particle level, 2 pass detector level, of 5 read) "
        f"from {zjets_file} to {out}; 1 event(s) with a NaN or infinite weight left out")
    assert captured.err == ""
    assert len(read_paired(out)) == 3

    ttbar = write_delphes(tmp_path / "ttbar.root", ttbar_events())
    out2 = tmp_path / "cli_tt.h5"
    assert cli(["--no-progress", "data", "import-delphes", str(ttbar), "--out", str(out2),
                "--process", "ttbar", "--lepton", "e", "--events", "2",
                "--tree", "Delphes"]) == 0
    assert capsys.readouterr().out.startswith("wrote 1 paired events (1 pass particle")

    missing = tmp_path / "missing.root"
    assert cli(["data", "import-delphes", str(missing), "--out", str(out2)]) == 1
    one_line_error(capsys, "lhcgen: error:", "missing.root: no such file")

    with pytest.raises(SystemExit) as exit_info:
        cli(["data", "import-delphes", str(zjets_file), "--out", str(out2), "--lepton", "tau"])
    assert exit_info.value.code == 2
    one_line_error(capsys, "invalid choice: 'tau'")

    with pytest.raises(SystemExit) as exit_info:
        cli(["data", "import-delphes", "--help"])
    assert exit_info.value.code == 0
    assert "ghost association" in capsys.readouterr().out
