"""`lhcgen detector`: the detector report of a paired particle/detector file.

Writes into ``out_dir`` (atomically: a temporary folder renamed into place, so an error
leaves no half-written report and keeps an older one): ``detector.json`` (every number),
``detector.md`` (compact tables), ``index.html`` (figures and tables, self-contained) and
the PNGs. The definitions of every number are in the JSON's ``definitions``.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from lhcgen import __version__
from lhcgen.data.paired import PairedSample, read_paired
from lhcgen.errors import LhcgenError
from lhcgen.evaluate.detector import objects, plots, stats
from lhcgen.evaluate.detector.matching import JET_MAX_DR, LEPTON_MAX_DR, match_levels
from lhcgen.evaluate.detector.migration import migration_matrix, pass_table
from lhcgen.evaluate.html import figure, page, table, with_error
from lhcgen.io import atomic_dir, json_safe, write_text_atomic
from lhcgen.physics.detector import btag_efficiency, card_from_dict

DEFINITIONS = {
    "matching": f"particle-level leptons to detector-level leptons of the same flavour "
                f"(|PDG id|, either charge) within Delta R < {LEPTON_MAX_DR}; jets (light "
                f"or b) to jets within Delta R < {JET_MAX_DR}; greedy by smallest Delta R, "
                "each object used once",
    "objects": objects.__doc__.strip().replace("\n", " "),
    "response": "median of pT(detector) / pT(particle) of matched objects; error "
                "1.2533 * resolution / sqrt(N_eff) (Gaussian large-sample error of a "
                "median)",
    "resolution": "half the 16-84 % interquantile range of pT(detector) / pT(particle) "
                  "(robust: equals sigma for a Gaussian, insensitive to tails); error "
                  "0.9618 * resolution / sqrt(N_eff). mean and std of the ratio are given "
                  "for reference",
    "efficiency": "weighted fraction of particle-level objects with a detector-level "
                  "match; interval: Clopper-Pearson at 68.27 % with effective counts",
    "btag": "efficiency: fraction of matched particle-level b jets (code 5) that are "
            "b-tagged (code 5) at detector level; mistag: the same for particle-level "
            "light jets (code 1)",
    "angular": "jets: half 16-84 % range (width) and std of eta(det) - eta(ptcl) and "
               "phi(det) - phi(ptcl)",
    "met": "missing pT at detector level against the pT of the particle-level neutrino "
           "sum, in bins of the latter",
    "migration": "n_jets_all at particle level (x, columns) against detector level (y), "
                 "all events of the file weighted; stability: diagonal / particle-level "
                 "bin total; purity: diagonal / detector-level bin total",
    "min_entries": f"bins with fewer than {stats.MIN_ENTRIES} objects have null response",
}
AXES = {"pt": ("particle-level $p_T$ [GeV]", "pT [GeV]"),
        "abs_eta": (r"particle-level $|\eta|$", "|eta|")}


def detector_metrics(sample: PairedSample, source: str | None = None) -> dict:
    """Every number of the report (arrays as numpy; see ``detector_report``)."""
    matches = match_levels(sample.particle, sample.detector)
    out: dict = {
        "file": source, "process": sample.attrs.get("process", "unknown process"),
        "lhcgen_version": __version__, "n_events": len(sample),
        "sum_weights": float(sample.weights.sum()), "definitions": DEFINITIONS,
        "matching": {"lepton_max_delta_r": LEPTON_MAX_DR, "jet_max_delta_r": JET_MAX_DR},
        "detector_acceptance": objects.detector_acceptance(sample.attrs),
        "objects": {},
    }
    for kind, (label, _) in objects.KINDS.items():
        pairs, info = objects.collect(sample, matches, kind)
        if len(pairs.weight) == 0:
            continue
        entry = {"label": label, **info,
                 "response": objects.response_tables(pairs, kind),
                 "efficiency": objects.efficiency_tables(pairs, kind)}
        if kind == "jet":
            entry["angular"] = objects.angular_tables(pairs)
            entry["headline_bin"] = objects.headline_jet_bin(pairs)
            out["btag"] = objects.btag_tables(pairs)
        out["objects"][kind] = entry
    out["met"] = objects.met_tables(sample)
    out["migration"] = migration_matrix(sample)
    out["pass_table"] = pass_table(sample)
    out["detector_card"] = sample.attrs.get("detector_card")
    out["headline"] = headline(out)
    return out


def headline(metrics: dict) -> dict:
    """The few numbers the CLI prints."""
    out = {}
    jet = metrics["objects"].get("jet")
    if jet:
        b = jet["headline_bin"]
        out["jet_response_50_100"] = b["response"]
        out["jet_response_50_100_error"] = b["response_error"]
        out["jet_resolution_50_100"] = b["resolution"]
    for kind in ("muon", "electron"):
        if kind in metrics["objects"]:
            overall = metrics["objects"][kind]["efficiency"]["overall"]
            out[f"{kind}_efficiency"] = overall["efficiency"]
            out[f"{kind}_efficiency_interval"] = [overall["low"], overall["high"]]
    if "btag" in metrics:
        out["btag_efficiency"] = metrics["btag"]["efficiency"]["overall"]["efficiency"]
        out["mistag_rate"] = metrics["btag"]["mistag"]["overall"]["efficiency"]
    return out


def format_headline(metrics: dict, out_dir: str | os.PathLike) -> str:
    """One line: where the report is and 2-3 headline numbers."""
    h = metrics["headline"]
    parts = []
    if h.get("jet_response_50_100") is not None:
        parts.append(f"jet response (50-100 GeV) "
                     f"{with_error(h['jet_response_50_100'], h['jet_response_50_100_error'])}"
                     f", resolution {h['jet_resolution_50_100']:.3f}")
    for kind in ("muon", "electron"):
        if h.get(f"{kind}_efficiency") is not None:
            parts.append(f"{kind} efficiency {h[f'{kind}_efficiency']:.3f}")
            break
    if h.get("btag_efficiency") is not None:
        parts.append(f"b-tag efficiency {h['btag_efficiency']:.3f}")
    numbers = "; ".join(parts) if parts else "no matched objects"
    return f"detector report: {Path(out_dir) / 'index.html'} ({numbers})"


# --------------------------------------------------------------------------- figures

def _title(metrics: dict, what: str) -> str:
    return f"{metrics['process']}: {what}"


def _axis_panels(entry: dict, make, label: str) -> list[plots.Panel]:
    return [make(axis, entry[axis], label) for axis in ("pt", "abs_eta") if entry.get(axis)]


RATIO = r"$p_T^\mathrm{det}/p_T^\mathrm{ptcl}$"


def _response_panel(axis: str, t: dict, label: str) -> plots.Panel:
    return plots.Panel(t["edges"], AXES[axis][0], f"response: median {RATIO}",
                       [plots.series_from_bins(label, t["bins"], "response",
                                               "response_error")], hline=1.0)


def _resolution_panel(axis: str, t: dict, label: str) -> plots.Panel:
    return plots.Panel(t["edges"], AXES[axis][0], f"resolution of {RATIO}", [
        plots.series_from_bins(f"{label}: half 16-84 % range", t["bins"], "resolution",
                               "resolution_error"),
        plots.series_from_bins("std (reference)", t["bins"], "std", open_marker=True)],
        ylim=(0.0, None))


def _efficiency_panel(axis: str, t: dict, label: str) -> plots.Panel:
    return plots.Panel(t["edges"], AXES[axis][0], "efficiency (matched)", [
        plots.series_from_bins(label, t["bins"], "efficiency", interval=("low", "high"))],
        hline=1.0, ylim=(None, 1.05))


def make_figures(metrics: dict, out_dir: Path) -> dict[str, list[tuple[str, str]]]:
    """Write every PNG; returns section -> [(file name, caption)]."""
    made: dict[str, list[tuple[str, str]]] = {}
    for kind, entry in metrics["objects"].items():
        label = entry["label"]
        figs = made.setdefault(kind, [])

        for name, source, make, what in (
                ("response", entry["response"], _response_panel, "response"),
                ("resolution", entry["response"], _resolution_panel, "pT resolution"),
                ("efficiency", entry["efficiency"], _efficiency_panel, "efficiency")):
            panels = _axis_panels(source, make, label)
            if panels:
                file = f"{name}_{kind}.png"
                plots.profile_figure(panels, _title(metrics, f"{label} {what}"),
                                     out_dir / file)
                figs.append((file, f"{label}: {what} against particle-level pT and |eta|"))
        if kind == "jet" and entry["angular"]["eta"]:
            a = entry["angular"]
            series = []
            for key, sym in (("eta", r"\eta"), ("phi", r"\phi")):
                bins = a[key]["pt"]["bins"]
                series.append(plots.series_from_bins(rf"width $\Delta{sym}$", bins, "width",
                                                     "width_error"))
                series.append(plots.series_from_bins(rf"std $\Delta{sym}$", bins, "std",
                                                     open_marker=True))
            plots.profile_figure(
                [plots.Panel(a["eta"]["pt"]["edges"], AXES["pt"][0],
                             "angular resolution (det - ptcl)", series, ylim=(0.0, None))],
                _title(metrics, "jet angular resolution"), out_dir / "angular_jet.png")
            figs.append(("angular_jet.png", "jets: angular resolution against pT"))
    btag = metrics.get("btag")
    if btag and (btag["efficiency"]["pt"] or btag["mistag"]["pt"]):
        edges = [btag[k]["pt"]["edges"] for k in ("efficiency", "mistag") if btag[k]["pt"]]
        edges = max(edges, key=lambda e: e[-1] - e[0])
        series = []
        for key, text in (("efficiency", "b-tag efficiency (b jets)"),
                          ("mistag", "mistag rate (light jets)")):
            if btag[key]["pt"]:
                bins = _rebin(btag[key]["pt"], edges)
                series.append(plots.series_from_bins(text, bins, "efficiency",
                                                     interval=("low", "high")))
        plots.profile_figure([plots.Panel(edges, AXES["pt"][0], "fraction b-tagged", series,
                                          logy=True, curves=card_btag_curves(metrics, edges))],
                             _title(metrics, "b-tagging"), out_dir / "btag.png")
        made["btag"] = [("btag.png", "b-tag efficiency and mistag rate against pT")]
    met = metrics["met"]
    if met.get("pt"):
        t = met["pt"]
        plots.profile_figure([
            plots.Panel(t["edges"], r"particle-level $p_T^\nu$ [GeV]",
                        r"response: median $E_T^\mathrm{miss}/p_T^\nu$",
                        [plots.series_from_bins("MET", t["bins"], "response",
                                                "response_error")], hline=1.0),
            plots.Panel(t["edges"], r"particle-level $p_T^\nu$ [GeV]",
                        r"resolution of $E_T^\mathrm{miss}/p_T^\nu$",
                        [plots.series_from_bins("half 16-84 % range", t["bins"], "resolution",
                                                "resolution_error"),
                         plots.series_from_bins("std (reference)", t["bins"], "std",
                                                open_marker=True)], ylim=(0.0, None))],
            _title(metrics, "missing transverse momentum"), out_dir / "met.png")
        made["met"] = [("met.png", "MET response and resolution against the neutrino pT")]
    m = metrics["migration"]
    plots.migration_figure(m["normalised"], m["labels"],
                           _title(metrics, "jet multiplicity migration"),
                           out_dir / "migration_njets.png")
    made["migration"] = [("migration_njets.png", "jet multiplicity: detector level against "
                                                 "particle level, % of each column")]
    return made


def _rebin(axis_table: dict, edges: list[float]) -> list[dict]:
    """The bins of ``axis_table`` on the (wider) ``edges``; missing bins are empty."""
    by_low = {b["low_edge"]: b for b in axis_table["bins"]}
    empty = {"efficiency": None, "low": None, "high": None}
    return [by_low.get(lo, empty) for lo in edges[:-1]]


# --------------------------------------------------------------------------- tables

def _num(value, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def _interval(b: dict) -> str:
    if b.get("efficiency") is None:
        return "-"
    return f"{b['efficiency']:.4f} [{b['low']:.4f}, {b['high']:.4f}]"


def object_rows(entry: dict, axis: str) -> list[list[str]]:
    """Rows bin | N | efficiency [interval] | matched | response | resolution | std."""
    eff = entry["efficiency"].get(axis)
    resp = entry["response"].get(axis)
    if not eff:
        return []
    by_low = {b["low_edge"]: b for b in resp["bins"]} if resp else {}
    rows = []
    for b in eff["bins"]:
        r = by_low.get(b["low_edge"], {})
        rows.append([f"{b['low_edge']:g}-{b['high_edge']:g}", str(b["n"]), _interval(b),
                     str(r.get("n", 0)),
                     with_error(r.get("response"), r.get("response_error")),
                     with_error(r.get("resolution"), r.get("resolution_error")),
                     _num(r.get("std"))])
    return rows


OBJECT_HEADER = ["N (ptcl)", "efficiency [68 % CL]", "N matched", "response", "resolution",
                 "std"]


def migration_rows(m: dict) -> tuple[list[str], list[list[str]]]:
    """Rows: detector bins (top: highest); columns: particle bins, % of the column."""
    labels = m["labels"]
    norm = plots.float_array(m["normalised"])
    header = ["det \\ ptcl", *labels]
    rows = [[f"det {labels[d]}", *(("-" if not np.isfinite(norm[p, d]) else
                                    f"{100 * norm[p, d]:.1f}") for p in range(len(labels)))]
            for d in reversed(range(len(labels)))]
    rows.append(["stability", *(_num(v, 3) for v in _none(m["stability"]))])
    rows.append(["purity", *(_num(v, 3) for v in _none(m["purity"]))])
    return header, rows


def _none(values) -> list:
    return [None if v is None or not np.isfinite(v) else float(v) for v in values]


def pass_rows(t: dict) -> list[list[str]]:
    return [[name.replace("_", " "), str(t[name]["events"]), f"{t[name]['weight']:.6g}"]
            for name in ("both", "particle_only", "detector_only", "neither")]


def card_btag_curves(metrics: dict, edges) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The b-tag efficiency curves of the file's detector card for b, light and c jets at
    eta = 0 against the jet pT, coloured as the b-jet and the light-jet points (the
    particle-level "light" jets include c jets); none for a file without a card."""
    card = metrics.get("detector_card")
    if not isinstance(card, dict):
        return []
    try:
        parsed = card_from_dict(card)
    except LhcgenError:
        return []
    x = np.geomspace(max(float(edges[0]), 1.0), float(edges[-1]), 200)
    return [(f"card: {name}", x, btag_efficiency(x, np.zeros_like(x), np.full(len(x), code),
                                                 parsed))
            for name, code in (("b", 5), ("light", 0), ("c", 4))]


def btag_rows(btag: dict) -> list[list[str]]:
    rows = []
    for key in ("efficiency", "mistag"):
        o = btag[key]["overall"]
        rows.append([f"{key} (all pT)", str(o["n"]), _interval(o)])
        for b in (btag[key]["pt"] or {"bins": []})["bins"]:
            rows.append([f"{key} {b['low_edge']:g}-{b['high_edge']:g} GeV", str(b["n"]),
                         _interval(b)])
    return rows


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(metrics: dict) -> str:
    out = [f"# Detector report: {metrics['process']}", "",
           f"File `{metrics['file']}`: {metrics['n_events']} events, sum of weights "
           f"{metrics['sum_weights']:.6g}. Matching: {DEFINITIONS['matching']}.", "",
           "## Selections", "",
           _md_table(["passed", "events", "weight"], pass_rows(metrics["pass_table"])), "",
           f"Selection efficiency {_num(metrics['pass_table']['selection_efficiency'])}, "
           f"fake fraction {_num(metrics['pass_table']['fake_fraction'])}.", "",
           "## Jet multiplicity migration (% of each particle-level column)", "",
           _md_table(*migration_rows(metrics["migration"])), ""]
    for entry in metrics["objects"].values():
        out += [f"## {entry['label']}", ""]
        for axis in ("pt", "abs_eta"):
            rows = object_rows(entry, axis)
            if rows:
                out += [_md_table([AXES[axis][1], *OBJECT_HEADER], rows), ""]
    if "btag" in metrics:
        out += ["## b-tagging", "", _md_table(["", "N", "fraction [68 % CL]"],
                                              btag_rows(metrics["btag"])), ""]
    out += ["## Missing transverse momentum", ""]
    met = metrics["met"]
    if "skipped" in met:
        out += [f"Skipped: {met['skipped']}.", ""]
    elif met.get("pt"):
        rows = [[f"{b['low_edge']:g}-{b['high_edge']:g}", str(b["n"]),
                 with_error(b["response"], b["response_error"]),
                 with_error(b["resolution"], b["resolution_error"])] for b in met["pt"]["bins"]]
        out += [_md_table(["pT(nu) [GeV]", "N", "response", "resolution"], rows), ""]
    if metrics.get("detector_card") is not None:
        out += ["## Detector card", "", "```json",
                json.dumps(json_safe(metrics["detector_card"]), indent=1), "```", ""]
    out += ["## Definitions", ""] + [f"- **{k}**: {v}" for k, v in DEFINITIONS.items()]
    return "\n".join(out) + "\n"


CARD_KEYS = {"muon": ("muon",), "electron": ("electron",),
             "jet": ("jet", "ecal", "hcal", "calorimeter", "particle_flow"),
             "btag": ("btag", "b_tag", "b-tag"), "met": ("met", "missing")}
"""Card keys (at any depth) shown next to each section's figures."""


def card_parts(card, section: str, prefix: str = "") -> dict:
    """The entries of the detector card, at any depth, whose key names ``section``, by
    dotted path (e.g. 'tracking.muon' and 'muon' for muons)."""
    if not isinstance(card, dict):
        return {}
    stems = CARD_KEYS.get(section, ())
    out = {}
    for key, value in card.items():
        path = f"{prefix}{key}"
        if any(str(key).lower().startswith(s) for s in stems):
            out[path] = value
        elif isinstance(value, dict):
            out.update(card_parts(value, section, f"{path}."))
    return out


def _pre(value) -> str:
    return f"<pre>{html.escape(json.dumps(json_safe(value), indent=1))}</pre>"


def render_html(metrics: dict, out_dir: Path, figures: dict) -> str:
    card = metrics.get("detector_card")

    def grid(section: str) -> str:
        return ("<div class='grid'>" + "".join(figure(out_dir, f, c)
                                              for f, c in figures.get(section, []))
                + "</div>")

    def card_note(section: str) -> str:
        parts = card_parts(card, section)
        return ("<p>Detector card (what the simulation assumed):</p>" + _pre(parts)
                if parts else "")

    t = metrics["pass_table"]
    body = [f"<h1>Detector report: {html.escape(metrics['process'])}</h1>",
            f"<p>File <code>{html.escape(str(metrics['file']))}</code>: "
            f"{metrics['n_events']} events, sum of weights {metrics['sum_weights']:.6g}. "
            f"Matching: {html.escape(DEFINITIONS['matching'])}.</p>",
            "<h2>Selections</h2>", table(pass_rows(t), ["passed", "events", "weight"]),
            f"<p>Selection efficiency {_num(t['selection_efficiency'])}, fake fraction "
            f"{_num(t['fake_fraction'])}.</p>",
            "<h2>Jet multiplicity migration</h2>", grid("migration"),
            table(*reversed(migration_rows(metrics["migration"])))]
    for kind, entry in metrics["objects"].items():
        body += [f"<h2>{html.escape(entry['label'])}</h2>", grid(kind), card_note(kind)]
        for axis in ("pt", "abs_eta"):
            rows = object_rows(entry, axis)
            if rows:
                body.append(table(rows, [AXES[axis][1], *OBJECT_HEADER]))
    if "btag" in metrics:
        body += ["<h2>b-tagging</h2>", grid("btag"), card_note("btag"),
                 table(btag_rows(metrics["btag"]), ["", "N", "fraction [68 % CL]"])]
    body.append("<h2>Missing transverse momentum</h2>")
    if "skipped" in metrics["met"]:
        body.append(f"<p>Skipped: {html.escape(metrics['met']['skipped'])}.</p>")
    body += [grid("met"), card_note("met")]
    if card is not None:
        body += ["<h2>Detector card</h2>", _pre(card)]
    body += ["<h2>Definitions</h2>", "<ul>"
             + "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>"
                       for k, v in DEFINITIONS.items()) + "</ul>"]
    return page(f"detector report: {metrics['process']}", body)


# --------------------------------------------------------------------------- entry point

def detector_report(path: str | os.PathLike, out_dir: str | os.PathLike,
                    progress: bool = True) -> dict:
    """Read the paired file ``path`` and write the detector report into ``out_dir``.

    Returns the content of ``detector.json``: ``objects`` (per type: response and
    efficiency tables vs pT and |eta|, jets also ``angular`` and ``headline_bin``), ``btag``,
    ``met``, ``migration``, ``pass_table``, ``detector_card``, ``headline`` and
    ``definitions``.
    """
    sample = read_paired(path)  # bad input fails here, before any progress bar
    steps = tqdm(total=3, desc="detector report", disable=not progress, leave=False)
    try:
        steps.set_postfix_str("matching")
        metrics = json_safe(detector_metrics(sample, str(path)))
        steps.update()
        with atomic_dir(out_dir) as tmp:
            steps.set_postfix_str("figures")
            figures = make_figures(metrics, tmp)
            steps.update()
            steps.set_postfix_str("pages")
            metrics["figures"] = {k: [f for f, _ in v] for k, v in figures.items()}
            write_text_atomic(tmp / "detector.json",
                              json.dumps(metrics, indent=1, allow_nan=False))
            write_text_atomic(tmp / "detector.md", render_markdown(metrics))
            write_text_atomic(tmp / "index.html", render_html(metrics, tmp, figures))
            steps.update()
    finally:
        steps.close()
    return metrics
