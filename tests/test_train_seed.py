"""lhcgen train --seed: a replica of a run with another training.seed."""

import pytest
import torch
import yaml

from lhcgen.cli import main
from lhcgen.data.jet_hdf5 import write_jets
from lhcgen.errors import LhcgenError
from lhcgen.train.config import load_config
from tests.test_jet_generators import _config, two_types


def _network(run) -> dict:
    return torch.load(run / "checkpoint.pt", weights_only=False)["model"]


def test_seed_replaces_the_configs_and_changes_the_network_only_when_it_differs(tmp_path):
    write_jets(tmp_path / "truth.h5", two_types(200, seed=1))
    config = _config(tmp_path, "edm", "cae", tmp_path / "truth.h5")
    assert load_config(config).training.seed == 1
    assert load_config(config, seed=7).training.seed == 7
    for name, extra in (("plain", []), ("same", ["--seed", "1"]), ("other", ["--seed", "7"])):
        assert main(["train", config, "--out", str(tmp_path / name), "--no-progress",
                     "--threads", "1", *extra]) == 0
    recorded = yaml.safe_load((tmp_path / "other" / "config.yaml").read_text())
    assert recorded["training"]["seed"] == 7
    plain, same, other = (_network(tmp_path / n) for n in ("plain", "same", "other"))
    assert all(torch.equal(plain[k], same[k]) for k in plain)
    assert not all(torch.equal(plain[k], other[k]) for k in plain)


def test_seed_does_not_hide_a_broken_training_section(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump({"data": {"process": "jets"}, "training": [1, 2]}))
    with pytest.raises(LhcgenError, match="training"):
        load_config(config, seed=3)
