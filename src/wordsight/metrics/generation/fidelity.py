"""FID, KID and IS from features, through torch-fidelity's own metric functions.

We only validate inputs and convert types here; the formulas are torch-fidelity's (which follow the
TensorFlow references: TTUR ``fid.py`` for FID, MMD-GAN ``compute_scores.py`` for KID, and the improved-GAN
``inception_score`` for IS), so our numbers equal ``torch_fidelity.calculate_metrics`` on the same features.
"""

from __future__ import annotations

import numpy as np
import torch
from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_statistics_to_metric
from torch_fidelity.metric_isc import KEY_METRIC_ISC_MEAN, KEY_METRIC_ISC_STD, isc_features_to_metric
from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD, kid_features_to_metric

from ...utils.checks import InputError, check_finite, check_shape
from .keys import KEY_IS_MEAN, KEY_IS_STD, KEY_KID_MEAN, KEY_KID_STD


def _as_float64(name: str, value: torch.Tensor | np.ndarray) -> np.ndarray:
    tensor = torch.as_tensor(value).detach().cpu()
    check_finite(name, tensor)
    return tensor.double().numpy()


def frechet_distance(
    mean1: torch.Tensor | np.ndarray,
    cov1: torch.Tensor | np.ndarray,
    mean2: torch.Tensor | np.ndarray,
    cov2: torch.Tensor | np.ndarray,
) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) (Heusel et al. 2017, eq. 6), in float64.

    Tr((S1 S2)^(1/2)) is the sum of the square roots of the eigenvalues of S1 S2 (torch-fidelity's method,
    equal to scipy ``sqrtm`` on valid covariances and about 5x faster at 2048-d).
    """
    m1, m2 = _as_float64("mean1", mean1), _as_float64("mean2", mean2)
    s1, s2 = _as_float64("cov1", cov1), _as_float64("cov2", cov2)
    dim = check_shape("mean1", torch.from_numpy(m1), ["D"])["D"]
    check_shape("mean2", torch.from_numpy(m2), [dim])
    check_shape("cov1", torch.from_numpy(s1), [dim, dim])
    check_shape("cov2", torch.from_numpy(s2), [dim, dim])
    out = fid_statistics_to_metric({"mu": m1, "sigma": s1}, {"mu": m2, "sigma": s2}, verbose=False)
    return float(out[KEY_METRIC_FID])


def kernel_inception_distance(
    features_generated: torch.Tensor,
    features_real: torch.Tensor,
    *,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 2020,
) -> dict[str, float]:
    """Unbiased MMD^2 with the cubic polynomial kernel (Binkowski et al. 2018), over random subsets.

    Argument order matters for the subset draws: generated first, real second (as torch-fidelity's
    ``input1``/``input2``).
    """
    bound = check_shape("features_generated", features_generated, ["N", "D"])
    check_shape("features_real", features_real, [None, bound["D"]])
    smallest = min(features_generated.shape[0], features_real.shape[0])
    if subsets < 1 or subset_size < 2 or subset_size > smallest:
        raise InputError(
            f"KID: kid_subset_size={subset_size} must be in [2, {smallest}] (the smaller set has {smallest} "
            f"images) and kid_subsets={subsets} >= 1; lower kid_subset_size or use more images"
        )
    out = kid_features_to_metric(
        features_generated.float().cpu(), features_real.float().cpu(),
        kid_subsets=subsets, kid_subset_size=subset_size, rng_seed=seed, verbose=False,
    )
    return {KEY_KID_MEAN: float(out[KEY_METRIC_KID_MEAN]), KEY_KID_STD: float(out[KEY_METRIC_KID_STD])}


def inception_score(logits: torch.Tensor, *, splits: int = 10, seed: int = 2020) -> dict[str, float]:
    """exp(E_x KL(p(y|x) || p(y))) per split, mean and std over ``splits`` (Salimans et al. 2016).

    ``logits`` are the classifier's pre-softmax outputs (``logits_unbiased`` for the Inception: the fc
    layer without its bias, as the TF original). Samples are shuffled with ``seed`` before splitting.
    """
    check_shape("logits", logits, ["N", "K"])
    check_finite("logits", logits)
    if splits < 1 or logits.shape[0] < splits:
        raise InputError(f"IS: need at least isc_splits={splits} images, got {logits.shape[0]}")
    out = isc_features_to_metric(logits.float().cpu(), splits=splits, shuffle=True, rng_seed=seed)
    return {KEY_IS_MEAN: float(out[KEY_METRIC_ISC_MEAN]), KEY_IS_STD: float(out[KEY_METRIC_ISC_STD])}
