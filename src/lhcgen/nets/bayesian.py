"""Variational Bayesian linear layers: a factorised Gaussian posterior over every weight.

Each weight and bias w gets an approximate posterior q(w) = N(mu, sigma^2), with
sigma^2 = exp(log_var), and a Gaussian prior p(w) = N(0, prior_std^2). Training maximises the
evidence lower bound, i.e. minimises  E_q[-log p(data | w)] + KL(q || p)  (the training loop
adds ``kl_divergence(model) / N_train`` to the per-event loss). ``bayesianize`` swaps the
``nn.Linear`` layers of a built network for ``BayesianLinear``; ``weight_draw`` fixes one
network drawn from the posterior, which is how a sample is generated per posterior draw.

Forward behaviour of a ``BayesianLinear``:

* training mode: a fresh, independent weight sample per forward pass, realised with the local
  reparameterisation trick (Kingma, Salimans, Welling, arXiv:1506.02557). For a factorised
  Gaussian posterior the pre-activation a = x W^T + b of one input is itself Gaussian,
  a ~ N(x mu_W^T + mu_b, x^2 sigma_W^2^T + sigma_b^2), so we sample a directly. This is
  equivalent in distribution to drawing W for every input row separately, costs two matrix
  products instead of a sampled weight matrix, and lowers the variance of the gradient
  estimate because the noise of different rows of a batch is uncorrelated;
* eval mode: the posterior means (the deterministic "mean network");
* inside ``weight_draw(...)``: the one drawn weight set, in any mode.

References: Blundell et al., "Weight Uncertainty in Neural Networks", arXiv:1505.05424;
Bellagente et al., "Understanding event-generation networks via uncertainties",
arXiv:2104.04543; Butter et al., "Jet diffusion versus JetGPT -- modern networks for the LHC",
arXiv:2305.10475.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import torch
from torch import nn
from torch.nn import functional as F


class BayesianLinear(nn.Module):
    """A linear layer with a factorised Gaussian posterior over its weights and biases.

    Parameters: ``weight_mean``, ``weight_log_var`` (out_features, in_features) and
    ``bias_mean``, ``bias_log_var`` (out_features,) (None without bias). The properties
    ``weight`` and ``bias`` are the weights an eval-mode forward pass uses (the means, or the
    drawn weights inside ``weight_draw``), so code that reads ``layer.weight`` directly, such
    as the fused fast path of ``nn.TransformerEncoderLayer`` in eval mode, stays consistent.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 prior_std: float = 1.0, init_log_variance: float = -9.0,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None):
        super().__init__()
        if not prior_std > 0 or not math.isfinite(prior_std):
            raise ValueError(f"prior_std must be positive and finite, got {prior_std}")
        if not math.isfinite(init_log_variance):
            raise ValueError(f"init_log_variance must be finite, got {init_log_variance}")
        factory = {"device": device, "dtype": dtype}
        self.in_features, self.out_features = in_features, out_features
        self.prior_std = float(prior_std)
        self.init_log_variance = float(init_log_variance)
        self.weight_mean = nn.Parameter(torch.empty(out_features, in_features, **factory))
        self.weight_log_var = nn.Parameter(torch.empty(out_features, in_features, **factory))
        if bias:
            self.bias_mean = nn.Parameter(torch.empty(out_features, **factory))
            self.bias_log_var = nn.Parameter(torch.empty(out_features, **factory))
        else:
            self.register_parameter("bias_mean", None)
            self.register_parameter("bias_log_var", None)
        # Standard-normal noise of the active fixed draw (see weight_draw); a plain attribute,
        # not a buffer, so it never enters state_dict() nor the buffers the EMA copies.
        self._noise: tuple[torch.Tensor, torch.Tensor | None] | None = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Means initialised like ``nn.Linear``; log-variances set to ``init_log_variance``."""
        nn.init.kaiming_uniform_(self.weight_mean, a=math.sqrt(5))
        nn.init.constant_(self.weight_log_var, self.init_log_variance)
        if self.bias_mean is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            nn.init.uniform_(self.bias_mean, -bound, bound)
            nn.init.constant_(self.bias_log_var, self.init_log_variance)

    @classmethod
    def from_linear(cls, linear: nn.Linear, prior_std: float = 1.0,
                    init_log_variance: float = -9.0) -> BayesianLinear:
        """A Bayesian layer whose posterior means are ``linear``'s current weights (same
        device and dtype); ``linear`` itself is not changed."""
        if isinstance(linear.weight, nn.parameter.UninitializedParameter):
            raise ValueError("cannot convert a lazy nn.Linear before its first forward pass")
        weight = linear.weight.detach()
        layer = cls(linear.in_features, linear.out_features, linear.bias is not None,
                    prior_std, init_log_variance, device=weight.device, dtype=weight.dtype)
        with torch.no_grad():
            layer.weight_mean.copy_(weight)
            if linear.bias is not None:
                layer.bias_mean.copy_(linear.bias.detach())
        layer.train(linear.training)
        return layer

    @property
    def weight(self) -> torch.Tensor:
        """The weight matrix of a deterministic forward pass: the drawn one inside
        ``weight_draw``, otherwise the posterior mean."""
        if self._noise is None:
            return self.weight_mean
        noise = self._noise[0].to(self.weight_mean.device, self.weight_mean.dtype)
        return self.weight_mean + torch.exp(0.5 * self.weight_log_var) * noise

    @property
    def bias(self) -> torch.Tensor | None:
        """The bias of a deterministic forward pass (see ``weight``); None without bias."""
        if self.bias_mean is None or self._noise is None:
            return self.bias_mean
        noise = self._noise[1].to(self.bias_mean.device, self.bias_mean.dtype)
        return self.bias_mean + torch.exp(0.5 * self.bias_log_var) * noise

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._noise is not None or not self.training:
            return F.linear(x, self.weight, self.bias)
        # Local reparameterisation: sample the Gaussian pre-activations, one independent
        # weight draw per input row, with the global RNG (seeded by the training loop).
        mean = F.linear(x, self.weight_mean, self.bias_mean)
        var = F.linear(x * x, self.weight_log_var.exp(),
                       None if self.bias_log_var is None else self.bias_log_var.exp())
        # The clamp keeps the gradient of sqrt finite where the variance vanishes (x = 0, no
        # bias); it is a no-op otherwise.
        std = var.clamp_min(torch.finfo(var.dtype).tiny).sqrt()
        return mean + std * torch.randn_like(mean)

    def kl(self) -> torch.Tensor:
        """Closed-form KL(q || prior) summed over weights and biases:
        sum 1/2 [(sigma^2 + mu^2) / s^2 - 1 - log sigma^2 + log s^2], s = prior_std."""
        log_prior_var = 2 * math.log(self.prior_std)
        prior_var = self.prior_std ** 2
        total = self.weight_mean.new_zeros(())
        for mean, log_var in ((self.weight_mean, self.weight_log_var),
                              (self.bias_mean, self.bias_log_var)):
            if mean is None:
                continue
            total = total + 0.5 * ((log_var.exp() + mean ** 2) / prior_var - 1.0
                                   - log_var + log_prior_var).sum()
        return total

    def _draw_noise(self, generator: torch.Generator | None
                    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Standard-normal noise for one weight draw, created on the generator's device (CPU
        for a CPU generator, so a seed gives the same draw on every device) and moved to the
        parameters' device."""
        device = generator.device if generator is not None else torch.device("cpu")
        target = self.weight_mean

        def normal(shape: torch.Size) -> torch.Tensor:
            return torch.randn(shape, generator=generator, dtype=target.dtype,
                               device=device).to(target.device)

        weight = normal(self.weight_mean.shape)
        bias = None if self.bias_mean is None else normal(self.bias_mean.shape)
        return weight, bias

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias_mean is not None}, prior_std={self.prior_std}")


def bayesianize(module: nn.Module, prior_std: float = 1.0,
                init_log_variance: float = -9.0) -> int:
    """Replace, in place, every ``nn.Linear`` inside ``module`` by a ``BayesianLinear`` whose
    posterior means are the layer's current weights. Returns the number replaced.

    Layers inside ``nn.MultiheadAttention`` are left alone: it reads its ``out_proj`` weights
    directly instead of calling the layer. A Linear shared by several parents is replaced by
    one shared Bayesian layer. Raises ValueError if nothing was replaced (no Linear layers,
    a bare ``nn.Linear`` that cannot be replaced in place, or a network already Bayesian).
    """
    if isinstance(module, nn.Linear):
        raise ValueError("cannot replace the top-level nn.Linear in place; use "
                         "BayesianLinear.from_linear")
    replaced: dict[int, BayesianLinear] = {}

    def visit(parent: nn.Module) -> None:
        # _modules rather than named_children(), which skips a module's repeated entries
        for name, child in list(parent._modules.items()):
            if child is None or isinstance(child, nn.MultiheadAttention):
                continue
            if isinstance(child, nn.Linear):
                if id(child) not in replaced:
                    replaced[id(child)] = BayesianLinear.from_linear(child, prior_std,
                                                                     init_log_variance)
                setattr(parent, name, replaced[id(child)])
            else:
                visit(child)

    visit(module)
    if not replaced:
        raise ValueError(f"no nn.Linear layers to make Bayesian in {type(module).__name__} "
                         "(outside nn.MultiheadAttention)")
    return len(replaced)


def _layers(module: nn.Module) -> list[BayesianLinear]:
    return [m for m in module.modules() if isinstance(m, BayesianLinear)]


def is_bayesian(module: nn.Module) -> bool:
    """Whether ``module`` contains (or is) a ``BayesianLinear``."""
    return any(isinstance(m, BayesianLinear) for m in module.modules())


def kl_divergence(module: nn.Module) -> torch.Tensor:
    """Sum of KL(q || prior) over all ``BayesianLinear`` layers of ``module``; a zero scalar
    (on the module's device and dtype, if it has parameters) when there are none."""
    layers = _layers(module)
    if not layers:
        reference = next(module.parameters(), None)
        if reference is None:
            return torch.zeros(())
        return reference.new_zeros(())
    total = layers[0].kl()
    for layer in layers[1:]:
        total = total + layer.kl().to(total.device)
    return total


@contextlib.contextmanager
def weight_draw(module: nn.Module, generator: torch.Generator | None = None) -> Iterator[None]:
    """Draw ONE set of weights from the posterior for every ``BayesianLinear`` in ``module``
    and use it for every forward pass inside the context, in training and eval mode alike.

    The noise comes from ``generator`` (the global CPU RNG if None), in the order of
    ``module.modules()``, so equal seeds give equal networks. On exit the previous behaviour
    is restored (contexts nest). Gradients flow to the means and log-variances. Raises
    ValueError if ``module`` has no Bayesian layers, since every "draw" would then be the
    same deterministic network.
    """
    layers = _layers(module)
    if not layers:
        raise ValueError(f"{type(module).__name__} has no Bayesian layers to draw weights for")
    previous = [layer._noise for layer in layers]
    noise = [layer._draw_noise(generator) for layer in layers]
    try:
        for layer, n in zip(layers, noise, strict=True):
            layer._noise = n
        yield
    finally:
        for layer, p in zip(layers, previous, strict=True):
            layer._noise = p


__all__ = ["BayesianLinear", "bayesianize", "is_bayesian", "kl_divergence", "weight_draw"]
