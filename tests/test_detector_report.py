"""The detector report on synthetic paired events with a known detector (no Pythia).

Truth: two muons and 1-3 jets (30 % b jets). Detector: muons kept with 90 % efficiency and
2 % pT smearing; jets kept with 95 %, pT ratio 0.95 + 0.10 N(0, 1), angles smeared by 0.02,
b-tagged with 70 % (b jets) or 1 % (light jets); 15 % of events get an extra soft jet.
"""

import json

import h5py
import numpy as np
import pytest

from lhcgen.cli import detector as detector_cli
from lhcgen.cli.args import Parser
from lhcgen.data.paired import MET, NEUTRINO, PairedSample, write_paired
from lhcgen.data.paired_cuts import zjets_cuts
from lhcgen.data.paired_selection import FlatObjects, assemble_level
from lhcgen.errors import LhcgenError
from lhcgen.evaluate.detector import objects, plots
from lhcgen.evaluate.detector.matching import greedy_match, match_levels
from lhcgen.evaluate.detector.migration import migration_matrix
from lhcgen.evaluate.detector.report import detector_metrics, detector_report
from lhcgen.physics import fourvectors as fv
from tests.cli_helpers import one_line_error

JET_SCALE, JET_RES, MU_RES, ANGLE = 0.95, 0.10, 0.02, 0.02
MU_EFF, JET_EFF, BTAG, MISTAG = 0.90, 0.95, 0.70, 0.01
MET_SCALE, MET_RES = 0.9, 0.15
CARD = {"muons": {"efficiency": 0.9, "resolution": "0.02 * pT"},
        "jets": {"resolution": "0.10 * pT", "scale": 0.95},
        "btag": {"efficiency": 0.7, "mistag": 0.01}}


def _flat(event, pt, eta, phi, label) -> FlatObjects:
    order = np.argsort(event, kind="stable")
    p4 = fv.from_pt_eta_phi_massless(pt, eta, phi)
    return FlatObjects(event[order], p4[order], label[order])


def synthetic_paired(n: int, seed: int, neutrino: bool = False) -> PairedSample:
    rng = np.random.default_rng(seed)
    cuts = zjets_cuts()
    ev_mu = np.repeat(np.arange(n), 2)
    mu_pt = 20.5 + rng.exponential(30.0, 2 * n)
    mu_eta, mu_phi = rng.uniform(-2.4, 2.4, 2 * n), rng.uniform(-np.pi, np.pi, 2 * n)
    mu_label = np.tile([13, -13], n)
    n_jets = rng.integers(1, 4, n)
    ev_j = np.repeat(np.arange(n), n_jets)
    m = len(ev_j)
    j_pt = 20.5 + rng.exponential(40.0, m)
    j_eta, j_phi = rng.uniform(-4.0, 4.0, m), rng.uniform(-np.pi, np.pi, m)
    is_b = rng.random(m) < 0.3

    keep_mu = rng.random(2 * n) < MU_EFF
    r_mu = _flat(ev_mu[keep_mu], (mu_pt * (1 + MU_RES * rng.normal(size=2 * n)))[keep_mu],
                 (mu_eta + 1e-3 * rng.normal(size=2 * n))[keep_mu],
                 (mu_phi + 1e-3 * rng.normal(size=2 * n))[keep_mu], mu_label[keep_mu])
    keep_j = rng.random(m) < JET_EFF
    tagged = np.where(is_b, rng.random(m) < BTAG, rng.random(m) < MISTAG)
    fake = np.flatnonzero(rng.random(n) < 0.15)
    r_j = _flat(np.concatenate([ev_j[keep_j], fake]),
                np.concatenate([(j_pt * (JET_SCALE + JET_RES * rng.normal(size=m)))[keep_j],
                                rng.uniform(20.0, 40.0, len(fake))]),
                np.concatenate([(j_eta + ANGLE * rng.normal(size=m))[keep_j],
                                rng.uniform(-4.0, 4.0, len(fake))]),
                np.concatenate([(j_phi + ANGLE * rng.normal(size=m))[keep_j],
                                rng.uniform(-np.pi, np.pi, len(fake))]),
                np.concatenate([tagged[keep_j], np.zeros(len(fake), bool)]))

    nu = None
    if neutrino:
        nu_pt, nu_phi = 10.0 + rng.exponential(40.0, n), rng.uniform(-np.pi, np.pi, n)
        nu = fv.from_pt_eta_phi_massless(nu_pt, rng.normal(0.0, 1.5, n), nu_phi)
        met_pt = nu_pt * (MET_SCALE + MET_RES * rng.normal(size=n))
        met_phi = nu_phi + 0.05 * rng.normal(size=n)
    else:
        visible = [np.bincount(r_mu.event, r_mu.p4[:, k], n)
                   + np.bincount(r_j.event, r_j.p4[:, k], n) for k in (1, 2)]
        met_pt, met_phi = np.hypot(*visible), np.arctan2(-visible[1], -visible[0])
    met = np.stack([met_pt, met_pt * np.cos(met_phi), met_pt * np.sin(met_phi),
                    np.zeros(n)], axis=1)

    particle = assemble_level(n, _flat(ev_mu, mu_pt, mu_eta, mu_phi, mu_label),
                              _flat(ev_j, j_pt, j_eta, j_phi, is_b), cuts.particle, nu,
                              NEUTRINO, cuts.lepton_names, "neutrino")
    detector = assemble_level(n, r_mu, r_j, cuts.detector, met, MET, cuts.lepton_names, "met")
    sample = PairedSample(particle, detector, rng.uniform(0.5, 1.5, n),
                          {"process": "zjets_paired", "detector_card": CARD})
    sample = sample.subset(particle.passed | detector.passed)
    sample.check("synthetic")
    return sample


@pytest.fixture(scope="module")
def sample():
    return synthetic_paired(20_000, 1)


@pytest.fixture(scope="module")
def metrics(sample):
    return detector_metrics(sample, "synthetic")


def _within(value, expected, error, n_sigma=4.0):
    assert value is not None and error is not None and error > 0
    assert abs(value - expected) < n_sigma * error, (value, expected, error)


def _half_width(b):
    return 0.5 * (b["high"] - b["low"])


# ------------------------------------------------------------------------ matching

def test_greedy_takes_the_closest_pair_first():
    # truth 0 is 0.05 from reco 0; truth 1 is 0.03 from reco 0 and 0.15 from reco 1
    distance = np.array([[[0.05, 0.50], [0.03, 0.15]]])
    index, best = greedy_match(distance, np.full_like(distance, 0.2))
    assert index.tolist() == [[-1, 0]] and best[0, 1] == pytest.approx(0.03)
    index, _ = greedy_match(np.array([[[0.05, 0.10], [0.03, 0.15]]]),
                            np.full((1, 2, 2), 0.2))
    assert index.tolist() == [[1, 0]]


def test_leptons_match_only_their_flavour(sample):
    p, d = sample.particle.subset(np.arange(1)), sample.detector.subset(np.arange(1))
    d.object_type[0, :2] = np.where(d.mask[0, :2], 11, 0)  # detector muons become electrons
    matched = match_levels(p, d).index[0, :2]
    assert (matched == -1).all()


def test_matching_never_uses_a_detector_object_twice(sample):
    matches = match_levels(sample.particle, sample.detector)
    index = matches.index
    assert matches.matched.sum() > 0.8 * sample.particle.mask.sum()
    for row in index[:5000]:
        used = row[row >= 0]
        assert len(used) == len(np.unique(used))
    ev, slot = np.nonzero(matches.matched)
    partner = index[ev, slot]
    assert sample.detector.mask[ev, partner].all()
    t_type, r_type = sample.particle.object_type[ev, slot], sample.detector.object_type[ev, partner]
    jets = np.isin(t_type, (1, 5))
    assert np.isin(r_type[jets], (1, 5)).all()
    assert (np.abs(t_type[~jets]) == np.abs(r_type[~jets])).all()
    limit = np.where(jets, 0.2, 0.1)
    dr = fv.delta_r(sample.particle.momenta[ev, slot], sample.detector.momenta[ev, partner])
    assert (dr < limit).all() and np.allclose(dr, matches.delta_r[ev, slot])


# ------------------------------------------------------------------------ numbers

def test_jet_response_and_resolution(metrics):
    jets = metrics["objects"]["jet"]["response"]["pt"]
    checked = 0
    for b in jets["bins"]:
        if b["low_edge"] >= 50 and b["n"] >= 500:
            _within(b["response"], JET_SCALE, b["response_error"])
            _within(b["resolution"], JET_RES, b["resolution_error"])
            assert b["std"] == pytest.approx(JET_RES, rel=0.15)
            checked += 1
    assert checked >= 3
    head = metrics["objects"]["jet"]["headline_bin"]
    _within(head["response"], JET_SCALE, head["response_error"])
    assert metrics["headline"]["jet_resolution_50_100"] == pytest.approx(JET_RES, abs=0.005)
    for b in metrics["objects"]["jet"]["response"]["abs_eta"]["bins"]:
        if b["n"] >= 500:
            assert b["resolution"] == pytest.approx(JET_RES, abs=0.02)


def test_muon_response_and_efficiency(metrics):
    muons = metrics["objects"]["muon"]
    for b in muons["response"]["pt"]["bins"]:
        if b["n"] >= 500:
            _within(b["response"], 1.0, b["response_error"])
            _within(b["resolution"], MU_RES, b["resolution_error"])
    checked = 0
    for b in muons["efficiency"]["pt"]["bins"]:
        if b["low_edge"] >= 25 and b["n"] >= 500:
            _within(b["efficiency"], MU_EFF, _half_width(b))
            assert b["low"] <= b["efficiency"] <= b["high"]
            checked += 1
    assert checked >= 4
    for b in muons["efficiency"]["abs_eta"]["bins"]:
        assert b["efficiency"] == pytest.approx(MU_EFF, abs=0.03)
    assert "electron" not in metrics["objects"]


def test_jet_efficiency_btag_and_angles(metrics):
    jet = metrics["objects"]["jet"]
    for b in jet["efficiency"]["pt"]["bins"]:
        if b["low_edge"] >= 50 and b["n"] >= 500:
            _within(b["efficiency"], JET_EFF, _half_width(b))
    assert jet["n_left_out_detector_truncated"] > 0
    btag = metrics["btag"]
    _within(btag["efficiency"]["overall"]["efficiency"], BTAG,
            _half_width(btag["efficiency"]["overall"]))
    _within(btag["mistag"]["overall"]["efficiency"], MISTAG,
            _half_width(btag["mistag"]["overall"]))
    for key in ("eta", "phi"):
        overall = jet["angular"][key]["overall"]
        _within(overall["width"], ANGLE, overall["width_error"])


def test_met_against_the_neutrino():
    s = synthetic_paired(3000, 5, neutrino=True)
    met = objects.met_tables(s)
    _within(met["overall"]["response"], MET_SCALE, met["overall"]["response_error"])
    _within(met["overall"]["resolution"] / MET_SCALE, MET_RES / MET_SCALE,
            met["overall"]["resolution_error"] / MET_SCALE)


def test_met_is_skipped_without_a_neutrino_slot(metrics):
    assert "neutrino" in metrics["met"]["skipped"]


def test_migration_matrix_is_the_weighted_histogram(sample, metrics):
    m = metrics["migration"]
    k = m["last_bin"]
    assert 2 <= k <= 5 and m["labels"][-1] == f">={k}"
    direct = np.histogram2d(np.minimum(sample.particle.n_jets_all, k),
                            np.minimum(sample.detector.n_jets_all, k),
                            bins=np.arange(k + 2) - 0.5, weights=sample.weights)[0]
    np.testing.assert_allclose(m["counts"], direct)
    filled = direct.sum(axis=1) > 0
    np.testing.assert_allclose(m["normalised"][filled].sum(axis=1), 1.0)
    np.testing.assert_allclose(m["stability"][filled], np.diag(direct)[filled]
                               / direct.sum(axis=1)[filled])
    np.testing.assert_allclose(m["purity"], np.diag(direct) / direct.sum(axis=0))
    assert 0.3 < m["diagonal_fraction"] < 1.0
    assert (np.asarray(m["counts"]) != np.diag(np.diag(m["counts"]))).any()  # jets migrate
    fixed = migration_matrix(sample, last=2)
    assert fixed["labels"] == ["0", "1", ">=2"]
    table = metrics["pass_table"]
    assert table["neither"]["events"] == 0
    assert table["particle_only"]["events"] > 0  # lost muons
    assert sum(table[c]["events"] for c in ("both", "particle_only", "detector_only")) \
        == len(sample)
    assert table["selection_efficiency"] == pytest.approx(0.81, abs=0.03)  # 0.9^2 muons


# ------------------------------------------------------------------------ report and CLI

@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("detector")
    path = folder / "paired.h5"
    write_paired(path, synthetic_paired(4000, 2))
    out = folder / "report"
    return path, out, detector_report(path, out, progress=False)


def test_report_writes_json_markdown_html_and_figures(report):
    _, out, result = report
    saved = json.loads((out / "detector.json").read_text())
    assert saved["headline"] == result["headline"]
    for key in ("objects", "btag", "met", "migration", "pass_table", "detector_card",
                "headline", "definitions", "figures"):
        assert key in saved, key
    assert saved["detector_card"] == CARD
    assert set(saved["objects"]) == {"muon", "jet"}
    bin_ = saved["objects"]["jet"]["efficiency"]["pt"]["bins"][0]
    assert {"low_edge", "high_edge", "n", "efficiency", "low", "high"} <= set(bin_)
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert {"response_jet.png", "resolution_muon.png", "efficiency_jet.png", "btag.png",
            "angular_jet.png", "migration_njets.png"} <= set(pngs)
    assert all((out / p).read_bytes()[:4] == b"\x89PNG" for p in pngs)
    page = (out / "index.html").read_text()
    assert page.count("data:image/png;base64,") == len(pngs)
    assert "zjets_paired" in page and "0.10 * pT" in page
    md = (out / "detector.md").read_text()
    assert "## jets" in md and "| pT [GeV] |" in md and "stability" in md
    assert not list(out.parent.glob(".*.part"))


def test_report_error_leaves_nothing_behind(report, tmp_path, monkeypatch):
    path, _, _ = report

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(plots, "profile_figure", broken)
    with pytest.raises(RuntimeError):
        detector_report(path, tmp_path / "new", progress=False)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "keep.txt").write_text("old")
    with pytest.raises(RuntimeError):
        detector_report(path, tmp_path / "old", progress=False)
    assert [p.name for p in tmp_path.iterdir()] == ["old"]
    assert (tmp_path / "old" / "keep.txt").read_text() == "old"


def _cli(argv):
    """What lhcgen.cli.main does for this subcommand: parse, run, one line on error."""
    parser = Parser(prog="lhcgen")
    detector_cli.add_parsers(parser.add_subparsers(dest="command", parser_class=Parser))
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except LhcgenError as exc:
        import sys
        print(f"lhcgen: error: {exc}", file=sys.stderr)
        return 1


def test_cli_prints_one_line_with_headline(report, tmp_path, capsys):
    path, _, _ = report
    assert _cli(["detector", str(path), "--report", str(tmp_path / "r"), "--no-progress"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "index.html" in out[0]
    assert "jet response (50-100 GeV)" in out[0] and "muon efficiency" in out[0]


def test_cli_bad_input_is_one_line(tmp_path, capsys):
    assert _cli(["detector", str(tmp_path / "missing.h5"), "--report",
                 str(tmp_path / "r")]) == 1
    one_line_error(capsys, "missing.h5", "no such file")
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.create_dataset("momenta", data=np.zeros((3, 2, 4)))
    assert _cli(["detector", str(other), "--report", str(tmp_path / "r")]) == 1
    one_line_error(capsys, "not a paired")
    assert not (tmp_path / "r").exists()


def test_cli_help_describes_the_report(capsys):
    with pytest.raises(SystemExit):
        _cli(["detector", "--help"])
    text = capsys.readouterr().out
    assert "--report DIR" in text and "migration" in text and "Delta R < 0.2" in text


def test_main_runs_the_subcommand(report, tmp_path, capsys, monkeypatch):
    import lhcgen.cli as cli

    if detector_cli not in cli.SUBCOMMANDS:
        monkeypatch.setattr(cli, "SUBCOMMANDS", (*cli.SUBCOMMANDS, detector_cli))
    assert cli.main(["detector", str(tmp_path / "nope.h5"), "--report",
                     str(tmp_path / "r")]) == 1
    one_line_error(capsys, "nope.h5")


def test_card_parts_find_nested_sections():
    from lhcgen.evaluate.detector.report import card_parts

    card = {"tracking": {"muon": {"resolution": 1}, "electron": {}}, "muon": {"eff": 2},
            "energy_fractions": {"default_ecal": 0.0}, "ecal": {"a": 1}}
    assert card_parts(card, "muon") == {"tracking.muon": {"resolution": 1},
                                        "muon": {"eff": 2}}
    assert list(card_parts(card, "jet")) == ["ecal"]
    assert card_parts(None, "muon") == {}
