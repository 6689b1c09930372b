"""Energy Flow Polynomials: graph list, hand values, brute-force sums, symmetries, jetnet."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from lhcgen.errors import LhcgenError
from lhcgen.physics.efp import (
    CONNECTED_D_LE_4,
    DISCONNECTED_D_LE_4,
    W1_COLUMNS,
    efps_d_le_4,
    efps_w1,
    hadronic_measure,
)

GOLDEN = Path(__file__).parent / "data" / "jetnet_golden"
# Per-jet EFPs agree with jetnet/energyflow to this relative tolerance (seen: ~2e-15).
EFP_RTOL = 1e-10


def random_jets(rng: np.random.Generator, n_jets: int, n_particles: int) -> np.ndarray:
    eta = rng.normal(0, 0.2, (n_jets, n_particles))
    phi = rng.normal(0, 0.2, (n_jets, n_particles))
    pt = rng.exponential(1.0, (n_jets, n_particles))
    return np.stack([eta, phi, pt / pt.sum(axis=1, keepdims=True)], axis=-1)


def canonical(n: int, edges: list[tuple[int, int]]) -> tuple:
    """Isomorphism-invariant form of a multigraph: the smallest relabelled edge list."""
    return min(tuple(sorted(tuple(sorted((p[a], p[b]))) for a, b in edges))
               for p in itertools.permutations(range(n)))


def is_connected(n: int, edges: list[tuple[int, int]]) -> bool:
    reached, frontier = {0}, [0]
    while frontier:
        v = frontier.pop()
        for a, b in edges:
            for x, y in ((a, b), (b, a)):
                if x == v and y not in reached:
                    reached.add(y)
                    frontier.append(y)
    return len(reached) == n


def graph_edges(index: int) -> list[tuple[int, int]]:
    return [(a, b) for a, b, w in CONNECTED_D_LE_4[index].edges for _ in range(w)]


def test_connected_graphs_are_all_connected_multigraphs_with_d_le_4_once():
    enumerated = set()
    for n in range(1, 6):
        pairs = list(itertools.combinations(range(n), 2))
        for d in range(0, 5):
            for edges in itertools.combinations_with_replacement(pairs, d):
                if is_connected(n, list(edges)):
                    enumerated.add((n, canonical(n, list(edges))))
    listed = [(g.n, canonical(g.n, graph_edges(i))) for i, g in enumerate(CONNECTED_D_LE_4)]
    assert len(listed) == len(set(listed)) == 21
    assert set(listed) == enumerated
    assert [g.n for g in CONNECTED_D_LE_4] == sorted(g.n for g in CONNECTED_D_LE_4)


def test_disconnected_graphs_are_all_products_with_d_le_4_once():
    degree = [g.d for g in CONNECTED_D_LE_4]
    expected = {combo for size in range(2, 5)
                for combo in itertools.combinations_with_replacement(range(1, 21), size)
                if sum(degree[i] for i in combo) <= 4}
    assert len(DISCONNECTED_D_LE_4) == len(set(DISCONNECTED_D_LE_4)) == 15
    assert {tuple(sorted(f)) for f in DISCONNECTED_D_LE_4} == expected
    assert W1_COLUMNS == (12, 14, 15, 16, 17)


def brute_force_efp(index: int, z: np.ndarray, theta: np.ndarray) -> float:
    graph = CONNECTED_D_LE_4[index]
    total = 0.0
    for labels in itertools.product(range(len(z)), repeat=graph.n):
        term = np.prod([z[i] for i in labels])
        for a, b, w in graph.edges:
            term *= theta[labels[a], labels[b]] ** w
        total += term
    return total


def test_every_connected_efp_equals_the_sum_over_all_particle_tuples():
    jets = random_jets(np.random.default_rng(1), 2, 4)
    values = efps_d_le_4(jets)
    z, theta = hadronic_measure(jets)
    for jet in range(2):
        for index in range(21):
            expected = brute_force_efp(index, z[jet], theta[jet])
            assert values[jet, index] == pytest.approx(expected, rel=1e-12, abs=1e-15)
        for column, factors in enumerate(DISCONNECTED_D_LE_4, start=21):
            assert values[jet, column] == pytest.approx(np.prod(values[jet, list(factors)]),
                                                        rel=1e-12)


def test_one_and_two_particle_jets_by_hand():
    single = np.array([[[0.1, -0.2, 0.7]]])
    values = efps_d_le_4(single)
    assert values[0, 0] == pytest.approx(0.7)
    assert np.all(values[0, 1:] == 0)
    z1, z2, d_eta, d_phi = 0.6, 0.3, 0.3, 0.4
    pair = np.array([[[0.0, 0.0, z1], [d_eta, d_phi, z2]]])
    theta = np.hypot(d_eta, d_phi)
    values = efps_d_le_4(pair)[0]
    assert values[0] == pytest.approx(z1 + z2)
    for w in range(1, 5):  # single multi-edge: sum_ij z_i z_j theta_ij^w
        assert values[w] == pytest.approx(2 * z1 * z2 * theta**w)
    # two edges at one vertex: sum_a z_a (sum_b z_b theta_ab)^2
    assert values[5] == pytest.approx(z1 * z2 * theta**2 * (z1 + z2))
    assert values[9] == 0  # a triangle needs three distinct particles


def test_delta_phi_is_wrapped_like_energyflow():
    pair = np.array([[[0.0, 3.0, 0.5], [0.0, -3.0, 0.5]]])
    assert efps_d_le_4(pair)[0, 1] == pytest.approx(2 * 0.25 * (2 * np.pi - 6.0))


def test_efps_are_invariant_under_permutation_rotation_in_phi_and_boost_in_eta():
    jets = random_jets(np.random.default_rng(2), 5, 12)
    reference = efps_d_le_4(jets)
    permuted = jets[:, np.random.default_rng(3).permutation(12)]
    np.testing.assert_allclose(efps_d_le_4(permuted), reference, rtol=1e-12)
    moved = jets.copy()
    moved[..., 1] = np.angle(np.exp(1j * (moved[..., 1] + 2.9)))  # rotate, wrap to (-pi, pi]
    moved[..., 0] += 1.7
    np.testing.assert_allclose(efps_d_le_4(moved), reference, rtol=1e-9)


def test_masked_particles_do_not_count_and_chunks_do_not_matter():
    rng = np.random.default_rng(4)
    jets = random_jets(rng, 7, 10)
    padded = np.concatenate([jets, rng.normal(size=(7, 5, 3))], axis=1)
    mask = np.arange(15)[None, :] < 10
    mask = np.repeat(mask, 7, axis=0)
    np.testing.assert_allclose(efps_d_le_4(padded, mask), efps_d_le_4(jets), rtol=1e-12)
    np.testing.assert_allclose(efps_d_le_4(padded, mask, chunk_size=3),
                               efps_d_le_4(padded, mask), rtol=1e-14)
    np.testing.assert_allclose(efps_w1(padded, mask),
                               efps_d_le_4(padded, mask)[:, list(W1_COLUMNS)], rtol=1e-14)


def test_normed_energies_divide_each_efp_by_total_pt_to_the_n():
    jets = random_jets(np.random.default_rng(5), 4, 8)
    jets[..., 2] *= 3.0
    normed = efps_d_le_4(jets, normed=True)
    unnormed = efps_d_le_4(jets)
    n_vertices = np.array([g.n for g in CONNECTED_D_LE_4])
    np.testing.assert_allclose(normed[:, :21] * 3.0**n_vertices, unnormed[:, :21], rtol=1e-12)
    np.testing.assert_allclose(normed[:, 0], 1.0)


def test_bad_shapes_are_user_errors():
    with pytest.raises(LhcgenError, match="shape"):
        efps_d_le_4(np.zeros((3, 4)))
    with pytest.raises(LhcgenError, match="mask"):
        efps_d_le_4(np.zeros((3, 4, 3)), np.ones((3, 5), dtype=bool))


def test_efps_agree_with_jetnet_golden_values():
    reference = json.loads((GOLDEN / "reference.json").read_text())["efps"]
    data = np.load(GOLDEN / "input.npz")
    rows = reference["rows"]
    for sample in ("real", "gen"):
        particles = data[sample].astype(np.float64)
        mask = data[sample + "_mask"]
        values = efps_d_le_4(particles, mask)
        np.testing.assert_allclose(values[:rows], reference[sample + "_d_le_4"],
                                   rtol=EFP_RTOL, atol=1e-300)
        np.testing.assert_allclose(efps_w1(particles[:rows], mask[:rows]),
                                   reference[sample + "_w1"], rtol=EFP_RTOL, atol=1e-300)
        np.testing.assert_allclose(values.mean(axis=0),
                                   reference[sample + "_d_le_4_column_means"], rtol=EFP_RTOL)
