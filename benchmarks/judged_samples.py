"""Samples judged against one truth file beside Pythia's own: the shared part of the jets
benchmarks that read kept samples (`jets_efp_strays.py`, `jets_substructure.py`).

Every sample, generated (--generated) and Pythia's (the floor's --truth-floor and the
independent --draws), is the first --jets jets of its type in its file. The Pythia samples
must share no jet with the truth or with each other (the same jet, the same fingerprint:
``jets_floor_spread.fingerprints``). A value is divided by the mean over the Pythia samples
judged the same way (``mean_of_draws``), as `benchmarks/jets_seed_spread.py --floor-spread`
does; a Pythia sample's own ratio shows how far one truth sample scatters.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from jets_floor_spread import fingerprints
from lhcgen.data.jet_hdf5 import read_jets
from lhcgen.data.jets import JET_TYPES, JetCloudSample
from lhcgen.errors import LhcgenError
from lhcgen.evaluate.jets.metrics import mean_of_draws, ratio_to_floor, ratio_to_floor_error
from machine import command_line, machine_info
from rerender import rerender, write_results

PYTHIA_KINDS = ("floor", "draw")


def add_sample_options(p: argparse.ArgumentParser, name: str) -> None:
    """The options every such benchmark takes: the type, the sizes, the files, the output."""
    p.add_argument("--type", default="t", help="the jet type letter judged")
    p.add_argument("--jets", type=int, default=50000, help="jets per sample")
    p.add_argument("--truth", help="the truth jets every sample is judged against")
    p.add_argument("--truth-floor",
                   help="independent truth jets: the floor, as in jets_time_fidelity.py")
    p.add_argument("--draws", nargs="*", default=[], metavar="FILE",
                   help="more independent truth files (their first --jets jets each)")
    p.add_argument("--generated", nargs="+", default=[], metavar="FILE",
                   help="generated samples, e.g. those kept by jets_time_fidelity.py "
                        "--generate-only")
    p.add_argument("--metric-seed", type=int, default=42)
    p.add_argument("--out-dir", default=str(Path(__file__).parent / "results"))
    p.add_argument("--name", default=name)
    p.add_argument("--render-only", action="store_true",
                   help="re-render NAME.md from NAME.json")


def check_sample_options(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """One line for what argparse cannot say: the files are needed unless --render-only."""
    if not args.render_only:
        for option in ("truth", "truth_floor", "generated"):
            if not getattr(args, option):
                p.error(f"--{option.replace('_', '-')} is required (unless --render-only)")
    if args.type not in JET_TYPES:
        p.error(f"--type: one of {''.join(JET_TYPES)}, got {args.type!r}")
    if args.jets < 10:
        p.error("--jets must be at least 10")


def first_jets(path: str, jet_type: str, n: int, option: str) -> JetCloudSample:
    """The first ``n`` jets of ``jet_type`` in ``path``; one line naming the file otherwise."""
    try:
        sample = read_jets(path)
    except LhcgenError as exc:
        raise LhcgenError(f"{option}: {exc}") from None
    sample = sample.subset(sample.jet_type == JET_TYPES.index(jet_type))
    if len(sample) < n:
        raise LhcgenError(f"{option}: {path} holds {len(sample)} {jet_type} jets, fewer than "
                          f"--jets {n}")
    return sample.subset(slice(0, n))


def load_samples(args: argparse.Namespace) -> tuple[JetCloudSample, list[dict]]:
    """The truth jets and one entry per judged sample ({label, kind, path, jets}: the
    Pythia samples first, floor then draws, then the generated ones; the label is the file's
    name, its path where names repeat), refusing Pythia samples that share a jet with the
    truth or with each other."""
    truth = first_jets(args.truth, args.type, args.jets, "--truth")
    files = [("floor", args.truth_floor, "--truth-floor")]
    files += [("draw", path, "--draws") for path in args.draws]
    files += [("generated", path, "--generated") for path in args.generated]
    seen = {"--truth " + args.truth: set(fingerprints(truth))}
    entries = []
    for kind, path, option in files:
        jets = first_jets(path, args.type, args.jets, option)
        if kind in PYTHIA_KINDS:
            prints = set(fingerprints(jets))
            for other, known in seen.items():
                if prints & known:
                    raise LhcgenError(f"{option}: {path} shares jets with {other}: the floor "
                                      "needs independent truth samples")
            seen[f"{option} {path}"] = prints
        entries.append({"label": Path(path).name, "kind": kind, "path": path, "jets": jets})
    names = [e["label"] for e in entries]
    for entry in entries:  # samples of several seeds share a file name: label them by path
        if names.count(entry["label"]) > 1:
            entry["label"] = entry["path"]
    return truth, entries


def mean_floor(rows: list[dict], values) -> dict | None:
    """``mean_of_draws`` of ``values(row)`` ({value, error}) over the Pythia rows."""
    return mean_of_draws([values(r) for r in rows if r["kind"] in PYTHIA_KINDS])


def ratio_entry(metric: dict, floor: dict | None) -> dict:
    """×(mean floor) of one value and its first-order error (None where undefined)."""
    if floor is None:
        return {"ratio": None, "error": None}
    return {"ratio": ratio_to_floor(metric["value"], floor),
            "error": ratio_to_floor_error(metric["value"], metric["error"], floor)}


def x_pm(entry: dict) -> str:
    """'8.19 ± 1': a ×floor with its error; '-' where undefined."""
    if entry["ratio"] is None:
        return "-"
    return f"{entry['ratio']:.3g}" + ("" if entry["error"] is None
                                      else f" ± {entry['error']:.2g}")


def value_pm(metric: dict | None) -> str:
    """'4.43e-04 ± 5.4e-05': a value with its error; '-' where missing."""
    if metric is None or metric.get("value") is None:
        return "-"
    return f"{metric['value']:.3g} ± {metric['error']:.2g}"


def run(args: argparse.Namespace, judge: Callable[[argparse.Namespace], dict], key: str,
        render: Callable[[dict], str], **facts) -> int:
    """Judge (``judge(args)``, its result under ``key``) and write NAME.json and NAME.md with
    the machine, the command, the files and the time; with --render-only re-render NAME.md.
    A user's mistake (``LhcgenError``) is one line and a non-zero exit, nothing written."""
    stem = Path(args.out_dir) / args.name
    if args.render_only:
        rerender(stem.with_suffix(".json"), render)
        return 0
    started = time.perf_counter()
    try:
        judged = judge(args)
    except LhcgenError as exc:
        sys.exit(f"error: {exc}")
    result = {"machine": machine_info(), "command": command_line(), "type": args.type,
              "jets": args.jets, "truth": args.truth, "truth_floor": args.truth_floor,
              "draws": args.draws, "generated": args.generated,
              "metric_seed": args.metric_seed, **facts, key: judged,
              "seconds": time.perf_counter() - started}
    stem.parent.mkdir(parents=True, exist_ok=True)
    write_results(stem, result, render)
    return 0
