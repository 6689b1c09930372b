"""The JetNet metrics (W1m, W1p, W1efp, FPD, KPD) as defined by ``jetnet`` v0.2.5."""

from lhcgen.evaluate.jets.metrics.frechet import fpd, frechet_distance
from lhcgen.evaluate.jets.metrics.kernel import kpd, mmd_poly_unbiased
from lhcgen.evaluate.jets.metrics.result import (
    MetricResult,
    mean_of_draws,
    ratio_to_floor,
    ratio_to_floor_error,
)
from lhcgen.evaluate.jets.metrics.suite import (
    JetMetricSettings,
    JetSample,
    efp_distances,
    jet_metrics,
)
from lhcgen.evaluate.jets.metrics.wasserstein import w1_features, w1efp, w1m, w1p

__all__ = ["JetMetricSettings", "JetSample", "MetricResult", "efp_distances", "fpd",
           "frechet_distance", "jet_metrics", "kpd", "mean_of_draws", "mmd_poly_unbiased",
           "ratio_to_floor", "ratio_to_floor_error", "w1_features", "w1efp", "w1m", "w1p"]
