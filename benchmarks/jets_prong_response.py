"""The prongs of generated jets against those of the truth jets whose conditions they took.

A part of ``jets_mass_response.py`` (its ``prongs`` table and ``NAME[_T]_prong_*.png``): per
type the jets are split into exclusive-kT prongs (``lhcgen.physics.prongs``: three for top
jets, two for the others) and each prong observable's mean over the generated jets is divided
by its mean over the matched truth jets, with the bootstrap error of the paired jets. The
jet's constituent mass is split exactly into the prongs' own masses (``within``) and what
their relative motion adds (``between``): a generator whose mass deficit sits in ``between``
places its prongs too close together or too unbalanced; one with ``width`` and ``within``
too large smears the constituents away from the prong cores. A mean hides whether the prongs
are pulled in evenly or a few merge: ``close_prongs`` counts the jets whose closest prongs lie
below the truth's lower quartile of that separation.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from lhcgen.data.jets import JET_TYPES, JetCloudSample
from lhcgen.evaluate.figures import REFERENCE, three_panel
from lhcgen.evaluate.histograms import binning, histogram, normalised
from lhcgen.physics.prongs import PRONG_OBSERVABLES, prong_observables

PRONGS = {"g": 2, "q": 2, "t": 3, "w": 2, "z": 2}
"""Exclusive-kT prongs per jet type: the decay products of t -> bqq' and W, Z -> qq'; two for
gluon and quark jets (their hardest splitting)."""
HISTOGRAMMED = {"separation_min": r"smallest $\Delta R$ between prongs (hardest constituents)",
                "width": r"prong width $\Sigma_i z_i \Delta R_{i,\mathrm{prong}}$"}
"""The observables drawn as histograms (``plot_prongs``), with their axis labels."""
LABELS = {"separation_min": "smallest ΔR between prongs", "separation_max": "largest ΔR "
          "between prongs", "softest_share": "softest prong's pT share", "width": "prong width",
          "within": "prongs' own m² / pT²", "between": "m² / pT² between prongs"}
"""Table headers; pT: the jet's (the constituents' pT_rel units)."""
BINS = 40
CLOSE_QUANTILE = 0.25
"""``close_prongs``: the share of jets whose smallest prong separation lies below this quantile
of the matched truth jets' (so the truth's own share is this, up to ties)."""
BOOTSTRAPS = 200
"""Resamples of the paired jets for every error of the mass response (this module's and
``jets_mass_response.py``'s)."""


def _observables(jets: JetCloudSample, n: int) -> np.ndarray:
    """(N, len(PRONG_OBSERVABLES)), NaN rows for jets with fewer than n constituents."""
    values = prong_observables(jets.particles, jets.mask, n)
    return np.column_stack([values[name] for name in PRONG_OBSERVABLES])


def prong_edges(matched: JetCloudSample) -> dict[str, dict[str, list[float]]]:
    """{type letter: {observable of HISTOGRAMMED: bin edges}} from the matched truth jets
    (0.1-99.9 % of the type's values, ``binning``), shared by every sample."""
    out: dict = {}
    for code in np.unique(matched.jet_type):
        letter = JET_TYPES[code]
        values = _observables(matched.subset(matched.jet_type == code), PRONGS[letter])
        out[letter] = {}
        for name in HISTOGRAMMED:
            v = values[:, PRONG_OBSERVABLES.index(name)]
            v = v[np.isfinite(v)]
            if len(v):
                out[letter][name] = binning(v, np.ones_like(v), BINS).tolist()
    return out


def prong_response(generated: JetCloudSample, matched: JetCloudSample, seed: int,
                   edges: dict[str, dict[str, list[float]]]) -> dict:
    """{type letter: {prongs, jets, without_prongs (jets left out: fewer than n constituents
    in the generated or the truth jet), observables: {name: truth_mean, generated_mean, ratio,
    ratio_error}, histograms: {name: truth and generated counts in ``edges``}, close_prongs:
    {threshold, truth_share, generated_share, error}}}: the share of jets whose smallest
    separation lies below the truth's CLOSE_QUANTILE, which a mean ratio hides (a few merged
    prongs and a uniform shrink give the same mean).
    ``matched``: the truth jets whose conditions the generated ones took, in their order."""
    rng = np.random.default_rng(seed)
    out: dict = {}
    for code in np.unique(generated.jet_type):
        letter = JET_TYPES[code]
        rows = generated.jet_type == code
        n = PRONGS[letter]
        gen = _observables(generated.subset(rows), n)
        truth = _observables(matched.subset(rows), n)
        both = np.isfinite(gen).all(axis=1) & np.isfinite(truth).all(axis=1)
        gen, truth = gen[both], truth[both]
        picks = [rng.integers(0, len(truth), len(truth)) for _ in range(BOOTSTRAPS)]
        observables = {}
        for k, name in enumerate(PRONG_OBSERVABLES):
            if not len(truth):
                continue
            ratios = [gen[p, k].mean() / truth[p, k].mean() for p in picks]
            observables[name] = {"truth_mean": float(truth[:, k].mean()),
                                 "generated_mean": float(gen[:, k].mean()),
                                 "ratio": float(gen[:, k].mean() / truth[:, k].mean()),
                                 "ratio_error": float(np.std(ratios))}
        histograms = {}
        for name, e in edges.get(letter, {}).items():
            k = PRONG_OBSERVABLES.index(name)
            histograms[name] = {
                which: [int(c) for c in histogram(v[:, k], np.ones(len(v)), np.asarray(e))[0]]
                for which, v in (("truth", truth), ("generated", gen))}
        out[letter] = {"prongs": n, "jets": int(both.sum()),
                       "without_prongs": int((~both).sum()), "observables": observables,
                       "histograms": histograms}
        if len(truth):
            k = PRONG_OBSERVABLES.index("separation_min")
            out[letter]["close_prongs"] = close_prongs(gen[:, k], truth[:, k], picks)
    return out


def close_prongs(generated: np.ndarray, truth: np.ndarray, picks: list[np.ndarray]) -> dict:
    """The share of jets whose smallest prong separation lies below the truth's CLOSE_QUANTILE
    (the threshold), generated and truth, with the bootstrap error of the generated share over
    the paired jets ``picks``."""
    threshold = float(np.quantile(truth, CLOSE_QUANTILE))
    below = generated < threshold
    return {"threshold": threshold, "truth_share": float((truth < threshold).mean()),
            "generated_share": float(below.mean()),
            "error": float(np.std([below[p].mean() for p in picks]))}


def prong_tables(prongs: list[dict], labels: list[str]) -> list[str]:
    """Markdown: per type, the truth's mean of each prong observable and each sample's
    generated / truth ratio with its bootstrap error (``prongs``: one ``prong_response`` per
    sample, ``labels`` their names; results made before the prongs were kept have none)."""
    lines: list[str] = []
    if not prongs or not prongs[0]:
        return lines
    for jet_type, reference in prongs[0].items():
        names = list(reference["observables"])
        labels_here = dict(LABELS)
        if reference["prongs"] == 2:  # one pair: its smallest and largest ΔR are one number
            names.remove("separation_max")
            labels_here["separation_min"] = "ΔR between the prongs"
        lines += ["", f"Type {jet_type}, its jets split into {reference['prongs']} "
                  "exclusive-kT prongs (`lhcgen.physics.prongs`): the truth's mean of each "
                  "observable and per sample the generated / truth ratio of the means (with the "
                  f"bootstrap error of the paired jets; {reference['jets']} jets, "
                  f"{reference['without_prongs']} left out with fewer constituents than "
                  "prongs). m² / pT² = the prongs' own + between them, exactly.", "",
                  "| | " + " | ".join(labels_here[n] for n in names) + " |",
                  "| --- |" + " ---: |" * len(names),
                  "| truth mean | " + " | ".join(
                      f"{reference['observables'][n]['truth_mean']:.4g}" for n in names) + " |"]
        for sample, label in zip(prongs, labels, strict=True):
            rows = sample.get(jet_type, {}).get("observables", {})
            lines.append(f"| {label}: gen / truth | " + " | ".join(
                f"{rows[n]['ratio']:.3f} ± {rows[n]['ratio_error']:.3f}" if n in rows else "-"
                for n in names) + " |")
        lines += _close_prong_lines(prongs, labels, jet_type)
    return lines


def _close_prong_lines(prongs: list[dict], labels: list[str], jet_type: str) -> list[str]:
    """One sentence per type: the share of jets with their closest prongs below the truth's
    lower quartile (results made before it was kept have none)."""
    reference = prongs[0][jet_type].get("close_prongs")
    if reference is None:
        return []
    shares = "; ".join(
        f"{label} {c['generated_share']:.3f} ± {c['error']:.3f}"
        for sample, label in zip(prongs, labels, strict=True)
        if (c := sample.get(jet_type, {}).get("close_prongs")) is not None)
    return ["", f"Close prongs: the share of jets whose smallest ΔR between prongs lies below "
            f"{reference['threshold']:.4g}, the truth's {100 * CLOSE_QUANTILE:g} % quantile "
            f"(truth {reference['truth_share']:.3f}): {shares}."]


def plot_prongs(prongs: list[dict], labels: list[str], edges: dict,
                path_for: Callable[[str, str], Path], title_for: Callable[[str], str]
                ) -> list[Path]:
    """NAME[_T]_prong_<observable>.png per type and observable of HISTOGRAMMED: the truth's
    histogram against every sample's with ratio panels (``three_panel``). ``path_for(type,
    suffix)`` names the file, ``title_for(type)`` titles it."""
    written = []
    if not prongs or not prongs[0]:
        return written
    for jet_type in prongs[0]:
        for name, axis_label in HISTOGRAMMED.items():
            if name not in edges.get(jet_type, {}):
                continue
            e = np.asarray(edges[jet_type][name])
            first = prongs[0][jet_type]["histograms"][name]["truth"]
            curves = {REFERENCE: normalised(np.asarray(first, float), np.asarray(first, float),
                                            e)}
            for sample, label in zip(prongs, labels, strict=True):
                counts = sample.get(jet_type, {}).get("histograms", {}).get(name)
                if counts is not None:
                    c = np.asarray(counts["generated"], float)
                    curves[label] = normalised(c, c, e)
            path = path_for(jet_type, f"_prong_{name}")
            three_panel(e, curves, axis_label, path, title=title_for(jet_type))
            written.append(path)
    return written
