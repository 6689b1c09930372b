"""benchmarks/jets_substructure.py: substructure W1 against the truth beside Pythia's samples.

Closed form: N-subjettiness (β = 1, exclusive-kT axes) and D2 = e3/e2³ do not change when
every angle of a jet is scaled by one factor (the taus up to the axes' recombination at
finite angles), while its mass over pT scales with it. So a
sample of the truth's distribution with its jets widened 1.3× scores exactly what the same
jets unwidened score on τ21, τ32 and D2, and far beyond the floor on m/pT; jets whose soft
constituents are moved onto the hardest one lose their prongs and leave the floor on τ21
and τ32. One-line refusals, as jets_efp_strays.py's (`judged_samples`)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from benchmarks.jets_substructure import OBSERVABLES, main

from lhcgen.data.jet_hdf5 import write_jets
from lhcgen.data.jets import JetCloudSample
from tests.test_jets_data import toy_jets

N = 400


def _jets(seed: int) -> JetCloudSample:
    return toy_jets(N, jet_type=2, seed=seed)


def _widened(seed: int, factor: float = 1.3) -> JetCloudSample:
    jets = _jets(seed)
    jets.particles[..., :2] *= factor
    return jets


def _merged(seed: int) -> JetCloudSample:
    """Every constituent but the three hardest moved onto the hardest one's place."""
    jets = _jets(seed)
    hardest = jets.particles[:, :1, :2].copy()
    soft = jets.mask.copy()
    soft[:, :3] = False
    jets.particles[..., :2] = np.where(soft[..., None], hardest, jets.particles[..., :2])
    return jets


@pytest.fixture()
def files(tmp_path):
    for name, seed in (("truth", 1), ("floor", 2), ("c", 3), ("d", 4), ("plain", 6)):
        write_jets(tmp_path / f"{name}.h5", _jets(seed))
    write_jets(tmp_path / "wide.h5", _widened(6))
    write_jets(tmp_path / "merged.h5", _merged(6))
    return tmp_path


def _argv(d, *generated: str, draws=("c.h5", "d.h5"), name="sub") -> list[str]:
    return ["--type", "t", "--jets", str(N), "--truth", str(d / "truth.h5"),
            "--truth-floor", str(d / "floor.h5"), "--draws", *(str(d / f) for f in draws),
            "--generated", *(str(d / g) for g in generated), "--out-dir", str(d),
            "--name", name]


def test_scaled_angles_keep_the_prongs_and_move_the_mass(files):
    assert main(_argv(files, "plain.h5", "wide.h5", "merged.h5")) == 0
    result = json.loads((files / "sub.json").read_text())["substructure"]
    rows = {r["label"]: r for r in result["rows"]}
    plain, wide, merged = rows["plain.h5"], rows["wide.h5"], rows["merged.h5"]
    # scale-free: the same jets, the same values; D2's pairwise angles exactly, the taus up to
    # the exclusive-kT axes' E-scheme recombination in (y, phi), not linear at finite angles
    for k, rel in (("d2", 1e-9), ("tau21", 1e-3), ("tau32", 1e-3)):
        assert wide["median"][k] == pytest.approx(plain["median"][k], rel=rel)
        assert wide["w1"][k]["value"] == pytest.approx(plain["w1"][k]["value"], rel=20 * rel)
    assert wide["median"]["relative_mass"] == pytest.approx(
        1.3 * plain["median"]["relative_mass"], rel=0.02)
    assert wide["ratios"]["relative_mass"]["ratio"] > 5
    assert plain["ratios"]["relative_mass"]["ratio"] < 3
    # the truth's own distribution stays near its floor on every observable
    assert all(plain["ratios"][k]["ratio"] < 3 for k in OBSERVABLES)
    # three hard constituents and the rest on the hardest: no longer the truth's prongs
    assert merged["ratios"]["tau32"]["ratio"] > 5 and merged["ratios"]["tau21"]["ratio"] > 5
    # the floor: the Pythia samples' mean, not the generated ones'
    pythia = [r["w1"]["tau32"]["value"] for r in result["rows"] if r["kind"] != "generated"]
    assert result["mean_floor"]["tau32"]["n"] == 3
    assert result["mean_floor"]["tau32"]["value"] == pytest.approx(np.mean(pythia))
    md = (files / "sub.md").read_text()
    assert "| wide.h5 | generated |" in md and "| mean floor |" in md


def test_refusals_are_one_line(files):
    with pytest.raises(SystemExit) as exit_:
        main(_argv(files, "plain.h5", draws=("c.h5", "c.h5")))
    assert "c.h5 shares jets with --draws" in str(exit_.value)
    with pytest.raises(SystemExit) as exit_:
        main(_argv(files, "missing.h5"))
    assert str(exit_.value).startswith("error: --generated: ") and "\n" not in str(exit_.value)
    with pytest.raises(SystemExit):
        main(["--truth", str(files / "truth.h5")])  # argparse: the floor and samples needed
    assert not (files / "sub.json").exists()


def test_samples_sharing_a_file_name_are_labelled_by_their_path(files):
    """Seeds kept by jets_time_fidelity.py --generate-only share a file name in their own
    folders: the rows, and the table, tell them apart by path."""
    for seed in (1, 2):
        (files / f"seed{seed}").mkdir()
        write_jets(files / f"seed{seed}" / "t_generated.h5", _jets(20 + seed))
    assert main(_argv(files, "seed1/t_generated.h5", "seed2/t_generated.h5", "plain.h5")) == 0
    rows = json.loads((files / "sub.json").read_text())["substructure"]["rows"]
    assert [r["label"] for r in rows] == [
        "floor.h5", "c.h5", "d.h5", str(files / "seed1/t_generated.h5"),
        str(files / "seed2/t_generated.h5"), "plain.h5"]
