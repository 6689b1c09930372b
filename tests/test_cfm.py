"""Conditional flow matching on small problems with a known answer."""

import pytest
import torch

from lhcgen.errors import LhcgenError
from lhcgen.models import Batch, Coordinates, build_generator
from lhcgen.models.config import ModelConfig
from lhcgen.solvers import sample

COORDS = Coordinates.plain([0, 0, 1, 1])


def _data(n, seed=0):
    """Two coordinates per object; multiplicity 1 -> only object 0 exists, mean depends on
    the multiplicity, so the condition must be used."""
    g = torch.Generator().manual_seed(seed)
    mult = torch.randint(1, 3, (n,), generator=g)
    x = 0.3 * torch.randn(n, 4, generator=g) + torch.where(mult[:, None] == 1, -1.0, 1.0)
    dims = torch.ones(n, 4, dtype=torch.bool)
    dims[mult == 1, 2:] = False
    return Batch(x * dims, dims, mult, torch.ones(n))


@pytest.mark.slow
@pytest.mark.parametrize("net", ["mlp", "transformer"])
def test_loss_decreases_and_samples_follow_the_condition(net):
    torch.manual_seed(0)
    cfg = ModelConfig(net=net, hidden=32, blocks=2, heads=2, time_embedding=8)
    model = build_generator(cfg, COORDS, [1, 2])
    data = _data(4000)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(1)
    val = _data(2000, seed=5)
    with torch.no_grad():
        before = float(model.loss(val, torch.Generator().manual_seed(2)))
    for _ in range(300):
        idx = torch.randint(0, 4000, (256,), generator=g)
        batch = Batch(data.x[idx], data.dims_mask[idx], data.multiplicity[idx],
                      data.weights[idx])
        loss = model.loss(batch, g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = float(model.loss(val, torch.Generator().manual_seed(2)))
    assert after < 0.7 * before
    mult = torch.tensor([1] * 500 + [2] * 500)
    dims = torch.ones(1000, 4, dtype=torch.bool)
    dims[:500, 2:] = False
    x, info = sample(model, mult, dims, torch.Generator().manual_seed(3), "rk4", 8)
    assert x.shape == (1000, 4) and info["nfe"] == 32
    assert not x[~dims].any()
    assert float(x[:500, :2].mean()) == pytest.approx(-1.0, abs=0.25)
    assert float(x[500:].mean()) == pytest.approx(1.0, abs=0.25)


def test_sampling_is_deterministic_with_a_seed():
    model = build_generator(ModelConfig(hidden=16, blocks=1), COORDS, [1, 2])
    mult = torch.tensor([1, 2, 2])
    dims = torch.ones(3, 4, dtype=torch.bool)
    a, _ = sample(model, mult, dims, torch.Generator().manual_seed(7), "euler", 3)
    b, _ = sample(model, mult, dims, torch.Generator().manual_seed(7), "euler", 3)
    torch.testing.assert_close(a, b)


def test_untrained_multiplicity_is_an_error():
    model = build_generator(ModelConfig(hidden=16, blocks=1), COORDS, [1, 2])
    with pytest.raises(LhcgenError, match=r"multiplicity \[4\] was not in the training data"):
        sample(model, torch.tensor([4]), torch.ones(1, 4, dtype=torch.bool))


def test_unknown_model_name():
    with pytest.raises(LhcgenError, match="unknown model"):
        build_generator(ModelConfig(name="gan"), COORDS, [1])
