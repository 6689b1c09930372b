"""benchmarks/jets_mass_response.py: the per-jet mass response against closed forms."""

import dataclasses
import sys

import numpy as np
import pytest
from benchmarks.jets_mass_response import main, mass_response, matched_truth

from lhcgen.data.jet_hdf5 import write_jets
from lhcgen.data.jets import JetCloudSample
from lhcgen.errors import LhcgenError
from tests.test_jets_data import toy_jets


def _truth() -> JetCloudSample:
    """Top jets then gluon jets, every other jet keeping all its constituents."""
    sample = JetCloudSample.concatenate([toy_jets(200, jet_type=2, seed=3),
                                         toy_jets(200, jet_type=0, seed=4)])
    stored = sample.mask.sum(axis=1)
    complete = np.arange(len(sample)) % 2 == 0
    return dataclasses.replace(sample, n_constituents=np.where(complete, stored, stored + 7))


def _generated(truth: JetCloudSample, angle_scale: float) -> JetCloudSample:
    """The truth's conditions in the order --condition-from takes them (per type, the first
    jets of that type), constituents spread by ``angle_scale`` in eta and phi."""
    tops = truth.subset(truth.jet_type == 2).subset(slice(0, 120))
    particles = tops.particles.copy()
    particles[..., :2] *= angle_scale
    return dataclasses.replace(tops, particles=particles)


def test_the_truth_against_itself_responds_exactly_one():
    truth = _truth()
    result = mass_response(_generated(truth, 1.0), truth, seed=0)
    assert set(result) == {"t"} and set(result["t"]) == {"complete", "truncated", "all"}
    assert result["t"]["all"]["jets"] == 120 and result["t"]["complete"]["jets"] == 60
    for r in result["t"].values():
        assert r["ratio_quantiles"] == [1.0, 1.0, 1.0]
        assert r["median_shift"] == 0.0 and r["median_shift_error"] == 0.0
        assert r["w1_relative_mass"] == 0.0
        assert r["truth_mass_fraction_quantiles"] == r["generated_mass_fraction_quantiles"]


def test_wider_constituents_make_heavier_jets_in_proportion():
    """Small angles: m/pT = sqrt(sum z_i z_j dR_ij^2) grows with the angles, so 2 % wider
    constituents make every jet 2 % heavier, and the median of m / m_jet 2 % higher."""
    truth = _truth()
    r = mass_response(_generated(truth, 1.02), truth, seed=0)["t"]["all"]
    np.testing.assert_allclose(r["ratio_quantiles"], 1.02, rtol=2e-3)
    median = r["truth_mass_fraction_quantiles"][1]
    assert r["median_shift"] == pytest.approx(0.02 * median, rel=0.05)
    assert r["median_shift"] > 5 * r["median_shift_error"]


def test_jets_not_conditioned_on_the_file_are_refused_in_one_line(tmp_path, monkeypatch):
    truth = _truth()
    shuffled = _generated(truth, 1.0).subset(np.arange(120)[::-1])
    with pytest.raises(LhcgenError, match="did not take their conditions from this truth"):
        matched_truth(shuffled, truth)
    write_jets(tmp_path / "truth.h5", truth)
    write_jets(tmp_path / "gen.h5", shuffled)
    monkeypatch.setattr(sys, "argv", ["jets_mass_response.py", "--generated",
                                      str(tmp_path / "gen.h5"), "--truth",
                                      str(tmp_path / "truth.h5"), "--out-dir", str(tmp_path)])
    with pytest.raises(SystemExit, match="^error: the generated jets did not take"):
        main()
    assert not (tmp_path / "jets_mass_response.json").exists()  # nothing half-written
