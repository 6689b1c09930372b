"""``training.rare_boost``: the thin tails of a condition drawn more often, per group, by the
closed form of rare_draws.py; the training loop draws rows in proportion; the run reports
it; impossible settings are refused in one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml

from lhcgen.cli import main
from lhcgen.data.jet_hdf5 import write_jets
from lhcgen.errors import LhcgenError
from lhcgen.models.base import Batch
from lhcgen.train.loop import _batches
from lhcgen.train.rare_draws import rare_draw_weights
from tests.cli_helpers import one_line_error
from tests.test_jet_generators import two_types


def _bulk_and_tail(scale: float, tail: int) -> np.ndarray:
    """100 values at the centre of each of bins 0-8 of [0, scale] cut in 10, ``tail`` in
    bin 9 (at the top edge, which belongs to the last bin)."""
    bulk = np.repeat((np.arange(9) + 0.5) * scale / 10, 100)
    return np.concatenate([bulk, np.full(tail, scale)])


def test_a_thin_bin_is_lifted_to_the_median_bin_up_to_the_boost():
    """Group 0: five values in the last bin, the median occupied bin holds 100: lifted 20x,
    capped at 8. Group 1 (another scale): 50 in its last bin, lifted 2x, under the cap. The
    bulk keeps weight 1 (before normalising to mean 1)."""
    values = np.concatenate([_bulk_and_tail(1.0, 5), _bulk_and_tail(300.0, 50)])
    groups = np.repeat([0, 1], [905, 950])
    found = rare_draw_weights(values, groups, boost=8.0, bins=10)
    raw = np.concatenate([np.ones(900), np.full(5, 8.0), np.ones(900), np.full(50, 2.0)])
    np.testing.assert_allclose(found.weights, raw / raw.mean(), rtol=1e-12)
    assert found.boosted == 55
    assert found.boosted_share == pytest.approx((40 + 100) / raw.sum())
    assert found.facts(8.0, "x")["bins"] == 10
    # no boost: every row alike, whatever the distribution
    flat = rare_draw_weights(values, groups, boost=1.0, bins=10)
    np.testing.assert_array_equal(flat.weights, np.ones(len(values)))
    assert flat.boosted == 0


def test_an_even_distribution_is_left_alone():
    values = np.repeat((np.arange(50) + 0.5) / 50, 20)
    found = rare_draw_weights(values, np.zeros(len(values), dtype=int), boost=8.0)
    np.testing.assert_array_equal(found.weights, np.ones(len(values)))


@pytest.mark.parametrize(("values", "groups", "boost", "needle"), [
    (np.array([0.1, np.nan]), np.zeros(2), 4.0, "NaN"),
    (np.array([0.1, 0.2]), np.zeros(3), 4.0, "one length"),
    (np.array([0.1, 0.2]), np.zeros(2), 0.5, "at least 1"),
])
def test_bad_values_are_refused(values, groups, boost, needle):
    with pytest.raises(LhcgenError, match=needle):
        rare_draw_weights(values, groups, boost)


def test_the_loop_draws_rows_in_proportion_to_their_weights_and_repeats_an_epoch():
    """Row 0 weighs 9, rows 1-9 weigh 1 (9 / 18 of the draws for row 0); 200 epochs of 10
    draws: row 0 comes up 1000 +- 3 sigma times. An epoch's order depends only on (seed,
    epoch), so a resumed run draws the same rows."""
    n = 10
    data = Batch(torch.arange(n, dtype=torch.float32)[:, None], torch.ones(n, 1, dtype=bool),
                 torch.zeros(n, dtype=torch.long), torch.ones(n), None)
    draws = torch.tensor([9.0] + [1.0] * 9, dtype=torch.float64)
    rows = torch.cat([b.x[:, 0] for epoch in range(200)
                      for b in _batches(data, 4, seed=3, epoch=epoch, draws=draws)])
    assert len(rows) == 200 * n
    p = 0.5
    assert abs(int((rows == 0).sum()) - 2000 * p) < 3 * (2000 * p * (1 - p)) ** 0.5
    again = torch.cat([b.x[:, 0] for b in _batches(data, 4, seed=3, epoch=7, draws=draws)])
    first = torch.cat([b.x[:, 0] for b in _batches(data, 4, seed=3, epoch=7, draws=draws)])
    torch.testing.assert_close(again, first)
    plain = torch.cat([b.x[:, 0] for b in _batches(data, 4, seed=3, epoch=7)])
    assert sorted(plain.tolist()) == list(range(n))  # without draws: each row once


def _config(root, process: str = "jets", **training) -> str:
    cfg = {"data": {"process": process, "train": str(root / "truth.h5"), "val_fraction": 0.1},
           "model": {"name": "edm", "net": "cae", "hidden": 16, "blocks": 1, "heads": 2,
                     "global_tokens": 2},
           "training": {"batch_size": 64, "epochs": 1, "checkpoint_every": 1000, **training},
           "conditions": {"epochs": 1, "hidden": 16, "blocks": 1, "batch_size": 64,
                          "steps": 2}}
    if process != "jets":  # Z+jets has neither a cloud backbone nor a conditions model
        del cfg["model"]["net"], cfg["model"]["global_tokens"], cfg["conditions"]
    path = root / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def test_a_jets_run_with_a_rare_boost_reports_what_it_lifted(tmp_path):
    sample = two_types(200, seed=4)
    write_jets(tmp_path / "truth.h5", sample)
    assert main(["train", _config(tmp_path, rare_boost=8.0), "--out", str(tmp_path / "run"),
                 "--no-progress"]) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    facts = metrics["rare_draws"]
    assert facts["condition"] == "m/pT" and facts["boost"] == 8.0
    assert facts["events"] == metrics["train_events"]
    assert 0 < facts["boosted_events"] < facts["events"]
    assert facts["boosted_events"] / facts["events"] < facts["boosted_share_of_draws"] < 1


@pytest.mark.parametrize(("process", "boost", "needle"), [
    ("jets", 0.5, "'training.rare_boost' must be in [1, 1000]"),
    ("jets", float("nan"), "'training.rare_boost' must be in [1, 1000]"),
    ("zjets", 4.0, "process 'zjets' has no rare condition"),
])
def test_an_impossible_rare_boost_is_refused_in_one_line(tmp_path, capsys, process, boost,
                                                         needle):
    assert main(["train", _config(tmp_path, process, rare_boost=boost), "--out",
                 str(tmp_path / "run"), "--no-progress"]) != 0
    one_line_error(capsys, needle)
    assert not (tmp_path / "run").exists()
