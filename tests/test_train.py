"""Training loop: run-directory contents, atomic checkpoints and exact resume."""

import dataclasses
import json

import pytest
import torch

from lhcgen.data.hdf5 import write_events
from lhcgen.errors import LhcgenError
from lhcgen.train.checkpoint import load_checkpoint
from lhcgen.train.config import config_from_dict
from lhcgen.train.loop import Interrupted
from lhcgen.train.run import load_run_config, train_run
from lhcgen.train.schedule import lr_factor


def _cfg(train_file, **training):
    return config_from_dict({
        "data": {"train": str(train_file), "val_fraction": 0.2},
        "model": {"hidden": 32, "blocks": 1, "time_embedding": 8},
        "training": {"batch_size": 128, "epochs": 2, "checkpoint_every": 4, "warmup_steps": 3,
                     **training},
    })


@pytest.fixture
def train_file(tmp_path, toy_sample):
    path = tmp_path / "train.h5"
    write_events(path, toy_sample.subset(slice(0, 1000)))
    return path


def test_run_directory_contents(tmp_path, train_file):
    metrics = train_run(_cfg(train_file), tmp_path / "run", torch.device("cpu"), progress=False)
    files = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert files == ["checkpoint.pt", "config.yaml", "metrics.json", "preprocessing.json",
                     "train_log.jsonl"]
    log = [json.loads(line) for line in
           (tmp_path / "run" / "train_log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2]
    assert metrics["steps"] == 2 * 7 and metrics["val_events"] == 200
    assert json.loads((tmp_path / "run" / "metrics.json").read_text()) == metrics
    with pytest.raises(LhcgenError, match="already holds a trained run"):
        train_run(_cfg(train_file), tmp_path / "run", torch.device("cpu"), progress=False)


def test_resume_after_interruption_matches_uninterrupted(tmp_path, train_file):
    cfg = _cfg(train_file)
    train_run(cfg, tmp_path / "full", torch.device("cpu"), progress=False)
    with pytest.raises(Interrupted, match="interrupted at step 5/14"):
        train_run(cfg, tmp_path / "cut", torch.device("cpu"), progress=False,
                  should_stop=lambda step: step == 5)
    assert load_checkpoint(tmp_path / "cut")["step"] == 5
    train_run(cfg, tmp_path / "cut", torch.device("cpu"), resume=True, progress=False)
    full, cut = load_checkpoint(tmp_path / "full"), load_checkpoint(tmp_path / "cut")
    assert cut["step"] == full["step"] == 14
    for key in full["model"]:
        torch.testing.assert_close(cut["model"][key], full["model"][key])
        torch.testing.assert_close(cut["ema"]["model"][key], full["ema"]["model"][key])


def test_resume_needs_same_config_and_starts_over_without_a_checkpoint(tmp_path, train_file):
    # killed before its first checkpoint: --resume has nothing to continue and starts over
    train_run(_cfg(train_file), tmp_path / "none", torch.device("cpu"), resume=True,
              progress=False)
    assert load_checkpoint(tmp_path / "none")["finished"]
    train_run(_cfg(train_file), tmp_path / "run", torch.device("cpu"), progress=False)
    with pytest.raises(LhcgenError, match="config differs"):
        train_run(_cfg(train_file, lr=0.01), tmp_path / "run", torch.device("cpu"),
                  resume=True)


def test_resume_takes_a_new_default_sampler(tmp_path, train_file):
    """The sampling section is not part of what is trained: a run resumes with another
    default sampler, and its config then records the new one."""
    cfg = _cfg(train_file)
    with pytest.raises(Interrupted):
        train_run(cfg, tmp_path / "run", torch.device("cpu"), progress=False,
                  should_stop=lambda step: step == 5)
    new = dataclasses.replace(cfg, sampling=dataclasses.replace(cfg.sampling, solver="rk4",
                                                                steps=3))
    train_run(new, tmp_path / "run", torch.device("cpu"), resume=True, progress=False)
    assert load_run_config(tmp_path / "run").sampling == new.sampling
    assert load_checkpoint(tmp_path / "run")["finished"]


def test_too_few_events_for_a_batch(tmp_path, train_file):
    with pytest.raises(LhcgenError, match="fewer than one batch"):
        train_run(_cfg(train_file, batch_size=5000), tmp_path / "r", torch.device("cpu"))


def test_corrupt_checkpoint(tmp_path):
    (tmp_path / "checkpoint.pt").write_bytes(b"garbage")
    with pytest.raises(LhcgenError, match="corrupt checkpoint"):
        load_checkpoint(tmp_path)


@pytest.mark.parametrize("kind", ["cosine", "onecycle", "constant"])
def test_lr_schedules(kind):
    assert lr_factor(0, 100, 10, kind) == pytest.approx(0.1)
    assert lr_factor(9, 100, 10, kind) == pytest.approx(1.0)
    end = lr_factor(100, 100, 10, kind)
    assert end == pytest.approx(1.0 if kind == "constant" else 0.0, abs=1e-12)


def test_resume_trims_log_records_past_the_checkpoint(tmp_path, train_file):
    """A kill between writing an epoch's log record and its checkpoint, and a line cut
    short, leave a log that --resume trims back to the checkpoint."""
    cfg = _cfg(train_file)
    with pytest.raises(Interrupted):
        train_run(cfg, tmp_path / "run", torch.device("cpu"), progress=False,
                  should_stop=lambda step: step == 9)
    log = tmp_path / "run" / "train_log.jsonl"
    text = log.read_text()
    log.write_text(text + json.dumps({"step": 14, "epoch": 2}) + "\n" + '{"step": 1')
    train_run(cfg, tmp_path / "run", torch.device("cpu"), resume=True, progress=False)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2]


def test_ema_follows_its_closed_form_with_the_ramped_decay():
    """theta_ema after n updates from constant weights w, starting at theta_0:
    w + (theta_0 - w) * prod_k d_k with d_k = min(decay, (1+k)/(10+k)); buffers copied."""
    from lhcgen.train.ema import EMA

    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    ema = EMA(model, decay=0.9)
    start = [p.detach().clone() for p in ema.model.parameters()]
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.5)
        model[1].running_mean.fill_(0.25)
    for _ in range(20):
        ema.update(model)
    keep = 1.0
    for k in range(1, 21):
        keep *= min(0.9, (1 + k) / (10 + k))
    for e, p, p0 in zip(ema.model.parameters(), model.parameters(), start, strict=True):
        torch.testing.assert_close(e, p + (p0 - p) * keep, rtol=1e-6, atol=1e-6)
    assert torch.all(ema.model[1].running_mean == 0.25)
    with pytest.raises(ValueError, match="parameters"):
        ema.update(torch.nn.Linear(3, 4))


def test_epochs_zero_is_refused_for_a_process_without_a_conditions_model(tmp_path,
                                                                          train_file):
    """training.epochs 0 trains only the conditions model; Z+jets has none, so the run is
    refused before anything is written."""
    train_run(_cfg(train_file), tmp_path / "first", torch.device("cpu"), progress=False)
    cfg = _cfg(train_file, epochs=0, init_from=str(tmp_path / "first"))
    with pytest.raises(LhcgenError, match="trains only the conditions model, and process "
                                          "'zjets' has none"):
        train_run(cfg, tmp_path / "zero", torch.device("cpu"), progress=False)
    assert not (tmp_path / "zero").exists()


def test_a_conditions_section_is_refused_for_a_process_without_a_conditions_model(
        tmp_path, train_file):
    """Z+jets events are generated whole: a 'conditions' section (conditions.epochs 0 with
    init_from, say) would be ignored, so it is refused; the full default section a run
    writes into its config.yaml still reads back."""
    base = {"data": {"process": "zjets", "train": str(train_file)},
            "training": {"init_from": str(tmp_path / "first")}}
    for section in ({"epochs": 0}, {"hidden": 64}, {"warm_start": False}):
        with pytest.raises(LhcgenError, match="process 'zjets' has no conditions model"):
            config_from_dict({**base, "conditions": section})
    cfg = _cfg(train_file)
    train_run(cfg, tmp_path / "first", torch.device("cpu"), progress=False)
    assert load_run_config(tmp_path / "first") == cfg
    assert "conditions" in (tmp_path / "first" / "config.yaml").read_text()
