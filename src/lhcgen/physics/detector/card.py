"""The detector card: every number of the parametric detector, read from YAML.

A card is a tree of frozen dataclasses (hashable, so per-card geometry can be cached).
``load_card`` validates a YAML file into it with one-line ``LhcgenError``s that name the
key: unknown or missing keys, wrong types, negative resolution terms or thresholds,
efficiencies or energy fractions outside [0, 1], edges that do not increase, tower regions
that are not whole numbers of bins. Units: GeV for energies and momenta, GeV^(1/2) for
stochastic terms, radians for angles.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass
from pathlib import Path

from lhcgen.errors import LhcgenError
from lhcgen.typed_config import build_section, read_yaml_mapping

CARDS = Path(__file__).parent / "cards"
DEFAULT_CARD = CARDS / "atlas_like.yaml"

_WHOLE_BINS_TOLERANCE = 1e-6


@dataclass(frozen=True)
class EfficiencyTable:
    """An efficiency binned in |eta| and pT.

    Attributes:
        abs_eta_edges: n+1 increasing |eta| edges starting at 0; bin i is
            (edges[i], edges[i+1]] (|eta| = 0 in the first); 0 beyond the last edge.
        pt_edges: m increasing lower edges of the pT bins in GeV; bin j is
            (pt_edges[j], pt_edges[j+1]], the last one open above; 0 at or below pt_edges[0].
        values: n rows (|eta| bins) of m efficiencies (pT bins), each in [0, 1].
    """

    abs_eta_edges: tuple[float, ...]
    pt_edges: tuple[float, ...]
    values: tuple[tuple[float, ...], ...]


@dataclass(frozen=True)
class TrackResolution:
    """Relative pT resolution of tracks in the |eta| region up to ``abs_eta_max`` (from the
    previous region's edge, or 0): sigma(pT)/pT = sqrt(constant^2 + (slope * pT)^2).

    Attributes:
        abs_eta_max: upper |eta| edge of the region.
        constant: the pT-independent term (dimensionless).
        slope: the term growing with pT, in 1/GeV.
    """

    abs_eta_max: float
    constant: float
    slope: float


@dataclass(frozen=True)
class TrackClass:
    """Tracking of one particle class: efficiency (of the true pT, eta) and pT resolution
    (regions with increasing ``abs_eta_max``; no smearing beyond the last)."""

    efficiency: EfficiencyTable
    resolution: tuple[TrackResolution, ...]


@dataclass(frozen=True)
class Tracking:
    """Tracking of charged hadrons (every charged |pid| other than 11 and 13), electrons
    (|pid| 11) and muons (|pid| 13)."""

    charged_hadron: TrackClass
    electron: TrackClass
    muon: TrackClass


@dataclass(frozen=True)
class TowerRegion:
    """Uniform towers in the |eta| region up to ``abs_eta_max`` (from the previous region's
    edge, or 0), mirrored at negative eta.

    Attributes:
        abs_eta_max: upper |eta| edge of the region.
        d_eta: tower width in eta; it must divide the region into whole bins.
        n_phi: number of towers in phi, each 2 pi / n_phi wide, starting at -pi.
    """

    abs_eta_max: float
    d_eta: float
    n_phi: int


@dataclass(frozen=True)
class EnergyResolution:
    """Calorimeter energy resolution in the |eta| region up to ``abs_eta_max``:
    sigma(E) = sqrt((constant * E)^2 + stochastic^2 * E + noise^2), E in GeV.

    Attributes:
        abs_eta_max: upper |eta| edge of the region.
        stochastic: a, in GeV^(1/2).
        noise: b, in GeV.
        constant: c (dimensionless).
    """

    abs_eta_max: float
    stochastic: float
    noise: float
    constant: float


@dataclass(frozen=True)
class Calorimeter:
    """One calorimeter (ECAL or HCAL): towers, resolution and the energy-flow thresholds.

    Attributes:
        towers: tower regions with increasing ``abs_eta_max``; nothing is deposited beyond
            the last one.
        resolution: resolution regions with increasing ``abs_eta_max``, evaluated at the
            |eta| of the tower centre; they must cover the towers.
        energy_min: a tower (and a neutral remainder) must exceed this energy, in GeV.
        energy_significance_min: ... and this many sigma of its energy resolution.
        smear_tower_center: neutral objects get a direction drawn uniformly in their tower
            (else the tower centre).
    """

    towers: tuple[TowerRegion, ...]
    resolution: tuple[EnergyResolution, ...]
    energy_min: float
    energy_significance_min: float
    smear_tower_center: bool


@dataclass(frozen=True)
class EnergyFraction:
    """Fractions of a particle's energy deposited in the ECAL and HCAL, for the listed |pid|s."""

    abs_pid: tuple[int, ...]
    ecal: float
    hcal: float


@dataclass(frozen=True)
class EnergyFractions:
    """ECAL/HCAL energy fractions: ``default_*`` for every |pid| not listed in ``special``."""

    default_ecal: float
    default_hcal: float
    special: tuple[EnergyFraction, ...]


@dataclass(frozen=True)
class Isolation:
    """Lepton isolation: sum of the pT of the other energy-flow objects with pT > pt_min
    (GeV) within Delta R <= delta_r_max, divided by the lepton pT, must be <= pt_ratio_max."""

    delta_r_max: float
    pt_min: float
    pt_ratio_max: float


@dataclass(frozen=True)
class LeptonId:
    """Identification of electrons or muons among tracks: efficiency (of the smeared track's
    |eta| and pT, on top of the tracking efficiency) and isolation."""

    efficiency: EfficiencyTable
    isolation: Isolation


@dataclass(frozen=True)
class BTagCurve:
    """Tag probability of a jet of one true flavour versus its pT (GeV):
    offset + slope * pT + norm * tanh(rate * pT) * scale / (1 + decay * pT), clipped to
    [0, 1]."""

    offset: float
    slope: float
    norm: float
    rate: float
    scale: float
    decay: float


@dataclass(frozen=True)
class BTagging:
    """b-tagging: curves per true jet flavour (b, c, light), 0 beyond |eta| abs_eta_max."""

    abs_eta_max: float
    b: BTagCurve
    c: BTagCurve
    light: BTagCurve


@dataclass(frozen=True)
class DetectorCard:
    """The whole parametric detector."""

    name: str
    tracking: Tracking
    ecal: Calorimeter
    hcal: Calorimeter
    energy_fractions: EnergyFractions
    electron: LeptonId
    muon: LeptonId
    btag: BTagging


# --- loading ----------------------------------------------------------------------------


def _fail(message: str) -> typing.NoReturn:
    raise LhcgenError(f"detector card: {message}")


def _walk_keys(cls, data, prefix: str, unknown: list[str], missing: list[str]) -> None:
    """Collect the unknown and missing keys of ``data`` against the dataclass ``cls``,
    recursively (so that a missing key is one line naming it, not a TypeError)."""
    if not isinstance(data, dict):
        where = f"'{prefix.rstrip('.')}'" if prefix else "the top level"
        _fail(f"{where} must be a section (mapping), got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)
    names = [f.name for f in fields]
    unknown += [f"'{prefix}{key}' (allowed in this section: {', '.join(names)})"
                for key in data if key not in names]
    for f in fields:
        if f.name not in data:
            missing.append(f"'{prefix}{f.name}'")
            continue
        tp, value = hints[f.name], data[f.name]
        if dataclasses.is_dataclass(tp):
            _walk_keys(tp, value, f"{prefix}{f.name}.", unknown, missing)
        elif typing.get_origin(tp) is tuple and dataclasses.is_dataclass(typing.get_args(tp)[0]):
            if isinstance(value, list):
                for i, item in enumerate(value):
                    _walk_keys(typing.get_args(tp)[0], item, f"{prefix}{f.name}[{i}].", unknown,
                               missing)


def _check_keys(data) -> None:
    """One line for the first unknown key (typos first), else the first missing key."""
    unknown: list[str] = []
    missing: list[str] = []
    _walk_keys(DetectorCard, data, "", unknown, missing)
    if unknown:
        _fail(f"unknown key {unknown[0]}")
    if missing:
        _fail(f"missing key {missing[0]}")


def _at_least_zero(key: str, value: float) -> None:
    if not value >= 0:
        _fail(f"'{key}' must be >= 0, got {value!r}")


def _unit_interval(key: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        _fail(f"'{key}' must be in [0, 1], got {value!r}")


def _increasing(key: str, values: tuple[float, ...]) -> None:
    for i in range(1, len(values)):
        if not values[i] > values[i - 1]:
            _fail(f"'{key}' must be increasing, got {list(values)}")


def _validate_table(key: str, table: EfficiencyTable) -> None:
    _increasing(f"{key}.abs_eta_edges", table.abs_eta_edges)
    _increasing(f"{key}.pt_edges", table.pt_edges)
    if len(table.abs_eta_edges) < 2 or table.abs_eta_edges[0] != 0.0:
        _fail(f"'{key}.abs_eta_edges' must start at 0 and have at least two edges, "
              f"got {list(table.abs_eta_edges)}")
    _at_least_zero(f"{key}.pt_edges[0]", table.pt_edges[0])
    if len(table.values) != len(table.abs_eta_edges) - 1:
        _fail(f"'{key}.values' must have one row per |eta| bin "
              f"({len(table.abs_eta_edges) - 1}), got {len(table.values)}")
    for i, row in enumerate(table.values):
        if len(row) != len(table.pt_edges):
            _fail(f"'{key}.values[{i}]' must have one value per pT bin "
                  f"({len(table.pt_edges)}), got {len(row)}")
        for j, value in enumerate(row):
            _unit_interval(f"{key}.values[{i}][{j}]", value)


def _validate_regions(key: str, regions) -> None:
    _increasing(f"{key}[*].abs_eta_max", tuple(r.abs_eta_max for r in regions))
    if not regions[0].abs_eta_max > 0:
        _fail(f"'{key}[0].abs_eta_max' must be > 0, got {regions[0].abs_eta_max!r}")


def _validate_calorimeter(key: str, cal: Calorimeter) -> None:
    _validate_regions(f"{key}.towers", cal.towers)
    lower = 0.0
    for i, region in enumerate(cal.towers):
        where = f"{key}.towers[{i}]"
        if not region.d_eta > 0:
            _fail(f"'{where}.d_eta' must be > 0, got {region.d_eta!r}")
        if region.n_phi < 1:
            _fail(f"'{where}.n_phi' must be >= 1, got {region.n_phi!r}")
        bins = (region.abs_eta_max - lower) / region.d_eta
        if abs(bins - round(bins)) > _WHOLE_BINS_TOLERANCE * max(1.0, bins):
            _fail(f"'{where}.d_eta' = {region.d_eta} must divide |eta| {lower}..."
                  f"{region.abs_eta_max} into whole bins ({bins:.4f})")
        lower = region.abs_eta_max
    _validate_regions(f"{key}.resolution", cal.resolution)
    for i, res in enumerate(cal.resolution):
        for term in ("stochastic", "noise", "constant"):
            _at_least_zero(f"{key}.resolution[{i}].{term}", getattr(res, term))
    if cal.resolution[-1].abs_eta_max < cal.towers[-1].abs_eta_max:
        _fail(f"'{key}.resolution' must cover the towers up to |eta| "
              f"{cal.towers[-1].abs_eta_max}, ends at {cal.resolution[-1].abs_eta_max}")
    _at_least_zero(f"{key}.energy_min", cal.energy_min)
    _at_least_zero(f"{key}.energy_significance_min", cal.energy_significance_min)


def validate_card(card: DetectorCard) -> None:
    """Raise one ``LhcgenError`` line (naming the key) if a value of ``card`` is out of range."""
    for name in ("charged_hadron", "electron", "muon"):
        track_class = getattr(card.tracking, name)
        key = f"tracking.{name}"
        _validate_table(f"{key}.efficiency", track_class.efficiency)
        _validate_regions(f"{key}.resolution", track_class.resolution)
        for i, res in enumerate(track_class.resolution):
            _at_least_zero(f"{key}.resolution[{i}].constant", res.constant)
            _at_least_zero(f"{key}.resolution[{i}].slope", res.slope)
    _validate_calorimeter("ecal", card.ecal)
    _validate_calorimeter("hcal", card.hcal)
    fractions = card.energy_fractions
    _unit_interval("energy_fractions.default_ecal", fractions.default_ecal)
    _unit_interval("energy_fractions.default_hcal", fractions.default_hcal)
    if fractions.default_ecal + fractions.default_hcal > 1.0:
        _fail("'energy_fractions.default_ecal' + 'default_hcal' must be <= 1")
    for i, entry in enumerate(fractions.special):
        key = f"energy_fractions.special[{i}]"
        _unit_interval(f"{key}.ecal", entry.ecal)
        _unit_interval(f"{key}.hcal", entry.hcal)
        if entry.ecal + entry.hcal > 1.0:
            _fail(f"'{key}.ecal' + '{key}.hcal' must be <= 1, got {entry.ecal + entry.hcal}")
    for name in ("electron", "muon"):
        lepton = getattr(card, name)
        _validate_table(f"{name}.efficiency", lepton.efficiency)
        for term in ("delta_r_max", "pt_min", "pt_ratio_max"):
            _at_least_zero(f"{name}.isolation.{term}", getattr(lepton.isolation, term))
    _at_least_zero("btag.abs_eta_max", card.btag.abs_eta_max)
    for flavour in ("b", "c", "light"):
        curve = getattr(card.btag, flavour)
        _at_least_zero(f"btag.{flavour}.decay", curve.decay)
        for term in dataclasses.fields(BTagCurve):
            if not math.isfinite(getattr(curve, term.name)):
                _fail(f"'btag.{flavour}.{term.name}' must be finite")


def card_from_dict(data: dict) -> DetectorCard:
    """A plain mapping (as in the YAML file, or ``card_as_dict``'s output) validated into a
    ``DetectorCard``."""
    _check_keys(data)
    try:
        card = build_section(DetectorCard, data)
    except LhcgenError as exc:
        message = str(exc).removeprefix("config: ")
        raise LhcgenError(f"detector card: {message}") from None
    validate_card(card)
    return card


def load_card(path: str | Path | None = None) -> DetectorCard:
    """The detector card at ``path`` (None: the packaged ATLAS-like default), validated."""
    path = DEFAULT_CARD if path is None else Path(path)
    data = read_yaml_mapping(path)
    try:
        return card_from_dict(data)
    except LhcgenError as exc:
        raise LhcgenError(f"{path}: {exc}") from None


def _plain(value):
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def card_as_dict(card: DetectorCard) -> dict:
    """The card as nested dicts and lists of JSON-safe scalars (``card_from_dict`` inverts
    it), to be recorded with every simulated file."""
    return _plain(card)
