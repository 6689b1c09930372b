"""The jets' conditions model with quantile marginals (``conditions.marginals: quantile``):
the kinematics round trip per type, generated jets inside each type's training range of
pT, eta, m and N however untrained the model, warm restarts that change the coordinates,
and one-line errors."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from lhcgen.cli import main
from lhcgen.data.jet_hdf5 import read_jets, write_jets
from lhcgen.errors import LhcgenError
from lhcgen.transforms.jet_cloud import JetCloudPreprocessing
from tests.cli_helpers import one_line_error
from tests.test_jet_generators import _config, two_types


@pytest.fixture(scope="module")
def quantile_prep():
    prep = JetCloudPreprocessing()
    sample = two_types(400, seed=4)
    prep.fit(sample)
    prep.fit_kinematics_quantiles(sample)
    return prep, prep.select(sample)


def _ranges(sample, code):
    """(pT, eta, m, N) of the training jets of type ``code``: smallest and largest."""
    rows = sample.jet_type == code
    values = np.column_stack([sample.jets[rows, :3], sample.n_constituents[rows]])
    return values.min(0), values.max(0)


def test_kinematics_round_trip_per_type_with_quantile_marginals(quantile_prep):
    prep, sample = quantile_prep
    y = prep.kinematics_encode(sample, np.random.default_rng(1), "quantile")
    for code in (0, 2):  # standard normal per type
        assert abs(y[sample.jet_type == code].mean()) < 0.05
        np.testing.assert_allclose(y[sample.jet_type == code].std(0), 1.0, atol=0.05)
    jets, counts = prep.kinematics_decode(y, sample.jet_type, "quantile")
    np.testing.assert_array_equal(counts, sample.n_constituents)
    # all but the extremes of each type come back exactly (QuantileMarginals' clip)
    exact = np.isclose(jets, sample.jets[:, :3], rtol=1e-9, atol=1e-9)
    assert exact.mean() > 0.99
    # the standardised coordinates, untouched by the option, still round trip exactly
    jets_s, _ = prep.kinematics_decode(prep.kinematics_encode(sample, np.random.default_rng(1)))
    np.testing.assert_allclose(jets_s, sample.jets[:, :3], rtol=1e-10, atol=1e-10)


def test_any_model_output_decodes_inside_its_types_training_range(quantile_prep):
    prep, sample = quantile_prep
    wild = np.random.default_rng(2).normal(0, 8, (2000, 4))
    for code in (0, 2):
        jets, counts = prep.kinematics_decode(wild, np.full(2000, code), "quantile")
        lo, hi = _ranges(sample, code)
        values = np.column_stack([jets, counts])
        slack = 1e-9 * np.abs(values)  # through exp, tanh and back
        assert np.all(values >= lo - slack) and np.all(values <= hi + slack)
        assert np.all(counts == np.floor(counts)) and np.all(counts >= 1)
    # the types differ: the same coordinates decode to each type's own quantiles
    gluon, _ = prep.kinematics_decode(np.zeros((1, 4)), np.zeros(1, dtype=int), "quantile")
    top, _ = prep.kinematics_decode(np.zeros((1, 4)), np.full(1, 2), "quantile")
    for code, jets in ((0, gluon), (2, top)):
        rows = sample.jet_type == code
        assert jets[0, 0] == pytest.approx(np.median(sample.jets[rows, 0]), rel=0.01)


def test_a_preprocessing_without_quantiles_says_so_in_one_line(quantile_prep):
    prep, sample = quantile_prep
    old = JetCloudPreprocessing()
    state = copy.deepcopy(prep.state_dict())
    del state["kinematics_quantiles"]  # preprocessing.json of a run made before the option
    old.load_state_dict(state)
    with pytest.raises(LhcgenError, match="no fitted quantiles of the jet kinematics"):
        old.kinematics_decode(np.zeros((1, 4)), np.zeros(1, dtype=int), "quantile")
    jets, _ = old.kinematics_decode(np.zeros((1, 4)))  # its own coordinates still work
    assert np.isfinite(jets).all()


# ---- the commands ------------------------------------------------------------------------
def _with(path: str, out: str, **sections) -> str:
    """The config at ``path`` with sections updated key by key, written to ``out``."""
    cfg = yaml.safe_load(Path(path).read_text())
    for name, keys in sections.items():
        cfg.setdefault(name, {}).update(keys)
    Path(out).write_text(yaml.safe_dump(cfg))
    return out


@pytest.fixture(scope="module")
def quantile_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("quantile_runs")
    write_jets(root / "truth.h5", two_types(300, seed=1))
    base = _config(root, "edm", "cae", root / "truth.h5")
    for name, marginals in (("standard", "standardised"), ("quantile", "quantile")):
        path = _with(base, str(root / f"{name}.yaml"), conditions={"marginals": marginals})
        assert main(["train", path, "--out", str(root / name), "--no-progress"]) == 0
    return root, base


def test_fully_generated_jets_stay_in_the_training_range_of_their_type(quantile_runs):
    """Two epochs leave the conditions model far from converged: with quantile marginals
    every generated pT, eta, m and N is still inside its type's training range, the pT
    window of the file included."""
    root, _ = quantile_runs
    state = json.loads((root / "quantile" / "preprocessing.json").read_text())
    assert len(state["kinematics_quantiles"]["groups"]) == 2
    standard = json.loads((root / "standard" / "preprocessing.json").read_text())
    assert standard["kinematics_quantiles"] == {}  # fitted only where asked for
    out = root / "gen.h5"
    assert main(["sample", str(root / "quantile"), "-n", "400", "--out", str(out),
                 "--no-progress"]) == 0
    jets, truth = read_jets(out), read_jets(root / "truth.h5")
    train = truth.subset(np.isin(truth.jet_type, [0, 2]))
    for code in (0, 2):
        rows = jets.jet_type == code
        assert rows.sum() > 100
        lo, hi = _ranges(train, code)
        values = np.column_stack([jets.jets[rows, :3], jets.n_constituents[rows]])
        slack = 1e-9 * np.abs(values)
        assert np.all(values >= lo - slack) and np.all(values <= hi + slack)


def test_a_warm_restart_into_other_marginals_trains_the_conditions_model_afresh(
        quantile_runs, capsys):
    """From a standardised run: quantile marginals fit their quantiles on the training jets
    and start the conditions model from random weights; with conditions.epochs 0 (the
    network trained on) there is no conditions model to keep, one line."""
    root, _ = quantile_runs
    base = str(root / "standard.yaml")
    path = _with(base, str(root / "to_quantile.yaml"),
                 training={"epochs": 0, "init_from": str(root / "standard")},
                 conditions={"marginals": "quantile"})
    assert main(["train", path, "--out", str(root / "to_quantile"), "--no-progress"]) == 0
    metrics = json.loads((root / "to_quantile" / "metrics.json").read_text())
    assert "initialised" not in metrics["conditions"]
    state = json.loads((root / "to_quantile" / "preprocessing.json").read_text())
    assert state["kinematics_quantiles"]["counts"] == json.loads(
        (root / "quantile" / "preprocessing.json").read_text())["kinematics_quantiles"]["counts"]
    assert main(["sample", str(root / "to_quantile"), "-n", "50", "--out",
                 str(root / "to_quantile.h5"), "--no-progress"]) == 0
    capsys.readouterr()
    keep = _with(path, str(root / "keep.yaml"), training={"epochs": 1},
                 conditions={"epochs": 0})
    assert main(["train", keep, "--out", str(root / "keep"), "--no-progress"]) == 1
    one_line_error(capsys, "conditions.epochs 0 keeps the conditions model",
                   "marginals 'quantile'")
    assert not (root / "keep").exists()


def test_unknown_marginals_are_one_line(quantile_runs, capsys):
    root, base = quantile_runs
    path = _with(base, str(root / "bad.yaml"), conditions={"marginals": "gaussian"})
    assert main(["train", path, "--out", str(root / "bad"), "--no-progress"]) == 1
    one_line_error(capsys, "'conditions.marginals' must be one of standardised, quantile",
                   "'gaussian'")
    assert not (root / "bad").exists()
