"""`lhcgen train` and `lhcgen sample`: options and what they print."""

from __future__ import annotations

import argparse
import functools
from typing import Any

from lhcgen.cli.args import (
    add_runtime,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    progress,
    renoise_sigmas,
    sigma_interval,
)
from lhcgen.errors import LhcgenError
from lhcgen.solvers.sampling import CONSISTENCY_OPTIONS


def add_parsers(sub: Any) -> None:
    train = sub.add_parser("train", help="train a generator from a YAML config",
                           description="Train the generator of CONFIG; the run directory "
                                       "receives the resolved config, preprocessing, "
                                       "checkpoints, the training log and metrics.json.")
    train.add_argument("config", help="YAML experiment config (see configs/)")
    train.add_argument("--out", required=True, help="run directory")
    train.add_argument("--resume", action="store_true",
                       help="continue an interrupted run from its last checkpoint")
    train.add_argument("--seed", type=non_negative_int, default=None,
                       help="replace the config's training.seed: the network's "
                            "initialisation, the batch order and the train/validation split "
                            "(a replica of the same run; the run's config.yaml records it)")
    add_runtime(train)
    train.set_defaults(handler=run_train)

    sample = sub.add_parser("sample", help="sample events or jets from a trained run",
                            description="Write generated events (or jets, for a run of the "
                                        "jets process) in the same schema as the training "
                                        "data.")
    sample.add_argument("run_dir", help="run directory made by `lhcgen train`")
    sample.add_argument("-n", "--events", type=positive_int, required=True, dest="n",
                        help="events to generate")
    sample.add_argument("--out", required=True, help="output HDF5 file")
    sample.add_argument("--solver", default=None,
                        help="CFM: euler, midpoint, heun, rk4 or dopri5; DDPM: ancestral or "
                             "ddim; the INN and JetGPT take none (default: the config's, "
                             "else the model's)")
    sample.add_argument("--steps", type=positive_int, default=None,
                        help="solver steps (fixed-step ODE solvers, DDPM; default: the "
                             "config's, else the model's: CFM 8, DDIM 50, ancestral T)")
    sample.add_argument("--weight-draws", type=positive_int, default=0, metavar="K",
                        help="Bayesian generators: draw K networks from the weight posterior "
                             "and write N events of each (K x N in all, with a weight_draw "
                             "column); `lhcgen evaluate` shows the band they span")
    sample.add_argument("--no-kv-cache", action="store_true",
                        help="JetGPT: recompute the whole prefix at every step instead of "
                             "using the key/value cache (for timing; same samples)")
    sample.add_argument("--batch-size", type=positive_int, default=None,
                        help="events per network batch (default: the config's "
                             "sampling.batch_size); the events do not depend on it")
    sample.add_argument("--multiplicity", type=positive_int, default=None,
                        help="generate only this jet multiplicity (default: as in training)")
    sample.add_argument("--type", default=None, dest="jet_type", metavar="g|q|t|w|z",
                        help="jets: generate only this jet type (default: the types of the "
                             "training data, in its proportions)")
    sample.add_argument("--condition-from", default=None, metavar="TRUTH.h5",
                        help="jets: take each jet's type, pT, eta, mass and constituent count "
                             "from the first N jets of this jet file (the protocol of "
                             "PC-JeDi, PC-Droid and EPiC-FM) instead of generating them with "
                             "the run's conditions model")
    sample.add_argument("--s-churn", type=non_negative_float, default=None, metavar="S",
                        help="jets, EDM --solver stochastic: the churn S_churn of Karras et "
                             "al.'s stochastic sampler (noise added back before each step; "
                             "0 is Heun; default: the config's model.edm.s_churn)")
    sample.add_argument("--s-tmin", type=non_negative_float, default=None, metavar="SIGMA",
                        help="jets, EDM --solver stochastic: churn only at noise levels "
                             ">= SIGMA (Karras et al.'s S_tmin; default 0)")
    sample.add_argument("--s-tmax", type=positive_float, default=None, metavar="SIGMA",
                        help="jets, EDM --solver stochastic: churn only at noise levels "
                             "<= SIGMA (Karras et al.'s S_tmax; default: no limit)")
    sample.add_argument("--sigma-min", type=positive_float, default=None, metavar="SIGMA",
                        help="jets, EDM samplers: the smallest noise level of the schedule "
                             "before the last step to 0 (default: the config's "
                             "model.edm.sigma_min, 0.002); a value inside the noise levels "
                             "training saw keeps second-order samplers from amplifying the "
                             "denoiser's error there")
    sample.add_argument("--rho", type=positive_float, default=None,
                        help="jets, EDM samplers: the exponent of the noise schedule (Karras "
                             "et al. eq. 5; default: the config's model.edm.rho, 7)")
    sample.add_argument("--guidance", type=non_negative_float, default=None, metavar="W",
                        help="jets, EDM runs trained with model.edm.condition_dropout > 0: "
                             "classifier-free guidance D(.|type) + W [D(.|type, pT, eta, m, N) "
                             "- D(.|type)]; 1 is the conditional denoiser, W > 1 leans harder "
                             "on the jet kinematics and costs two network passes per "
                             "evaluation (default: the config's model.edm.guidance, 1)")
    sample.add_argument("--guidance-sigmas", type=sigma_interval, default=None,
                        metavar="LOW,HIGH",
                        help="jets, with --guidance: guide only at noise levels LOW < sigma "
                             "<= HIGH, the conditional denoiser elsewhere (default: every "
                             "level, 0,inf)")
    sample.add_argument("--renoise-sigmas", type=renoise_sigmas, default=None,
                        metavar="S1[,S2]",
                        help="jets, consistency models: the noise levels the second (and "
                             "third) step re-noise to, decreasing (default: the config's "
                             "model.consistency.sampling_sigmas after the first)")
    sample.add_argument("--raw-pt-sum", action="store_true",
                        help="jets: write the constituents as the network made them; by "
                             "default (the config's sampling.conserve_pt_sum) the pT_rel of "
                             "every jet that keeps all its constituents are rescaled by one "
                             "factor so that they sum to the jet pT, as the truth's do, and "
                             "a truncated jet only where its sum lies farther from the jet pT "
                             "than its cut constituents (each softer than its softest kept "
                             "one) can make up")
    sample.add_argument("--bound-mass", action="store_true",
                        help="jets: shrink the angles of every jet whose constituents are "
                             "heavier than the jet towards the jet axis by one factor until "
                             "their mass is the jet's, their summed pT kept (taken massless, "
                             "the stored constituents of a jet cannot be heavier than it); by "
                             "default (the config's sampling.bound_jet_mass, off) they are "
                             "written as the network made them; counted either way")
    sample.add_argument("--seed", type=non_negative_int, default=0)
    add_runtime(sample)
    sample.set_defaults(handler=run_sample)


def _per_rank(handler):
    """Under torchrun: an error every rank raises alike is printed by rank 0 alone; the
    others exit with the same status quietly, or name their rank in front of their own."""
    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        from lhcgen.errors import LhcgenError
        from lhcgen.train.distributed import CollectiveError, RankError, env_rank, launched
        from lhcgen.train.loop import Interrupted

        rank = env_rank()
        try:
            return handler(args)
        except LhcgenError as exc:
            if not launched() or rank == 0 or isinstance(exc, RankError):
                raise
            if isinstance(exc, (CollectiveError, Interrupted)):
                return 130 if isinstance(exc, Interrupted) else 1
            raise LhcgenError(f"rank {rank}: {exc}") from None
    return run


@_per_rank
def run_train(args: argparse.Namespace) -> int:
    from lhcgen.train.config import load_config
    from lhcgen.train.distributed import process_group
    from lhcgen.train.run import resolve_device, train_run

    with process_group(resolve_device(args.device)) as ranks:
        cfg = ranks.main_first(load_config, args.config, args.seed, broadcast=False)
        metrics = train_run(cfg, args.out, ranks.device, resume=args.resume,
                            progress=progress(args), ranks=ranks)
    if ranks.is_main:
        processes = f" on {ranks.world_size} processes" if ranks.distributed else ""
        network = ("kept the network of training.init_from as it is" if not metrics["steps"]
                   else f"trained {metrics['parameters']:,} parameters for "
                        f"{metrics['steps']} steps{processes} in "
                        f"{metrics['training_seconds']:.1f} s")
        cond = metrics.get("conditions")
        conditions = ""
        if cond:
            what = (f"{cond['steps']} steps in {cond['training_seconds']:.1f} s" if cond["steps"]
                    else f"that of {cond['initialised_from']} as it is")
            conditions = f"; conditions model: {what}, validation loss {cond['final_val_loss']}"
        print(f"{network}; validation loss {metrics['final_val_loss']}{conditions}; run "
              f"directory {args.out}")
    return 0


def _run_process_kind(run_dir: str) -> str:
    from pathlib import Path

    from lhcgen.processes import get_process
    from lhcgen.train.run import load_run_config

    if not Path(run_dir).is_dir():
        return "events"  # sample_to_file names the problem
    return get_process(load_run_config(Path(run_dir)).data.process).kind


def run_sample_jets(args: argparse.Namespace) -> int:
    from lhcgen.train.distributed import launched
    from lhcgen.train.jet_surrogate import sample_jets_to_file
    from lhcgen.train.run import resolve_device

    for given, option in ((args.multiplicity, "--multiplicity"),
                          (args.weight_draws, "--weight-draws"),
                          (args.no_kv_cache, "--no-kv-cache")):
        if given:
            raise LhcgenError(f"{option} applies to event generators; {args.run_dir} "
                              "generates jets")
    if launched():
        raise LhcgenError("sampling jets runs in one process; start it without torchrun")
    options = {key: value for key, value in (("s_churn", args.s_churn),
                                              ("s_tmin", args.s_tmin),
                                              ("s_tmax", args.s_tmax),
                                              ("sigma_min", args.sigma_min),
                                              ("rho", args.rho),
                                              ("guidance", args.guidance)) if value is not None}
    if args.guidance_sigmas is not None:
        if args.guidance is None:
            raise LhcgenError("--guidance-sigmas sets where --guidance W applies; give W too")
        low, high = args.guidance_sigmas
        options["guidance_sigma_low"] = low
        if high != float("inf"):  # no limit: the option's default, and no inf in JSON
            options["guidance_sigma_high"] = high
    options.update(zip(CONSISTENCY_OPTIONS, args.renoise_sigmas or (), strict=False))
    info = sample_jets_to_file(args.run_dir, args.n, args.out, resolve_device(args.device),
                               args.jet_type, args.condition_from, args.solver, args.steps,
                               args.batch_size, args.seed, progress(args), options,
                               False if args.raw_pt_sum else None,
                               True if args.bound_mass else None)
    guided = f", guidance {info['guidance']:g}" if info.get("guidance", 1.0) != 1.0 else ""
    conditions = ("taken from " + args.condition_from if info["conditions"] == "file"
                  else f"generated ({info['conditions_nfe']} network evaluations)")
    print(f"wrote {info['n_written']} jets to {args.out}: {info['jets_per_second']:.0f} jets/s "
          f"({info['model']} {info['net']}, {info['solver']}{guided}, {info['nfe']} network "
          f"evaluations, batch {info['batch_size']}, {info['threads']} threads, "
          f"{info['device']}); jet kinematics {conditions}")
    if info["n_nonfinite"]:
        print(f"warning: {info['n_nonfinite']} of {info['n_requested']} generated jets were "
              "non-finite and were not written")
    if info["pt_sum_quantiles"]:
        low, _, median, _, high = info["pt_sum_quantiles"]
        done = ("rescaled to sum to the jet pT" if info["pt_sum"] == "conserved"
                else "written as generated (--raw-pt-sum)")
        print(f"pT sum: the constituents of the {info['n_complete_jets']} jets that keep them "
              f"all summed to {median:.3f} of the jet pT (median; {low:.3f} to {high:.3f}); "
              f"{done}")
    if info.get("n_truncated_pt_sum_bounded"):
        print(f"pT sum: {info['n_truncated_pt_sum_bounded']} truncated jets summed to more or "
              "less than their cut constituents allow and were rescaled to the nearest "
              "allowed sum")
    if info["n_heavier_than_jet"]:
        done = ("brought to the jet mass by shrinking their angles" if info["jet_mass"] ==
                "bounded" else "written as generated (--bound-mass would bound them)")
        print(f"jet mass: the constituents of {info['n_heavier_than_jet']} of "
              f"{info['n_written']} jets were heavier than the jet (up to "
              f"{info['mass_ratio_quantiles'][-1]:.3f} of its mass); {done}")
    cuts = info["cut_violations"]
    if cuts["any_selection_cut"]:
        print(f"note: {cuts['any_selection_cut']} jets lie outside the training selection "
              f"(pT window: {cuts['jet_pt_window']}, |eta|: {cuts['jet_abs_eta']}) and were "
              "kept")
    return 0


@_per_rank
def run_sample(args: argparse.Namespace) -> int:
    from lhcgen.train.distributed import process_group
    from lhcgen.train.run import resolve_device
    from lhcgen.train.surrogate import sample_to_file

    if _run_process_kind(args.run_dir) == "clouds":
        return run_sample_jets(args)
    for given, option in ((args.jet_type, "--type"), (args.condition_from, "--condition-from"),
                          (args.s_churn is not None, "--s-churn"),
                          (args.s_tmin is not None, "--s-tmin"),
                          (args.s_tmax is not None, "--s-tmax"),
                          (args.sigma_min is not None, "--sigma-min"),
                          (args.rho is not None, "--rho"),
                          (args.guidance is not None, "--guidance"),
                          (args.guidance_sigmas is not None, "--guidance-sigmas"),
                          (args.renoise_sigmas is not None, "--renoise-sigmas"),
                          (args.raw_pt_sum, "--raw-pt-sum"),
                          (args.bound_mass, "--bound-mass")):
        if given:
            raise LhcgenError(f"{option} applies to runs of the jets process; {args.run_dir} "
                              "generates events")

    with process_group(resolve_device(args.device)) as ranks:
        info = sample_to_file(args.run_dir, args.n, args.out, ranks.device, args.solver,
                              args.steps, args.batch_size, args.seed, args.multiplicity,
                              progress(args), args.weight_draws, not args.no_kv_cache,
                              ranks=ranks)
    if ranks.is_main:
        print_sampling(info, args.out)
    return 0


def print_sampling(info: dict, out) -> None:
    sampler = f"{info['solver']}, " if info["solver"] else ""
    draws = (f" from {info['weight_draws']} weight draws" if info.get("weight_draws") else "")
    print(f"wrote {info['n_written']} events{draws} to {out}: "
          f"{info['events_per_second']:.0f} events/s ({info['model']}, {sampler}{info['nfe']} "
          f"network evaluations, batch {info['batch_size']}, {info['threads']} threads, "
          f"{info['device']})")
    if info["n_nonfinite"]:
        print(f"warning: {info['n_nonfinite']} of {info['n_requested']} generated events were "
              "non-finite and were not written")
    cuts = info["cut_violations"]
    if cuts["any_selection_cut"]:
        detail = ", ".join(f"{k}: {v}" for k, v in cuts.items() if v and k != "any_selection_cut")
        print(f"note: {cuts['any_selection_cut']} events violate a selection cut and were kept "
              f"({detail})")
