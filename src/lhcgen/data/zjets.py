"""Z(->mumu)+jets events from Pythia 8 + FastJet: the physics of one shard.

One shard is one Pythia instance with one seed that generates events in batches
(``Pythia.nextBatch``, an awkward array per batch), selects them with array operations and
clusters all surviving events of a batch in one FastJet call. The shard keeps the first
``n_accepted`` passing events in generation order, so its content depends only on the
settings, ``n_accepted`` and the seed (not on the batch size or on other shards).

Selection (docs/data-format.md, "Z+jets event definition"):
    * muons are dressed: every final-state photon within Delta R < 0.1 of a final-state
      muon is added to the nearest one;
    * exactly two dressed muons with pT > 20 GeV and |eta| < 2.5, of opposite charge;
    * anti-kT R = 0.4 jets (FastJet) on all visible final-state particles (no neutrinos)
      except the two selected muons and their dressing photons, with pT > 20 GeV and
      |eta| < 4.5; jets within Delta R < 0.4 of either muon are removed (overlap removal);
      at least one jet must remain; the three leading jets by pT are stored and the
      untruncated count is kept per event (``n_jets_all``).

Objects are stored as (mu1, mu2, j1, j2, j3): muons by pT, then jets by pT, each as
(E, px, py, pz) in GeV, float64; absent jets are zero rows with ``mask`` false.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import awkward as ak
import fastjet
import numpy as np
import pythia8mc

from lhcgen.data.events import ZJETS_OBJECTS, EventSample
from lhcgen.data.pythia import (
    MONASH_TUNE,
    NEUTRINO_IDS,
    BatchSizing,
    ProgressSink,
    accepted_batches,
    run_facts,
    start_pythia,
)
from lhcgen.errors import LhcgenError
from lhcgen.physics import fourvectors as fv
from lhcgen.physics.dressing import dress_leptons
from lhcgen.physics.fastjet_setup import silence_fastjet_banner

MAX_GENERATED_WITHOUT_ACCEPTED = 10_000
"""A shard gives up when this many generated events in a row gave no accepted one."""

# Stage an event reached in the selection (the cut flow, one code per generated event).
FAILED_MUON_COUNT = 0  # not exactly two dressed muons in the acceptance
FAILED_MUON_CHARGE = 1  # the two muons have the same charge
FAILED_NO_JET = 2  # no jet above the jet pT threshold inside the jet |eta| acceptance
FAILED_OVERLAP = 3  # every such jet lies within the overlap radius of a muon
ACCEPTED = 4
CUT_FLOW_KEYS = ("rejected_muon_count", "rejected_muon_charge", "rejected_no_jet",
                 "rejected_overlap")
"""Cut-flow counters of the rejection stages, in the order of the stage codes."""

HARD_PROCESSES = ("z", "zjet")
"""Inclusive Z with the jets from the shower (default), or Z + parton 2 -> 2 above a p-hat cut."""

ZJET_PTHAT_MIN = 10.0
"""p-hat cut of the "zjet" 2 -> 2 process when none is given, in GeV."""

@dataclass(frozen=True)
class ZJetsSettings:
    """Physics and batching settings of the Z(->mumu)+jets sample.

    Attributes:
        sqrt_s: proton-proton centre-of-mass energy in GeV.
        muon_pt_min: muon transverse momentum threshold in GeV.
        muon_abs_eta_max: muon acceptance |eta| < this.
        dressing_radius: final-state photons within this Delta R of a muon are added to it
            (and not clustered into jets); 0 keeps bare muons.
        jet_pt_min: jet transverse momentum threshold in GeV.
        jet_abs_eta_max: jet acceptance |eta| < this.
        jet_radius: anti-kT distance parameter R.
        overlap_radius: jets within this Delta R of either selected muon are removed.
        max_jets: number of leading jets stored (multiplicity 3 = ">= 3"; the untruncated
            count is stored per event as ``event_info/n_jets_all``).
        hard_process: "z" (the default: inclusive q qbar -> Z; the jets come from the parton
            shower, whose first emission is corrected to the Z + jet matrix element, and from
            multiparton interactions: no generator cut at all) or "zjet" (Pythia's Z + parton
            2 -> 2 matrix elements, q qbar -> Z g and q g -> Z q, above ``pthat_min``; the
            accepted events depend on that cut at any value, see
            benchmarks/results/pthat_stability.md).
        pthat_min: minimum pT of the 2 -> 2 hard process (Pythia ``PhaseSpace:pTHatMin``) in
            GeV, "zjet" only (None there means ``ZJET_PTHAT_MIN``); None for "z".
        tune: the Pythia setting string of the tune (which fixes the PDF).
        batch_size: events per ``Pythia.nextBatch`` call (does not change the events).
    """

    sqrt_s: float = 13000.0
    muon_pt_min: float = 20.0
    muon_abs_eta_max: float = 2.5
    dressing_radius: float = 0.1
    jet_pt_min: float = 20.0
    jet_abs_eta_max: float = 4.5
    jet_radius: float = 0.4
    overlap_radius: float = 0.4
    max_jets: int = 3
    hard_process: str = "z"
    pthat_min: float | None = None
    tune: str = MONASH_TUNE
    batch_size: int = 200

    def __post_init__(self) -> None:
        if self.max_jets != len(ZJETS_OBJECTS) - 2:
            raise LhcgenError(f"max_jets must be {len(ZJETS_OBJECTS) - 2} to match the "
                              f"object order {ZJETS_OBJECTS}, got {self.max_jets}")
        if self.batch_size <= 0:
            raise LhcgenError(f"batch_size must be positive, got {self.batch_size}")
        if self.hard_process not in HARD_PROCESSES:
            raise LhcgenError(f"hard_process must be one of {', '.join(HARD_PROCESSES)}, got "
                              f"{self.hard_process!r}")
        if self.hard_process == "z" and self.pthat_min is not None:
            raise LhcgenError("pthat_min applies to the zjet hard process; inclusive Z has no "
                              "generator cut")
        if self.hard_process == "zjet" and self.pthat_min is None:
            object.__setattr__(self, "pthat_min", ZJET_PTHAT_MIN)
        for name in ("sqrt_s", "muon_pt_min", "muon_abs_eta_max", "jet_pt_min", "jet_radius",
                     "jet_abs_eta_max") + (("pthat_min",) if self.hard_process == "zjet" else ()):
            if not getattr(self, name) > 0:
                raise LhcgenError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("dressing_radius", "overlap_radius"):
            if not getattr(self, name) >= 0:
                raise LhcgenError(f"{name} must be zero or positive, got {getattr(self, name)}")

    def pythia_settings(self) -> list[str]:
        """Pythia 8 setting strings of the hard process and the run (without the seed)."""
        decay = ["WeakZ0:gmZmode = 2", "23:onMode = off", "23:onIfAny = 13"]
        if self.hard_process == "z":
            return [self.tune, f"Beams:eCM = {self.sqrt_s!r}", "WeakSingleBoson:ffbar2gmZ = on",
                    *decay]
        return [self.tune, f"Beams:eCM = {self.sqrt_s!r}", "WeakBosonAndParton:qqbar2gmZg = on",
                "WeakBosonAndParton:qg2gmZq = on", *decay,
                f"PhaseSpace:pTHatMin = {self.pthat_min!r}"]

    def cuts(self) -> dict[str, Any]:
        """The selection as a plain dictionary (stored as a file attribute)."""
        return {
            "n_muons": 2,
            "muon_charge": "opposite",
            "muon_definition": f"dressed: final-state photons within Delta R < "
                               f"{self.dressing_radius} added to the nearest muon",
            "muon_dressing_radius": self.dressing_radius,
            "muon_pt_min_gev": self.muon_pt_min,
            "muon_abs_eta_max": self.muon_abs_eta_max,
            "jet_algorithm": "anti-kt",
            "jet_radius": self.jet_radius,
            "jet_pt_min_gev": self.jet_pt_min,
            "jet_abs_eta_max": self.jet_abs_eta_max,
            "jet_inputs": "visible final-state particles except the two selected muons and "
                          "their dressing photons (neutrinos excluded)",
            "jet_muon_overlap_radius": self.overlap_radius,
            "n_jets_min": 1,
            "max_jets_kept": self.max_jets,
        }

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_pythia(settings: ZJetsSettings, seed: int) -> pythia8mc.Pythia:
    """A silent, initialised Pythia for the Z+jets process with ``seed`` in 1..900000000."""
    return start_pythia(settings.pythia_settings(), seed, "Z+jets")


@dataclass
class SelectedBatch:
    """The events of one batch that pass the selection, in generation order.

    Attributes:
        stage: (B,) int, the selection stage each generated event reached (ACCEPTED = 4).
        momenta: (A, 5, 4) float64 of the A accepted events, (E, px, py, pz).
        mask: (A, 5) bool.
        n_jets: (A,) int64 number of kept jets (1..max_jets).
        weights: (A,) float64 Pythia event weights.
        generated_weights: (B,) float64 weights of all generated events.
        n_jets_all: (A,) int64 jets after acceptance and overlap removal, before keeping
            the leading ``max_jets``.
        pthat: (A,) float64 pT of the hard 2 -> 2 process in GeV.
        n_overlap_removed: (A,) int64 jets in the acceptance removed for being near a muon.
        n_dressing_photons: (A,) int64 photons added to the two selected muons.
    """

    stage: np.ndarray
    momenta: np.ndarray
    mask: np.ndarray
    n_jets: np.ndarray
    weights: np.ndarray
    generated_weights: np.ndarray
    n_jets_all: np.ndarray
    pthat: np.ndarray
    n_overlap_removed: np.ndarray
    n_dressing_photons: np.ndarray

    PER_ACCEPTED = ("momenta", "mask", "n_jets", "weights", "n_jets_all", "pthat",
                    "n_overlap_removed", "n_dressing_photons")

    @property
    def n_accepted(self) -> int:
        return len(self.weights)

    def keep_first(self, n: int) -> int:
        """Keep only the first ``n`` accepted events, and ``stage`` and ``generated_weights``
        up to the last of them; returns that number of generated events."""
        n_used = int(np.flatnonzero(self.stage == ACCEPTED)[n - 1]) + 1
        self.stage = self.stage[:n_used]
        self.generated_weights = self.generated_weights[:n_used]
        for name in self.PER_ACCEPTED:
            setattr(self, name, getattr(self, name)[:n])
        return n_used


def select_batch(batch: ak.Array, settings: ZJetsSettings) -> SelectedBatch:
    """Apply the Z+jets selection to a ``Pythia.nextBatch`` array, without per-particle loops.

    Particles are flattened to numpy columns with an event index; the muons are dressed
    with the photons around them; muon counts and charges per event come from
    ``np.bincount``; the visible particles of events with two good muons are clustered in
    one multi-event FastJet call; jets outside the acceptance or near a muon are removed.
    """
    n_events = len(batch)
    generated_weights = ak.to_numpy(ak.firsts(batch.info.weights)).astype(np.float64)
    pthat = np.sqrt(np.maximum(ak.to_numpy(batch.info.pT2Hat).astype(np.float64), 0.0))
    counts = ak.to_numpy(ak.num(batch.prt, axis=1))
    event = np.repeat(np.arange(n_events), counts)
    flat = ak.flatten(batch.prt, axis=1)
    status = ak.to_numpy(flat.status)
    pid = ak.to_numpy(flat.id)
    p = flat.p
    p4 = np.stack([ak.to_numpy(p[c]) for c in ("e", "px", "py", "pz")], axis=-1)
    p4 = p4.astype(np.float64)

    final = status > 0
    abs_pid = np.abs(pid)
    muon = np.flatnonzero(final & (abs_pid == 13))
    photon = np.flatnonzero(final & (pid == 22))
    dressed, photon_owner = dress_leptons(event, muon, photon, p4, settings.dressing_radius)
    mu_pt = fv.pt(dressed)
    good = (mu_pt > settings.muon_pt_min) & (np.abs(fv.eta(dressed))
                                             < settings.muon_abs_eta_max)
    good_position = np.flatnonzero(good)  # positions in `muon`
    good_event = event[muon[good_position]]

    n_good = np.bincount(good_event, minlength=n_events)
    charge_sum = np.bincount(good_event, weights=np.sign(pid[muon[good_position]]),
                             minlength=n_events)  # mu- has id +13: opposite charge <=> sum 0
    two_muons = n_good == 2
    opposite = two_muons & (charge_sum == 0)
    stage = np.where(two_muons, FAILED_NO_JET, FAILED_MUON_COUNT)
    stage[two_muons & ~opposite] = FAILED_MUON_CHARGE

    candidates = np.flatnonzero(opposite)
    slots = 2 + settings.max_jets
    if len(candidates) == 0:
        none = np.zeros(0, np.int64)
        return SelectedBatch(stage, np.zeros((0, slots, 4)), np.zeros((0, slots), bool), none,
                             np.zeros(0), generated_weights, none, np.zeros(0), none, none)

    # Dressed muons of the candidate events, two per event in event order, sorted by pT.
    chosen = good_position[opposite[good_event]].reshape(-1, 2)
    order = np.argsort(-mu_pt[chosen], axis=1, kind="stable")
    chosen = np.take_along_axis(chosen, order, axis=1)
    muon_p4 = dressed[chosen]  # (C, 2, 4)

    # Jet inputs: visible final-state particles of candidate events, minus the two muons
    # and the photons that dress them.
    visible = final & ~np.isin(abs_pid, NEUTRINO_IDS) & opposite[event]
    visible[muon[chosen.ravel()]] = False
    selected_owner = np.zeros(len(muon), dtype=bool)
    selected_owner[chosen.ravel()] = True
    dressing_photon = photon[(photon_owner >= 0)
                             & selected_owner[np.maximum(photon_owner, 0)]]
    visible[dressing_photon] = False
    n_visible = np.bincount(event[visible], minlength=n_events)[candidates]
    inputs = ak.unflatten(ak.zip({"px": p4[visible, 1], "py": p4[visible, 2],
                                  "pz": p4[visible, 3], "E": p4[visible, 0]}), n_visible)
    jet_def = fastjet.JetDefinition(fastjet.antikt_algorithm, settings.jet_radius)
    jets = fastjet.ClusterSequence(inputs, jet_def).inclusive_jets(min_pt=settings.jet_pt_min)
    n_per_candidate = ak.to_numpy(ak.num(jets, axis=1))
    flat_jets = ak.flatten(jets, axis=1)
    jet_p4 = np.stack([ak.to_numpy(flat_jets[c]).astype(np.float64)
                       for c in ("E", "px", "py", "pz")], axis=-1)
    jet_owner = np.repeat(np.arange(len(candidates)), n_per_candidate)
    jet_pt = fv.pt(jet_p4)
    in_acceptance = ((jet_pt > settings.jet_pt_min)
                     & (np.abs(fv.eta(jet_p4)) < settings.jet_abs_eta_max))
    near_muon = np.zeros(len(jet_pt), dtype=bool)
    for k in range(2):
        near_muon |= fv.delta_r(jet_p4, muon_p4[jet_owner, k]) < settings.overlap_radius
    kept = in_acceptance & ~near_muon
    n_in_acceptance = np.bincount(jet_owner[in_acceptance], minlength=len(candidates))
    n_jets_all = np.bincount(jet_owner[kept], minlength=len(candidates))

    # Kept jets by pT within each event; the leading max_jets go into the slots.
    kept_index = np.flatnonzero(kept)
    kept_index = kept_index[np.lexsort((-jet_pt[kept_index], jet_owner[kept_index]))]
    owner = jet_owner[kept_index]
    starts = np.cumsum(n_jets_all) - n_jets_all
    rank = np.arange(len(kept_index)) - starts[owner]
    in_slot = rank < settings.max_jets
    jet_slots = np.zeros((len(candidates), settings.max_jets, 4))
    jet_slots[owner[in_slot], rank[in_slot]] = jet_p4[kept_index[in_slot]]

    has_jet = n_jets_all >= 1
    stage[candidates[(n_in_acceptance >= 1) & ~has_jet]] = FAILED_OVERLAP
    stage[candidates[has_jet]] = ACCEPTED
    accepted = candidates[has_jet]
    momenta = np.concatenate([muon_p4, jet_slots], axis=1)[has_jet]
    n_all = n_jets_all[has_jet].astype(np.int64)
    n_jets = np.minimum(n_all, settings.max_jets)
    mask = np.zeros((len(accepted), slots), dtype=bool)
    mask[:, :2] = True
    mask[:, 2:] = np.arange(settings.max_jets) < n_jets[:, None]
    overlap_removed = np.bincount(jet_owner[in_acceptance & near_muon],
                                  minlength=len(candidates))[has_jet]
    n_dressing = np.bincount(event[dressing_photon], minlength=n_events)[accepted]
    return SelectedBatch(stage, momenta, mask, n_jets, generated_weights[accepted],
                         generated_weights, n_all, pthat[accepted], overlap_removed,
                         n_dressing)


def assemble(parts: list[SelectedBatch], stage: np.ndarray, settings: ZJetsSettings
             ) -> tuple[EventSample, dict[str, Any]]:
    """The accepted events of ``parts`` as one sample, and the cut flow of ``stage`` (one
    code per generated event) with the selection's counters."""
    flow = np.bincount(stage, minlength=ACCEPTED + 1)
    slots = 2 + settings.max_jets

    def joined(name: str, empty: np.ndarray) -> np.ndarray:
        return np.concatenate([getattr(s, name) for s in parts]) if parts else empty

    n_all = joined("n_jets_all", np.zeros(0, np.int64))
    sample = EventSample(
        joined("momenta", np.zeros((0, slots, 4))), joined("mask", np.zeros((0, slots), bool)),
        joined("n_jets", np.zeros(0, np.int64)), joined("weights", np.zeros(0)),
        {"object_names": list(ZJETS_OBJECTS), "n_fixed_objects": 2},
        event_info={"n_jets_all": n_all, "pthat_gev": joined("pthat", np.zeros(0))})
    stats = {
        "n_generated": int(len(stage)),
        "n_accepted": int(flow[ACCEPTED]),
        **{key: int(flow[code]) for code, key in enumerate(CUT_FLOW_KEYS)},
        "accepted_with_more_jets_than_stored": int((n_all > settings.max_jets).sum()),
        "jets_removed_by_overlap": int(sum(s.n_overlap_removed.sum() for s in parts)),
        "dressing_photons": int(sum(s.n_dressing_photons.sum() for s in parts)),
        "sum_weights_accepted": float(sample.weights.sum()),
        "negative_weights_accepted": int((sample.weights < 0).sum()),
    }
    return sample, stats


BATCH_SIZING = BatchSizing(prior=0.35, min_rate=0.05, spare=10)
"""Batch sizes of a shard: acceptance guessed 35 %, trusted down to 5 %."""


def generate_shard(settings: ZJetsSettings, n_accepted: int, seed: int,
                   progress_queue: ProgressSink | None = None
                   ) -> tuple[EventSample, dict[str, Any]]:
    """Generate exactly ``n_accepted`` selected Z(->mumu)+jets events with one Pythia seed.

    Args:
        settings: process, cuts and batch size.
        n_accepted: number of events to keep (the first that pass, in generation order).
        seed: Pythia seed in 1..900000000.
        progress_queue: optional; receives ``n`` (newly accepted events) after every batch.

    Returns:
        The events (momenta (n_accepted, 5, 4), mask, multiplicity = number of jets, weights)
        and a stats dictionary: n_generated (events generated up to the last kept one),
        n_accepted, the number rejected at each cut, sums of weights, pythia_errors (failed
        ``next()`` calls) and Pythia's generated cross section sigma_gen_pb with its error.
    """
    if n_accepted <= 0:
        raise LhcgenError(f"n_accepted must be positive, got {n_accepted}")
    silence_fastjet_banner()
    pythia = make_pythia(settings, seed)

    batches = accepted_batches(
        pythia, n_accepted, lambda batch: select_batch(batch, settings),
        batch_size=settings.batch_size, sizing=BATCH_SIZING, seed=seed,
        give_up_after=MAX_GENERATED_WITHOUT_ACCEPTED, passed="passed the selection",
        cuts="ZJetsSettings", progress_queue=progress_queue)
    parts = [selected for _, selected, _ in batches]  # the last one cut by keep_first
    sample, stats = assemble(parts, np.concatenate([s.stage for s in parts]), settings)
    if settings.hard_process == "z":
        del sample.event_info["pthat_gev"]  # a 2 -> 1 process has no p-hat
    stats.update(seed=seed, sum_weights_generated=float(np.concatenate(
                     [s.generated_weights for s in parts]).sum()),
                 **run_facts(pythia))
    return sample, stats
