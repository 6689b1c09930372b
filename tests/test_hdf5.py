import h5py
import numpy as np
import pytest

from lhcgen.data.hdf5 import read_events, write_events
from lhcgen.errors import LhcgenError


def test_round_trip_keeps_arrays_and_attributes(tmp_path, toy_sample):
    toy_sample.attrs["cuts"] = {"muon_pt_min": 20.0}
    toy_sample.weights = np.linspace(0.5, 1.5, len(toy_sample))
    path = tmp_path / "events.h5"
    write_events(path, toy_sample)
    back = read_events(path)
    np.testing.assert_array_equal(back.momenta, toy_sample.momenta)
    np.testing.assert_array_equal(back.mask, toy_sample.mask)
    np.testing.assert_array_equal(back.multiplicity, toy_sample.multiplicity)
    np.testing.assert_array_equal(back.weights, toy_sample.weights)
    assert back.attrs["cuts"] == {"muon_pt_min": 20.0}
    assert back.attrs["n_events"] == len(toy_sample)
    assert back.object_names == ("mu1", "mu2", "j1", "j2", "j3")
    assert list(tmp_path.iterdir()) == [path]


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(LhcgenError, match="no such file"):
        read_events(tmp_path / "nope.h5")
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"\x00not hdf5" * 100)
    with pytest.raises(LhcgenError, match="not a readable HDF5 file"):
        read_events(junk)


def test_wrong_schema(tmp_path, toy_sample):
    path = tmp_path / "wrong.h5"
    with h5py.File(path, "w") as f:
        f["particles"] = np.zeros((3, 4, 3))
    with pytest.raises(LhcgenError, match="missing dataset.*momenta"):
        read_events(path)
    path2 = tmp_path / "shape.h5"
    with h5py.File(path2, "w") as f:
        f["momenta"] = np.zeros((3, 5, 3))
        f["mask"] = np.ones((3, 5), bool)
        f["multiplicity"] = np.ones(3, int)
    with pytest.raises(LhcgenError, match=r"wrong schema.*\(N, P, 4\)"):
        read_events(path2)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_momenta_are_rejected(tmp_path, toy_sample, value):
    path = tmp_path / "nan.h5"
    write_events(path, toy_sample)
    with h5py.File(path, "a") as f:
        p = f["momenta"][()]
        p[5, 0, 1] = value
        p[9, 1, 2] = value
        del f["momenta"]
        f["momenta"] = p
    with pytest.raises(LhcgenError, match="2 NaN or inf values in 2 event"):
        read_events(path)


def test_inconsistent_mask_and_padding(tmp_path, toy_sample):
    bad = toy_sample.subset(slice(0, 50))
    bad.multiplicity = bad.multiplicity.copy()
    bad.multiplicity[0] += 1
    with pytest.raises(LhcgenError, match="multiplicity does not match the mask"):
        write_events(tmp_path / "x.h5", bad)
    assert not list(tmp_path.iterdir())


def test_failed_write_leaves_nothing(tmp_path, toy_sample, monkeypatch):
    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(h5py.File, "create_dataset", boom)
    with pytest.raises(KeyboardInterrupt):
        write_events(tmp_path / "events.h5", toy_sample)
    assert not list(tmp_path.iterdir())


def test_written_files_have_the_usual_permissions(tmp_path, toy_sample):
    import os

    path = tmp_path / "events.h5"
    write_events(path, toy_sample)
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
