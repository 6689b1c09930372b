"""The paired particle/detector schema: slot filling and selection of one level, the file
round trip, the shard store, and refused files."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from lhcgen.data.paired import (
    B_JET,
    LIGHT_JET,
    MET,
    NEUTRINO,
    PairedSample,
    read_paired,
    write_paired,
)
from lhcgen.data.paired_cuts import ttbar_cuts, zjets_cuts
from lhcgen.data.paired_selection import FlatObjects, assemble_level
from lhcgen.data.shard_store import ShardStore
from lhcgen.errors import LhcgenError
from lhcgen.physics import fourvectors as fv


def objects(event, pt, eta, phi, mass, label):
    p4 = fv.from_pt_eta_phi_m(np.array(pt, float), np.array(eta, float),
                              np.array(phi, float), np.array(mass, float))
    return FlatObjects(np.array(event), p4, np.array(label))


def zjets_level(missing=None):
    """0: mu- mu+ and three jets, one within 0.4 of the mu- (removed), one b jet; 1: two
    mu- (same charge: fails); 2: one muon in the acceptance, the other at |eta| 2.7."""
    mu = objects([0, 0, 1, 1, 2, 2], [50, 30, 40, 35, 45, 60], [0, 1, 0, 1, 0, 2.7],
                 [0, 2, 0, 2, 0, 1], [0.1] * 6, [13, -13, 13, 13, -13, 13])
    jets = objects([0, 0, 0, 0, 2], [80, 25, 60, 15, 30], [0.2, -1, 0.1, 2, 1],
                   [0.1, -2, 3, 1, 1], [5] * 5, [False, True, False, False, False])
    cuts = zjets_cuts()
    return assemble_level(3, mu, jets, cuts.detector, missing, MET, cuts.lepton_names,
                          "met"), mu, jets


def test_one_level_slots_and_selection():
    missing = np.zeros((3, 4))
    missing[0] = [20.0, 12.0, -16.0, 0.0]
    level, mu, jets = zjets_level(missing)
    level.check("test")
    assert level.object_names == ("mu1", "mu2", "met", "j1", "j2", "j3")
    np.testing.assert_array_equal(level.passed, [True, False, False])
    # event 0: the 80 GeV jet at Delta R 0.14 from the mu- is removed; 60 GeV light, 25 b
    np.testing.assert_array_equal(level.object_type[0], [13, -13, MET, LIGHT_JET, B_JET, 0])
    np.testing.assert_allclose(level.momenta[0, 3], jets.p4[2])
    np.testing.assert_allclose(level.momenta[0, 2], missing[0])
    np.testing.assert_array_equal(level.n_jets_all, [2, 0, 1])
    # event 2: only the muon in the acceptance is stored; the MET slot stays empty
    np.testing.assert_array_equal(level.object_type[2], [-13, 0, 0, LIGHT_JET, 0, 0])
    assert not level.mask[1:, 2].any()


def test_ttbar_needs_four_jets_two_b_and_keeps_the_full_count():
    cuts = ttbar_cuts()
    lepton = objects([0, 1], [40, 40], [0, 0], [0, 0], [0.0005, 0.1], [11, -13])
    pts = [100, 90, 80, 70, 60, 50, 45, 40, 35, 30]
    jets = objects([0] * 10 + [1] * 4, pts + [100, 90, 80, 70], [1.0] * 14,
                   list(np.linspace(-3, 3, 10)) + [1, 2, 3, -2],
                   [5] * 14, [True, True] + [False] * 8 + [True] + [False] * 3)
    nu = np.zeros((2, 4))
    nu[:, :] = [30.0, 0.0, 30.0, 0.0]
    level = assemble_level(2, lepton, jets, cuts.particle, nu, NEUTRINO, cuts.lepton_names,
                           "neutrino")
    np.testing.assert_array_equal(level.passed, [True, False])  # event 1: one b jet
    np.testing.assert_array_equal(level.n_jets_all, [10, 4])
    np.testing.assert_array_equal(level.n_jets, [8, 4])
    assert level.object_type[0, 0] == 11 and level.object_type[0, 1] == NEUTRINO
    np.testing.assert_allclose(fv.pt(level.momenta[0, 2:]), pts[:8])


def paired_sample():
    det, _, _ = zjets_level(np.tile([10.0, 6.0, 8.0, 0.0], (3, 1)))
    cuts = zjets_cuts()
    mu = objects([0, 0, 2], [50, 30, 45], [0, 1, 0], [0, 2, 0], [0.1] * 3, [13, -13, 13])
    jets = objects([0, 2], [70, 30], [0.5, 1], [1, 1], [5, 5], [True, False])
    par = assemble_level(3, mu, jets, cuts.particle, None, NEUTRINO, cuts.lepton_names,
                         "neutrino")
    return PairedSample(par, det, np.array([1.0, -0.5, 2.0]), {"process": "zjets_paired",
                        "detector_card": {"name": "x"}}, {"entry": np.arange(3)})


def test_file_round_trip(tmp_path):
    sample = paired_sample()
    write_paired(tmp_path / "p.h5", sample)
    back = read_paired(tmp_path / "p.h5")
    for level in ("particle", "detector"):
        a, b = sample.level(level), back.level(level)
        for key in ("momenta", "mask", "object_type", "n_jets", "n_jets_all", "passed"):
            np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
        assert a.object_names == b.object_names
    np.testing.assert_array_equal(back.weights, sample.weights)
    assert back.attrs["detector_card"] == {"name": "x"}
    assert back.attrs["object_type_codes"]["20"].startswith("missing")


def test_shard_store_keeps_paired_samples(tmp_path):
    sample = paired_sample()
    store = ShardStore(tmp_path / "parts", {"process": "zjets_paired"})
    store.save(0, (sample, {"n": 3}), "task")
    back, stats = store.load(0, "task")
    assert stats["n"] == 3
    np.testing.assert_array_equal(back.detector.object_type, sample.detector.object_type)
    assert back.particle.object_names == sample.particle.object_names
    np.testing.assert_array_equal(back.event_info["entry"], np.arange(3))


def test_refused_files(tmp_path):
    sample = paired_sample()
    with pytest.raises(LhcgenError, match="no such file"):
        read_paired(tmp_path / "missing.h5")
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f["momenta"] = np.zeros((1, 1, 4))
    with pytest.raises(LhcgenError, match="not a paired"):
        read_paired(plain)
    path = tmp_path / "p.h5"
    write_paired(path, sample)
    with h5py.File(path, "a") as f:
        del f["detector/passed"]
    with pytest.raises(LhcgenError, match="detector/passed"):
        read_paired(path)
    bad = paired_sample()
    bad.detector.momenta[0, 0, 0] = np.nan
    with pytest.raises(LhcgenError, match="NaN"):
        write_paired(tmp_path / "nan.h5", bad)
    assert not (tmp_path / "nan.h5").exists()


def test_the_cli_default_shard_size_is_the_library_one():
    from lhcgen.cli.data import PAIRED_SHARD_SIZE
    from lhcgen.data.paired_file import SHARD_SIZE

    assert PAIRED_SHARD_SIZE == SHARD_SIZE
