"""Properties of the particle-cloud backbones: equivariance, masking, context, gradients."""

from __future__ import annotations

import pytest
import torch

from lhcgen.errors import LhcgenError
from lhcgen.nets.cloud_backbones import CLOUD_BACKBONES, cloud_backbone

N, P, F_IN, F_OUT, C = 5, 12, 3, 4, 6
SMALL = {  # case -> (backbone, options)
    "transformer": ("transformer", {"dim": 32, "heads": 4, "layers": 2}),
    "transformer_pairs": ("transformer", {"dim": 32, "heads": 4, "layers": 2,
                                          "pair_coordinates": 2}),
    "cae": ("cae", {"dim": 32, "heads": 4, "layers": 2, "global_tokens": 4}),
    "epic": ("epic", {"dim": 32, "global_dim": 8, "layers": 2}),
}
ATOL = 1e-5


def make_net(case: str) -> torch.nn.Module:
    torch.manual_seed(0)
    name, options = SMALL[case]
    return cloud_backbone(name, F_IN, F_OUT, C, **options)


def make_batch(lengths=(12, 9, 5, 2, 1), shuffle: bool = True):
    """Clouds of the given multiplicities, padding scattered among the real slots."""
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(len(lengths), P, F_IN, generator=generator)
    mask = torch.arange(P)[None] < torch.tensor(lengths)[:, None]
    if shuffle:
        order = torch.stack([torch.randperm(P, generator=generator) for _ in lengths])
        mask = torch.gather(mask, 1, order)
    context = torch.randn(len(lengths), C, generator=generator)
    return x, mask, context


backbones = pytest.mark.parametrize("name", sorted(SMALL))


def test_every_backbone_is_tested():
    assert {name for name, _ in SMALL.values()} == set(CLOUD_BACKBONES)


@backbones
def test_shape_and_zero_padding(name):
    net = make_net(name)
    x, mask, context = make_batch()
    out = net(x, mask, context)
    assert out.shape == (N, P, F_OUT) and out.dtype == torch.float32
    assert torch.all(out[~mask] == 0)
    assert torch.all(out[mask] != 0)


@backbones
def test_permutation_equivariance(name):
    net = make_net(name)
    x, mask, context = make_batch()
    out = net(x, mask, context)
    perm = torch.randperm(P, generator=torch.Generator().manual_seed(2))
    out_perm = net(x[:, perm], mask[:, perm], context)
    torch.testing.assert_close(out_perm, out[:, perm], atol=ATOL, rtol=0)


@backbones
def test_padded_values_do_not_matter(name):
    net = make_net(name)
    x, mask, context = make_batch()
    out = net(x, mask, context)
    noisy = x.clone()
    noisy[~mask] = 100 * torch.randn(int((~mask).sum()), F_IN)
    out_noisy = net(noisy, mask, context)
    torch.testing.assert_close(out_noisy[mask], out[mask], atol=ATOL, rtol=0)
    assert torch.all(out_noisy[~mask] == 0)


@backbones
def test_extra_padding_does_not_matter(name):
    net = make_net(name)
    x, mask, context = make_batch()
    out = net(x, mask, context)
    longer = torch.cat([x, torch.randn(N, 5, F_IN)], dim=1)
    longer_mask = torch.cat([mask, mask.new_zeros(N, 5)], dim=1)
    out_longer = net(longer, longer_mask, context)
    assert out_longer.shape == (N, P + 5, F_OUT)
    torch.testing.assert_close(out_longer[:, :P], out, atol=ATOL, rtol=0)
    assert torch.all(out_longer[:, P:] == 0)


@backbones
def test_single_particle_and_empty_jets_are_finite(name):
    net = make_net(name)
    x, mask, context = make_batch(lengths=(1, 0), shuffle=False)
    x.requires_grad_(True)
    out = net(x, mask, context)
    assert torch.isfinite(out).all()
    assert torch.all(out[1] == 0) and torch.all(out[0, 1:] == 0)
    out[0, 0].sum().backward()
    assert torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)


@backbones
def test_context_changes_the_output(name):
    net = make_net(name)
    x, mask, context = make_batch()
    out = net(x, mask, context)
    other = net(x, mask, context + 1)
    assert (out[mask] - other[mask]).abs().amax(dim=-1).min() > 1e-4


@backbones
def test_every_parameter_gets_a_gradient(name):
    net = make_net(name)
    x, mask, context = make_batch()
    out = net(x, mask, context)
    (out[mask] ** 2).sum().backward()
    for param_name, param in net.named_parameters():
        assert param.grad is not None, param_name
        assert torch.isfinite(param.grad).all(), param_name
        assert param.grad.abs().sum() > 0, param_name


def test_cross_attention_global_tokens_learn():
    net = make_net("cae")
    x, mask, context = make_batch()
    net(x, mask, context)[mask].pow(2).sum().backward()
    assert net.tokens.grad is not None and net.tokens.grad.abs().sum() > 0


def test_unknown_backbone_is_a_user_error():
    with pytest.raises(LhcgenError, match="known: .*transformer.*cae.*epic"):
        cloud_backbone("gnn", F_IN, F_OUT, C)


def test_unknown_option_is_a_user_error():
    with pytest.raises(LhcgenError, match="heads"):
        cloud_backbone("epic", F_IN, F_OUT, C, heads=4)
