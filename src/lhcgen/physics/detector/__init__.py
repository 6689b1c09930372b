"""A parametric (Delphes-like) detector: plain numpy functions of flat particle arrays.

``simulate_detector(final, card, rng)`` runs the steps, each vectorised over all particles
of all events and drawing from one seeded ``np.random.Generator``:

1. tracking (``tracking``): charged particles tracked with the card's (|eta|, pT)
   efficiency, pT smeared log-normally (eta, phi and mass kept);
2. calorimeters (``calorimeter``): particles deposit energy fractions in ECAL and HCAL
   towers; tower energies are summed per event, smeared and thresholded;
3. energy flow (``particle_flow``): tracks plus the significant neutral remainders of the
   towers (photons from the ECAL, neutral hadrons from the HCAL);
4. electrons and muons (``leptons``): identified tracks with their isolation;
5. missing transverse momentum (``met``): minus the vector sum of the energy flow.

b-tagging (``btag``) acts on jets, which are clustered elsewhere from the energy flow (less
the selected leptons). The card (``card``, default ``cards/atlas_like.yaml``) holds every
number, taken from the Delphes ATLAS card. Pile-up is not simulated, nor the magnetic
field's bending of charged particles on their way to the calorimeters.
"""

from lhcgen.physics.detector.btag import btag, btag_efficiency
from lhcgen.physics.detector.calorimeter import energy_fractions, energy_resolution
from lhcgen.physics.detector.card import (
    DEFAULT_CARD,
    DetectorCard,
    card_as_dict,
    card_from_dict,
    load_card,
)
from lhcgen.physics.detector.leptons import identify_leptons, isolation_ratio
from lhcgen.physics.detector.met import missing_transverse_momentum
from lhcgen.physics.detector.particle_flow import energy_flow
from lhcgen.physics.detector.particles import (
    EFLOW_NEUTRAL_HADRON,
    EFLOW_PHOTON,
    EFLOW_TRACK,
    DetectorResponse,
    EnergyFlow,
    FinalState,
    FlavourHadrons,
    Leptons,
)
from lhcgen.physics.detector.simulate import simulate_detector
from lhcgen.physics.detector.tracking import (
    Tracks,
    reconstruct_tracks,
    relative_pt_resolution,
    track_efficiency,
)

__all__ = [
    "DEFAULT_CARD", "EFLOW_NEUTRAL_HADRON", "EFLOW_PHOTON", "EFLOW_TRACK", "DetectorCard",
    "DetectorResponse", "EnergyFlow", "FinalState", "FlavourHadrons", "Leptons", "Tracks",
    "btag", "btag_efficiency", "card_as_dict", "card_from_dict", "energy_flow",
    "energy_fractions", "energy_resolution", "identify_leptons", "isolation_ratio",
    "load_card", "missing_transverse_momentum", "reconstruct_tracks",
    "relative_pt_resolution", "simulate_detector", "track_efficiency",
]
