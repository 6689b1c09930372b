"""The parametric detector against its card's formulas, on single-particle events.

For each point (particle, pT or E, |eta|) the script simulates ``--events`` one-particle
events through ``simulate_detector`` and compares what comes out with the card:

* muons and electrons: the reconstruction efficiency (tracking x identification) and the
  pT resolution, std(pT_reco / pT_true - 1), against sqrt(a^2 + (b pT)^2);
* photons (ECAL) and K_L (HCAL): the energy response and resolution of the event's energy
  flow against sqrt((c E)^2 + a^2 E + b^2) / E;
* charged pions: the energy-flow response (track plus any neutral remainder);
* b-tagging: the tagged fraction of b, c and light jets against the card's curves.

Each measured value has its statistical error (binomial for efficiencies; for a width, from
the sample's fourth moment) and the pull (measured - card) / error. The card caps a track's
relative resolution at 1, as Delphes does (electrons above a few hundred GeV).

    python benchmarks/detector_closure.py --events 20000

Writes <out-dir>/detector_closure.{json,md,png}.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lhcgen.io import atomic_path, write_text_atomic  # noqa: E402
from lhcgen.physics import fourvectors as fv  # noqa: E402
from lhcgen.physics.detector import (  # noqa: E402
    FinalState,
    btag,
    btag_efficiency,
    energy_resolution,
    load_card,
    relative_pt_resolution,
    simulate_detector,
    track_efficiency,
)
from lhcgen.physics.detector.binning import table_efficiency  # noqa: E402
from machine import machine_info  # noqa: E402

MASS = {13: 0.10566, 11: 0.000511, 22: 0.0, 130: 0.4976, 211: 0.13957}
CHARGE = {13: -1.0, 11: -1.0, 22: 0.0, 130: 0.0, 211: 1.0}


def std_with_error(x: np.ndarray) -> tuple[float, float]:
    """The standard deviation of ``x`` and its error from the sample's fourth moment
    (Var(s^2) = (m4 - s^4) / N), which holds for the heavy tails of a wide log-normal too."""
    if len(x) < 2:
        return float("nan"), float("nan")
    centred = x - x.mean()
    s2 = float(np.mean(centred**2))
    m4 = float(np.mean(centred**4))
    s = np.sqrt(s2)
    return float(s), float(np.sqrt(max(m4 - s2**2, 0.0) / len(x)) / (2 * s))


def gun(pid: int, pt: float, eta: float, n: int, rng: np.random.Generator) -> FinalState:
    phi = rng.uniform(-np.pi, np.pi, n)
    p4 = fv.from_pt_eta_phi_m(np.full(n, pt), np.full(n, eta), phi, np.full(n, MASS[pid]))
    return FinalState(n, np.arange(n), p4, np.full(n, pid), np.full(n, CHARGE[pid]))


def lepton_point(card, pid: int, pt: float, eta: float, n: int, rng) -> dict:
    response = simulate_detector(gun(pid, pt, eta, n, rng), card, rng)
    leptons = response.muons if pid == 13 else response.electrons
    found = len(leptons.event)
    ratio = fv.pt(leptons.p4) / pt - 1.0
    ident = card.muon if pid == 13 else card.electron
    expected_eff = float(track_efficiency(np.array([pid]), np.array([pt]), np.array([eta]),
                                          card.tracking)[0]
                         * table_efficiency(ident.efficiency, np.array([abs(eta)]),
                                            np.array([pt]))[0])
    eff = found / n
    eff_error = max(np.sqrt(eff * (1 - eff) / n), 1.0 / n)
    expected_res = float(relative_pt_resolution(np.array([pid]), np.array([pt]),
                                                np.array([eta]), card.tracking)[0])
    res, res_error = std_with_error(ratio)
    return {"particle": "muon" if pid == 13 else "electron", "pt": pt, "abs_eta": abs(eta),
            "efficiency": eff, "efficiency_error": eff_error,
            "efficiency_card": expected_eff,
            "response": float(np.mean(ratio) + 1.0) if found else float("nan"),
            "response_error": res / np.sqrt(max(found, 1)),
            "resolution": res, "resolution_error": res_error,
            "resolution_card": expected_res}


def calorimeter_point(card, pid: int, energy: float, eta: float, n: int, rng) -> dict:
    pt = energy / np.cosh(eta)
    response = simulate_detector(gun(pid, pt, eta, n, rng), card, rng)
    e_reco = np.bincount(response.eflow.event, weights=response.eflow.p4[:, 0], minlength=n)
    seen = e_reco > 0
    ratio = e_reco[seen] / energy
    cal = card.ecal if pid == 22 else card.hcal
    expected = float(energy_resolution(np.array([energy]), np.array([abs(eta)]), cal)[0])
    res, res_error = std_with_error(ratio)
    m = int(seen.sum())
    return {"particle": {22: "photon (ECAL)", 130: "K_L (HCAL)",
                         211: "pi+ (track + towers)"}[pid],
            "energy": energy, "abs_eta": abs(eta), "seen": m / n,
            "response": float(np.mean(ratio)), "response_error": res / np.sqrt(max(m, 1)),
            "resolution": res, "resolution_error": res_error,
            "resolution_card": expected / energy if pid != 211 else None}


def btag_point(card, flavour: int, pt: float, n: int, rng) -> dict:
    pts, etas, flav = np.full(n, pt), rng.uniform(-2.4, 2.4, n), np.full(n, flavour)
    tagged = btag(pts, etas, flav, card, rng)
    eff = float(tagged.mean())
    return {"flavour": {5: "b", 4: "c", 0: "light"}[flavour], "pt": pt, "efficiency": eff,
            "efficiency_error": max(np.sqrt(eff * (1 - eff) / n), 1.0 / n),
            "efficiency_card": float(btag_efficiency(np.array([pt]), np.array([0.0]),
                                                     np.array([flavour]), card)[0])}


def pull(measured: float, expected: float, error: float) -> float:
    return (measured - expected) / error if error > 0 else float("nan")


def render(result: dict) -> str:
    m = result["machine"]
    lines = ["# The parametric detector against its card",
             "",
             f"Machine: {m['cpu']}. Command: `{result['command']}`. Card: the default "
             "(ATLAS-like). One particle per event, uniform in phi; errors are statistical; "
             "pull = (measured - card) / error.", "",
             "## Leptons: efficiency (tracking x identification) and pT resolution", "",
             "| lepton | pT [GeV] | abs(eta) | efficiency | card | pull | resolution "
             "std(pT ratio) | card | pull | response |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in result["leptons"]:
        lines.append(
            f"| {r['particle']} | {r['pt']:g} | {r['abs_eta']:g} | {r['efficiency']:.4f} ± "
            f"{r['efficiency_error']:.4f} | {r['efficiency_card']:.4f} | "
            f"{pull(r['efficiency'], r['efficiency_card'], r['efficiency_error']):+.1f} | "
            f"{r['resolution']:.5f} ± {r['resolution_error']:.5f} | "
            f"{r['resolution_card']:.5f} | "
            f"{pull(r['resolution'], r['resolution_card'], r['resolution_error']):+.1f} | "
            f"{r['response']:.5f} ± {r['response_error']:.5f} |")
    lines += ["", "## Calorimeters: energy-flow response and resolution", "",
              "| particle | E [GeV] | abs(eta) | events with energy flow | response | "
              "resolution std(E ratio) | card sigma(E)/E | pull |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in result["calorimeters"]:
        card = r["resolution_card"]
        card_text, pull_text = "-", "-"
        if card is not None:
            card_text = f"{card:.4f}"
            pull_text = f"{pull(r['resolution'], card, r['resolution_error']):+.1f}"
        lines.append(
            f"| {r['particle']} | {r['energy']:g} | {r['abs_eta']:g} | {r['seen']:.4f} | "
            f"{r['response']:.4f} ± {r['response_error']:.4f} | {r['resolution']:.4f} ± "
            f"{r['resolution_error']:.4f} | {card_text} | {pull_text} |")
    lines += ["", "## b-tagging", "", "| flavour | pT [GeV] | tagged | card | pull |",
              "| --- | ---: | ---: | ---: | ---: |"]
    for r in result["btag"]:
        lines.append(f"| {r['flavour']} | {r['pt']:g} | {r['efficiency']:.4f} ± "
                     f"{r['efficiency_error']:.4f} | {r['efficiency_card']:.4f} | "
                     f"{pull(r['efficiency'], r['efficiency_card'], r['efficiency_error']):+.1f} |")
    pulls = result["max_abs_pull"]
    lines += ["", f"Largest |pull| over all card comparisons: {pulls:.1f}."]
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> None:
    import matplotlib.style
    import mplhep
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter

    from lhcgen.evaluate.figures import TEXT_SIZES

    with matplotlib.style.context([mplhep.style.CMS, TEXT_SIZES]):
        fig = Figure(figsize=(18, 6.5))
        axes = fig.subplots(1, 3)
        ax = axes[0]
        for particle, marker in (("muon", "o"), ("electron", "s")):
            for eta in sorted({r["abs_eta"] for r in result["leptons"]}):
                rows = [r for r in result["leptons"]
                        if r["particle"] == particle and r["abs_eta"] == eta]
                if not rows:
                    continue
                x = [r["pt"] for r in rows]
                line = ax.plot(x, [r["resolution_card"] for r in rows], "-", lw=1)[0]
                ax.errorbar(x, [r["resolution"] for r in rows],
                            [r["resolution_error"] for r in rows], fmt=marker,
                            color=line.get_color(), label=f"{particle} |η| {eta:g}")
        ax.set(xscale="log", yscale="log", xlabel=r"$p_T$ [GeV]",
               ylabel=r"track $\sigma(p_T)/p_T$", title="tracks (lines: card)")
        ax.legend(fontsize=9)
        ax = axes[1]
        for particle in ("photon (ECAL)", "K_L (HCAL)"):
            for eta in sorted({r["abs_eta"] for r in result["calorimeters"]}):
                rows = [r for r in result["calorimeters"]
                        if r["particle"] == particle and r["abs_eta"] == eta]
                if not rows:
                    continue
                x = [r["energy"] for r in rows]
                line = ax.plot(x, [r["resolution_card"] for r in rows], "-", lw=1)[0]
                ax.errorbar(x, [r["resolution"] for r in rows],
                            [r["resolution_error"] for r in rows], fmt="o",
                            color=line.get_color(), label=f"{particle} |η| {eta:g}")
        ax.set(xscale="log", yscale="log", xlabel="E [GeV]", ylabel=r"$\sigma(E)/E$",
               title="calorimeters (lines: card)")
        ax.legend(fontsize=9)
        ax = axes[2]
        for flavour in ("b", "c", "light"):
            rows = [r for r in result["btag"] if r["flavour"] == flavour]
            x = [r["pt"] for r in rows]
            line = ax.plot(x, [r["efficiency_card"] for r in rows], "-", lw=1)[0]
            ax.errorbar(x, [r["efficiency"] for r in rows],
                        [r["efficiency_error"] for r in rows], fmt="o",
                        color=line.get_color(), label=f"{flavour} jets")
        ax.set(xscale="log", yscale="log", xlabel=r"jet $p_T$ [GeV]",
               ylabel="b-tag efficiency", title="b-tagging (lines: card)")
        ax.legend(fontsize=9)
        for ax in axes:
            ax.xaxis.set_minor_formatter(NullFormatter())
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=90)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=20_000, help="events per point")
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--card", default=None, help="detector card (default: the ATLAS-like)")
    p.add_argument("--out-dir", default="benchmarks/results")
    args = p.parse_args()
    card = load_card(args.card)
    rng = np.random.default_rng(args.seed)
    n = args.events
    leptons = [lepton_point(card, pid, pt, eta, n, rng) for pid in (13, 11)
               for eta in (0.25, 1.0, 2.0) for pt in (20.0, 50.0, 200.0, 1000.0)]
    calorimeters = [calorimeter_point(card, pid, e, eta, n, rng) for pid in (22, 130)
                    for eta in (0.5, 2.0, 3.5) for e in (20.0, 50.0, 200.0, 1000.0)]
    calorimeters += [calorimeter_point(card, 211, e, 0.5, n, rng) for e in (5.0, 20.0, 100.0)]
    tags = [btag_point(card, f, pt, n, rng) for f in (5, 4, 0)
            for pt in (30.0, 50.0, 100.0, 200.0, 500.0)]
    pulls = ([pull(r["efficiency"], r["efficiency_card"], r["efficiency_error"])
              for r in leptons + tags]
             + [pull(r["resolution"], r["resolution_card"], r["resolution_error"])
                for r in leptons + calorimeters if r["resolution_card"] is not None])
    result = {"machine": machine_info(), "command": "python benchmarks/detector_closure.py "
              f"--events {n} --seed {args.seed}", "leptons": leptons,
              "calorimeters": calorimeters, "btag": tags,
              "max_abs_pull": float(np.nanmax(np.abs(pulls)))}
    out = Path(args.out_dir)
    write_text_atomic(out / "detector_closure.json", json.dumps(result, indent=2) + "\n")
    write_text_atomic(out / "detector_closure.md", render(result))
    plot(result, out / "detector_closure.png")
    print(render(result))


if __name__ == "__main__":
    main()
