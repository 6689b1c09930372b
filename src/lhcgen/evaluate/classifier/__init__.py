"""The classifier two-sample test: judges (MLP, boosted trees), cross-fitting, AUC
against the floor, calibration, reweighting, and its report."""
