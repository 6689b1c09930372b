"""benchmarks/jets_efp_strays.py: FPD and KPD with and without the jets beyond the truth's
EFP range. A generator that is the truth's own distribution plus a few jets made far wider
than any truth jet scores far beyond the floor with them and at the floor without them; the
values with every jet repeat the time-fidelity benchmark's; one-line refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest
from benchmarks.jets_efp_strays import main
from benchmarks.jets_time_fidelity import metric_settings

from lhcgen.data.jet_hdf5 import write_jets
from lhcgen.data.jets import JetCloudSample
from lhcgen.evaluate.jets.efp_range import efp_range, efp_reach
from lhcgen.evaluate.jets.metrics import JetSample, efp_distances, jet_metrics
from tests.test_jets_data import toy_jets

N = 400
STRAYS = (3, 50, 77, 200, 311)


def _jets(seed: int, n: int = N) -> JetCloudSample:
    return toy_jets(n, jet_type=2, seed=seed)


def _with_strays(seed: int) -> JetCloudSample:
    """The truth's distribution with the angles of the jets STRAYS four times wider: their
    EFPs with d edges grow 4^d-fold, far beyond any truth jet's."""
    jets = _jets(seed)
    jets.particles[list(STRAYS), :, :2] *= 4.0
    return jets


@pytest.fixture()
def files(tmp_path):
    for name, seed in (("truth", 1), ("floor", 2), ("c", 3), ("d", 4), ("e", 5), ("plain", 6)):
        write_jets(tmp_path / f"{name}.h5", _jets(seed))
    write_jets(tmp_path / "strays.h5", _with_strays(6))
    return tmp_path


def _argv(d, *generated: str, draws=("c.h5", "d.h5", "e.h5"), truth="truth.h5",
          name="strays") -> list[str]:
    return ["--type", "t", "--jets", str(N), "--quick", "--truth", str(d / truth),
            "--truth-floor", str(d / "floor.h5"), "--draws", *(str(d / f) for f in draws),
            "--generated", *(str(d / g) for g in generated), "--out-dir", str(d),
            "--name", name]


def test_the_strays_carry_fpd_and_the_bulk_sits_at_the_floor(files):
    assert main(_argv(files, "plain.h5", "strays.h5")) == 0
    result = json.loads((files / "strays.json").read_text())["strays"]
    rows = {r["label"]: r for r in result["rows"]}
    assert [r["kind"] for r in result["rows"]] == ["floor", "draw", "draw", "draw",
                                                   "generated", "generated"]
    strays, plain = rows["strays.h5"], rows["plain.h5"]
    # the five widened jets leave the range, the others are plain.h5's
    assert strays["n_beyond"] == plain["n_beyond"] + len(STRAYS)
    assert strays["n_inside"] == plain["n_inside"] - len(STRAYS)
    assert strays["largest_reach"] > 10 * plain["largest_reach"]
    fpd = {cut: strays["ratios"][cut]["fpd"]["ratio"] for cut in ("all", "inside")}
    assert fpd["all"] > 20 * max(fpd["inside"], 1.0)
    # without them the sample is the truth's distribution again: at the floor, as plain.h5
    assert fpd["inside"] < 3 and plain["ratios"]["inside"]["fpd"]["ratio"] < 3
    # every sample inside is judged at one size: the smallest inside sample's
    n_inside = min(r["n_inside"] for r in result["rows"])
    assert result["n_inside_settings"] == n_inside
    assert result["metric_settings"]["inside"]["fpd_max_samples"] == n_inside
    # the mean floor is the Pythia samples' (floor and draws), not the generated ones'
    pythia = [r["metrics"]["all"]["fpd"]["value"] for r in result["rows"]
              if r["kind"] != "generated"]
    assert result["mean_floor"]["all"]["fpd"]["n"] == 4
    assert result["mean_floor"]["all"]["fpd"]["value"] == pytest.approx(np.mean(pythia))
    assert (files / "strays.md").read_text().count("| strays.h5 |") == 2


def test_every_jet_repeats_the_time_fidelity_benchmark(files):
    """'all' is the time-fidelity benchmark's FPD and KPD: the same settings and seed."""
    assert main(_argv(files, "strays.h5")) == 0
    row = json.loads((files / "strays.json").read_text())["strays"]["rows"][-1]
    truth, gen = (JetSample.from_particles(j.particles, j.mask)
                  for j in (_jets(1), _with_strays(6)))
    expected = jet_metrics(truth, gen, seed=42, settings=metric_settings(N, True))
    for k in ("fpd", "kpd"):
        assert row["metrics"]["all"][k]["value"] == pytest.approx(expected[k].value, rel=1e-12)


def test_efp_distances_and_the_subset_are_those_of_the_full_suite():
    truth, gen = (JetSample.from_particles(j.particles, j.mask) for j in (_jets(1), _jets(7)))
    settings = metric_settings(N, True)
    full = jet_metrics(truth, gen, seed=3, settings=settings)
    alone = efp_distances(truth, gen, seed=3, settings=settings)
    assert set(alone) == {"fpd", "kpd"}
    for k in alone:
        assert (alone[k].value, alone[k].error) == (full[k].value, full[k].error)
    # a subset keeps each jet's features: recomputing them from its particles gives the same
    strays = _with_strays(6)
    whole = JetSample.from_particles(strays.particles, strays.mask)
    keep = efp_reach(truth.efps, whole.efps) <= 1.0
    sample = whole.subset(keep)
    again = JetSample.from_particles(strays.particles[keep], strays.mask[keep])
    np.testing.assert_array_equal(sample.efps, again.efps)
    np.testing.assert_array_equal(sample.mass, again.mass)
    assert not keep[list(STRAYS)].any()
    assert int((~keep).sum()) == efp_range(truth.efps, whole.efps).n_beyond


def test_refusals_are_one_line(files, capsys):
    shared = JetCloudSample.concatenate([_jets(1).subset(slice(0, 1)), _jets(40, N - 1)])
    write_jets(files / "shared.h5", shared)
    with pytest.raises(SystemExit) as exit_:
        main(_argv(files, "strays.h5", draws=("c.h5", "shared.h5")))
    assert "shared.h5 shares jets with --truth" in str(exit_.value)
    write_jets(files / "short.h5", _jets(8, N - 1))
    with pytest.raises(SystemExit) as exit_:
        main(_argv(files, "short.h5"))
    assert str(exit_.value) == (f"error: --generated: {files / 'short.h5'} holds {N - 1} t "
                                f"jets, fewer than --jets {N}")
    with pytest.raises(SystemExit) as exit_:
        main(_argv(files, "strays.h5", truth="missing.h5"))
    assert str(exit_.value).startswith("error: --truth: ") and "\n" not in str(exit_.value)
    assert not (files / "strays.json").exists()  # nothing written on a refusal
