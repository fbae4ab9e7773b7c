"""Saliency metrics as defined by the MIT saliency benchmark's MATLAB code, batched in torch.

See docs/saliency-metrics.md for each definition and how it differs from pysaliency and SALICON.
"""

from .blur import MIT_CUTOFF_CYCLES, center_bias_map, fixation_density
from .compute import (
    DEFAULT_METRICS,
    SALIENCY_METRICS,
    SaliencyMetric,
    average_scores,
    compute_saliency_metrics,
)
from .functional import (
    DEFAULT_METRIC_SEED,
    MATLAB_EPS,
    auc_borji,
    auc_judd,
    cc,
    information_gain,
    kld,
    matlab_colon,
    nss,
    other_fixation_maps,
    shuffled_auc,
    sim,
)
from .resize import cubic_kernel, imresize, resize_weights

__all__ = [
    "DEFAULT_METRICS",
    "DEFAULT_METRIC_SEED",
    "MATLAB_EPS",
    "MIT_CUTOFF_CYCLES",
    "SALIENCY_METRICS",
    "SaliencyMetric",
    "auc_borji",
    "auc_judd",
    "average_scores",
    "cc",
    "center_bias_map",
    "compute_saliency_metrics",
    "cubic_kernel",
    "fixation_density",
    "imresize",
    "information_gain",
    "kld",
    "matlab_colon",
    "nss",
    "other_fixation_maps",
    "resize_weights",
    "shuffled_auc",
    "sim",
]
