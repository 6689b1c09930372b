"""Energy Flow Polynomials (EFPs) of particle clouds, vectorised over jets.

An EFP is a multigraph G with vertices V and edges E evaluated on one jet as

    EFP_G = sum_{i_1..i_n} z_{i_1} ... z_{i_n} prod_{(k,l) in E} theta_{i_k i_l},

Komiske, Metodiev, Thaler, "Energy flow polynomials", arXiv:1712.07124. The measure is
energyflow's hadronic ``'hadr'`` one with kappa = 1:

    z_i = pT_i,    theta_ij = (Delta y_ij^2 + Delta phi_ij^2)^(beta/2),

with Delta phi wrapped into [0, pi] and the rapidity y taken to be the Delta eta of the
particle cloud (jetnet passes (pT_rel, eta_rel, phi_rel) as energyflow's (pT, y, phi) of
massless particles). Like ``jetnet.utils.efps`` (v0.2.5: ``EFPSet(..., measure="hadr",
beta=1, normed=None)``), the energies are *not* normalised by default: z_i = pT_rel,i as
stored, so EFP_G carries a factor (sum_i pT_rel,i)^n.

Two graph sets are provided, column for column in energyflow's ``EFPSet`` order:

- ``EFPS_D_LE_4``: the 36 EFPs with d <= 4 edges (jetnet's ``[("d<=", 4)]``, the features
  of FPD and KPD): the 21 connected graphs, then the 15 disconnected ones, which are
  products of connected EFPs.
- ``EFPS_W1``: the 5 connected (prime) EFPs with n = 4 vertices and d = 4 edges (jetnet's
  default ``[("n==", 4), ("d==", 4), ("p==", 1)]`` for W1efp).

The connected graphs are listed below in the order of energyflow's graph file (by number
of vertices, then distinct edges, then simple graph, then edge multiplicities); the tests
check the list against a brute-force enumeration of all connected multigraphs with d <= 4
and the values against energyflow itself. Each graph is evaluated by folding leaves into
their neighbour (one batched matrix-vector product per edge) down to a vertex or a cycle
(a chain of batched matrix products); padded particles enter with z = 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lhcgen.errors import LhcgenError


@dataclass(frozen=True)
class Multigraph:
    """A connected multigraph: ``n`` vertices, edges as (vertex a, vertex b, multiplicity)."""

    n: int
    edges: tuple[tuple[int, int, int], ...]

    @property
    def d(self) -> int:
        """Number of edges counted with multiplicity (the angular degree of the EFP)."""
        return sum(w for _, _, w in self.edges)


# energyflow's connected graphs with d <= 4, in its order (vertex labels as energyflow's).
CONNECTED_D_LE_4: tuple[Multigraph, ...] = (
    Multigraph(1, ()),
    Multigraph(2, ((0, 1, 1),)),
    Multigraph(2, ((0, 1, 2),)),
    Multigraph(2, ((0, 1, 3),)),
    Multigraph(2, ((0, 1, 4),)),
    Multigraph(3, ((0, 1, 1), (0, 2, 1))),
    Multigraph(3, ((0, 1, 1), (0, 2, 2))),
    Multigraph(3, ((0, 1, 1), (0, 2, 3))),
    Multigraph(3, ((0, 1, 2), (0, 2, 2))),
    Multigraph(3, ((0, 1, 1), (0, 2, 1), (1, 2, 1))),
    Multigraph(3, ((0, 1, 1), (0, 2, 2), (1, 2, 1))),
    Multigraph(4, ((0, 1, 1), (0, 2, 1), (0, 3, 1))),
    Multigraph(4, ((0, 1, 1), (0, 2, 2), (0, 3, 1))),
    Multigraph(4, ((0, 1, 1), (0, 2, 1), (1, 3, 1))),
    Multigraph(4, ((0, 1, 1), (0, 2, 2), (1, 3, 1))),
    Multigraph(4, ((0, 1, 2), (0, 2, 1), (1, 3, 1))),
    Multigraph(4, ((0, 1, 1), (0, 2, 1), (1, 2, 1), (0, 3, 1))),
    Multigraph(4, ((0, 1, 1), (0, 2, 1), (1, 3, 1), (2, 3, 1))),
    Multigraph(5, ((0, 1, 1), (0, 2, 1), (0, 3, 1), (0, 4, 1))),
    Multigraph(5, ((0, 1, 1), (0, 2, 1), (0, 3, 1), (1, 4, 1))),
    Multigraph(5, ((0, 1, 1), (0, 2, 1), (1, 3, 1), (2, 4, 1))),
)

# energyflow's disconnected graphs with d <= 4, in its order: the indices (into
# CONNECTED_D_LE_4) of the connected components whose EFPs multiply.
DISCONNECTED_D_LE_4: tuple[tuple[int, ...], ...] = (
    (1, 1), (1, 2), (1, 3), (2, 2), (1, 5), (2, 5), (1, 6), (1, 9), (1, 1, 1), (1, 11),
    (1, 13), (5, 5), (1, 1, 2), (1, 1, 5), (1, 1, 1, 1),
)

# Columns of the n = 4, d = 4 prime EFPs (jetnet's W1efp set) among CONNECTED_D_LE_4.
W1_COLUMNS: tuple[int, ...] = tuple(
    i for i, g in enumerate(CONNECTED_D_LE_4) if g.n == 4 and g.d == 4)


def hadronic_measure(particles: np.ndarray, mask: np.ndarray | None = None,
                     beta: float = 1.0, normed: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Energies z and pairwise angles theta of energyflow's ``'hadr'`` measure (kappa = 1).

    Parameters
    ----------
    particles : (N, P, 3) float, (Delta eta, Delta phi, pT_rel) per particle.
    mask : (N, P) bool or None; masked-out particles get z = 0 (None: all are real).
    beta : angular exponent, > 0.
    normed : divide z by its sum per jet (jetnet does not: default False).

    Returns
    -------
    z : (N, P) float64.
    theta : (N, P, P) float64, (Delta eta^2 + Delta phi^2)^(beta/2) with Delta phi wrapped
        as energyflow does: pi - ||Delta phi| - pi|.
    """
    particles = np.asarray(particles, dtype=np.float64)
    if particles.ndim != 3 or particles.shape[-1] < 3:
        raise LhcgenError(f"particles must have shape (N, P, 3), got {particles.shape}")
    if not beta > 0:
        raise LhcgenError(f"beta must be positive, got {beta}")
    z = particles[..., 2].copy()
    if mask is not None:
        z *= np.asarray(mask, dtype=bool)
    if normed:
        total = z.sum(axis=1, keepdims=True)
        z = np.divide(z, total, out=np.zeros_like(z), where=total != 0)
    d_eta = particles[:, :, None, 0] - particles[:, None, :, 0]
    d_phi = np.abs(particles[:, :, None, 1] - particles[:, None, :, 1])
    theta2 = d_eta**2 + (np.pi - np.abs(d_phi - np.pi)) ** 2
    return z, theta2 ** (beta / 2)


def _evaluate_graph(graph: Multigraph, z: np.ndarray, powers: dict[int, np.ndarray],
                    leaf_messages: dict[int, np.ndarray]) -> np.ndarray:
    """One connected EFP from z (N, P) and theta^w (N, P, P) for each multiplicity w.

    ``leaf_messages`` caches sum_j theta_ij^w z_j, shared by many graphs.
    """
    weight = {v: z for v in range(graph.n)}
    edges = {(a, b): w for a, b, w in graph.edges}

    def neighbours(v: int) -> list[int]:
        return [b if a == v else a for a, b in edges if v in (a, b)]

    # Fold leaves: sum_j theta_ij^w z_j ... becomes a factor on the neighbour's weight.
    leaf = next((v for v in weight if len(neighbours(v)) == 1), None)
    while leaf is not None:
        (other,) = neighbours(leaf)
        w = edges.pop((min(leaf, other), max(leaf, other)))
        vector = weight.pop(leaf)
        if vector is z:
            if w not in leaf_messages:
                leaf_messages[w] = np.einsum("nij,nj->ni", powers[w], z)
            message = leaf_messages[w]
        else:
            message = np.einsum("nij,nj->ni", powers[w], vector)
        weight[other] = weight[other] * message
        leaf = next((v for v in weight if len(neighbours(v)) == 1), None)
    if len(weight) == 1:
        return next(iter(weight.values())).sum(axis=1)
    if any(len(neighbours(v)) != 2 for v in weight):
        raise LhcgenError(f"EFP evaluation of graph {graph.edges} is not implemented: "
                          "only trees and single cycles (all graphs with d <= 4) are")
    # A single cycle v0 - v1 - ... - v_{k-1} - v0: trace of diag(u) theta diag(u) theta ...
    cycle = [next(iter(weight))]
    while len(cycle) < len(weight):
        cycle.append(next(v for v in neighbours(cycle[-1]) if v not in cycle))

    def edge_power(a: int, b: int) -> np.ndarray:
        return powers[edges[(min(a, b), max(a, b))]]

    chain = edge_power(cycle[0], cycle[1]) * weight[cycle[1]][:, None, :]
    for a, b in zip(cycle[1:-1], cycle[2:], strict=True):
        chain = np.matmul(chain, edge_power(a, b) * weight[b][:, None, :])
    closing = edge_power(cycle[-1], cycle[0])
    return np.einsum("na,nab,nab->n", weight[cycle[0]], chain, closing)


def _connected_efps(particles: np.ndarray, mask: np.ndarray | None, beta: float,
                    normed: bool, graphs: tuple[Multigraph, ...]) -> np.ndarray:
    z, theta = hadronic_measure(particles, mask, beta=beta, normed=normed)
    multiplicities = {w for g in graphs for _, _, w in g.edges}
    powers = {w: theta if w == 1 else theta**w for w in multiplicities}
    leaf_messages: dict[int, np.ndarray] = {}
    columns = [_evaluate_graph(g, z, powers, leaf_messages) for g in graphs]
    return np.stack(columns, axis=1) if columns else np.zeros((len(z), 0))


def _chunked(function, particles: np.ndarray, mask: np.ndarray | None,
             chunk_size: int) -> np.ndarray:
    particles = np.asarray(particles)
    if particles.ndim != 3:
        raise LhcgenError(f"particles must have shape (N, P, 3), got {particles.shape}")
    if mask is not None and np.shape(mask) != particles.shape[:2]:
        raise LhcgenError(f"mask shape {np.shape(mask)} does not match particles "
                          f"{particles.shape[:2]}")
    parts = [function(particles[i:i + chunk_size],
                      None if mask is None else mask[i:i + chunk_size])
             for i in range(0, len(particles), max(chunk_size, 1))]
    return np.concatenate(parts, axis=0) if parts else function(particles, mask)


def efps_d_le_4(particles: np.ndarray, mask: np.ndarray | None = None, beta: float = 1.0,
                normed: bool = False, chunk_size: int = 2048) -> np.ndarray:
    """The 36 EFPs with d <= 4 (jetnet's ``get_fpd_kpd_jet_features``), energyflow's order.

    Parameters
    ----------
    particles : (N, P, 3) float, (Delta eta, Delta phi, pT_rel).
    mask : (N, P) bool or None (padded particles must then have pT_rel = 0).
    beta, normed : see ``hadronic_measure``; jetnet uses beta = 1, normed = False.
    chunk_size : jets per vectorised step (memory ~ 5 * chunk_size * P^2 * 8 bytes).

    Returns
    -------
    (N, 36) float64: the 21 connected EFPs (``CONNECTED_D_LE_4``), then the 15 disconnected
    ones (``DISCONNECTED_D_LE_4``).
    """
    def compute(p: np.ndarray, m: np.ndarray | None) -> np.ndarray:
        connected = _connected_efps(p, m, beta, normed, CONNECTED_D_LE_4)
        products = [np.prod(connected[:, list(f)], axis=1) for f in DISCONNECTED_D_LE_4]
        return np.concatenate([connected, np.stack(products, axis=1)], axis=1)

    return _chunked(compute, particles, mask, chunk_size)


def efps_w1(particles: np.ndarray, mask: np.ndarray | None = None, beta: float = 1.0,
            normed: bool = False, chunk_size: int = 2048) -> np.ndarray:
    """The 5 prime EFPs with n = 4, d = 4 used by W1efp (jetnet's ``efps`` default set).

    Parameters and conventions as ``efps_d_le_4``; returns (N, 5) float64, equal to
    ``efps_d_le_4(...)[:, W1_COLUMNS]``.
    """
    graphs = tuple(CONNECTED_D_LE_4[i] for i in W1_COLUMNS)
    return _chunked(lambda p, m: _connected_efps(p, m, beta, normed, graphs),
                    particles, mask, chunk_size)
