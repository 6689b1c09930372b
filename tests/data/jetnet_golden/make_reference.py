"""Write reference.json: jetnet v0.2.5's EFPs and metrics on input.npz (the golden values).

Runs ONLY in a separate environment that has jetnet (never in lhcgen's; lhcgen does not
depend on jetnet or energyflow). The environment used for the committed reference.json:

    python3 -m venv /tmp/jetnet-env
    /tmp/jetnet-env/bin/pip install jetnet==0.2.5 "numpy<2" "pandas<3" "pyarrow<18" torch
    /tmp/jetnet-env/bin/python tests/data/jetnet_golden/make_reference.py

(numpy < 2 because energyflow's ``wasserstein`` extension is built against numpy 1; pandas
and pyarrow pins follow from that; a CPU-only torch wheel is enough.) Versions are recorded
in the output. input.npz comes from make_input.py.

jetnet draws its W1 batches from an unseeded module-level generator; here that generator
is replaced by ``numpy.random.default_rng(seed)`` before each call, which is exactly what
lhcgen does with its explicit seed, so the seeded values must agree draw for draw. FPD and
KPD are seeded in jetnet already. The settings are scaled down to fit 2,000 jets. The
per-batch formulas (W1, Fréchet distance, unbiased MMD^2) are also evaluated once on the
full samples, which involves no randomness.
"""

from __future__ import annotations

import hashlib
import json
import platform
from importlib.metadata import version
from pathlib import Path

import jetnet.evaluation.gen_metrics as gm
import numpy as np
from jetnet import utils
from scipy.stats import wasserstein_distance

HERE = Path(__file__).parent
N_ROWS = 20
W1 = {"num_eval_samples": 1000, "num_batches": 5}
W1_SEED = 7
FPD = {"min_samples": 400, "max_samples": 2000, "num_batches": 5, "num_points": 5,
       "seed": 42}
KPD = {"num_batches": 10, "batch_size": 500, "seed": 42}
FLOOR_FPD = {"min_samples": 200, "max_samples": 1000, "num_batches": 5, "num_points": 5,
             "seed": 3}
FLOOR_KPD = {"num_batches": 10, "batch_size": 300, "seed": 3}


def floats(x) -> list:
    return np.asarray(x, dtype=np.float64).tolist()


def seeded(function, *args, **kwargs):
    gm.rng = np.random.default_rng(W1_SEED)
    return function(*args, **kwargs)


def main() -> None:
    path = HERE / "input.npz"
    data = np.load(path)
    real, gen = data["real"].astype(np.float64), data["gen"].astype(np.float64)
    real_mask, gen_mask = data["real_mask"], data["gen_mask"]

    efps = {}
    for name, jets in (("real", real), ("gen", gen)):
        efps[name] = utils.efps(jets, efpset_args=[("d<=", 4)], efp_jobs=1)
        efps[name + "_w1"] = utils.efps(jets, efp_jobs=1)
    mass_real = utils.jet_features(real)["mass"]
    mass_gen = utils.jet_features(gen)["mass"]

    w1m_value, w1m_error = seeded(gm.w1m, real, gen, **W1)
    w1p_values, w1p_errors = seeded(gm.w1p, real, gen, real_mask, gen_mask,
                                    exclude_zeros=True, **W1)
    w1efp_values, w1efp_errors = seeded(gm.w1efp, real, gen, efp_jobs=1, **W1)
    fpd_value, fpd_error = gm.fpd(efps["real"], efps["gen"], **FPD)
    kpd_value, kpd_error = gm.kpd(efps["real"], efps["gen"], **KPD)
    half = len(real) // 2
    floor_fpd = gm.fpd(efps["real"][:half], efps["real"][half:], **FLOOR_FPD)
    floor_kpd = gm.kpd(efps["real"][:half], efps["real"][half:], **FLOOR_KPD)

    x, y = gm._normalise_features(efps["real"], efps["gen"])
    full = {
        "w1_mass": wasserstein_distance(mass_real, mass_gen),
        "frechet": gm._calculate_frechet_distance(
            x.mean(axis=0), np.cov(x, rowvar=False), y.mean(axis=0), np.cov(y, rowvar=False)),
        "mmd_poly4": gm._mmd_poly_quadratic_unbiased(x, y, 4),
    }

    reference = {
        "made_by": "tests/data/jetnet_golden/make_reference.py",
        "input_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "versions": {p: version(p) for p in
                     ("jetnet", "energyflow", "numpy", "scipy", "awkward", "coffea",
                      "numba")} | {"python": platform.python_version()},
        "efps": {
            "rows": N_ROWS,
            "real_d_le_4": floats(efps["real"][:N_ROWS]),
            "gen_d_le_4": floats(efps["gen"][:N_ROWS]),
            "real_w1": floats(efps["real_w1"][:N_ROWS]),
            "gen_w1": floats(efps["gen_w1"][:N_ROWS]),
            "real_d_le_4_column_means": floats(efps["real"].mean(axis=0)),
            "gen_d_le_4_column_means": floats(efps["gen"].mean(axis=0)),
        },
        "mass": {"real": floats(mass_real[:N_ROWS]), "gen": floats(mass_gen[:N_ROWS]),
                 "real_mean": float(mass_real.mean()), "gen_mean": float(mass_gen.mean())},
        "w1m": {"settings": W1 | {"seed": W1_SEED}, "value": float(w1m_value),
                "error": float(w1m_error)},
        "w1p": {"settings": W1 | {"seed": W1_SEED, "exclude_zeros": True},
                "values": floats(w1p_values), "errors": floats(w1p_errors)},
        "w1efp": {"settings": W1 | {"seed": W1_SEED}, "values": floats(w1efp_values),
                  "errors": floats(w1efp_errors)},
        "fpd": {"settings": FPD, "value": float(fpd_value), "error": float(fpd_error)},
        "kpd": {"settings": KPD, "value": float(kpd_value), "error": float(kpd_error)},
        "floor_fpd": {"settings": FLOOR_FPD, "split": half, "value": float(floor_fpd[0]),
                      "error": float(floor_fpd[1])},
        "floor_kpd": {"settings": FLOOR_KPD, "split": half, "value": float(floor_kpd[0]),
                      "error": float(floor_kpd[1])},
        "full_sample_formulas": {k: float(v) for k, v in full.items()},
    }
    out = HERE / "reference.json"
    out.write_text(json.dumps(reference, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
