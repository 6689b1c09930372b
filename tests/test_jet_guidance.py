"""Classifier-free guidance of jets from the command line: a run trained with
``model.edm.condition_dropout`` samples with ``--guidance W`` in both protocols, counts its
two passes, records W with the jets; every misuse is one line with nothing written.
The closed forms of guided sampling are in test_edm_guidance.py."""

from __future__ import annotations

import numpy as np
import pytest
from benchmarks.jets_time_fidelity import label, model_grid, parse_grid

from lhcgen.cli import main
from lhcgen.data.jet_hdf5 import read_jets, write_jets
from tests.cli_helpers import one_line_error
from tests.test_jet_condition_marginals import _with
from tests.test_jet_generators import _config, two_types


@pytest.fixture(scope="module")
def guided_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("guided_runs")
    write_jets(root / "truth.h5", two_types(300, seed=1))
    write_jets(root / "truth_test.h5", two_types(100, seed=7))
    base = _config(root, "edm", "cae", root / "truth.h5")
    guided = _with(base, str(root / "guided.yaml"), model={"edm": {"condition_dropout": 0.2}})
    for name, path in (("plain", base), ("guided", guided)):
        assert main(["train", path, "--out", str(root / name), "--no-progress"]) == 0
    return root, base, guided


def _sample(root, run, out, *extra):
    return main(["sample", str(root / run), "-n", "120", "--out", str(root / out),
                 "--no-progress", *extra])


def test_guided_sampling_in_both_protocols(guided_runs, capsys):
    root, _, _ = guided_runs
    capsys.readouterr()
    assert _sample(root, "guided", "w1.h5") == 0
    one = capsys.readouterr().out
    assert _sample(root, "guided", "none.h5", "--guidance", "1") == 0
    capsys.readouterr()
    a, b = read_jets(root / "w1.h5"), read_jets(root / "none.h5")
    np.testing.assert_array_equal(a.particles, b.particles)  # w = 1: the conditional denoiser
    assert _sample(root, "guided", "w2.h5", "--guidance", "2") == 0
    two = capsys.readouterr().out
    assert "guidance 2" in two and "guidance" not in one
    nfe = {text: int(text.split(" network evaluations")[0].rsplit(" ", 1)[1])
           for text in (one, two)}
    assert nfe[two] == 2 * nfe[one]  # midpoint 3 steps: 5 evaluations, 10 passes
    guided = read_jets(root / "w2.h5")
    assert guided.attrs["sampling_guidance"] == 2.0
    assert not np.allclose(guided.particles, a.particles)
    # the same conditions (fully generated ones are drawn before the constituents)
    np.testing.assert_array_equal(guided.jets, a.jets)
    assert _sample(root, "guided", "file.h5", "--guidance", "3", "--guidance-sigmas",
                   "0.1,5", "--condition-from", str(root / "truth_test.h5")) == 0
    out = capsys.readouterr().out
    assert "guidance 3" in out and "taken from" in out
    jets = read_jets(root / "file.h5")
    assert jets.attrs["sampling_guidance_sigma_low"] == 0.1
    assert jets.attrs["sampling_guidance_sigma_high"] == 5.0
    assert np.isfinite(jets.particles).all()


@pytest.mark.parametrize("extra,needle", [
    (("--guidance", "2"), "needs a model trained with model.edm.condition_dropout > 0"),
    (("--guidance-sigmas", "0.1,5"), "--guidance-sigmas sets where --guidance W applies"),
    (("--guidance", "2", "--guidance-sigmas", "5,0.1"), "expected 0 <= LOW < HIGH"),
    (("--guidance", "-1"), "a finite number >= 0")])
def test_guidance_misuse_is_one_line(guided_runs, capsys, extra, needle):
    root, _, _ = guided_runs
    run = "plain" if extra == ("--guidance", "2") else "guided"
    try:
        code = _sample(root, run, "bad.h5", *extra)
    except SystemExit as exit_:  # argparse's refusal of a value
        code = exit_.code
    assert code != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[-1] and "Traceback" not in err[-1]
    assert not (root / "bad.h5").exists()


@pytest.mark.parametrize("edm,needle", [
    ({"condition_dropout": 1.0}, "'model.edm.condition_dropout' must be in [0, 1)"),
    ({"condition_dropout": -0.1}, "'model.edm.condition_dropout' must be in [0, 1)"),
    ({"guidance": 2.0}, "'model.edm.guidance' other than 1 needs"),
    ({"condition_dropout": 0.1, "guidance": -2.0}, "'model.edm.guidance' must be a finite")])
def test_impossible_guidance_settings_are_one_line(guided_runs, capsys, edm, needle):
    root, base, _ = guided_runs
    path = _with(base, str(root / "bad.yaml"), model={"edm": edm})
    assert main(["train", path, "--out", str(root / "bad_run"), "--no-progress"]) == 1
    one_line_error(capsys, needle)
    assert not (root / "bad_run").exists()


def test_a_config_default_guidance_is_used_and_recorded(guided_runs, capsys):
    """model.edm.guidance sets the sampling default of the run (here W 2, set at training);
    --guidance 1 still samples the conditional denoiser alone."""
    root, _, guided = guided_runs
    path = _with(guided, str(root / "default_w.yaml"),
                 model={"edm": {"condition_dropout": 0.2, "guidance": 2.0}},
                 training={"epochs": 1})
    assert main(["train", path, "--out", str(root / "default_w"), "--no-progress"]) == 0
    capsys.readouterr()
    assert _sample(root, "default_w", "default.h5") == 0
    assert "guidance 2" in capsys.readouterr().out
    assert read_jets(root / "default.h5").attrs["sampling_guidance"] == 2.0
    assert _sample(root, "default_w", "default_1.h5", "--guidance", "1") == 0
    assert "guidance" not in capsys.readouterr().out


def test_the_benchmark_grid_takes_guidance_for_edm_runs():
    grid = parse_grid("midpoint:16@guidance=2 midpoint:16@guidance=3@guidance_sigma_low=0.1")
    assert grid[0] == ("midpoint", 16, {"guidance": 2.0})
    kept, _ = model_grid("edm", grid, quick=False, guidable=True)
    assert kept == grid
    plain = parse_grid("midpoint:16 midpoint:16@guidance=2 midpoint:16@guidance=1")
    kept, skipped = model_grid("edm", plain, quick=False)  # a run without condition dropout
    assert kept == [plain[0], plain[2]] and skipped == ["midpoint@guidance"]
    kept, skipped = model_grid("cfm", grid, quick=False)
    assert "midpoint@options" in skipped
    row = {"run": "g", "solver": "midpoint", "steps": 16, "options": grid[1][2]}
    assert label(row) == "g midpoint 16 (w 3, w from σ 0.1)"
