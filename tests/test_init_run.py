"""A run that starts from another run's weights (``training.init_from``): it begins at them,
in the same coordinates, with a fresh schedule, carries the chain's training cost, and
refuses a run it cannot continue in one line."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
import yaml

from lhcgen.cli import main
from lhcgen.data.jet_hdf5 import write_jets
from lhcgen.train.checkpoint import load_checkpoint
from lhcgen.train.init_run import chain_history
from tests.cli_helpers import one_line_error
from tests.test_jet_generators import two_types


def _config(root, name: str, conditions_lr: float = 1e-3, hidden: int = 32,
            **training) -> str:
    cfg = {"data": {"process": "jets", "train": str(root / "truth.h5"), "val_fraction": 0.1},
           "model": {"name": "edm", "net": "cae", "hidden": hidden, "blocks": 1, "heads": 2,
                     "global_tokens": 4},
           "training": {"batch_size": 64, "epochs": 1, "checkpoint_every": 1000, **training},
           "conditions": {"epochs": 1, "hidden": 32, "blocks": 1, "batch_size": 64,
                          "steps": 4, "lr": conditions_lr}}
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("init_runs")
    write_jets(root / "truth.h5", two_types(200, seed=1))
    # a large rate without warmup takes the first run well away from its random start
    assert main(["train", _config(root, "base", lr=0.01, warmup_steps=1), "--out",
                 str(root / "base"),
                 "--no-progress"]) == 0
    return root


def _weights(run_dir, key: str = "model") -> dict:
    return load_checkpoint(run_dir)[key]


def test_a_run_starts_at_the_weights_and_coordinates_of_the_run_it_names(base):
    """At a vanishing learning rate the continued run ends where it began: at the first
    run's weights (a fresh network, seeded alike, is nowhere near them), network and
    conditions model alike; the fitted preprocessing is the first run's, not refitted."""
    root = base
    assert main(["train", _config(root, "ft", init_from=str(root / "base"), lr=1e-12,
                                  conditions_lr=1e-12, epochs=2),
                 "--out", str(root / "ft"), "--no-progress"]) == 0
    for sub in ("", "conditions"):
        before, after = _weights(root / "base" / sub), _weights(root / "ft" / sub)
        assert before.keys() == after.keys()
        for name, value in before.items():
            torch.testing.assert_close(after[name], value, atol=1e-7, rtol=0)
    assert ((root / "ft" / "preprocessing.json").read_text()
            == (root / "base" / "preprocessing.json").read_text())
    state = load_checkpoint(root / "ft")
    assert state["step"] == 2 * load_checkpoint(root / "base")["step"]  # its own epochs
    assert state["scheduler"]["base_lrs"] == [1e-12]  # a fresh schedule at its own rate

    # the same config without init_from: random weights, far from the first run's
    assert main(["train", _config(root, "fresh", lr=1e-12, epochs=2), "--out",
                 str(root / "fresh"), "--no-progress"]) == 0
    fresh, trained = _weights(root / "fresh"), _weights(root / "base")
    assert max(float((fresh[k].float() - trained[k].float()).abs().max())
               for k in trained if trained[k].is_floating_point()) > 0.02


def test_the_chain_of_runs_carries_its_steps_and_training_time(base):
    root = base
    if not (root / "ft").is_dir():
        assert main(["train", _config(root, "ft", init_from=str(root / "base"), lr=1e-12,
                                      conditions_lr=1e-12, epochs=2), "--out", str(root / "ft"),
                     "--no-progress"]) == 0
    first = json.loads((root / "base" / "metrics.json").read_text())
    second = json.loads((root / "ft" / "metrics.json").read_text())
    history = second["init_from"]["history"]
    assert second["init_from"]["run"] == str(root / "base")
    assert history["runs"] == [str(root / "base")]
    assert history["steps"] == first["steps"] and history["epochs"] == first["epochs"] == 1
    assert history["training_seconds"] == pytest.approx(
        first["training_seconds"] + first["conditions"]["training_seconds"], abs=0.01)
    assert second["conditions"]["initialised"] is True
    chain = chain_history(second, "ft")
    assert chain["runs"] == [str(root / "base"), "ft"]
    assert chain["steps"] == first["steps"] + second["steps"]
    assert chain["epochs"] == 3
    assert chain["training_seconds"] == pytest.approx(
        history["training_seconds"] + second["training_seconds"]
        + second["conditions"]["training_seconds"], abs=0.02)


def _unfinished(root):
    shutil.copytree(root / "base", root / "unfinished", dirs_exist_ok=True)
    (root / "unfinished" / "metrics.json").unlink()
    return {"init_from": str(root / "unfinished")}


@pytest.mark.parametrize("case, needles", [
    ("missing", ("training.init_from", "not a run directory")),
    ("other_model", ("training.init_from", "model.hidden 48 here, 32 there")),
    ("unfinished", ("training.init_from", "has not finished", "--resume")),
])
def test_a_run_it_cannot_start_from_is_refused_in_one_line(base, case, needles, capsys):
    root = base
    training = {"missing": lambda: {"init_from": str(root / "nowhere")},
                "other_model": lambda: {"init_from": str(root / "base"), "hidden": 48},
                "unfinished": lambda: _unfinished(root)}[case]()
    path = _config(root, f"bad_{case}", **training)
    out = root / f"bad_{case}_run"
    assert main(["train", path, "--out", str(out), "--no-progress"]) != 0
    one_line_error(capsys, *needles)
    assert not (out / "checkpoint.pt").exists()


def test_a_run_started_from_one_of_several_types_needs_each_of_its_types(base, capsys):
    """The coordinates of a run fitted on two jet types are kept by a run that starts from
    it, so a training file of one of them is refused in one line that names the missing type
    and where the demand comes from (not preprocessing.jet_types, which is empty), before
    the network trains and before anything is written."""
    from lhcgen.data.jet_hdf5 import read_jets
    from lhcgen.data.jets import JET_TYPES

    root = base
    truth = read_jets(root / "truth.h5")
    first, second = sorted(set(truth.jet_type.tolist()))
    write_jets(root / "one_type.h5", truth.subset(truth.jet_type == first))
    path = _config(root, "one_type", init_from=str(root / "base"))
    cfg = yaml.safe_load((root / "one_type.yaml").read_text())
    cfg["data"]["train"] = str(root / "one_type.h5")
    (root / "one_type.yaml").write_text(yaml.safe_dump(cfg))
    out = root / "one_type_run"
    assert main(["train", path, "--out", str(out), "--no-progress"]) != 0
    one_line_error(capsys, f"holds no {JET_TYPES[second]} jets",
                   f"fitted on {JET_TYPES[first]}{JET_TYPES[second]} jets")
    assert not out.exists()  # refused before training: nothing written


def test_a_continued_run_resumes_to_the_same_weights_as_uninterrupted(base):
    """Interrupted in its network's training and resumed, a continued run ends where an
    uninterrupted one does, network and conditions model (which starts from the first run's
    conditions model although the run it resumes had not reached it), and keeps the chain."""
    from lhcgen.train.config import load_config
    from lhcgen.train.loop import Interrupted
    from lhcgen.train.run import train_run

    root = base
    cfg = load_config(_config(root, "again", init_from=str(root / "base"), lr=1e-3, epochs=2))
    cpu = torch.device("cpu")
    full = train_run(cfg, root / "again_full", cpu, progress=False)
    with pytest.raises(Interrupted):
        train_run(cfg, root / "again_cut", cpu, progress=False,
                  should_stop=lambda step: step == 3)
    assert not (root / "again_cut" / "conditions" / "checkpoint.pt").exists()
    cut = train_run(cfg, root / "again_cut", cpu, resume=True, progress=False)
    assert cut["init_from"] == full["init_from"]
    for sub in ("", "conditions"):
        a, b = _weights(root / "again_full" / sub), _weights(root / "again_cut" / sub)
        for name, value in a.items():
            torch.testing.assert_close(b[name], value)


def _conditions_only(root, name: str, warm_start: bool) -> str:
    """A run that takes the first run's network as it is (training.epochs 0) and trains only
    its conditions model, with the first run's settings (warmup as there: the conditions
    model takes its warmup, seed and split from the training section)."""
    path = _config(root, name, init_from=str(root / "base"), lr=0.01, warmup_steps=1,
                   epochs=0)
    cfg = yaml.safe_load((root / f"{name}.yaml").read_text())
    cfg["conditions"]["warm_start"] = warm_start
    (root / f"{name}.yaml").write_text(yaml.safe_dump(cfg))
    return path


def test_epochs_zero_keeps_the_network_and_retrains_only_the_conditions_model(base, tmp_path,
                                                                             capsys):
    """training.epochs 0: the network (raw and EMA weights, coordinates, validation loss) is
    the first run's exactly; with conditions.warm_start false the conditions model is trained
    afresh, seeded as a run from scratch, so with the first run's conditions settings it
    repeats that run's conditions model bit for bit; warm, it trains on from it instead. The
    run samples like any other."""
    root = base
    assert main(["train", _conditions_only(root, "cond_fresh", warm_start=False), "--out",
                 str(root / "cond_fresh"), "--no-progress"]) == 0
    said = capsys.readouterr().out
    assert "kept the network of training.init_from as it is" in said
    assert "; conditions model: " in said
    first, ours = load_checkpoint(root / "base"), load_checkpoint(root / "cond_fresh")
    for key in ("model", "ema"):
        theirs = first[key] if key == "model" else first[key]["model"]
        mine = ours[key] if key == "model" else ours[key]["model"]
        assert mine.keys() == theirs.keys()
        for name, value in theirs.items():
            assert torch.equal(mine[name], value), name
    assert ours["finished"] and ours["step"] == 0
    assert ((root / "cond_fresh" / "preprocessing.json").read_text()
            == (root / "base" / "preprocessing.json").read_text())
    metrics = json.loads((root / "cond_fresh" / "metrics.json").read_text())
    before = json.loads((root / "base" / "metrics.json").read_text())
    assert metrics["steps"] == metrics["epochs"] == 0 and metrics["final_train_loss"] is None
    assert metrics["final_val_loss"] == before["final_val_loss"]  # same weights, same noise
    assert metrics["init_from"]["history"]["steps"] == before["steps"]
    assert "initialised" not in metrics["conditions"]
    assert metrics["conditions"]["steps"] == before["conditions"]["steps"] > 0
    again, fresh = _weights(root / "base" / "conditions"), _weights(root / "cond_fresh" /
                                                                    "conditions")
    for name, value in again.items():
        assert torch.equal(fresh[name], value), name

    assert main(["train", _conditions_only(root, "cond_warm", warm_start=True), "--out",
                 str(root / "cond_warm"), "--no-progress"]) == 0
    warm = _weights(root / "cond_warm" / "conditions")
    assert json.loads((root / "cond_warm" / "metrics.json").read_text())[
        "conditions"]["initialised"] is True
    assert max(float((warm[k] - again[k]).abs().max()) for k in again
               if again[k].is_floating_point()) > 1e-4

    out = tmp_path / "sampled.h5"
    assert main(["sample", str(root / "cond_fresh"), "-n", "20", "--type", "t", "--out",
                 str(out), "--no-progress"]) == 0
    from lhcgen.data.jet_hdf5 import read_jets
    sampled = read_jets(out)
    assert len(sampled.jet_type) == 20 and set(sampled.jet_type.tolist()) == {2}


def test_a_slim_run_kept_with_its_ema_weights_alone_can_be_started_from(base):
    """A run whose checkpoints keep only the EMA weights (as runs travel back from a GPU)
    starts the next run's network and EMA, and its conditions model, at them."""
    root = base
    shutil.copytree(root / "base", root / "slim", dirs_exist_ok=True)
    for sub in ("conditions", ""):  # the conditions model kept slim too
        state = load_checkpoint(root / "slim" / sub)
        for key in ("model", "optimizer"):
            state.pop(key)
        torch.save(state, root / "slim" / sub / "checkpoint.pt")
    path = _config(root, "from_slim", init_from=str(root / "slim"), epochs=0)
    assert main(["train", path, "--out", str(root / "from_slim"), "--no-progress"]) == 0
    ours = load_checkpoint(root / "from_slim")
    for name, value in state["ema"]["model"].items():
        assert torch.equal(ours["model"][name], value) and torch.equal(
            ours["ema"]["model"][name], value), name


def test_epochs_zero_needs_a_run_to_start_from(base, capsys):
    root = base
    path = _config(root, "zero", epochs=0)
    assert main(["train", path, "--out", str(root / "zero_run"), "--no-progress"]) != 0
    one_line_error(capsys, "training.epochs", "0 only with 'training.init_from'")
    assert not (root / "zero_run").exists()


def test_the_conditions_benchmark_judges_what_fully_generated_jets_carry(base, tmp_path):
    """benchmarks/jets_conditions.py samples a run's conditions model alone; its W1 values
    are those of the conditions of the jets `lhcgen sample` makes fully generated with the
    same seed (so its ratios are the time-fidelity benchmark's), its floor is the truth
    against the second sample, and it writes a table naming both runs."""
    from benchmarks.jets_conditions import main as benchmark
    from benchmarks.jets_time_fidelity import metric_settings

    from lhcgen.data.jet_hdf5 import read_jets
    from lhcgen.evaluate.jets.conditions import condition_w1
    from lhcgen.train.jet_surrogate import JetSurrogate

    root = base
    if not (root / "cond_fresh").is_dir():
        assert main(["train", _conditions_only(root, "cond_fresh", warm_start=False),
                     "--out", str(root / "cond_fresh"), "--no-progress"]) == 0
    write_jets(tmp_path / "other.h5", two_types(200, seed=7))
    runs = f"{root / 'base'},{root / 'cond_fresh'}"
    assert benchmark(["--runs", runs, "--types", "t", "--jets", "150", "--truth",
                      str(root / "truth.h5"), "--truth-floor", str(tmp_path / "other.h5"),
                      "--threads", "1", "--seed", "3", "--out-dir", str(tmp_path),
                      "--name", "cond"]) == 0
    result = json.loads((tmp_path / "cond.json").read_text())
    entry = result["types"]["t"]
    truth = read_jets(root / "truth.h5")
    truth = truth.subset(truth.jet_type == 2).subset(slice(0, 150))
    jets, _ = JetSurrogate.load(root / "base", torch.device("cpu")).generate(
        150, "t", seed=3, progress=False)
    expected = condition_w1(truth, jets, seed=42, settings=metric_settings(150, False))
    for label, value in expected.items():
        assert entry["runs"][str(root / "base")]["w1"][label]["value"] == pytest.approx(
            value["value"], rel=1e-9), label
        assert entry["floor"][label]["value"] > 0
    # the same conditions model (retrained from scratch bit for bit): the same W1
    assert entry["runs"][str(root / "cond_fresh")]["w1"] == entry["runs"][str(root / "base")][
        "w1"]
    assert result["runs"][str(root / "cond_fresh")]["warm_start"] is False
    assert result["runs"][str(root / "cond_fresh")]["marginals"] == "standardised"
    row = entry["runs"][str(root / "base")]
    assert row["ratio_relative_mass"] == pytest.approx(
        row["w1_relative_mass"]["value"] / max(entry["floor_relative_mass"]["value"],
                                               entry["floor_relative_mass"]["error"]))
    table = (tmp_path / "cond.md").read_text()
    assert "from scratch" in table and "| t |" in table and "| m/pT |" in table
    assert entry["plots"] == ["cond_t_pt.png", "cond_t_mass.png"]
    assert all((tmp_path / name).stat().st_size > 0 for name in entry["plots"])


def test_the_conditions_benchmark_samples_with_another_sampler_when_asked(base, tmp_path):
    """--sampler replaces every run's conditions sampler (its facts say which was used);
    a sampler the flow cannot take ends in one line before anything is sampled."""
    from benchmarks.jets_conditions import main as benchmark

    write_jets(tmp_path / "other.h5", two_types(200, seed=7))
    common = ["--runs", str(base / "base"), "--types", "t", "--jets", "150", "--truth",
              str(base / "truth.h5"), "--truth-floor", str(tmp_path / "other.h5"),
              "--threads", "1", "--out-dir", str(tmp_path)]
    assert benchmark([*common, "--sampler", "euler:3", "--name", "euler"]) == 0
    facts = json.loads((tmp_path / "euler.json").read_text())["runs"][str(base / "base")]
    assert (facts["solver"], facts["solver_steps"]) == ("euler", 3)
    assert "| euler 3 |" in (tmp_path / "euler.md").read_text()
    with pytest.raises(SystemExit, match="--sampler"):
        benchmark([*common, "--sampler", "ddim:3", "--name", "bad"])
    with pytest.raises(SystemExit):
        benchmark([*common, "--sampler", "euler:0", "--name", "bad"])
    assert not (tmp_path / "bad.json").exists()


def test_the_conditions_benchmark_counts_jets_outside_the_selection():
    """Each reason counted on its own (a jet may count under several), at the edges of the
    window too: pT at the window's edges is outside, as the selection keeps min < pT < max."""
    from benchmarks.jets_conditions import outside_selection

    cuts = {"jet_pt_min_gev": 800.0, "jet_pt_max_gev": 1600.0, "jet_abs_eta_max": 2.5}
    features = np.array([[1000.0, 0.1, 90.0, 30.0],    # kept
                         [800.0, 0.1, 90.0, 30.0],     # pT at the lower edge
                         [1700.0, -2.6, 90.0, 30.0],   # pT and eta
                         [1000.0, 2.49, 1000.0, 30.0],  # m >= pT
                         [1000.0, 0.0, -1.0, np.inf]])  # m <= 0, count not finite
    assert outside_selection(features, cuts) == {"pt_window": 2, "abs_eta": 1, "mass": 2,
                                                  "count": 1}


def test_a_conditions_only_run_interrupted_resumes_to_the_same_conditions_model(base):
    """Interrupted in its conditions model's training (the only training it does) and
    resumed, a run with training.epochs 0 ends with the conditions model of an
    uninterrupted one and keeps the first run's network."""
    from lhcgen.train.config import load_config
    from lhcgen.train.loop import Interrupted
    from lhcgen.train.run import train_run

    root = base
    cfg = load_config(_conditions_only(root, "cond_cut", warm_start=False))
    cpu = torch.device("cpu")
    full = train_run(cfg, root / "cond_cut_full", cpu, progress=False)
    with pytest.raises(Interrupted):
        train_run(cfg, root / "cond_cut", cpu, progress=False,
                  should_stop=lambda step: step == 2)
    assert load_checkpoint(root / "cond_cut" / "conditions")["step"] == 2
    cut = train_run(cfg, root / "cond_cut", cpu, resume=True, progress=False)
    assert cut["conditions"]["steps"] == full["conditions"]["steps"] > 2
    a, b = _weights(root / "cond_cut_full" / "conditions"), _weights(root / "cond_cut" /
                                                                     "conditions")
    for name, value in a.items():
        torch.testing.assert_close(b[name], value)
    first, ours = _weights(root / "base"), _weights(root / "cond_cut")
    for name, value in first.items():
        assert torch.equal(ours[name], value), name


def test_nothing_to_train_is_refused_in_one_line(base, capsys):
    """training.epochs 0 and conditions.epochs 0: a copy of the run, refused."""
    root = base
    path = _config(root, "nothing", init_from=str(root / "base"), epochs=0)
    cfg = yaml.safe_load((root / "nothing.yaml").read_text())
    cfg["conditions"]["epochs"] = 0
    (root / "nothing.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["train", path, "--out", str(root / "nothing_run"), "--no-progress"]) != 0
    one_line_error(capsys, "both 0", "nothing would train")
    assert not (root / "nothing_run").exists()


def test_conditions_epochs_zero_takes_the_conditions_model_of_init_from(base, capsys):
    """With training.init_from, conditions.epochs 0 keeps that run's conditions model as
    it is while the network trains on."""
    root = base
    path = _config(root, "keep_cond", init_from=str(root / "base"), lr=1e-4)
    cfg = yaml.safe_load((root / "keep_cond.yaml").read_text())
    cfg["conditions"]["epochs"] = 0
    (root / "keep_cond.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["train", path, "--out", str(root / "keep_cond"), "--no-progress"]) == 0
    assert f"conditions model: that of {root / 'base'} as it is" in capsys.readouterr().out
    theirs, ours = _weights(root / "base" / "conditions"), _weights(root / "keep_cond" /
                                                                    "conditions")
    assert all(torch.equal(ours[k], theirs[k]) for k in theirs)
    assert load_checkpoint(root / "keep_cond")["step"] > 0


def test_a_warm_conditions_model_resumed_still_names_the_run_it_started_from(base):
    """The run a conditions model started from is kept in its checkpoint, so a resumed
    run's metrics still name it."""
    from lhcgen.train.config import load_config
    from lhcgen.train.loop import Interrupted
    from lhcgen.train.run import train_run

    root = base
    cfg = load_config(_conditions_only(root, "warm_cut", warm_start=True))
    cpu = torch.device("cpu")
    with pytest.raises(Interrupted):
        train_run(cfg, root / "warm_cut", cpu, progress=False,
                  should_stop=lambda step: step == 2)
    resumed = train_run(cfg, root / "warm_cut", cpu, resume=True, progress=False)
    assert resumed["conditions"]["initialised_from"] == str(root / "base")
