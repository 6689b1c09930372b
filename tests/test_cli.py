"""The CLI end to end on tiny inputs, and every bad input: one line, non-zero exit, no file."""

from __future__ import annotations

import argparse
import json

import h5py
import numpy as np
import pytest
import yaml

from lhcgen.cli import build_parser, main
from lhcgen.data.hdf5 import read_events, write_events
from tests.cli_helpers import one_line_error
from tests.toys import toy_zjets

TINY = {
    "model": {"hidden": 32, "blocks": 1, "time_embedding": 8},
    "training": {"batch_size": 256, "epochs": 2, "checkpoint_every": 100},
    "sampling": {"solver": "euler", "steps": 2, "batch_size": 500},
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    write_events(root / "train.h5", toy_zjets(1500, seed=1))
    write_events(root / "test.h5", toy_zjets(1500, seed=2))
    cfg = dict(TINY, data={"train": str(root / "train.h5")})
    (root / "tiny.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["--no-progress", "train", str(root / "tiny.yaml"), "--out",
                 str(root / "run")]) == 0
    return root


def test_help_explains_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("data", "train", "sample", "evaluate", "demo"):
        assert command in out


def _leaf_commands(parser, path=()):
    """(path, parser) of every command that runs something (no further subcommands)."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
    for action in subs:
        for name, child in action.choices.items():
            yield from _leaf_commands(child, (*path, name))


def test_every_command_accepts_no_progress_after_its_name():
    """`lhcgen X ... --no-progress` works for every X, as the global option does."""
    leaves = dict(_leaf_commands(build_parser()))
    assert ("data", "merge-jets") in leaves and ("metrics", "jets") in leaves
    missing = [" ".join(path) for path, parser in leaves.items()
               if "--no-progress" not in parser._option_string_actions]
    assert missing == []


def test_train_sample_evaluate(workspace, capsys):
    out = workspace / "gen.h5"
    assert main(["--no-progress", "sample", str(workspace / "run"), "-n", "1200", "--out",
                 str(out), "--seed", "3"]) == 0
    generated = read_events(out)
    truth = read_events(workspace / "test.h5")
    with h5py.File(out) as f, h5py.File(workspace / "test.h5") as g:
        assert set(f.keys()) == set(g.keys())
        assert f["momenta"].dtype == g["momenta"].dtype == np.float64
    assert generated.momenta.shape[1:] == truth.momenta.shape[1:]
    assert generated.attrs["sampling_nfe"] == 2
    assert len(generated) + generated.attrs["sampling_n_nonfinite"] == 1200
    assert "cut_violations" in generated.attrs
    report = workspace / "report"
    assert main(["--no-progress", "evaluate", str(out), "--truth", str(workspace / "test.h5"),
                 "--report", str(report)]) == 0
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["sampling"]["nfe"] == 2
    assert (report / "index.html").is_file()
    assert len(list((report / "plots").glob("*.png"))) >= 25
    assert "m_mumu" in capsys.readouterr().out


def test_sampling_is_reproducible(workspace):
    paths = [workspace / f"rep{i}.h5" for i in range(2)]
    for path in paths:
        assert main(["--no-progress", "sample", str(workspace / "run"), "-n", "300", "--out",
                     str(path), "--seed", "11"]) == 0
    a, b = (read_events(p) for p in paths)
    np.testing.assert_array_equal(a.momenta, b.momenta)


def test_single_multiplicity_and_untrained_one(workspace, capsys):
    out = workspace / "two_jets.h5"
    assert main(["--no-progress", "sample", str(workspace / "run"), "-n", "100", "--out",
                 str(out), "--multiplicity", "2"]) == 0
    assert (read_events(out).multiplicity == 2).all()
    bad = workspace / "five_jets.h5"
    assert main(["--no-progress", "sample", str(workspace / "run"), "-n", "100", "--out",
                 str(bad), "--multiplicity", "5"]) == 1
    one_line_error(capsys, "multiplicity [5] was not in the training data")
    assert not bad.exists()


def test_unknown_solver(workspace, capsys):
    out = workspace / "x.h5"
    assert main(["sample", str(workspace / "run"), "-n", "10", "--out", str(out),
                 "--solver", "leapfrog"]) == 1
    one_line_error(capsys, "unknown solver 'leapfrog'")
    assert not out.exists()


@pytest.mark.parametrize("option", [["--type", "t"], ["--condition-from", "test.h5"],
                                    ["--raw-pt-sum"], ["--bound-mass"]])
def test_jet_options_on_an_event_run_are_one_line(workspace, capsys, option):
    out = workspace / "x.h5"
    option = [str(workspace / o) if o.endswith(".h5") else o for o in option]
    assert main(["sample", str(workspace / "run"), "-n", "10", "--out", str(out),
                 *option]) == 1
    one_line_error(capsys, f"{option[0]} applies to runs of the jets process")
    assert not out.exists()


@pytest.mark.parametrize("argv", [
    ["sample", "RUN", "-n", "0", "--out", "x.h5"],
    ["sample", "RUN", "-n", "-5", "--out", "x.h5"],
    ["data", "zjets", "--events", "0", "--out", "x.h5"],
])
def test_non_positive_counts(argv, capsys, tmp_path):
    argv = [a.replace("x.h5", str(tmp_path / "x.h5")) for a in argv]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    one_line_error(capsys, "must be a positive integer")
    assert not (tmp_path / "x.h5").exists()


def test_run_directory_without_checkpoint(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["sample", str(tmp_path / "empty"), "-n", "10", "--out",
                 str(tmp_path / "x.h5")]) == 1
    one_line_error(capsys, "not a run directory")
    run = tmp_path / "nockpt"
    run.mkdir()
    (run / "config.yaml").write_text(yaml.safe_dump(TINY))
    assert main(["sample", str(run), "-n", "10", "--out", str(tmp_path / "x.h5")]) == 1
    one_line_error(capsys, "no checkpoint found")
    assert not (tmp_path / "x.h5").exists()


@pytest.mark.parametrize("config,needle", [
    ({"model": {"hiden": 3}}, "unknown key 'model.hiden'"),
    ({"training": {"epochs": "many"}}, "'training.epochs' must be an integer"),
])
def test_bad_config(tmp_path, capsys, config, needle):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["train", str(path), "--out", str(tmp_path / "run")]) == 1
    one_line_error(capsys, needle)
    assert not (tmp_path / "run").exists()


def _nan_file(path, good):
    write_events(path, good)
    with h5py.File(path, "a") as f:
        p = f["momenta"][()]
        p[0, 0, 0] = np.nan
        del f["momenta"]
        f["momenta"] = p


def _wrong_schema(path, good):
    with h5py.File(path, "w") as f:
        f["particles"] = np.zeros((10, 30, 3))


@pytest.mark.parametrize("make,needle", [
    (None, "no such file"),
    (lambda p, good: p.write_bytes(b"garbage" * 50), "not a readable HDF5 file"),
    (_wrong_schema, "wrong schema"),
    (_nan_file, "NaN or inf"),
])
def test_bad_truth_files(workspace, tmp_path, capsys, make, needle):
    bad = tmp_path / "bad.h5"
    if make is not None:
        make(bad, toy_zjets(50))
    report = tmp_path / "report"
    assert main(["evaluate", str(workspace / "test.h5"), "--truth", str(bad), "--report",
                 str(report), "--train", str(workspace / "train.h5")]) == 1
    one_line_error(capsys, "bad.h5", needle)
    assert not report.exists()
    assert [p.name for p in tmp_path.iterdir()] == (["bad.h5"] if make else [])


def test_bad_training_file(tmp_path, capsys):
    bad = tmp_path / "nan.h5"
    _nan_file(bad, toy_zjets(50))
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(dict(TINY, data={"train": str(bad)})))
    assert main(["train", str(path), "--out", str(tmp_path / "run")]) == 1
    one_line_error(capsys, "NaN or inf")
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_data_command_writes_a_valid_file(tmp_path, capsys):
    out = tmp_path / "z.h5"
    assert main(["--no-progress", "data", "zjets", "--events", "12", "--seed", "4",
                 "--workers", "1", "--shard-size", "6", "--out", str(out)]) == 0
    sample = read_events(out)
    assert len(sample) == 12 and sample.attrs["process"] == "zjets"
    assert sample.attrs["accepted_events_per_second"] > 0
    assert "wrote 12 events" in capsys.readouterr().out


@pytest.mark.slow
def test_demo_end_to_end_and_reuses_its_data(tmp_path, capsys):
    cfg = tmp_path / "demo.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    argv = ["--no-progress", "demo", "--config", str(cfg), "--workdir", str(tmp_path / "w"),
            "--train-events", "400", "--test-events", "200", "--sample-events", "600",
            "--workers", "1"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "generating 400 train events" in out and "chi2/ndf gen" in out
    assert "simulator rate" in out and "generator/simulator" in out
    metrics = json.loads((tmp_path / "w" / "report" / "metrics.json").read_text())
    assert metrics["floor"] == "truth-train vs truth-test"
    assert metrics["samples"]["generated"]["n_events"] <= 600
    assert main(argv) == 0
    assert "reusing train data" in capsys.readouterr().out
