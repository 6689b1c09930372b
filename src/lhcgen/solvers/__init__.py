"""Solvers and samplers as plain functions: ODE integrators (ode.py), diffusion chains
(diffusion.py), the continuous-flow likelihood (likelihood.py), and ``sample`` /
``log_prob`` of any generator (sampling.py)."""

from __future__ import annotations

from lhcgen.solvers.ode import SOLVERS, check_solver, integrate, nominal_nfe
from lhcgen.solvers.sampling import log_prob, sample

__all__ = ["SOLVERS", "check_solver", "integrate", "log_prob", "nominal_nfe", "sample"]
