"""Users' own Monte Carlo: LHE files showered with Pythia, HepMC3 files through the same
selection, MC weights carried, dask shards equal to the multiprocessing ones, bad inputs."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest

from lhcgen.cli import main
from lhcgen.data.hdf5 import read_events
from lhcgen.data.jet_hdf5 import read_jets
from lhcgen.data.jets import JetSettings, select_jets
from lhcgen.data.jets import make_pythia as make_jet_pythia
from lhcgen.data.shards import generate_zjets
from lhcgen.data.zjets import ZJetsSettings, make_pythia, select_batch
from lhcgen.physics.fourvectors import eta, pt
from tests.cli_helpers import one_line_error
from tests.event_files import write_hepmc_from_pythia, write_lhe

pytestmark = pytest.mark.slow
WEIGHTS = [-150.0 if k % 5 == 0 else 150.0 for k in range(60)]


@pytest.fixture(scope="module")
def lhe_file(tmp_path_factory):
    return write_lhe(tmp_path_factory.mktemp("lhe") / "zmumu.lhe", 60, seed=4,
                     weights=WEIGHTS)


def test_lhe_is_showered_selected_and_keeps_negative_weights(lhe_file, tmp_path, capsys):
    out = tmp_path / "showered.h5"
    assert main(["--no-progress", "data", "zjets", "--lhe", str(lhe_file), "--workers", "1",
                 "--shard-size", "30", "--out", str(out)]) == 0
    assert "from" in capsys.readouterr().out
    sample = read_events(out)
    a = sample.attrs
    assert a["lhe_events_showered"] == 60 and a["lhe_cross_section_pb"] == 150.0
    assert a["lhe_generators"] == ["lhcgen-tests 1"]
    assert a["cut_flow"]["generated"] == 60
    assert 0 < len(sample) < 60  # the muon acceptance removes some events
    np.testing.assert_allclose(np.abs(sample.weights), 150.0)  # the LHE weights, in pb
    assert a["negative_weights_accepted"] == int((sample.weights < 0).sum()) > 0
    assert "hard_process" not in a["zjets_settings"]  # the LHE file's generator made it
    muons = sample.momenta[:, :2]
    assert np.all(pt(muons) > 20.0) and np.all(np.abs(eta(muons)) < 2.5)
    # the same events from the gzipped file, and with two shards on two workers
    gz = tmp_path / "zmumu.lhe.gz"
    with open(lhe_file, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    out_gz = tmp_path / "gz.h5"
    assert main(["--no-progress", "data", "zjets", "--lhe", str(gz), "--workers", "2",
                 "--shard-size", "30", "--out", str(out_gz)]) == 0
    np.testing.assert_array_equal(read_events(out_gz).momenta, sample.momenta)
    assert not list(tmp_path.glob("*.parts")) and not list(tmp_path.glob("tmp*"))


def test_lhe_bad_inputs(lhe_file, tmp_path, capsys):
    truncated = tmp_path / "cut.lhe"
    truncated.write_bytes(lhe_file.read_bytes()[:4000])
    electrons = write_lhe(tmp_path / "zee.lhe", 10, electrons=True)
    for path, needle in ((tmp_path / "missing.lhe", "no such LHE file"),
                         (truncated, "truncated"), (electrons, "needs Z(->mumu)+jets"),
                         (tmp_path, "no such LHE file")):
        assert main(["data", "zjets", "--lhe", str(path), "--out", str(tmp_path / "o.h5")]) == 1
        one_line_error(capsys, needle)
    assert not (tmp_path / "o.h5").exists() and not (tmp_path / "o.h5.parts").exists()
    assert main(["data", "zjets", "--out", str(tmp_path / "o.h5")]) == 1
    one_line_error(capsys, "--events is required")
    for extra, needle in ((["--pthat-min", "5"], "--pthat-min applies to --hard-process zjet"),
                          (["--hard-process", "z", "--pthat-min", "5"], "zjet only"),
                          (["--lhe", str(lhe_file), "--hard-process", "zjet"],
                           "the LHE file's generator chose it")):
        assert main(["data", "zjets", "--events", "10", *extra,
                     "--out", str(tmp_path / "o.h5")]) == 1
        one_line_error(capsys, needle)
    assert not (tmp_path / "o.h5").exists() and not (tmp_path / "o.h5.parts").exists()


def test_hepmc_zjets_gives_the_selection_of_the_same_pythia_events(tmp_path):
    batch = make_pythia(ZJetsSettings(), 9).nextBatch(80, "skip")
    weights = np.where(np.arange(80) % 4 == 0, -2.0, 1.0)
    expected = select_batch(batch, ZJetsSettings())
    for unit in ("GEV", "MEV"):
        path = write_hepmc_from_pythia(tmp_path / f"events_{unit}.hepmc", batch, unit, weights)
        out = tmp_path / f"{unit}.h5"
        assert main(["--no-progress", "data", "import-hepmc", str(path), "--process", "zjets",
                     "--out", str(out)]) == 0
        sample = read_events(out)
        np.testing.assert_allclose(sample.momenta, expected.momenta, rtol=1e-12, atol=1e-9)
        np.testing.assert_array_equal(sample.weights,
                                      weights[expected.stage == expected.stage.max()])
        assert sample.attrs["cut_flow"]["generated"] == 80


def test_hepmc_jets_gives_the_selection_of_the_same_pythia_events(tmp_path):
    settings = JetSettings(jet_type="t")
    batch = make_jet_pythia(settings, 5).nextBatch(12, "skip")
    expected = select_jets(batch, settings)
    path = write_hepmc_from_pythia(tmp_path / "tops.hepmc", batch)
    out = tmp_path / "tops.h5"
    assert main(["--no-progress", "data", "import-hepmc", str(path), "--process", "jets",
                 "--type", "t", "--out", str(out)]) == 0
    jets = read_jets(out)
    np.testing.assert_allclose(jets.particles, expected.particles, atol=1e-9)
    np.testing.assert_allclose(jets.jets, expected.jets, rtol=1e-9)


def test_hepmc_bad_inputs(tmp_path, capsys):
    batch = make_pythia(ZJetsSettings(), 9).nextBatch(5, "skip")
    good = write_hepmc_from_pythia(tmp_path / "good.hepmc", batch)
    cut = tmp_path / "cut.hepmc"
    cut.write_bytes(good.read_bytes()[:3000])
    text = tmp_path / "text.hepmc"
    text.write_text("hello\n")
    for path, needle in ((tmp_path / "none.hepmc", "no such HepMC file"),
                         (cut, "truncated HepMC3 file"), (text, "not a HepMC3 ASCII file")):
        assert main(["data", "import-hepmc", str(path), "--process", "zjets", "--out",
                     str(tmp_path / "o.h5")]) == 1
        one_line_error(capsys, needle)
    assert main(["data", "import-hepmc", str(good), "--process", "jets", "--out",
                 str(tmp_path / "o.h5")]) == 1
    one_line_error(capsys, "needs --type")
    assert not (tmp_path / "o.h5").exists()


def test_dask_local_cluster_gives_the_multiprocessing_events():
    a = generate_zjets(30, seed=11, workers=2, shard_size=10, progress=False,
                       scheduler="local")
    b = generate_zjets(30, seed=11, workers=2, shard_size=10, progress=False)
    np.testing.assert_array_equal(a.momenta, b.momenta)
    assert a.attrs["n_generated"] == b.attrs["n_generated"]


def test_unreachable_scheduler_is_one_line(tmp_path, capsys):
    out = tmp_path / "x.h5"
    assert main(["--no-progress", "data", "zjets", "--events", "10", "--scheduler",
                 "tcp://127.0.0.1:9", "--out", str(out)]) == 1
    one_line_error(capsys, "cannot reach the dask scheduler")
    assert not out.exists() and not (tmp_path / "x.h5.parts").exists()
