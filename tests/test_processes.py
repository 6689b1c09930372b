"""The Process seam: a toy second process trained, sampled, evaluated and judged through the
normal commands, and files of one process refused where another is expected."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml

from lhcgen.cli import main
from lhcgen.data.hdf5 import read_events, write_events
from lhcgen.processes import (
    get_process,
    process_names,
    read_process_sample,
    register_process,
    registry,
)
from tests.cli_helpers import one_line_error
from tests.toy_process import ToyProcess, toy_events
from tests.toys import toy_zjets


@pytest.fixture
def toy():
    register_process(ToyProcess())
    yield get_process("toy")
    registry._REGISTERED.pop("toy", None)


def test_toy_process_is_known_and_masks_its_objects(toy):
    assert "toy" in process_names() and "zjets" in process_names()
    mask = toy.object_mask(torch.tensor([1, 2]))
    assert mask.tolist() == [[True, True, False], [True, True, True]]
    pre = toy.preprocessing(toy.preprocessing_config())
    sample = toy_events(500, seed=1)
    pre.fit(sample)
    encoded = pre.encode(sample)
    assert encoded.x.shape == (500, 2 + 4 + 4)  # l1 (pT, eta); j1, j2 (pT, eta, phi, m)
    back = pre.decode(encoded.x, encoded.multiplicity)
    # the lepton's phi is a dropped rotation: compare rotation-invariant quantities
    np.testing.assert_allclose(np.hypot(back[..., 1], back[..., 2]),
                               np.hypot(sample.momenta[..., 1], sample.momenta[..., 2]),
                               rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(back[..., 3], sample.momenta[..., 3], rtol=1e-9, atol=1e-9)


def test_unknown_process_and_wrong_schema_are_one_line(tmp_path, toy):
    sample = toy_events(50, seed=2)
    sample.attrs["process"] = "ttbar"
    write_events(tmp_path / "x.h5", sample)
    with pytest.raises(Exception, match="process 'ttbar' is not one lhcgen knows"):
        read_process_sample(tmp_path / "x.h5")
    sample = toy_events(50, seed=2)
    sample.attrs["object_names"] = ["a", "b", "c"]
    write_events(tmp_path / "y.h5", sample)
    with pytest.raises(Exception, match="are not those of process 'toy'"):
        read_process_sample(tmp_path / "y.h5")


@pytest.mark.slow
def test_toy_process_through_train_sample_evaluate_classify(tmp_path, capsys, toy):
    write_events(tmp_path / "train.h5", toy_events(4000, seed=1))
    write_events(tmp_path / "test.h5", toy_events(3000, seed=2))
    config = {"data": {"process": "toy", "train": str(tmp_path / "train.h5")},
              "preprocessing": {"pt_min": 20.0},
              "model": {"name": "cfm", "hidden": 32, "blocks": 2, "time_embedding": 8},
              "training": {"batch_size": 256, "epochs": 2, "warmup_steps": 2}}
    (tmp_path / "toy.yaml").write_text(yaml.safe_dump(config))
    run = tmp_path / "run"
    assert main(["--no-progress", "train", str(tmp_path / "toy.yaml"), "--out", str(run),
                 "--device", "cpu"]) == 0
    generated = tmp_path / "generated.h5"
    assert main(["--no-progress", "sample", str(run), "-n", "3000", "--out", str(generated),
                 "--device", "cpu", "--steps", "4"]) == 0
    sample = read_events(generated)
    assert sample.attrs["process"] == "toy" and list(sample.object_names) == ["l1", "j1", "j2"]
    assert sample.momenta.shape == (3000, 3, 4)
    assert set(np.unique(sample.multiplicity)) <= {1, 2}
    assert sample.attrs["cuts"] == {"object_pt_min_gev": 20.0}  # the training data's cuts
    assert "object_pt" in sample.attrs["cut_violations"]
    tiny = ["--judge", "trees", "--folds", "2", "--bootstrap", "20", "--trees-max-iter", "20"]
    report = tmp_path / "report"
    assert main(["--no-progress", "evaluate", str(generated), "--truth", str(tmp_path / "test.h5"),
                 "--report", str(report), "--classifier", *tiny]) == 0
    metrics = yaml.safe_load((report / "metrics.json").read_text())
    assert {"pt_l1", "m_j2", "delta_r_l1j1", "multiplicity"} <= set(metrics["observables"])
    assert "m_l1" not in metrics["observables"]  # a constant mass is not histogrammed
    assert metrics["classifier"]["judges"]["trees"]["auc"]["all"]["value"] > 0.5 - 0.05
    assert "likelihood" in metrics  # CFM has a density: the test NLL went through the seam
    # a Z+jets truth for a toy generated file: one line, nothing written
    write_events(tmp_path / "zjets.h5", toy_zjets(300, seed=3))
    assert main(["--no-progress", "evaluate", str(generated), "--truth",
                 str(tmp_path / "zjets.h5"), "--report", str(tmp_path / "bad")]) == 1
    one_line_error(capsys, "holds process 'zjets', expected 'toy'")
    assert not (tmp_path / "bad").exists()
