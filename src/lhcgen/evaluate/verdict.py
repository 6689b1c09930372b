"""The verdict at the top of a report: where the generator stands, in three lines.

1. the observables furthest from the statistical floor (chi^2/ndf of generated vs truth over
   that of truth vs truth), linked to their plots;
2. each judge's AUC per jet multiplicity beside its floor, with the distance in standard
   errors, linked to the classifier plots;
3. the sampling rate beside the simulator's for the same events.

Plain functions of the report's metrics dict; the HTML and the terminal text say the same.
"""

from __future__ import annotations

import html

from lhcgen.evaluate.html import fmt, link, sigma, table, with_error

N_WORST = 3
SIGNIFICANT = 3.0
"""Distance from the floor (standard errors) from which an AUC is called significant."""


def speed_facts(generated_attrs: dict, truth_attrs: dict) -> dict:
    """Sampling facts of a generated file and the simulator rate of its truth file.

    Returns
    -------
    dict with the generated file's ``sampling_*`` attributes (prefix removed: model, solver,
    nfe, batch_size, device, threads, events_per_second, ...) and, where the truth file
    records its generation, ``simulator_events_per_second``, ``simulator_workers`` and
    ``speedup_vs_simulator``.
    """
    info = {k.removeprefix("sampling_"): v for k, v in generated_attrs.items()
            if k.startswith("sampling_")}
    if truth_attrs.get("accepted_events_per_second"):  # 0: every shard came from a resume
        info["simulator_events_per_second"] = truth_attrs["accepted_events_per_second"]
        info["simulator_workers"] = truth_attrs.get("workers")
        if info.get("events_per_second"):
            info["speedup_vs_simulator"] = (info["events_per_second"]
                                            / info["simulator_events_per_second"])
    return info


def worst_observables(observables: dict, n: int = N_WORST) -> list[dict]:
    """The ``n`` observables with the largest chi^2 ratio to the floor (evaluate report)."""
    rated = [(name, r) for name, r in observables.items() if r.get("ratio") is not None]
    rated.sort(key=lambda item: -item[1]["ratio"])
    return [{"observable": name, "ratio": r["ratio"], "chi2_ndf": r["chi2_ndf"],
             "chi2_ndf_floor": r["chi2_ndf_floor"]} for name, r in rated[:n]]


def worst_reweighted(histograms: dict, n: int = N_WORST) -> list[dict]:
    """The same from a classifier report's histograms: ratio to the floor where truth-2 was
    given, else the largest raw chi^2/ndf."""
    rated = []
    for name, r in histograms.items():
        raw, floor = r.get("chi2_ndf_raw"), r.get("chi2_ndf_floor")
        if raw is None:
            continue
        ratio = raw / floor if floor else None
        rated.append({"observable": name, "ratio": ratio, "chi2_ndf": raw,
                      "chi2_ndf_floor": floor})
    rated.sort(key=lambda r: -(r["ratio"] if r["ratio"] is not None else r["chi2_ndf"]))
    return rated[:n]


def multiplicity_label(key: str) -> str:
    if key == "all":
        return "all events"
    return f"{key} jet" + ("" if key == "1" else "s")


def auc_rows(classifier: dict) -> tuple[list[list[str]], list[str], list[str]]:
    """Rows judge x multiplicity: AUC ± error, floor ± error, distance; and row classes."""
    rows, classes = [], []
    header = ["judge", "events", "AUC", "floor", "AUC − floor"]
    for judge in classifier["judges"].values():
        floor = judge.get("floor") or {}
        for key, auc in judge["auc"].items():
            f = floor.get(key)
            distance = judge["distance"].get(key)
            rows.append([judge["title"], multiplicity_label(key),
                         with_error(auc["value"], auc["error"]),
                         with_error(f["value"], f["error"]) if f else "0.5 (no truth-2)",
                         sigma(distance)])
            classes.append("alert" if distance is not None and distance >= SIGNIFICANT
                           else "")
    return rows, header, classes


def verdict_html(observables: list[dict], classifier: dict | None, speed: dict,
                 plot_kind: str = "obs") -> str:
    """The verdict box: worst observables (linked), AUCs per multiplicity, speed."""
    parts = ["<div class='verdict'><h2>Verdict</h2>"]
    if observables:
        items = []
        for o in observables:
            ratio = (f"{fmt(o['ratio'])}× the floor (χ²/ndf {fmt(o['chi2_ndf'])} vs "
                     f"{fmt(o['chi2_ndf_floor'])})" if o["ratio"] is not None
                     else f"χ²/ndf {fmt(o['chi2_ndf'])} (no floor: give a second truth file)")
            items.append(f"<li>{link(plot_kind, o['observable'])}: {html.escape(ratio)}</li>")
        parts.append("<p><b>Furthest from the floor</b> (χ²/ndf of generated vs truth over "
                     "truth vs truth):</p><ul>" + "".join(items) + "</ul>")
    if classifier:
        rows, header, classes = auc_rows(classifier)
        parts.append("<p><b>Classifier AUC</b> per jet multiplicity, all events scored out "
                     "of fold; 0.5 = indistinguishable; red: at least "
                     f"{SIGNIFICANT:g}σ above the floor "
                     f"({link('classifier', 'scores', 'classifier plots')}):</p>")
        parts.append(table(rows, header, classes))
    parts.append(f"<p><b>Speed</b>: {html.escape(speed_text(speed))}</p></div>")
    return "\n".join(parts)


def speed_text(speed: dict) -> str:
    """'4042 events/s (cfm, midpoint, 16 network evaluations, batch 20000, cpu, 2 threads):
    35× the simulator (115 events/s on 2 workers)'."""
    rate = speed.get("events_per_second")
    if rate is None:
        return "not recorded in the generated file"
    how = [str(speed[k]) for k in ("model", "solver") if speed.get(k)]
    if speed.get("nfe") is not None:
        how.append(f"{speed['nfe']} network evaluations")
    if speed.get("batch_size"):
        how.append(f"batch {speed['batch_size']}")
    if speed.get("device"):
        how.append(str(speed["device"]))
    if speed.get("threads"):
        how.append(f"{speed['threads']} thread" + ("s" if speed["threads"] != 1 else ""))
    text = f"{rate:.4g} events/s ({', '.join(how)})"
    simulator = speed.get("simulator_events_per_second")
    if simulator:
        workers = speed.get("simulator_workers")
        text += (f": {speed['speedup_vs_simulator']:.3g}× the simulator (Pythia 8 + FastJet, "
                 f"{simulator:.4g} accepted events/s" + (f" on {workers} workers" if workers
                                                         else "") + ", from the truth file)")
    else:
        text += "; the truth file records no simulator rate"
    return text


def verdict_text(observables: list[dict], classifier: dict | None, speed: dict) -> str:
    """The verdict for the terminal."""
    lines = ["verdict:"]
    if observables:
        lines.append("  furthest from the floor: " + "; ".join(
            f"{o['observable']} {fmt(o['ratio'])}x" if o["ratio"] is not None
            else f"{o['observable']} chi2/ndf {fmt(o['chi2_ndf'])}" for o in observables))
    if classifier:
        for judge in classifier["judges"].values():
            floor = judge.get("floor") or {}
            cells = []
            for key, auc in judge["auc"].items():
                f = floor.get(key)
                cells.append(f"{multiplicity_label(key)} {with_error(auc['value'], auc['error'])}"
                             + (f" (floor {with_error(f['value'], f['error'])}" if f
                                else " (vs 0.5") + f", {sigma(judge['distance'].get(key))})")
            lines.append(f"  AUC {judge['title']}: " + "; ".join(cells))
    lines.append("  speed: " + speed_text(speed))
    return "\n".join(lines)
