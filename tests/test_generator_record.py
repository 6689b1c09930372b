"""Generator-record facts (hadrons, heavy flavour, prompt ancestry) and anti-kT jets with
ghost-associated flavour."""

from __future__ import annotations

import numpy as np
import pytest

from lhcgen.errors import LhcgenError
from lhcgen.physics import fourvectors as fv
from lhcgen.physics.generator_record import heavy_flavour, is_hadron, no_ancestor_among
from lhcgen.physics.jet_clustering import cluster_antikt


def test_heavy_flavour_of_known_hadrons():
    pid = np.array([511, -521, 531, 5122, -5332, 553, 411, -4122, 443, 431, 211, 2212, 130,
                    5, 4, 5101, 13, 22, 1000022])
    assert heavy_flavour(pid).tolist() == [5, 5, 5, 5, 5, 5, 4, 4, 4, 4, 0, 0, 0,
                                           0, 0, 0, 0, 0, 0]
    assert is_hadron(np.array([211, 2212, 5122, 21, 2101, 11, 1000022])).tolist() == [
        True, True, True, False, False, False, False]


def test_ancestry_stops_at_the_first_marked_ancestor():
    # 0 <- top; 1 W (mother 0); 2 mu (mother 1); 3 B (mother 0, marked); 4 D (mother 3);
    # 5 mu (mother 4); 6 photon with no mother; 7 loop guard: 7 -> 8 -> 7
    mother = np.array([-1, 0, 1, 0, 3, 4, -1, 8, 7])
    marker = np.array([False, False, False, True, False, False, False, False, False])
    assert no_ancestor_among(marker, mother, np.array([2, 5, 6, 4])).tolist() == [
        True, False, True, False]
    with pytest.raises(LhcgenError, match="broken"):
        no_ancestor_among(marker, mother, np.array([7]))


def test_ghost_association_labels_jets_without_moving_them():
    particles = fv.from_pt_eta_phi_m(np.array([30.0, 20.0, 25.0, 40.0]),
                                     np.array([0.0, 0.1, 2.0, 0.0]),
                                     np.array([0.0, 0.1, 1.0, 3.0]), np.zeros(4))
    event = np.array([0, 0, 0, 2])
    ghosts = fv.from_pt_eta_phi_m(np.array([10.0, 8.0, 9.0]), np.array([0.05, 2.0, 0.0]),
                                  np.array([0.05, 1.0, 3.0]), np.full(3, 5.0))
    plain = cluster_antikt(event, particles, 3, 0.4, 5.0)
    tagged = cluster_antikt(event, particles, 3, 0.4, 5.0, np.array([0, 0, 2]), ghosts,
                            np.array([4, 5, 4]))
    np.testing.assert_array_equal(tagged.event, plain.event)
    np.testing.assert_allclose(tagged.p4, plain.p4, rtol=1e-12)
    by_pt = {round(float(pt)): f for pt, f in zip(fv.pt(tagged.p4), tagged.flavour,
                                                  strict=True)}
    # the jet of the first two particles holds the c ghost, the lone one at eta 2 the b,
    # the event-2 jet the second c ghost; a ghost in another event changes nothing
    assert by_pt == {50: 4, 25: 5, 40: 4}
    assert plain.flavour.tolist() == [0, 0, 0]
