"""`lhcgen data jets|import-jetnet` and `lhcgen metrics jets`: results and one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lhcgen.cli import main
from lhcgen.data.jet_hdf5 import read_jets, write_jets
from tests.cli_helpers import one_line_error
from tests.test_jets_data import toy_jets, write_jetnet_file

SMALL = ["--seed", "3", "--w1-samples", "100", "--w1-batches", "2", "--fpd-min-samples", "40",
         "--fpd-max-samples", "100", "--fpd-points", "3", "--fpd-batches", "2",
         "--kpd-batch-size", "50", "--kpd-batches", "2"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("jets")
    write_jets(root / "truth.h5", toy_jets(300, seed=1))
    write_jets(root / "truth2.h5", toy_jets(200, seed=2))
    write_jets(root / "truth3.h5", toy_jets(200, seed=5))
    wide = toy_jets(200, seed=3)
    wide.particles[..., :2] *= 1.5  # every jet 50 % wider
    write_jets(root / "wide.h5", wide)
    write_jets(root / "p150.h5", toy_jets(200, slots=150, seed=4))
    return root


def test_metrics_jets_writes_json_with_values_errors_sizes_and_the_floor(files, capsys):
    out = files / "m.json"
    assert main(["metrics", "jets", str(files / "wide.h5"), "--truth", str(files / "truth.h5"),
                 "--truth-2", str(files / "truth2.h5"), "--json", str(out), *SMALL]) == 0
    printed = capsys.readouterr().out
    assert "w1m" in printed and "floor" in printed
    result = json.loads(out.read_text())
    for part in ("generated", "floor"):
        assert set(result[part]) == {"w1m", "w1p", "w1efp", "fpd", "kpd"}
        for metric in result[part].values():
            assert np.isfinite(metric["value"]) and np.isfinite(metric["error"])
            assert metric["settings"]["seed"] == 3
    assert result["sample_sizes"] == {"generated": 200, "truth": 300, "floor_first": 300,
                                      "floor_second": 200}
    assert result["settings"]["w1_num_eval_samples"] == 100
    # A 50 % wider jet shows far above the floor in FPD and W1efp.
    assert result["generated"]["fpd"]["value"] > 10 * max(result["floor"]["fpd"]["value"], 1e-6)
    assert result["generated"]["w1efp"]["value"] > 3 * result["floor"]["w1efp"]["value"]
    # ... and many of the wider jets leave the truth's EFP range, far more than truth-2's do.
    reach = result["efp_range"]
    assert reach["generated"]["n_jets"] == 200 and reach["floor"]["n_jets"] == 200
    assert reach["generated"]["n_beyond"] > 5 * max(reach["floor"]["n_beyond"], 1)
    assert reach["generated"]["largest_reach"] > reach["floor"]["largest_reach"]
    assert f"generated {reach['generated']['n_beyond']} of 200" in printed
    # ... and wider jets are heavier than their jet mass more often (toy jet masses are drawn
    # apart from their constituents, so the truth has some too)
    from lhcgen.physics.particle_cloud import relative_jet_mass

    heavier = result["heavier_than_jet"]
    for name, path in (("generated", "wide.h5"), ("truth", "truth.h5")):
        jets = read_jets(files / path)
        ratio = relative_jet_mass(jets.particles, jets.mask) / (jets.jets[:, 2] / jets.jets[:, 0])
        assert heavier[name]["n_heavier"] == (ratio > 1 + 1e-4).sum()
    assert heavier["generated"]["n_heavier"] > heavier["truth"]["n_heavier"] * 200 / 300
    assert (f"heavier than the jet: generated {heavier['generated']['n_heavier']} of 200"
            in printed)
    # ... and ×floor, with its propagated error, is the value over the floor's scale
    from lhcgen.evaluate.jets.metrics import ratio_to_floor, ratio_to_floor_error

    for name, ratio in result["ratio_to_floor"].items():
        g, f = result["generated"][name], result["floor"][name]
        assert ratio["value"] == pytest.approx(g["value"] / max(f["value"], f["error"]))
        assert ratio["value"] == ratio_to_floor(g["value"], f)
        assert ratio["error"] == ratio_to_floor_error(g["value"], g["error"], f) > 0
    fpd = result["ratio_to_floor"]["fpd"]
    assert f"{fpd['value']:.3g} ± {fpd['error']:.2g}" in printed.splitlines()[4]


def test_metrics_jets_averages_the_floor_over_several_truth_files(files, capsys):
    """With two --truth-2 files the floor is the mean of the two single-file floors (each
    computed on its own here), its error the mean's, and ×floor divides by it."""
    from lhcgen.evaluate.jets.metrics import mean_of_draws, ratio_to_floor, ratio_to_floor_error

    singles = []
    for second in ("truth2.h5", "truth3.h5"):
        out = files / f"single_{second}.json"
        assert main(["metrics", "jets", str(files / "wide.h5"), "--truth",
                     str(files / "truth.h5"), "--truth-2", str(files / second), "--json",
                     str(out), *SMALL]) == 0
        singles.append(json.loads(out.read_text()))
    capsys.readouterr()
    out = files / "mean.json"
    assert main(["metrics", "jets", str(files / "wide.h5"), "--truth", str(files / "truth.h5"),
                 "--truth-2", str(files / "truth2.h5"), str(files / "truth3.h5"), "--json",
                 str(out), *SMALL]) == 0
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    assert result["generated"] == singles[0]["generated"]
    assert [d["truth_2"] for d in result["floor_draws"]] == [
        str(files / "truth2.h5"), str(files / "truth3.h5")]
    for name in ("w1m", "w1p", "w1efp", "fpd", "kpd"):
        one, two = singles[0]["floor"][name], singles[1]["floor"][name]
        assert result["floor_draws"][0][name] == one and result["floor_draws"][1][name] == two
        floor = result["floor"][name]
        assert floor["value"] == pytest.approx((one["value"] + two["value"]) / 2, rel=1e-12)
        assert floor["n"] == 2
        expected = mean_of_draws([one, two])
        assert floor["error"] == pytest.approx(expected["error"], rel=1e-12)
        assert floor["resolution"] == pytest.approx(np.hypot(one["error"], two["error"])
                                                    / np.sqrt(2), rel=1e-12)
        g, ratio = result["generated"][name], result["ratio_to_floor"][name]
        assert ratio["value"] == ratio_to_floor(g["value"], floor)
        assert ratio["error"] == ratio_to_floor_error(g["value"], g["error"], floor)
    assert "floor (mean of 2)" in printed.splitlines()[0]
    assert result["sample_sizes"]["floor_second"] == [200, 200]
    assert "the mean over" in result["floor_definition"]


def test_metrics_jets_shows_its_progress_unless_told_not_to(files, capsys):
    """Minutes of EFPs per file at 50000 jets of 150 particles: a bar over the samples' EFPs
    (truth, generated and the two truth-2 files) and one over the three comparisons."""
    argv = ["metrics", "jets", str(files / "wide.h5"), "--truth", str(files / "truth.h5"),
            "--truth-2", str(files / "truth2.h5"), str(files / "truth3.h5"), "--json",
            str(files / "p.json"), *SMALL]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "EFPs" in err and "4/4" in err and "metrics" in err and "3/3" in err
    assert main([*argv, "--no-progress"]) == 0
    assert "EFPs" not in capsys.readouterr().err


def test_metrics_jets_names_the_truth_2_file_that_does_not_fit(files, capsys):
    assert main(["metrics", "jets", str(files / "wide.h5"), "--truth", str(files / "truth.h5"),
                 "--truth-2", str(files / "truth2.h5"), str(files / "p150.h5"), "--json",
                 str(files / "x.json"), *SMALL]) == 1
    one_line_error(capsys, "p150.h5 has 150 particles", "same particle count")
    assert not (files / "x.json").exists()


def test_metrics_jets_without_truth_2_splits_the_truth_and_writes_plots(files, capsys):
    out = files / "split.json"
    assert main(["metrics", "jets", str(files / "truth2.h5"), "--truth",
                 str(files / "truth.h5"), "--json", str(out), "--report",
                 str(files / "report"), *SMALL]) == 0
    result = json.loads(out.read_text())
    assert result["sample_sizes"]["floor_first"] == 150
    assert "first 150 jets" in result["floor_definition"]
    assert (files / "report" / "jet_tau21.png").is_file()
    assert (files / "report" / "jet_d2.png").is_file()


def test_metrics_jets_rejects_files_with_different_particle_counts(files, capsys):
    assert main(["metrics", "jets", str(files / "p150.h5"), "--truth", str(files / "truth.h5"),
                 "--json", str(files / "x.json"), *SMALL]) == 1
    one_line_error(capsys, "150 particles", "30", "same particle count")
    assert not (files / "x.json").exists()


def test_metrics_jets_says_which_sample_size_is_needed(files, capsys):
    assert main(["metrics", "jets", str(files / "truth2.h5"), "--truth",
                 str(files / "truth.h5"), "--json", str(files / "x.json")]) == 1
    one_line_error(capsys, "200 jets", "--w1-samples needs 50000")


def test_unknown_type_or_particle_count_is_a_usage_error(tmp_path, capsys):
    for argv, needle in ((["--type", "b", "--particles", "30"], "invalid choice: 'b'"),
                         (["--type", "g", "--particles", "40"], "invalid choice: 40")):
        with pytest.raises(SystemExit) as info:
            main(["data", "jets", *argv, "--jets", "5", "--out", str(tmp_path / "j.h5")])
        assert info.value.code == 2
        one_line_error(capsys, needle)


def test_import_jetnet_command(tmp_path, capsys):
    write_jetnet_file(tmp_path / "q150.hdf5", slots=150)
    assert main(["data", "import-jetnet", str(tmp_path / "q150.hdf5"), "--out",
                 str(tmp_path / "q.h5")]) == 0
    sample = read_jets(tmp_path / "q.h5")
    assert sample.attrs["type"] == "q" and sample.n_particles == 150
    assert main(["data", "import-jetnet", str(tmp_path / "missing.hdf5"), "--type", "g",
                 "--out", str(tmp_path / "x.h5")]) == 1
    one_line_error(capsys, "no such file")


@pytest.mark.slow
def test_data_jets_command_writes_a_valid_file(tmp_path, capsys):
    out = tmp_path / "z.h5"
    assert main(["--no-progress", "data", "jets", "--type", "z", "--particles", "30",
                 "--jets", "6", "--seed", "2", "--workers", "1", "--out", str(out)]) == 0
    assert "jets/s" in capsys.readouterr().out
    sample = read_jets(out)
    assert len(sample) == 6 and sample.attrs["type"] == "z" and sample.attrs["particles"] == 30
    assert sample.attrs["accepted_jets_per_second"] > 0


def test_metrics_jets_on_a_missing_or_event_file_is_one_line(files, tmp_path, capsys):
    assert main(["metrics", "jets", str(tmp_path / "none.h5"), "--truth",
                 str(files / "truth.h5"), "--json", str(tmp_path / "x.json"), *SMALL]) == 1
    one_line_error(capsys, "no such file")
    write_jetnet_file(tmp_path / "t.hdf5")
    assert main(["metrics", "jets", str(tmp_path / "t.hdf5"), "--truth",
                 str(files / "truth.h5"), "--json", str(tmp_path / "x.json"), *SMALL]) == 1
    one_line_error(capsys, "import-jetnet")
