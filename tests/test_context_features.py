"""Octave features of the continuous conditions (model.context_frequencies): closed form,
what they buy (a narrow peak in a condition), and where they apply."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from lhcgen.cli import main
from lhcgen.data.jet_hdf5 import read_jets, write_jets
from lhcgen.errors import LhcgenError
from lhcgen.models import build_generator
from lhcgen.models.config import ModelConfig
from lhcgen.nets.embeddings import ContextFourierFeatures
from lhcgen.nets.mlp import ResidualMLP
from lhcgen.train.config import config_from_dict
from tests.test_jet_generators import _cloud_batch, _config, fitted, two_types  # noqa: F401


def test_the_features_are_the_conditions_and_their_octaves():
    c = torch.tensor([[0.5, -2.0]])
    out = ContextFourierFeatures(2)(c)
    assert out.shape == (1, ContextFourierFeatures.width(2, 2)) == (1, 10)
    args = [2 * math.pi * f * x for x in (0.5, -2.0) for f in (1 / 8, 2 / 8)]
    expected = [0.5, -2.0, *(math.sin(a) for a in args), *(math.cos(a) for a in args)]
    torch.testing.assert_close(out[0], torch.tensor(expected), rtol=0, atol=1e-6)
    assert ContextFourierFeatures(3).state_dict() == {}  # the frequencies are not weights
    with pytest.raises(ValueError, match="at least one frequency"):
        ContextFourierFeatures(0)


def _fit_peak(frequencies: int, width: float = 0.05) -> float:
    """An MLP regresses a resonance ``width`` wide at 0.7 in a standardised condition
    c ~ N(0, 1) (a jet-mass peak) for a fixed budget; its mean squared error across the
    peak (within three widths)."""
    torch.manual_seed(0)
    embed = ContextFourierFeatures(frequencies) if frequencies else torch.nn.Identity()
    net = ResidualMLP(1, ContextFourierFeatures.width(1, frequencies), 32, 2, 0.0)
    optimiser = torch.optim.Adam(net.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(1)

    def peak(c: torch.Tensor) -> torch.Tensor:
        return torch.exp(-0.5 * ((c - 0.7) / width) ** 2)

    for _ in range(400):
        c = torch.randn(256, 1, generator=gen)
        optimiser.zero_grad()
        ((net(torch.zeros_like(c), embed(c)) - peak(c)) ** 2).mean().backward()
        optimiser.step()
    c = torch.linspace(0.7 - 3 * width, 0.7 + 3 * width, 501)[:, None]
    with torch.no_grad():
        return float(((net(torch.zeros_like(c), embed(c)) - peak(c)) ** 2).mean())


def test_octaves_resolve_a_narrow_peak_that_the_plain_condition_smooths():
    """Same network, data and budget: with the conditions alone the peak comes out
    smoothed (here 1.4e-3), with six octaves it is resolved (2e-6)."""
    plain, octaves = _fit_peak(0), _fit_peak(6)
    assert octaves < plain / 30, (plain, octaves)


@pytest.mark.parametrize("name", ["edm", "cfm"])
def test_the_features_widen_only_the_layers_that_read_the_context(fitted, name):  # noqa: F811
    prep, sample = fitted
    shape = {"name": name, "net": "cae", "hidden": 32, "blocks": 2, "heads": 2,
             "global_tokens": 4}
    plain = build_generator(ModelConfig(**shape), prep.coordinates(), prep.multiplicities)
    octaves = build_generator(ModelConfig(**shape, context_frequencies=3), prep.coordinates(),
                              prep.multiplicities)
    a, b = plain.state_dict(), octaves.state_dict()
    assert set(a) == set(b)
    wider = {k for k in a if a[k].shape != b[k].shape}
    assert wider and all(b[k].shape[-1] - a[k].shape[-1] == 4 * 2 * 3 for k in wider)
    batch = _cloud_batch(prep, sample.subset(slice(0, 32)))
    assert torch.isfinite(octaves.loss(batch, torch.Generator().manual_seed(1)))


@pytest.mark.parametrize("model,needle", [
    ({"context_frequencies": -1}, "'model.context_frequencies' must not be negative"),
    ({"context_frequencies": 2}, "process 'zjets' has no continuous conditions")])
def test_impossible_context_frequencies_are_one_line(model, needle):
    with pytest.raises(LhcgenError, match=needle):
        config_from_dict({"data": {"process": "zjets"}, "model": model})


def test_a_run_with_octaves_trains_samples_and_reloads_from_the_command_line(tmp_path):
    """lhcgen train with model.context_frequencies, then lhcgen sample from the run directory
    (the network rebuilt from the run's config, its checkpoint loaded) in both protocols."""
    truth = tmp_path / "truth.h5"
    write_jets(truth, two_types(300, seed=1))
    config = tmp_path / "octaves.yaml"
    cfg = yaml.safe_load(Path(_config(tmp_path, "edm", "cae", truth)).read_text())
    cfg["model"]["context_frequencies"] = 4
    config.write_text(yaml.safe_dump(cfg))
    assert main(["train", str(config), "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    for extra in ([], ["--type", "t", "--condition-from", str(truth)]):
        out = tmp_path / f"gen{len(extra)}.h5"
        assert main(["sample", str(tmp_path / "run"), "-n", "60", "--out", str(out),
                     "--no-progress", *extra]) == 0
        jets = read_jets(out)
        assert len(jets) == 60 and np.all(jets.particles[jets.mask][:, 2] > 0)
