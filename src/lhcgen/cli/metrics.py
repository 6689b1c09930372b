"""`lhcgen metrics jets`: options and what it prints."""

from __future__ import annotations

import argparse
from typing import Any

from lhcgen.cli.args import add_no_progress, non_negative_int, positive_int, progress
from lhcgen.evaluate.jets.metrics import JetMetricSettings


def add_parsers(sub: Any) -> None:
    d = JetMetricSettings()
    metrics = sub.add_parser("metrics", help="JetNet metrics of generated jets against truth")
    metrics_sub = metrics.add_subparsers(dest="metrics_kind", required=True,
                                         parser_class=type(metrics))
    jets = metrics_sub.add_parser(
        "jets", help="W1m, W1p, W1efp, FPD, KPD (jetnet v0.2.5 definitions)",
        description="JetNet metrics of GENERATED against --truth, and the floor: --truth "
                    "against --truth-2, or, without --truth-2, the first half of --truth "
                    "against its second half. One floor is itself a draw, known only to its "
                    "own error (25-60 % at 5000-10000 jets); given several independent "
                    "--truth-2 files the floor is the mean over the truth against each, with "
                    "the standard error of that mean (the larger of their scatter and their "
                    "own errors, over √n). ×floor: the value over max(floor, one floor's "
                    "error) (KPD's and FPD's floors are often <= 0), ± the two errors "
                    "propagated to first order. Defaults are jetnet v0.2.5's (50k jets for W1 "
                    "and FPD); smaller samples need the size options.")
    jets.add_argument("generated", help="generated (or any) jet file")
    jets.add_argument("--truth", required=True, help="truth jet file")
    jets.add_argument("--truth-2", default=None, dest="truth_2", nargs="+", metavar="FILE",
                      help="independent truth jet file(s) for the floor; with several the "
                           "floor is their mean (each file's in the JSON's floor_draws; the "
                           "floor's EFP range is the first file's)")
    jets.add_argument("--json", required=True, dest="json_out", help="output JSON file")
    jets.add_argument("--seed", type=non_negative_int, default=42)
    jets.add_argument("--w1-samples", type=positive_int, default=d.w1_num_eval_samples,
                      help=f"jets per W1 batch (default {d.w1_num_eval_samples})")
    jets.add_argument("--w1-batches", type=positive_int, default=d.w1_num_batches)
    jets.add_argument("--fpd-min-samples", type=positive_int, default=d.fpd_min_samples)
    jets.add_argument("--fpd-max-samples", type=positive_int, default=d.fpd_max_samples)
    jets.add_argument("--fpd-batches", type=positive_int, default=d.fpd_num_batches,
                      help="draws per FPD batch size")
    jets.add_argument("--fpd-points", type=positive_int, default=d.fpd_num_points,
                      help="FPD batch sizes (at least 3)")
    jets.add_argument("--kpd-batch-size", type=positive_int, default=d.kpd_batch_size)
    jets.add_argument("--kpd-batches", type=positive_int, default=d.kpd_num_batches)
    jets.add_argument("--report", default=None,
                      help="also write substructure three-panel plots into this directory")
    add_no_progress(jets)
    jets.set_defaults(handler=run_metrics)


def metric_settings(args: argparse.Namespace) -> JetMetricSettings:
    return JetMetricSettings(
        w1_num_eval_samples=args.w1_samples, w1_num_batches=args.w1_batches,
        fpd_min_samples=args.fpd_min_samples, fpd_max_samples=args.fpd_max_samples,
        fpd_num_batches=args.fpd_batches, fpd_num_points=args.fpd_points,
        kpd_num_batches=args.kpd_batches, kpd_batch_size=args.kpd_batch_size)


def format_table(result: dict[str, Any]) -> str:
    from lhcgen.evaluate.jets.files import METRIC_ORDER

    several = len(result.get("floor_draws", []))
    floor_label = f"floor (mean of {several})" if several else "floor (truth vs truth)"
    lines = [f"{'metric':<14}{'generated':>26}{floor_label:>28}{'×floor':>17}"]
    for name in METRIC_ORDER:
        g, f = result["generated"][name], result["floor"][name]
        lines.append(f"{name:<14}{g['value']:>14.4e} ± {g['error']:<9.2e}"
                     f"{f['value']:>16.4e} ± {f['error']:<9.2e}"
                     f"{_times_floor(result['ratio_to_floor'][name]):>17}")
    g, f = result["efp_range"]["generated"], result["efp_range"]["floor"]
    lines.append(f"jets beyond the truth's EFP range: generated {g['n_beyond']} of "
                 f"{g['n_jets']} ({g['n_beyond_pt_sum']} on the pT sum, "
                 f"{g['n_beyond_angular']} on angular EFPs; farthest "
                 f"{g['largest_reach']:.3g}× the truth's largest), floor {f['n_beyond']} of "
                 f"{f['n_jets']} ({f['largest_reach']:.3g}×)")
    if "heavier_than_jet" in result:
        g, t = result["heavier_than_jet"]["generated"], result["heavier_than_jet"]["truth"]
        lines.append(f"jets whose constituents are heavier than the jet: generated "
                     f"{g['n_heavier']} of {g['n_jets']} (up to {g['largest_ratio']:.3g}× its "
                     f"mass), truth {t['n_heavier']} of {t['n_jets']} (none is possible)")
    return "\n".join(lines)


def _times_floor(ratio: dict[str, float | None]) -> str:
    """'2.83 ± 0.81': the value over max(floor, floor error), with its propagated error."""
    if ratio["value"] is None:
        return "-"
    error = f" ± {ratio['error']:.2g}" if ratio["error"] is not None else ""
    return f"{ratio['value']:.3g}{error}"


def run_metrics(args: argparse.Namespace) -> int:
    from lhcgen.evaluate.jets.files import compare_jet_files, write_jet_metrics

    result = compare_jet_files(args.generated, args.truth, args.truth_2, seed=args.seed,
                               settings=metric_settings(args), progress=progress(args))
    write_jet_metrics(result, args.json_out, args.report)
    print(format_table(result))
    print(f"floor: {result['floor_definition']}; metrics written to {args.json_out}")
    return 0
