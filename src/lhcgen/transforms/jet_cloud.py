"""Jets as particle clouds in network coordinates, and their kinematics as conditions.

Constituents (Delta eta, Delta phi, pT_rel) map to three unbounded coordinates whose inverse
is physical by construction:

    (u, v) = (Delta eta, Delta phi) atanh(h(Delta R) / R_a) / Delta R,
    w = log(pT_rel / (c - pT_rel)),

so every decoded particle has 0 < pT_rel < c and Delta R < R_max (the jet's catchment: the
largest Delta R of the training constituents, with a 2 % margin, or the config's value;
c = max(1, 1.02 x the largest training pT_rel)); w is log pT_rel for soft particles and
keeps an untrained or extrapolating network from making constituents harder than the jet.
Then each coordinate is standardised over the real particles of the training jets.

The jet's edge. Anti-kT catches constituents within R of the axis in rapidity, but the
stored Delta eta is in pseudorapidity, so a few soft massive hadrons lie beyond R (in the
Pythia jets at R = 0.8: 1e-4 of the top constituents, 2e-3 of the W ones, some at
Delta R = 4), and R_max is set by them. Then atanh(Delta R / R_max) is nearly linear at
Delta R = R, where the density of constituents falls by more than an order of magnitude: a
cliff the network smooths (every network measured makes too little pT at 0.6-0.8 and too
much beyond R). With the jet edge (``stretch_jet_edge``, R from the training file's cuts), h is the
identity up to R and maps [R, R_max) linearly onto the thin shell [R, R_a), R_a = 1.02 R:
the atanh then stretches the edge as if nothing lay beyond it, and the few constituents
that do keep their place (h is a bijection) at moderate values of the coordinate. Without
an edge (a file that does not name R, every constituent within 1.02 R, or runs made before
it), R_a = R_max and h is the identity. Measured (docs/jets-generators.md, "The jet edge"):
the edge mends the pT of the outermost ring but not the jet mass, and the core, where the
prongs lie, gets less of the standardised coordinate's range (W jets' FPD 3x worse); so it
is off by default.

A jet's kinematics (pT, eta, m, N) with N the untruncated constituent count are the
network's continuous condition, standardised (log pT, eta, log m, log N). The model that
generates them first (the "fully generated" protocol) works in coordinates that are
physical by construction too (``kinematics_encode``): log pT, atanh(eta / eta_max), log m,
and log(N - 1 + U) with U uniform in [0, 1) (dequantisation; the inverse floor(exp(y)) + 1
is an integer >= 1). These are standardised, or (``conditions.marginals: quantile``) sent
through their empirical distribution per jet type onto a standard normal
(``QuantileMarginals``, fitted by ``fit_kinematics_quantiles``), which bounds each of them
to the training jets' range as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lhcgen.data.jets import JET_TYPES, JetCloudSample
from lhcgen.errors import LhcgenError
from lhcgen.transforms.cloud_decoding import CloudDecoding
from lhcgen.transforms.coordinates import Coordinates
from lhcgen.transforms.encoded import Encoded
from lhcgen.transforms.quantile_marginals import QuantileMarginals

N_FEATURES = 3
N_CONTEXT = 4
CONTEXT_NAMES = ("log_pt", "eta", "log_mass", "log_n_constituents")
KINEMATICS_NAMES = ("log_pt", "atanh_eta", "log_mass", "log_n_dequantised")
CATCHMENT_MARGIN = 1.02
"""R_max (and c of pT_rel, and R_a of the jet edge) lie 2 % beyond what they bound."""
MASS_FLOOR_GEV = 1e-3
"""Jet masses below this are encoded at it (counted in ``fit``)."""


@dataclass(frozen=True)
class JetCloudPreprocessingConfig:
    jet_types: str = ""
    """Jet types to train on (letters of g, q, t, w, z; "": every type in the training
    file); the training file may hold more."""
    max_delta_r: float = 0.0
    """R_max: every generated constituent lies within Delta R < R_max of the jet axis
    (0: the largest Delta R in the training data, plus 2 %)."""
    eta_max: float = 0.0
    """|eta| bound of the generated jets (0: the training file's cut ``jet_abs_eta_max``,
    else the largest |eta| in the data plus 1 %)."""
    stretch_jet_edge: bool = False
    """Stretch the network's radial coordinate at the jet radius R, where the density of
    constituents falls steeply (module docstring); false: atanh(Delta R / R_max) alone, the
    map of every run made before this option (so that their configs train them again)."""
    jet_radius: float = 0.0
    """R of the jet edge (0: the training file's ``cuts.jet_radius``; a file without one has
    no edge)."""


def _standardise_fit(values: np.ndarray) -> tuple[list[float], list[float]]:
    mean = values.mean(axis=0)
    std = values.std(axis=0)
    return mean.tolist(), np.where(std > 0, std, 1.0).tolist()


class JetCloudPreprocessing:
    """Fitted on training jets; maps jets to (N, P, 3) network coordinates and back."""

    def __init__(self, cfg: JetCloudPreprocessingConfig | None = None):
        self.cfg = cfg or JetCloudPreprocessingConfig()
        unknown = sorted(set(self.cfg.jet_types) - set(JET_TYPES))
        if unknown:
            raise LhcgenError(f"preprocessing.jet_types must be letters of "
                              f"{''.join(JET_TYPES)}, got {self.cfg.jet_types!r}")
        self.types = sorted({JET_TYPES.index(t) for t in self.cfg.jet_types})
        self.n_particles = 0
        self.multiplicities: list[int] = []
        self.fractions: list[float] = []
        self.max_delta_r = 0.0
        self.jet_edge = 0.0
        """R of the stretched jet edge; 0: none (also for runs saved before it existed)."""
        self.max_pt_rel = 1.0
        self.eta_max = 0.0
        self.particle_mean: list[float] = []
        self.particle_std: list[float] = []
        self.context_mean: list[float] = []
        self.context_std: list[float] = []
        self.kinematics_mean: list[float] = []
        self.kinematics_std: list[float] = []
        self.kinematics_quantiles: dict = {}
        """``QuantileMarginals`` state of the kinematics per type ({}: not fitted, as in
        runs whose conditions model is standardised)."""
        self.fit_counts: dict[str, int] = {}

    # ---- fitting -------------------------------------------------------------------------
    def select(self, sample: JetCloudSample, require_all: bool = True) -> JetCloudSample:
        """The jets of the configured types; with ``require_all`` (training data) one line
        if the sample holds none of a type."""
        if not self.types:  # every type of the training file
            self.types = sorted(set(sample.jet_type.tolist()))
        keep = np.isin(sample.jet_type, self.types)
        missing = [JET_TYPES[t] for t in self.types if not np.any(sample.jet_type == t)]
        if missing and require_all:
            wanted = (f"preprocessing.jet_types asks for {self.cfg.jet_types!r}"
                      if self.cfg.jet_types else
                      f"the preprocessing was fitted on {''.join(JET_TYPES[t] for t in self.types)}"
                      " jets (a run that starts from another keeps its coordinates: train on "
                      "a file of every type it was fitted on)")
            raise LhcgenError(f"the training file holds no {', '.join(missing)} jets but "
                              f"{wanted}")
        return sample.subset(keep)

    def fit(self, sample: JetCloudSample) -> None:
        sample = self.select(sample)
        self.n_particles = sample.n_particles
        codes, counts = np.unique(sample.jet_type, return_counts=True)
        self.multiplicities = [int(c) for c in codes]
        self.fractions = (counts / counts.sum()).tolist()
        real = sample.particles[sample.mask]
        delta_r = np.hypot(real[:, 0], real[:, 1])
        self.max_delta_r = float(self.cfg.max_delta_r or CATCHMENT_MARGIN * delta_r.max())
        self.max_pt_rel = float(max(1.0, CATCHMENT_MARGIN * real[:, 2].max()))
        cut = sample.attrs.get("cuts", {}) or {}
        eta_cut = cut.get("jet_abs_eta_max") if isinstance(cut, dict) else None
        self.eta_max = float(self.cfg.eta_max or eta_cut or 1.01 * np.abs(sample.jets[:, 1]).max())
        outside_r = int((delta_r >= self.max_delta_r).sum())
        outside_eta = int((np.abs(sample.jets[:, 1]) >= self.eta_max).sum())
        if outside_r or outside_eta:
            raise LhcgenError(f"the training file has {outside_r} constituents at Delta R >= "
                              f"R_max = {self.max_delta_r:.3g} and {outside_eta} jets at |eta| "
                              f">= {self.eta_max:.3g}; raise preprocessing.max_delta_r or "
                              "preprocessing.eta_max")
        self._fit_edge(cut if isinstance(cut, dict) else {})
        raw = self._particle_coordinates(real[None])[0]
        self.particle_mean, self.particle_std = _standardise_fit(raw)
        self.context_mean, self.context_std = _standardise_fit(
            self._raw_context(sample.jets, sample.n_constituents))
        kin = self._raw_kinematics(sample, np.random.default_rng(0))
        self.kinematics_mean, self.kinematics_std = _standardise_fit(kin)
        self.fit_counts = {"jets": len(sample), "mass_below_floor":
                           int((sample.jets[:, 2] < MASS_FLOOR_GEV).sum())}
        if self.jet_edge:
            self.fit_counts["constituents_beyond_jet_radius"] = int(
                (delta_r > self.jet_edge).sum())

    def _fit_edge(self, cuts: dict) -> None:
        """The jet edge R, if stretched: only where some constituents lie beyond R_a = 1.02 R
        (otherwise R_max is already at the data's edge)."""
        self.jet_edge = 0.0
        if not self.cfg.stretch_jet_edge:
            return
        if self.cfg.jet_radius < 0:
            raise LhcgenError(f"preprocessing.jet_radius must be >= 0 (0: the training "
                              f"file's), got {self.cfg.jet_radius}")
        radius = float(self.cfg.jet_radius or cuts.get("jet_radius", 0.0) or 0.0)
        if radius > 0 and CATCHMENT_MARGIN * radius < self.max_delta_r:
            self.jet_edge = radius

    # ---- constituents --------------------------------------------------------------------
    @property
    def edge_bound(self) -> float:
        """R_a = 1.02 R, where the atanh of the radial coordinate diverges (with an edge)."""
        return CATCHMENT_MARGIN * self.jet_edge

    def _atanh_bound(self) -> float:
        """R_a of the radial map: 1.02 R with an edge, else R_max."""
        return self.edge_bound if self.jet_edge else self.max_delta_r

    def _shell(self) -> float:
        """How much h compresses [R, R_max) into [R, R_a)."""
        return (self.edge_bound - self.jet_edge) / (self.max_delta_r - self.jet_edge)

    def _into_edge(self, r: np.ndarray) -> np.ndarray:
        """h: Delta R in [0, R_max) -> [0, R_a), the identity up to R, [R, R_max) linearly
        onto [R, R_a)."""
        if not self.jet_edge:
            return r
        return np.where(r <= self.jet_edge, r, self.jet_edge + (r - self.jet_edge)
                        * self._shell())

    def _out_of_edge(self, rho: np.ndarray) -> np.ndarray:
        """The inverse of ``_into_edge``."""
        if not self.jet_edge:
            return rho
        return np.where(rho <= self.jet_edge, rho, self.jet_edge + (rho - self.jet_edge)
                        / self._shell())

    def _particle_coordinates(self, particles: np.ndarray) -> np.ndarray:
        """(..., 3) physical -> (..., 3) unstandardised network coordinates. A constituent at
        Delta R >= R_max (possible in jets the fit did not see, such as the validation
        split) is encoded at R_max (1 - 1e-9), its direction kept; ``encode`` counts them."""
        eta, phi, pt = particles[..., 0], particles[..., 1], particles[..., 2]
        r = np.hypot(eta, phi)
        bound = self._atanh_bound()
        inner = self._into_edge(np.minimum(r, self.max_delta_r))
        scale = np.where(r > 0, np.arctanh(np.minimum(inner / bound, 1.0 - 1e-9))
                         / np.where(r > 0, r, 1.0), 1.0 / bound)
        pt = np.clip(pt, 1e-300, self.max_pt_rel * (1 - 1e-15))
        return np.stack([eta * scale, phi * scale, np.log(pt) - np.log(self.max_pt_rel - pt)],
                        axis=-1)

    def encode_particles(self, particles: np.ndarray, mask: np.ndarray) -> np.ndarray:
        x = self._particle_coordinates(particles)
        x = (x - np.asarray(self.particle_mean)) / np.asarray(self.particle_std)
        return np.where(mask[..., None], x, 0.0)

    def decode_particles(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """(N, P, 3) network coordinates -> (Delta eta, Delta phi, pT_rel), zero where not
        ``mask``: 0 < pT_rel < c and Delta R < R_max for every finite value."""
        x = np.asarray(x, dtype=np.float64) * np.asarray(self.particle_std) \
            + np.asarray(self.particle_mean)
        u, v, w = x[..., 0], x[..., 1], x[..., 2]
        s = np.hypot(u, v)
        bound = self._atanh_bound()
        r = self._out_of_edge(bound * np.tanh(s))
        factor = np.where(s > 0, r / np.where(s > 0, s, 1.0), bound)
        pt_rel = self.max_pt_rel / (1.0 + np.exp(-w))  # c sigmoid(w), in (0, c)
        out = np.stack([u * factor, v * factor, pt_rel], axis=-1)
        return np.where(mask[..., None], out, 0.0)

    # ---- jet kinematics as the condition ------------------------------------------------
    @staticmethod
    def _raw_context(kinematics: np.ndarray, n_constituents: np.ndarray) -> np.ndarray:
        return np.stack([np.log(kinematics[:, 0]), kinematics[:, 1],
                         np.log(np.maximum(kinematics[:, 2], MASS_FLOOR_GEV)),
                         np.log(np.maximum(n_constituents, 1))], axis=-1)

    def context(self, kinematics: np.ndarray, n_constituents: np.ndarray) -> np.ndarray:
        """(N, 4) standardised (log pT, eta, log m, log N) of jets with ``kinematics``
        (N, >= 3) = (pT, eta, m, ...) and untruncated constituent counts (N,)."""
        return (self._raw_context(kinematics, n_constituents)
                - np.asarray(self.context_mean)) / np.asarray(self.context_std)

    def _raw_kinematics(self, sample: JetCloudSample, rng: np.random.Generator) -> np.ndarray:
        n = np.maximum(sample.n_constituents, 1)
        return np.stack([np.log(sample.jets[:, 0]),
                         np.arctanh(np.clip(sample.jets[:, 1] / self.eta_max, -1, 1)),
                         np.log(np.maximum(sample.jets[:, 2], MASS_FLOOR_GEV)),
                         np.log(n - 1 + rng.random(len(n)))], axis=-1)

    def fit_kinematics_quantiles(self, sample: JetCloudSample) -> None:
        """Fit the per-type quantile marginals of the kinematics (``marginals="quantile"``)
        on ``sample``'s jets of the fitted types, dequantised as ``fit`` does."""
        sample = self.select(sample)
        self.kinematics_quantiles = QuantileMarginals.fit(
            self._raw_kinematics(sample, np.random.default_rng(0)),
            sample.jet_type).state_dict()

    def _quantiles(self) -> QuantileMarginals:
        if not self.kinematics_quantiles:
            raise LhcgenError("conditions.marginals 'quantile': this run's preprocessing has "
                              "no fitted quantiles of the jet kinematics (a run made before "
                              "the option, or with 'standardised' marginals)")
        return QuantileMarginals.from_state(self.kinematics_quantiles)

    def kinematics_encode(self, sample: JetCloudSample, rng: np.random.Generator,
                          marginals: str = "standardised") -> np.ndarray:
        """(N, 4) coordinates of the kinematics model, dequantised with ``rng``:
        standardised, or with standard-normal marginals per type (``marginals="quantile"``)."""
        raw = self._raw_kinematics(sample, rng)
        if marginals == "quantile":
            return self._quantiles().forward(raw, sample.jet_type)
        return (raw - np.asarray(self.kinematics_mean)) / np.asarray(self.kinematics_std)

    def kinematics_decode(self, y: np.ndarray, jet_type: np.ndarray | None = None,
                          marginals: str = "standardised") -> tuple[np.ndarray, np.ndarray]:
        """(N, 4) kinematics-model coordinates of jets of ``jet_type`` (N,) (needed for
        ``marginals="quantile"``) -> (jets (N, 3) pT, eta, m; N (N,) int >= 1)."""
        if marginals == "quantile":
            if jet_type is None:
                raise ValueError("quantile marginals decode per jet type: pass jet_type")
            y = self._quantiles().inverse(y, jet_type)
        else:
            y = np.asarray(y, dtype=np.float64) * np.asarray(self.kinematics_std) \
                + np.asarray(self.kinematics_mean)
        pt = np.exp(y[:, 0])
        eta = self.eta_max * np.tanh(y[:, 1])
        mass = np.exp(y[:, 2])
        with np.errstate(over="ignore", invalid="ignore"):
            n = np.floor(np.exp(np.minimum(y[:, 3], 30.0))) + 1
        return np.stack([pt, eta, mass], axis=-1), n

    # ---- the Preprocessing protocol ------------------------------------------------------
    def encode(self, sample: JetCloudSample) -> Encoded:
        sample = self.select(sample, require_all=False)
        x = self.encode_particles(sample.particles, sample.mask)
        beyond = int((np.hypot(sample.particles[..., 0], sample.particles[..., 1])
                      [sample.mask] >= self.max_delta_r).sum())
        mask = torch.from_numpy(sample.mask)
        dims_mask = mask[..., None].expand(-1, -1, N_FEATURES).clone()
        return Encoded(torch.from_numpy(x), mask, dims_mask,
                       torch.from_numpy(sample.jet_type), torch.from_numpy(sample.weights),
                       torch.zeros(len(sample), dtype=torch.float64),
                       torch.from_numpy(self.context(sample.jets, sample.n_constituents)),
                       {"constituents_beyond_r_max": beyond} if beyond else {})

    def particle_mask(self, stored: np.ndarray) -> np.ndarray:
        """(N,) stored constituent counts -> (N, P) mask of the first min(count, P) slots."""
        stored = np.minimum(np.asarray(stored), self.n_particles)
        return np.arange(self.n_particles)[None, :] < stored[:, None]

    def dims_mask(self, mask: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(mask)[..., None].expand(-1, -1, N_FEATURES).clone()

    def coordinates(self) -> Coordinates:
        return Coordinates.cloud(self.n_particles, N_FEATURES, N_CONTEXT, angular=2,
                                 decoding=self.decoding())

    def decoding(self) -> CloudDecoding:
        """The fitted numbers of ``decode_particles``, for its torch twin."""
        return CloudDecoding(tuple(self.particle_mean), tuple(self.particle_std),
                             self._atanh_bound(), self.jet_edge,
                             self._shell() if self.jet_edge else 1.0, self.max_pt_rel)

    def state_dict(self) -> dict:
        return {"types": self.types, "n_particles": self.n_particles,
                "multiplicities": self.multiplicities, "fractions": self.fractions,
                "max_delta_r": self.max_delta_r, "jet_edge": self.jet_edge,
                "max_pt_rel": self.max_pt_rel,
                "eta_max": self.eta_max, "particle_mean": self.particle_mean,
                "particle_std": self.particle_std, "context_mean": self.context_mean,
                "context_std": self.context_std, "kinematics_mean": self.kinematics_mean,
                "kinematics_std": self.kinematics_std,
                "kinematics_quantiles": self.kinematics_quantiles,
                "fit_counts": self.fit_counts}

    def load_state_dict(self, state: dict) -> None:
        for key, value in state.items():
            setattr(self, key, value)
