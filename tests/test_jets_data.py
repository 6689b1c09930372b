"""JetNet-style jet files: generation (Pythia, slow), schema, validation, JetNet import."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from lhcgen.data.jet_hdf5 import read_jets, write_jets
from lhcgen.data.jetnet_import import jet_type_from_name, read_jetnet
from lhcgen.data.jets import JET_TYPES, JetCloudSample, JetSettings
from lhcgen.errors import LhcgenError


def toy_jets(n: int = 40, slots: int = 30, jet_type: int = 2, seed: int = 0
             ) -> JetCloudSample:
    """Random jets in the schema: pT-sorted constituents, front-filled mask, zero padding."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, slots + 1, n)
    mask = np.arange(slots) < counts[:, None]
    pt = -np.sort(-rng.exponential(0.05, (n, slots)), axis=1)
    particles = np.stack([rng.normal(0, 0.1, (n, slots)), rng.normal(0, 0.1, (n, slots)),
                          pt], axis=-1)
    particles[~mask] = 0.0
    jets = np.stack([rng.uniform(800, 1600, n), rng.uniform(-2, 2, n),
                     rng.uniform(10, 300, n), counts], axis=-1)
    return JetCloudSample(particles, mask, jets, np.full(n, jet_type), np.ones(n),
                          counts + 5, {"type": JET_TYPES[jet_type]})


def test_write_then_read_round_trips(tmp_path):
    sample = toy_jets()
    write_jets(tmp_path / "j.h5", sample)
    back = read_jets(tmp_path / "j.h5")
    for name in ("particles", "mask", "jets", "jet_type", "weights", "n_constituents"):
        np.testing.assert_array_equal(getattr(back, name), getattr(sample, name))
    assert back.attrs["process"] == "jets" and back.attrs["particles"] == 30
    assert back.attrs["n_jets"] == 40
    with h5py.File(tmp_path / "j.h5") as f:
        assert f["particles"].dtype == np.float64 and f["mask"].dtype == bool


def _corrupt(path, name, change):
    with h5py.File(path, "r+") as f:
        data = f[name][()]
        change(data)
        del f[name]
        f[name] = data


@pytest.mark.parametrize("name, change, message", [
    ("particles", lambda a: a.__setitem__((0, 0, 0), np.nan), "NaN"),
    ("particles", lambda a: a.__setitem__((0, -1, 2), 0.3), "zero where mask is false"),
    ("mask", lambda a: a.__setitem__((0, -1), True), "from the front"),
    ("jets", lambda a: a.__setitem__((0, 3), 99), "does not match the mask"),
    ("jet_type", lambda a: a.__setitem__(0, 7), "jet_type codes"),
])
def test_reader_rejects_bad_content_in_one_line(tmp_path, name, change, message):
    sample = toy_jets()
    sample.mask[0, -1] = False  # make sure the last slot of jet 0 is padding
    sample.particles[0, -1] = 0.0
    sample.jets[0, 3] = sample.mask[0].sum()
    write_jets(tmp_path / "j.h5", sample)
    _corrupt(tmp_path / "j.h5", name, change)
    with pytest.raises(LhcgenError, match=message) as info:
        read_jets(tmp_path / "j.h5")
    assert "\n" not in str(info.value)


def test_reader_rejects_missing_corrupt_and_wrong_schema_files(tmp_path):
    with pytest.raises(LhcgenError, match="no such file"):
        read_jets(tmp_path / "nothing.h5")
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(LhcgenError, match="not a readable HDF5 file"):
        read_jets(tmp_path / "junk.h5")
    with h5py.File(tmp_path / "events.h5", "w") as f:
        f["momenta"] = np.zeros((2, 5, 4))
    with pytest.raises(LhcgenError, match="wrong schema.*particles"):
        read_jets(tmp_path / "events.h5")


def write_jetnet_file(path, n=25, slots=30, seed=1):
    """A file in JetNet's layout: particle_features (etarel, phirel, ptrel, mask), jet_features
    (pt, eta, mass, num_particles) with num_particles counting all constituents."""
    sample = toy_jets(n, slots, seed=seed)
    pf = np.concatenate([sample.particles, sample.mask[..., None].astype(float)], axis=-1)
    jf = sample.jets.copy()
    jf[:, 3] = sample.n_constituents
    with h5py.File(path, "w") as f:
        f["particle_features"] = pf.astype(np.float32)
        f["jet_features"] = jf.astype(np.float32)
    return sample


def test_import_jetnet_converts_the_layout(tmp_path):
    original = write_jetnet_file(tmp_path / "t.hdf5")
    sample = read_jetnet(tmp_path / "t.hdf5")
    assert sample.attrs["type"] == "t" and np.all(sample.jet_type == JET_TYPES.index("t"))
    np.testing.assert_allclose(sample.particles, original.particles.astype(np.float32))
    np.testing.assert_array_equal(sample.mask, original.mask)
    np.testing.assert_array_equal(sample.jets[:, 3], original.mask.sum(axis=1))
    np.testing.assert_array_equal(sample.n_constituents, original.n_constituents)
    np.testing.assert_allclose(sample.jets[:, :3], original.jets[:, :3].astype(np.float32))
    write_jets(tmp_path / "ours.h5", sample)
    assert len(read_jets(tmp_path / "ours.h5")) == 25


def test_import_jetnet_type_from_name_or_option(tmp_path):
    assert jet_type_from_name("data/g150.hdf5") == "g"
    assert jet_type_from_name("mine.hdf5") is None
    write_jetnet_file(tmp_path / "mine.hdf5")
    with pytest.raises(LhcgenError, match="pass --type"):
        read_jetnet(tmp_path / "mine.hdf5")
    assert read_jetnet(tmp_path / "mine.hdf5", "w").attrs["type"] == "w"
    with h5py.File(tmp_path / "z.hdf5", "w") as f:
        f["particle_features"] = np.zeros((3, 30, 3))
        f["jet_features"] = np.zeros((3, 4))
    with pytest.raises(LhcgenError, match=r"\(N, P, 4\)"):
        read_jetnet(tmp_path / "z.hdf5")


def test_settings_reject_unknown_types_and_particle_counts():
    with pytest.raises(LhcgenError, match="unknown jet type"):
        JetSettings(jet_type="b")
    with pytest.raises(LhcgenError, match="n_particles"):
        JetSettings(n_particles=50)
    assert "PhaseSpace:pTHatMax = 1010.0" in JetSettings(jet_type="z").pythia_settings()
    assert "Tune:pp = 14" in JetSettings(jet_type="z").pythia_settings()


@pytest.mark.slow
def test_generated_w_jets_are_deterministic_for_any_worker_count_and_well_formed():
    from lhcgen.data.jet_run import generate_jets

    settings = JetSettings(jet_type="w", n_particles=30)
    one = generate_jets(12, seed=4, settings=settings, workers=1, shard_size=6,
                        progress=False)
    two = generate_jets(12, seed=4, settings=settings, workers=2, shard_size=6,
                        progress=False)
    for name in ("particles", "mask", "jets", "n_constituents"):
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name))
    jets = one.jets
    assert np.all((jets[:, 0] > 800) & (jets[:, 0] < 1600) & (np.abs(jets[:, 1]) < 2.5))
    assert np.all(one.jet_type == JET_TYPES.index("w"))
    pt_rel = one.particles[..., 2]
    assert np.all(np.diff(pt_rel, axis=1)[one.mask[:, 1:]] <= 0)  # sorted by pT
    assert np.all(np.abs(one.particles[..., 1]) <= np.pi)
    assert np.all(pt_rel[~one.mask] == 0)
    # Kept constituents carry most of the jet pT; all of it when none was dropped.
    full = one.n_constituents <= 30
    np.testing.assert_allclose(pt_rel.sum(axis=1)[full], 1.0, atol=0.02)
    assert one.attrs["accepted_jets_per_second"] > 0 and one.attrs["shard_seeds"]
    assert one.attrs["cut_flow"]["accepted_jets"] == 12
    # JetNet: one (the leading) jet per event, pT-hat within 1 % of 1 TeV, Monash tune
    assert one.attrs["n_accepted"] <= one.attrs["n_generated"]
    assert one.attrs["cuts"]["jets_per_event"] == 1
    assert one.attrs["cuts"]["pthat_min_gev"] == 990.0
    assert one.attrs["pythia_tune"] == 14 and one.attrs["pdf_set"] == "13"


@pytest.mark.slow
def test_two_jets_per_event_option_keeps_second_jets():
    from lhcgen.data.jets import generate_jet_shard

    sample, stats = generate_jet_shard(JetSettings(jet_type="g", jets_per_event=2), 20, 3)
    assert stats["n_accepted"] > stats["n_generated"]  # more jets than events
    with pytest.raises(LhcgenError, match="jets_per_event must be 1"):
        JetSettings(jets_per_event=0)
