"""EDM's training objective against its closed form (Karras et al., arXiv:2206.00364, table 1).

The loss draws log sigma ~ N(p_mean, p_std^2) per event and weighs the squared denoising
error by lambda(sigma) = (sigma^2 + s_d^2) / (sigma s_d)^2. `make jetslowsigma` trains with
p_mean moved from -1.2 to -1.8; these tests hold that the setting does what it says.
"""

from __future__ import annotations

import math

import pytest
import torch
from scipy import stats
from torch import nn

from lhcgen.models.base import Batch
from lhcgen.models.edm import EDMConfig, EDMDiffusion

EVENTS, PARTICLES, FEATURES = 20000, 3, 2


def model_that_records(cfg: EDMConfig, clean: torch.Tensor,
                       offset: float = 0.0) -> tuple[EDMDiffusion, list]:
    """An EDM whose denoiser returns the clean jets + offset on the coordinates that exist
    (whatever the noise), recording the sigma it is asked at."""
    model = EDMDiffusion(nn.Identity(), FEATURES, [0], cfg)
    seen = []

    def denoise(x, sigma, condition, dims_mask, context=None, shown=None):
        seen.append(sigma.clone())
        return (clean + offset) * dims_mask.to(x.dtype)

    model.denoise = denoise
    return model, seen


def jets(seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(EVENTS, PARTICLES, FEATURES, generator=g, dtype=torch.float64)
    mask = torch.ones_like(x, dtype=torch.bool)
    mask[: EVENTS // 2, -1] = False  # half the jets have a padded particle
    return Batch(x, mask, torch.zeros(EVENTS, dtype=torch.long),
                 torch.ones(EVENTS, dtype=torch.float64))


@pytest.mark.parametrize("p_mean,p_std", [(-1.2, 1.2), (-1.8, 1.2), (-2.4, 1.2), (0.5, 0.4)])
def test_training_noise_levels_are_log_normal_with_the_configured_mean(p_mean, p_std):
    batch = jets()
    model, seen = model_that_records(EDMConfig(p_mean=p_mean, p_std=p_std), batch.x)
    model.loss(batch, generator=torch.Generator().manual_seed(1))
    log_sigma = torch.log(seen[0]).numpy()
    assert len(log_sigma) == EVENTS
    error = p_std / math.sqrt(EVENTS)
    assert abs(log_sigma.mean() - p_mean) < 4 * error
    assert abs(log_sigma.std() - p_std) < 4 * error
    assert stats.kstest(log_sigma, "norm", args=(p_mean, p_std)).pvalue > 1e-3
    # the median training sigma is exp(p_mean): 0.30 at Karras et al.'s -1.2, 0.091 at -2.4
    assert float(seen[0].median()) == pytest.approx(math.exp(p_mean), rel=0.05)


def test_a_lower_p_mean_shifts_the_draws_not_their_shape():
    """Same seed: log sigma moves by the difference of the means, draw by draw."""
    batch = jets()
    low, seen_low = model_that_records(EDMConfig(p_mean=-2.4), batch.x)
    high, seen_high = model_that_records(EDMConfig(p_mean=-1.2), batch.x)
    low.loss(batch, generator=torch.Generator().manual_seed(3))
    high.loss(batch, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(torch.log(seen_high[0]) - torch.log(seen_low[0]),
                               torch.full((EVENTS,), 1.2, dtype=torch.float64))


@pytest.mark.parametrize("sigma_data", [1.0, 0.5])
def test_the_loss_weighs_the_denoising_error_by_lambda_sigma(sigma_data):
    """A denoiser off by `offset` on every coordinate that exists costs offset^2 lambda(sigma),
    averaged over the jets (padded particles contribute nothing)."""
    offset = 0.1
    batch = jets()
    model, seen = model_that_records(EDMConfig(sigma_data=sigma_data), batch.x, offset)
    loss = model.loss(batch, generator=torch.Generator().manual_seed(2))
    sigma = seen[0]
    weight = (sigma**2 + sigma_data**2) / (sigma * sigma_data) ** 2
    assert float(loss) == pytest.approx(float((weight * offset**2).mean()), rel=1e-12)
