"""benchmarks/jets_floor_spread.py: independent truth samples judged as generators. Draws of
the truth's own distribution score near the floor, wider jets do not; chunks that are not
independent of the truth or the floor are left out and counted; one-line refusals."""

from __future__ import annotations

import json
import statistics

import numpy as np
import pytest
from benchmarks.jets_floor_spread import main

from lhcgen.data.jet_hdf5 import write_jets
from lhcgen.data.jets import JetCloudSample
from tests.test_jets_data import toy_jets

N = 300


def _jets(seed: int, n: int = N, widen: float = 1.0) -> JetCloudSample:
    jets = toy_jets(n, jet_type=2, seed=seed)
    jets.particles[..., :2] *= widen
    return jets


def _one_constituent(jets: JetCloudSample, i: int) -> JetCloudSample:
    """Jet ``i`` made of one constituent on the axis carrying all the pT: (0, 0, 1) in any
    file, told apart from another such jet only by its kinematics."""
    jets.particles[i] = 0.0
    jets.particles[i, 0] = (0.0, 0.0, 1.0)
    jets.mask[i] = False
    jets.mask[i, 0] = True
    jets.jets[i, 3] = 1
    jets.n_constituents[i] = 1
    return jets


def _argv(tmp_path, *draws: str, name: str = "spread", floor: str = "floor.h5") -> list[str]:
    return ["--types", "t", "--jets", str(N), "--quick", "--truth", str(tmp_path / "truth.h5"),
            "--truth-floor", str(tmp_path / floor), "--draws", *draws,
            "--out-dir", str(tmp_path), "--name", name]


@pytest.fixture()
def files(tmp_path):
    write_jets(tmp_path / "truth.h5", _one_constituent(_jets(1), 0))
    floor = _jets(2)
    write_jets(tmp_path / "floor.h5", floor)
    truth_jet = _jets(1).subset(slice(1, 2))
    sharing = JetCloudSample.concatenate([truth_jet, _jets(40, N - 1)])
    # chunks: the floor itself, two independent draws (the first with a one-constituent jet,
    # as the truth has: the same constituents, another jet), one sharing a jet with the
    # truth, a third independent draw, and 50 jets short of a draw
    write_jets(tmp_path / "same.h5", JetCloudSample.concatenate(
        [floor, _one_constituent(_jets(10), 5), _jets(11), sharing, _jets(12),
         _jets(13, 50)]))
    write_jets(tmp_path / "wide.h5", JetCloudSample.concatenate(
        [_jets(20 + k, widen=1.5) for k in range(3)]))
    return tmp_path


def test_truth_draws_score_near_the_floor_and_wider_jets_do_not(files):
    assert main(_argv(files, str(files / "same.h5"), name="same")) == 0
    assert main(_argv(files, str(files / "wide.h5"), name="wide")) == 0
    same = json.loads((files / "same.json").read_text())["types"]["t"]
    wide = json.loads((files / "wide.json").read_text())["types"]["t"]
    assert [d["draw"] for d in same["draws"]] == ["same.h5#1", "same.h5#2", "same.h5#4"]
    assert same["left_out"] == [{"file": str(files / "same.h5"), "jets": 5 * N + 50,
                                 "shares_truth": ["same.h5#3"], "shares_floor": ["same.h5#0"],
                                 "short_rest": 50}]
    for metric in ("w1m", "w1p"):  # the truth's own distribution: about the floor
        assert same["summary"]["metrics"][metric]["median"] < 2.0
        # angles 50 % wider: mass and the constituents' (eta, phi) far from the floor
        assert wide["summary"]["metrics"][metric]["median"] > 4.0
    for entry in (same, wide):
        floor = entry["floor"]
        for d in entry["draws"]:  # ×floor as the time-fidelity benchmark divides
            value = d["metrics"]["w1m"]["value"]
            scale = max(floor["w1m"]["value"], floor["w1m"]["error"])
            assert d["ratios"]["w1m"] == pytest.approx(value / scale)
            defined = [r for r in d["ratios"].values() if r is not None]
            assert d["worst_ratio"] == max(defined)
            assert d["ratios"][d["worst_metric"]] == d["worst_ratio"]
        worst = [d["worst_ratio"] for d in entry["draws"]]
        summary = entry["summary"]
        assert summary["worst"]["median"] == statistics.median(worst)
        assert summary["worst"]["quantile"] == pytest.approx(np.quantile(worst, 0.9))
        assert summary["within"] == sum(w <= 2.0 for w in worst)
    said = (files / "same.md").read_text()
    assert "same.h5#0" in said and "1 sharing jets with the truth" in said
    assert "the last 50 jets (short of a draw)" in said
    # the floor against the mean of every truth sample (the floor and the three draws)
    from benchmarks.jets_floor_spread import mean_floor

    means = mean_floor(same)
    values = [same["floor"]["w1m"]["value"]] + [d["metrics"]["w1m"]["value"]
                                                for d in same["draws"]]
    assert means["w1m"]["n"] == 4
    assert means["w1m"]["value"] == pytest.approx(np.mean(values), rel=1e-12)
    assert means["w1m"]["error"] >= np.std(values, ddof=1) / 2
    ratio = same["floor"]["w1m"]["value"] / max(np.mean(values), means["w1m"]["resolution"])
    assert f"| t | 4 | {ratio:.3g} ({np.mean(values):.3g} ± " in said


def test_a_floor_that_shares_jets_with_the_truth_or_too_few_draws_are_one_line(files,
                                                                                capsys):
    write_jets(files / "few.h5", JetCloudSample.concatenate([_jets(10), _jets(11, 100)]))
    write_jets(files / "floor_shared.h5", JetCloudSample.concatenate(
        [_jets(1).subset(slice(1, 2)), _jets(2, N - 1)]))
    cases = [(_argv(files, str(files / "few.h5")), "1 independent draws"),
             (_argv(files, str(files / "same.h5"), floor="floor_shared.h5"),
              "shares jets with"),
             (_argv(files, str(files / "missing.h5")), "missing.h5")]
    for argv, needle in cases:
        with pytest.raises(SystemExit) as stop:
            main(argv)
        message = str(stop.value.code)
        assert message.startswith("error: ") and "\n" not in message and needle in message
        assert not (files / "spread.json").exists()
