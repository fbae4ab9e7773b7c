"""Saliency metrics of the MIT saliency benchmark (cvzoya/saliency ``code_forMetrics``), batched in torch.

Every function takes saliency maps [B, H, W] (or [H, W]) and returns float64 scores [B] (a 0-d
tensor when every input was a single [H, W] map). Saliency maps are converted to float64 and resized
to the fixation (or density) map's size with MATLAB's bicubic ``imresize`` first. Scores are NaN
where the MATLAB code returns NaN: no fixations, or a constant saliency map (the min-max step
divides by zero there). The section of docs/saliency-metrics.md on each metric gives its formula.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ...utils import InputError
from .blur import center_bias_map
from .inputs import PreparedMaps, binary_maps, prepare, real_maps, require_nonnegative, same_batch
from .resize import imresize

# MATLAB's built-in ``eps`` (2^-52), which the benchmark's KLdiv.m / InfoGain.m call; pysaliency's MIT_KLDiv
# writes the rounded 2.2204e-16 instead, which differs on maps with values near zero.
MATLAB_EPS = float(np.finfo(np.float64).eps)  # 2.220446049250313e-16
JUDD_JITTER_SCALE = 1e-7  # AUC_Judd.m: saliencyMap + rand(size(saliencyMap)) / 10000000
# Seed of the random parts (AUC-Judd jitter, AUC-Borji / shuffled-AUC negatives, other-image choice) when no
# ``generator`` is given: the same inputs give the same scores in every run.
DEFAULT_METRIC_SEED = 0


# ----------------------------------------------------------------------------------------- helpers


def _min_max(flat: torch.Tensor) -> torch.Tensor:
    """(S - min) / (max - min) per row; constant rows become NaN, as in MATLAB (0 / 0)."""
    low, high = flat.amin(dim=1, keepdim=True), flat.amax(dim=1, keepdim=True)  # faster than aminmax on CPU
    return (flat - low) / (high - low)


def _constant_rows(flat: torch.Tensor) -> torch.Tensor:
    return flat.amin(dim=1) == flat.amax(dim=1)


def _trapezoid(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """MATLAB ``trapz(x, y)`` along the last axis."""
    return ((x[..., 1:] - x[..., :-1]) * (y[..., 1:] + y[..., :-1])).sum(dim=-1) / 2


def _nan_where(scores: torch.Tensor, bad: torch.Tensor) -> torch.Tensor:
    return torch.where(bad, torch.full_like(scores, math.nan), scores)


def _nan(device: torch.device) -> torch.Tensor:
    return torch.tensor(math.nan, dtype=torch.float64, device=device)


def default_generator(generator: torch.Generator | None = None) -> torch.Generator:
    """``generator``, or a new CPU generator seeded with :data:`DEFAULT_METRIC_SEED`."""
    return generator if generator is not None else torch.Generator().manual_seed(DEFAULT_METRIC_SEED)


def _on(values: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Random numbers are drawn on the CPU (where the generator lives) and moved to the maps."""
    return values.to(device) if values.device != device else values


# -------------------------------------------------------------------------------- location based


def nss(saliency: torch.Tensor, fixations: torch.Tensor) -> torch.Tensor:
    """Normalized scanpath saliency (NSS.m): mean of the z-scored map at fixated pixels.

    The z-score uses MATLAB's ``std``, i.e. the N - 1 (unbiased) standard deviation.
    """
    prepared = prepare(saliency, fixations=fixations)
    return prepared.finish(nss_prepared(prepared))


def nss_prepared(maps: PreparedMaps) -> torch.Tensor:
    var, mean = maps.var_mean()
    index, mask, counts = maps.fixated()
    fixated_sum = torch.where(mask, maps.saliency.gather(1, index), 0.0).sum(dim=1)
    scores = (fixated_sum / counts - mean) / var.sqrt()  # 0 / 0 = NaN without fixations
    return _nan_where(scores, maps.constant())


def information_gain(
    saliency: torch.Tensor, fixations: torch.Tensor, baseline: torch.Tensor | None = None
) -> torch.Tensor:
    """Information gain over a baseline map in bits per fixation (InfoGain.m, after Kummerer et al. 2015).

    Both maps are min-max normalised and divided by their sums; the score is the mean over fixated
    pixels of ``log2(eps + p) - log2(eps + q)``. ``baseline`` ([H, W] or [B, H, W], any size, resized
    like the saliency map) defaults to :func:`center_bias_map` at the fixation map's size.
    """
    prepared = prepare(saliency, fixations=fixations)
    return prepared.finish(information_gain_prepared(prepared, baseline))


def information_gain_prepared(maps: PreparedMaps, baseline: torch.Tensor | None = None) -> torch.Tensor:
    height, width = maps.size
    if baseline is None:
        base = center_bias_map(height, width).to(maps.saliency.device).reshape(1, -1)
    else:
        base, _ = real_maps("baseline", baseline)
        if base.shape[0] != 1:
            same_batch(("baseline", "saliency"), base, maps.saliency)
        base = imresize(base, (height, width)).to(maps.saliency.device).reshape(base.shape[0], -1)
    p = maps.normalised()
    q = _min_max(base)
    index, mask, counts = maps.fixated()
    p_fix = p.gather(1, index) / p.sum(dim=1, keepdim=True)
    q_fix = q.expand(maps.batch, -1).gather(1, index) / q.sum(dim=1, keepdim=True)
    gain = torch.log2(MATLAB_EPS + p_fix) - torch.log2(MATLAB_EPS + q_fix)
    return torch.where(mask, gain, 0.0).sum(dim=1) / counts


# ------------------------------------------------------------------------------- distribution based


def cc(saliency: torch.Tensor, density: torch.Tensor) -> torch.Tensor:
    """Pearson's linear correlation between the saliency map and the blurred fixation map (CC.m)."""
    prepared = prepare(saliency, density=density)
    return prepared.finish(cc_prepared(prepared))


def cc_prepared(maps: PreparedMaps) -> torch.Tensor:
    density = maps.require_density("CC")
    _, mean = maps.var_mean()
    a = maps.saliency - mean[:, None]
    b = density - density.mean(dim=1, keepdim=True)
    scores = _rowdot(a, b) / torch.sqrt(_rowdot(a, a) * _rowdot(b, b))
    return _nan_where(scores, maps.constant() | _constant_rows(density))


def _rowdot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Row-wise dot product [B, N] x [B, N] -> [B] (a fused multiply-sum; faster than bmm on CPU)."""
    return (a * b).sum(dim=1)


def _to_distribution(flat: torch.Tensor) -> torch.Tensor:
    """Divide by the sum unless the map is all zero (``if any(map(:)), map = map / sum(map(:))``)."""
    total = flat.sum(dim=1, keepdim=True)
    return flat / torch.where(total != 0, total, 1.0)


def kld(saliency: torch.Tensor, density: torch.Tensor) -> torch.Tensor:
    """KL divergence of the saliency distribution from the density (KLdiv.m): lower is better.

    ``sum g * log(eps + g / (s + eps))`` with both maps divided by their sums, eps = 2.2204e-16, and
    no min-max step, so maps must be non-negative (InputError otherwise).
    """
    prepared = prepare(saliency, density=density)
    return prepared.finish(kld_prepared(prepared))


def kld_prepared(maps: PreparedMaps) -> torch.Tensor:
    density = maps.require_density("KLD")
    require_nonnegative("saliency", maps.original, "KLD")
    require_nonnegative("density", density, "KLD")
    # Bicubic enlargement can overshoot below zero next to sharp edges; where MATLAB would take the
    # log of a negative number (a complex result) we clip the resized map at zero instead.
    s = _to_distribution(maps.saliency.clamp_min(0.0)).add_(MATLAB_EPS)
    g = _to_distribution(density)
    log_ratio = torch.div(g, s, out=s).add_(MATLAB_EPS).log_()  # log(eps + g / (s + eps)), in place
    return _rowdot(g, log_ratio)


def sim(saliency: torch.Tensor, density: torch.Tensor) -> torch.Tensor:
    """Similarity / histogram intersection (similarity.m): sum of the pixel-wise minimum of the two
    min-max normalised, sum-normalised maps. A constant non-zero map gives NaN, as in MATLAB."""
    prepared = prepare(saliency, density=density)
    return prepared.finish(sim_prepared(prepared))


def _sim_distribution(flat: torch.Tensor, normalised: torch.Tensor) -> torch.Tensor:
    """similarity.m: min-max then divide by the sum, unless the map is all zero (then left as is)."""
    normalised = normalised / normalised.sum(dim=1, keepdim=True)
    all_zero = ~(flat != 0).any(dim=1, keepdim=True)
    return torch.where(all_zero, flat, normalised)


def sim_prepared(maps: PreparedMaps) -> torch.Tensor:
    density = maps.require_density("SIM")
    a = _sim_distribution(maps.saliency, maps.normalised())
    b = _sim_distribution(density, _min_max(density))
    return torch.minimum(a, b, out=b).sum(dim=1)


# ----------------------------------------------------------------------------------------------- AUC


def auc_judd(
    saliency: torch.Tensor,
    fixations: torch.Tensor,
    jitter: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """AUC-Judd (AUC_Judd.m): ROC area with the map values at fixated pixels as thresholds.

    Thresholds are the min-max normalised map values at the fixated pixels, sorted descending with
    ties kept; for the i-th, ``tp = i / Nfix`` and ``fp = (#{S >= t} - i) / (Npix - Nfix)``; the curve
    gets the end points (0, 0) and (1, 1) and is integrated with the trapezoid rule.

    Args:
        jitter: add ``uniform[0, 1) / 1e7`` to the map before normalising, to break ties (on by default,
            as in AUC_Judd.m, ``if nargin < 3, jitter = 1``; the noise comes from ``generator``, or a
            generator seeded with ``DEFAULT_METRIC_SEED``, so scores are reproducible). ``jitter=False``
            keeps ties (pysaliency's ``AUC_Judd(jitter=False)``); then a constant map gives NaN, while with
            jitter it gets the AUC of the noise (about 0.5), as in MATLAB.
    """
    prepared = prepare(saliency, fixations=fixations)
    return prepared.finish(auc_judd_prepared(prepared, jitter, generator))


def auc_judd_prepared(maps: PreparedMaps, jitter: bool = True, generator: torch.Generator | None = None) -> torch.Tensor:
    if jitter:
        noise = torch.rand(maps.saliency.shape, generator=default_generator(generator), dtype=torch.float64)
        noise = _on(noise, maps.saliency.device)
        values = _min_max(maps.saliency + noise * JUDD_JITTER_SCALE)
    else:
        values = maps.normalised()
    index, mask, counts = maps.fixated()
    fixated = values.gather(1, index)
    scores = [
        _judd_one(values[b], fixated[b, : int(counts[b])]) if counts[b] > 0 else _nan(values.device)
        for b in range(maps.batch)
    ]
    return torch.stack(scores)


def _judd_one(values: torch.Tensor, fixated: torch.Tensor) -> torch.Tensor:
    """AUC-Judd of one flattened, normalised map; ``fixated`` holds its values at the fixations."""
    thresholds = fixated.sort().values  # ascending; the MATLAB loop walks them descending
    n_fix, n_pix = thresholds.numel(), values.numel()
    if not bool(torch.isfinite(thresholds[0])):  # constant map: min-max gave NaN
        return _nan(values.device)
    above = _count_at_least(values, thresholds.flip(0))  # #{S >= t} for thresholds descending
    rank = torch.arange(1, n_fix + 1, dtype=torch.float64, device=values.device)
    zero = torch.zeros(1, dtype=torch.float64, device=values.device)
    one = torch.ones(1, dtype=torch.float64, device=values.device)
    tp = torch.cat([zero, rank / n_fix, one])
    fp = torch.cat([zero, (above - rank) / (n_pix - n_fix), one])
    return _trapezoid(fp, tp)


def _count_at_least(values: torch.Tensor, thresholds: torch.Tensor) -> torch.Tensor:
    """#{values >= t} for each threshold, as float64.

    Few thresholds on the CPU: one vectorised compare-and-count per threshold through numpy (a
    zero-copy view; several times faster than torch's bool reductions on CPU). Otherwise: bucket
    every value among the sorted thresholds, O(N log K).
    """
    if values.device.type == "cpu" and thresholds.numel() <= _COUNT_LOOP_MAX:
        array = values.numpy()
        counts = [np.count_nonzero(array >= t) for t in thresholds.tolist()]
        return torch.tensor(counts, dtype=torch.float64)
    ascending = thresholds.flip(0)
    bucket = torch.bucketize(values, ascending, right=True)  # number of thresholds <= value
    histogram = torch.bincount(bucket, minlength=ascending.numel() + 1)
    return torch.cumsum(histogram.flip(0), 0)[: ascending.numel()].to(torch.float64)


_COUNT_LOOP_MAX = 64  # above this many fixations the O(N log K) bucketing wins


def matlab_colon(stop: torch.Tensor, step: float) -> tuple[torch.Tensor, torch.Tensor]:
    """MATLAB's ``0:step:stop`` for every element of ``stop`` (>= 0), padded to a common length.

    Follows MATLAB's colon algorithm: the count allows a 2 * eps * |stop| tolerance, the last point
    snaps to ``stop`` within it, the first half is ``k * step``, the second half is computed back from
    the last point, and an even count gets an exact midpoint. Returns values [..., T] and a mask.
    """
    tol = 2.0 * 2.220446049250313e-16 * stop.abs()
    count = torch.floor(stop / step + 0.5)  # round half away from zero (stop >= 0)
    count = count - ((count * step - stop) > tol).to(count.dtype)
    last = count * step
    last = torch.where((last - stop) > -tol, stop, last)
    length = int(count.max()) + 1 if count.numel() else 1
    k = torch.arange(length, dtype=torch.float64, device=stop.device)
    count_, last_ = count[..., None], last[..., None]
    values = torch.where(k >= torch.ceil(count_ / 2), last_ - (count_ - k) * step, k * step)
    even_middle = (torch.remainder(count_, 2) == 0) & (k == count_ / 2)
    values = torch.where(even_middle, last_ / 2, values)
    return values, k <= count_


def _split_aucs(
    positives: torch.Tensor,
    positive_mask: torch.Tensor,
    negatives: torch.Tensor,
    negative_mask: torch.Tensor,
    step: float,
) -> torch.Tensor:
    """Borji-style AUC of every split of one image. positives [K], negatives [S, M] -> [S].

    Thresholds per split: ``fliplr(0:step:max([Sth; curfix]))`` compared with ``>=``.
    """
    top = torch.maximum(
        torch.where(positive_mask, positives, -math.inf).max(),
        torch.where(negative_mask, negatives, -math.inf).amax(dim=1),
    )
    thresholds, valid = matlab_colon(top, step)  # [S, T] ascending
    thresholds = torch.where(valid, thresholds, math.inf)  # padding gives (0, 0) points: no area
    n_pos = positive_mask.sum().to(torch.float64)  # counts are integers; divide in float64
    n_neg = negative_mask.sum(dim=1, keepdim=True).to(torch.float64)
    hits = ((positives[None, None, :] >= thresholds[..., None]) & positive_mask).sum(dim=-1) / n_pos
    false = ((negatives[:, None, :] >= thresholds[..., None]) & negative_mask[:, None, :]).sum(dim=-1) / n_neg
    hits, false = hits.flip(-1), false.flip(-1)  # descending thresholds, as the MATLAB loop
    zeros = torch.zeros(hits.shape[0], 1, dtype=torch.float64, device=hits.device)
    ones = torch.ones_like(zeros)
    return _trapezoid(torch.cat([zeros, false, ones], 1), torch.cat([zeros, hits, ones], 1))


def auc_borji(
    saliency: torch.Tensor,
    fixations: torch.Tensor,
    num_splits: int = 100,
    step: float = 0.1,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """AUC-Borji (AUC_Borji.m): ROC area against as many negatives as fixations, drawn uniformly
    from all pixels with replacement, averaged over ``num_splits`` draws; thresholds ``0:step:max``.
    NaN when at most one pixel is fixated (AUC_Borji.m: ``if sum(fixationMap(:))<=1, score=nan``).
    Negatives come from ``generator`` (default: seeded with ``DEFAULT_METRIC_SEED``)."""
    prepared = prepare(saliency, fixations=fixations)
    return prepared.finish(auc_borji_prepared(prepared, num_splits, step, generator))


def auc_borji_prepared(
    maps: PreparedMaps, num_splits: int = 100, step: float = 0.1, generator: torch.Generator | None = None
) -> torch.Tensor:
    _check_splits(num_splits, step)
    flat = maps.normalised()
    index, mask, counts = maps.fixated()
    positives = flat.gather(1, index)
    draws = torch.randint(0, flat.shape[1], (maps.batch, num_splits * index.shape[1]), generator=default_generator(generator))
    negatives = flat.gather(1, _on(draws, flat.device)).view(maps.batch, num_splits, index.shape[1])
    constant = maps.constant()
    scores = []
    for b in range(maps.batch):
        if counts[b] <= 1 or constant[b]:  # AUC_Borji.m: sum(fixationMap(:)) <= 1 -> NaN
            scores.append(_nan(flat.device))
            continue
        negative_mask = mask[b][None, :].expand(num_splits, -1)
        scores.append(_split_aucs(positives[b], mask[b], negatives[b], negative_mask, step).mean())
    return torch.stack(scores)


def shuffled_auc(
    saliency: torch.Tensor,
    fixations: torch.Tensor,
    other_fixations: torch.Tensor,
    num_splits: int = 100,
    step: float = 0.1,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Shuffled AUC (AUC_shuffled.m): like AUC-Borji, but each split's negatives are the first
    ``min(Nfix, Nother)`` of a random permutation of the pixels fixated in ``other_fixations`` (the
    union of the fixation maps of other images; 10 others in the benchmark, see
    :func:`other_fixation_maps`). NaN when ``other_fixations`` is empty. Permutations come from
    ``generator`` (default: seeded with ``DEFAULT_METRIC_SEED``)."""
    prepared = prepare(saliency, fixations=fixations)
    return prepared.finish(shuffled_auc_prepared(prepared, other_fixations, num_splits, step, generator))


def shuffled_auc_prepared(
    maps: PreparedMaps,
    other_fixations: torch.Tensor,
    num_splits: int = 100,
    step: float = 0.1,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    _check_splits(num_splits, step)
    other, _ = binary_maps("other_fixations", other_fixations)
    same_batch(("other_fixations", "saliency"), other, maps.saliency)
    if tuple(other.shape[-2:]) != maps.size:
        raise InputError(f"other_fixations is {tuple(other.shape[-2:])} but fixations are {maps.size}; they must match")
    flat = maps.normalised()
    index, mask, counts = maps.fixated()
    positives = flat.gather(1, index)
    other_flat = other.to(flat.device).reshape(maps.batch, -1)
    constant = maps.constant()
    generator = default_generator(generator)
    scores = []
    for b in range(maps.batch):
        candidates = torch.nonzero(other_flat[b], as_tuple=True)[0]
        n_neg = min(int(counts[b]), candidates.numel())
        if n_neg == 0 or constant[b]:
            scores.append(_nan(flat.device))
            continue
        # The first n_neg of a random permutation == the n_neg smallest of i.i.d. uniform keys.
        keys = torch.rand(num_splits, candidates.numel(), generator=generator)
        chosen = candidates[_on(keys.topk(n_neg, dim=1, largest=False).indices, flat.device)]
        negatives = flat[b][chosen]  # [splits, n_neg]
        negative_mask = torch.ones_like(negatives, dtype=torch.bool)
        scores.append(_split_aucs(positives[b], mask[b], negatives, negative_mask, step).mean())
    return torch.stack(scores)


def _check_splits(num_splits: int, step: float) -> None:
    if int(num_splits) < 1:
        raise InputError(f"num_splits must be at least 1, got {num_splits}")
    if not 0 < step <= 1:
        raise InputError(f"step must be in (0, 1], got {step}")


def other_fixation_maps(
    fixations: torch.Tensor, num_other: int = 10, generator: torch.Generator | None = None
) -> torch.Tensor:
    """For each image, the union of the fixation maps of ``num_other`` other images of the batch,
    drawn without replacement (the benchmark's shuffled-AUC protocol uses 10 other images of the
    data set). Needs at least two images; uses all others when fewer than ``num_other`` exist."""
    fix, _ = binary_maps("fixations", fixations)
    batch = fix.shape[0]
    if batch < 2:
        raise InputError("other_fixation_maps: needs at least two images to shuffle fixations between")
    take = min(int(num_other), batch - 1)
    if take < 1:
        raise InputError(f"num_other must be at least 1, got {num_other}")
    keys = torch.rand(batch, batch, generator=default_generator(generator))
    keys.fill_diagonal_(math.inf)  # never pick the image itself
    chosen = _on(keys.topk(take, dim=1, largest=False).indices, fix.device)
    return fix[chosen].any(dim=1)
