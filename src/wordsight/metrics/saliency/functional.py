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
from .inputs import PreparedMaps, binary_maps, prepare, real_maps, same_batch, scratch
from .resize import imresize

# MATLAB's built-in ``eps`` (2^-52), which the benchmark's KLdiv.m / InfoGain.m call; pysaliency's MIT_KLDiv
# writes the rounded 2.2204e-16 instead, which differs on maps with values near zero.
MATLAB_EPS = float(np.finfo(np.float64).eps)  # 2.220446049250313e-16
JUDD_JITTER_SCALE = 1e-7  # AUC_Judd.m: saliencyMap + rand(size(saliencyMap)) / 10000000
# Seed of the random parts (AUC-Judd jitter, AUC-Borji / shuffled-AUC negatives, other-image choice) when no
# ``generator`` is given: the same inputs give the same scores in every run.
DEFAULT_METRIC_SEED = 0


# ----------------------------------------------------------------------------------------- helpers
#
# The metrics' per-pixel work is numpy on zero-copy views of the prepared float64 maps, one map at a
# time, with the few large temporaries written in place: at 480x640 one pass over a map costs about
# 0.05 ms, and an allocated temporary or a torch call on a [B, N] tensor costs as much again. Every
# formula below exists once; the public functions and ``compute_saliency_metrics`` share it.


def _min_max(flat: torch.Tensor) -> torch.Tensor:
    """(S - min) / (max - min) per row; constant rows become NaN, as in MATLAB (0 / 0)."""
    low, high = flat.amin(dim=1, keepdim=True), flat.amax(dim=1, keepdim=True)  # faster than aminmax on CPU
    return (flat - low) / (high - low)


def _trapezoid(x, y):
    """MATLAB ``trapz(x, y)`` along the last axis (numpy arrays or torch tensors)."""
    return ((x[..., 1:] - x[..., :-1]) * (y[..., 1:] + y[..., :-1])).sum(-1) / 2


def default_generator(generator: torch.Generator | None = None) -> torch.Generator:
    """``generator``, or a new CPU generator seeded with :data:`DEFAULT_METRIC_SEED`."""
    return generator if generator is not None else torch.Generator().manual_seed(DEFAULT_METRIC_SEED)


def _on(values: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Random numbers are drawn on the CPU (where the generator lives) and moved to the maps."""
    return values.to(device) if values.device != device else values


def _result(maps: PreparedMaps, scores: np.ndarray) -> torch.Tensor:
    """numpy scores [B] -> float64 tensor [B] on the maps' device."""
    return torch.from_numpy(np.asarray(scores, dtype=np.float64)).to(maps.saliency.device)


# -------------------------------------------------------------------------------- location based


def nss(saliency: torch.Tensor, fixations: torch.Tensor) -> torch.Tensor:
    """Normalized scanpath saliency (NSS.m): mean of the z-scored map at fixated pixels.

    The z-score uses MATLAB's ``std``, i.e. the N - 1 (unbiased) standard deviation.
    """
    prepared = prepare(saliency, fixations=fixations)
    return prepared.finish(nss_prepared(prepared))


def nss_prepared(maps: PreparedMaps) -> torch.Tensor:
    var, mean = maps.var_mean()
    indices, counts = maps.fixated_indices()
    flat = maps.view()
    fixated_sum = np.array([flat[b, index].sum() for b, index in enumerate(indices)], dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = (fixated_sum / counts - mean) / np.sqrt(var)  # 0 / 0 = NaN without fixations
    scores[maps.constant()] = math.nan
    return _result(maps, scores)


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
    maps.require_density("CC")
    moments = maps.moments(with_density=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = moments["cross"] / np.sqrt(moments["sum_squares"] * moments["density_sum_squares"])
    density_low, density_high = maps.extremes("density")
    scores[maps.constant() | (density_low == density_high)] = math.nan
    return _result(maps, scores)


def kld(saliency: torch.Tensor, density: torch.Tensor) -> torch.Tensor:
    """KL divergence of the saliency distribution from the density (KLdiv.m): lower is better.

    ``sum g * log(eps + g / (s + eps))`` with both maps divided by their sums (an all-zero map is
    left as it is), eps = 2^-52, and no min-max step, so maps must be non-negative (InputError
    otherwise).
    """
    prepared = prepare(saliency, density=density)
    return prepared.finish(kld_prepared(prepared))


def kld_prepared(maps: PreparedMaps) -> torch.Tensor:
    maps.require_density("KLD")
    if (maps.original_extremes()[0] < 0).any():
        raise InputError("saliency: KLD treats maps as distributions and needs values >= 0; found negatives")
    if (maps.extremes("density")[0] < 0).any():
        raise InputError("density: KLD treats maps as distributions and needs values >= 0; found negatives")
    flat, density = maps.view(), maps.view("density")
    low, _ = maps.extremes()
    sums, density_sums = maps.sums(), maps.sums("density")
    s, g = scratch(maps.pixels, 2)
    scores = np.empty(maps.batch)
    for b in range(maps.batch):
        source, total = flat[b], sums[b]
        if low[b] < 0:
            # Bicubic enlargement can overshoot below zero next to sharp edges; where MATLAB would take
            # the log of a negative number (a complex result) we clip the resized map at zero instead.
            source = np.maximum(source, 0.0, out=s)
            total = source.sum()
        # map / sum(map) (unless all zero); multiplying by the reciprocal differs from dividing by at
        # most one rounding and is three times faster.
        np.multiply(source, 1.0 / total if total != 0 else 1.0, out=s)
        s += MATLAB_EPS
        np.multiply(density[b], 1.0 / density_sums[b] if density_sums[b] != 0 else 1.0, out=g)
        np.divide(g, s, out=s)
        s += MATLAB_EPS
        np.log(s, out=s)  # log(eps + g / (s + eps))
        scores[b] = np.dot(g, s)
    return _result(maps, scores)


def sim(saliency: torch.Tensor, density: torch.Tensor) -> torch.Tensor:
    """Similarity / histogram intersection (similarity.m): sum of the pixel-wise minimum of the two
    min-max normalised, sum-normalised maps. An all-zero map stays zero; a constant non-zero map gives
    NaN, as in MATLAB."""
    prepared = prepare(saliency, density=density)
    return prepared.finish(sim_prepared(prepared))


def sim_prepared(maps: PreparedMaps) -> torch.Tensor:
    maps.require_density("SIM")
    flat, density = maps.view(), maps.view("density")
    (low, high), (density_low, density_high) = maps.extremes(), maps.extremes("density")
    sums, density_sums = maps.sums(), maps.sums("density")
    work = scratch(maps.pixels, 2)
    scores = np.empty(maps.batch)
    for b in range(maps.batch):
        zero = low[b] == 0 and high[b] == 0
        density_zero = density_low[b] == 0 and density_high[b] == 0
        if (low[b] == high[b] and not zero) or (density_low[b] == density_high[b] and not density_zero):
            scores[b] = math.nan  # min-max of a constant non-zero map: 0 / 0
            continue
        if zero or density_zero:
            scores[b] = 0.0  # an all-zero map stays zero, and min(0, q >= 0) = 0
            continue
        # (S - min) / (max - min) / sum(...) == (S - min) / sum(S - min): the range cancels, and
        # sum(min(p / P, q / Q)) = sum(min(p, q * P / Q)) / P. Maps with minimum 0 (densities, most
        # predictions) need no shifted copy.
        p, total = flat[b], sums[b]
        if low[b] != 0:
            p = np.subtract(p, low[b], out=work[0])
            total = p.sum()
        q, density_total = density[b], density_sums[b]
        if density_low[b] != 0:
            q = np.subtract(q, density_low[b], out=work[1])
            density_total = q.sum()
        ratio = total / density_total
        if math.isfinite(ratio) and ratio > 0:
            q = np.multiply(q, ratio, out=work[1])
            scores[b] = np.minimum(p, q, out=work[1]).sum() / total
        else:  # sums too far apart for one factor: normalise each map on its own
            p = np.divide(p, total, out=work[0])
            q = np.divide(q, density_total, out=work[1])
            scores[b] = np.minimum(p, q, out=work[1]).sum()
    return _result(maps, scores)


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


def auc_judd_prepared(
    maps: PreparedMaps, jitter: bool = True, generator: torch.Generator | None = None
) -> torch.Tensor:
    flat = maps.view()
    if jitter:  # one draw for the whole batch, [B, N] float64 (the noise array is then overwritten)
        noise = torch.rand(maps.saliency.shape, generator=default_generator(generator), dtype=torch.float64).numpy()
    indices, counts = maps.fixated_indices()
    scores = np.full(maps.batch, math.nan)
    for b in range(maps.batch):
        if counts[b] == 0:
            continue
        if jitter:
            row = np.multiply(noise[b], JUDD_JITTER_SCALE, out=noise[b])
            np.add(flat[b], row, out=row)  # saliencyMap + rand(size(saliencyMap)) / 10000000
            low, high = row.min(), row.max()
            shifted = np.subtract(row, low, out=row)
        else:
            low, high = maps.extremes()[0][b], maps.extremes()[1][b]
            shifted = np.subtract(flat[b], low, out=scratch(maps.pixels, 1)[0])
        scores[b] = _judd_one(shifted, indices[b], high - low)
    return _result(maps, scores)


def _judd_one(shifted: np.ndarray, index: np.ndarray, scale: float) -> float:
    """AUC-Judd of one flattened map given as ``shifted`` = S - min(S) and ``scale`` = max(S) - min(S)
    (the min-max map is ``shifted / scale``); ``index``: the fixated pixels. ``shifted`` may be
    overwritten."""
    fixated = np.sort(shifted[index])  # ascending; the MATLAB loop walks them descending
    with np.errstate(invalid="ignore", divide="ignore"):
        thresholds = fixated / scale  # the min-max values (division is monotone: still sorted)
    n_fix, n_pix = thresholds.size, shifted.size
    if not np.isfinite(thresholds[0]):  # constant map: min-max gave NaN
        return math.nan
    above = _count_at_least(shifted, scale, fixated[::-1], thresholds[::-1])  # #{S >= t}, t descending
    rank = np.arange(1, n_fix + 1, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        tp = np.concatenate([[0.0], rank / n_fix, [1.0]])
        fp = np.concatenate([[0.0], (above - rank) / (n_pix - n_fix), [1.0]])
    return float(_trapezoid(fp, tp))


def _count_at_least(
    shifted: np.ndarray, scale: float, shifted_thresholds: np.ndarray, thresholds: np.ndarray
) -> np.ndarray:
    """#{shifted / scale >= t} for each threshold t = shifted_threshold / scale, as float64.

    ``shifted`` (finite, >= 0, at most ``scale`` > 0) is a map minus its minimum; ``shifted / scale`` is
    its min-max map, which is only computed where a comparison needs it. Few thresholds or small maps:
    one vectorised compare-and-count per threshold. Otherwise one histogram of integer keys that grow
    with the value (:func:`_value_keys`) counts every pixel outside the thresholds' bins, and only the
    pixels in a threshold's bin (or the bin below, next to a bin edge) are compared exactly: at 480x640
    with 30 thresholds a few thousand pixels, and 0.9 ms instead of 1.3 ms for 30 counting passes
    (and 14 ms for a sort).
    """
    if thresholds.size <= _COUNT_LOOP_MAX and (thresholds.size <= 12 or shifted.size < 8192):
        values = shifted / scale
        return np.array([np.count_nonzero(values >= t) for t in thresholds.tolist()], dtype=np.float64)
    keys = _value_keys(shifted, scale, out=scratch(shifted.size, 2)[1].view(np.int64))
    histogram = np.bincount(keys, minlength=_KEY_BINS)
    threshold_keys = _value_keys(shifted_thresholds, scale)
    exact_bins = np.zeros(histogram.size, dtype=bool)
    exact_bins[threshold_keys] = True
    # A pixel just below a bin edge can round to the same min-max value as a threshold just above it:
    # the bin below joins the exact set when a threshold lies within 2^-40 (relative) of its bin's edge.
    edges = (shifted_thresholds.view(np.int64) >> _KEY_SHIFT << _KEY_SHIFT).view(np.float64)
    near_edge = (shifted_thresholds - edges) <= shifted_thresholds * 2.0**-40
    exact_bins[np.maximum(threshold_keys[near_edge] - 1, 0)] = True
    exact = shifted[exact_bins[keys]] / scale  # the few pixels sharing a bin with a threshold
    histogram[exact_bins] = 0
    at_least = np.cumsum(histogram[::-1])[::-1]  # at_least[k] = #{other pixels with key >= k}
    beyond = np.append(at_least[1:], 0)  # #{other pixels with key > k}
    if exact.size * thresholds.size <= 1 << 20:
        exact_counts = np.count_nonzero(exact[None, :] >= thresholds[:, None], axis=1)
    else:
        exact_counts = exact.size - np.searchsorted(np.sort(exact), thresholds, side="left")
    return (beyond[threshold_keys] + exact_counts).astype(np.float64)


_COUNT_LOOP_MAX = 64  # more thresholds than this always use the histogram
# Keys: the float64 bit pattern of a value >= 0 (which grows with the value) shifted right by 44 bits:
# the exponent and 8 mantissa bits, 256 bins per octave, for the _KEY_OCTAVES octaves below the scale;
# everything smaller shares bin 0. 7937 bins: the histogram stays in the L1/L2 cache.
_KEY_SHIFT = 44
_KEY_OCTAVES = 30
_KEY_BINS = (_KEY_OCTAVES + 1) << (52 - _KEY_SHIFT)


def _value_keys(values: np.ndarray, scale: float, out: np.ndarray | None = None) -> np.ndarray:
    """Integer keys of values in [0, scale]: k(a) < k(b) implies a < b, and k(a) = k(b) when a and b
    lie in one 1/256 octave (or both below 2^-30 scale)."""
    base = ((int(np.float64(scale).view(np.int64)) >> 52) - _KEY_OCTAVES) << (52 - _KEY_SHIFT)
    keys = np.right_shift(np.ascontiguousarray(values).view(np.int64), _KEY_SHIFT, out=out)
    np.subtract(keys, base, out=keys)
    return np.maximum(keys, 0, out=keys)


def matlab_colon(stop: torch.Tensor, step: float) -> tuple[torch.Tensor, torch.Tensor]:
    """MATLAB's ``0:step:stop`` for every element of ``stop`` (>= 0), padded to a common length.

    Follows MATLAB's colon algorithm: the count allows a 2 * eps * |stop| tolerance, the last point
    snaps to ``stop`` within it, the first half is ``k * step``, the second half is computed back from
    the last point, and an even count gets an exact midpoint. Returns values [..., T] and a mask.
    """
    values, valid = _matlab_colon(stop.detach().cpu().numpy().astype(np.float64), step)
    return torch.from_numpy(values).to(stop.device), torch.from_numpy(valid).to(stop.device)


def _matlab_colon(stop: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`matlab_colon` on a numpy float64 array."""
    tol = 2.0 * 2.220446049250313e-16 * np.abs(stop)
    count = np.floor(stop / step + 0.5)  # round half away from zero (stop >= 0)
    count = count - ((count * step - stop) > tol)
    last = count * step
    last = np.where((last - stop) > -tol, stop, last)
    length = int(count.max()) + 1 if count.size else 1
    k = np.arange(length, dtype=np.float64)
    count_, last_ = count[..., None], last[..., None]
    values = np.where(k >= np.ceil(count_ / 2), last_ - (count_ - k) * step, k * step)
    even_middle = (np.remainder(count_, 2) == 0) & (k == count_ / 2)
    values = np.where(even_middle, last_ / 2, values)
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
    pos = positives.detach().cpu().numpy()[positive_mask.cpu().numpy()]
    areas = _split_aucs_np(pos, negatives.detach().cpu().numpy(), step, negative_mask.cpu().numpy())
    return torch.from_numpy(areas).to(positives.device)


def _split_aucs_np(positives: np.ndarray, negatives: np.ndarray, step: float, negative_mask: np.ndarray | None = None):
    """:func:`_split_aucs` in numpy: positives [K] (all valid), negatives [S, M] (``negative_mask``
    [S, M] marks the valid ones; all when None) -> float64 [S]."""
    if negative_mask is None:
        top = np.maximum(positives.max(), negatives.max(axis=1))
        n_neg = np.full((negatives.shape[0], 1), float(negatives.shape[1]))
    else:
        top = np.maximum(positives.max(), np.where(negative_mask, negatives, -math.inf).max(axis=1))
        n_neg = negative_mask.sum(axis=1, keepdims=True).astype(np.float64)
    thresholds, valid = _matlab_colon(top, step)  # [S, T] ascending
    thresholds = np.where(valid, thresholds, math.inf)  # padding gives (0, 0) points: no area
    ordered = np.sort(positives)
    hits = (ordered.size - np.searchsorted(ordered, thresholds, side="left")) / float(positives.size)
    above = negatives[:, None, :] >= thresholds[..., None]
    if negative_mask is not None:
        above &= negative_mask[:, None, :]
    false = np.count_nonzero(above, axis=-1) / n_neg
    hits, false = hits[:, ::-1], false[:, ::-1]  # descending thresholds, as the MATLAB loop
    zeros, ones = np.zeros((hits.shape[0], 1)), np.ones((hits.shape[0], 1))
    return _trapezoid(np.concatenate([zeros, false, ones], 1), np.concatenate([zeros, hits, ones], 1))


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
    indices, counts = maps.fixated_indices()
    width = max(int(counts.max()), 1)
    # One draw for the whole batch, as wide as the most fixated map: map b uses the first counts[b]
    # of each split's ``width`` draws.
    draws = torch.randint(0, maps.pixels, (maps.batch, num_splits * width), generator=default_generator(generator))
    draws = draws.numpy().reshape(maps.batch, num_splits, width)
    flat = maps.view()
    (low, high), constant = maps.extremes(), maps.constant()
    scores = np.full(maps.batch, math.nan)
    for b in range(maps.batch):
        if counts[b] <= 1 or constant[b]:  # AUC_Borji.m: sum(fixationMap(:)) <= 1 -> NaN
            continue
        scale = high[b] - low[b]
        positives = (flat[b, indices[b]] - low[b]) / scale  # min-max values, as the normalised map
        negatives = (flat[b, draws[b, :, : counts[b]]] - low[b]) / scale
        scores[b] = _split_aucs_np(positives, negatives, step).mean()
    return _result(maps, scores)


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
    other_flat = other.detach().cpu().numpy().reshape(maps.batch, -1)
    indices, counts = maps.fixated_indices()
    flat = maps.view()
    (low, high), constant = maps.extremes(), maps.constant()
    generator = default_generator(generator)
    scores = np.full(maps.batch, math.nan)
    for b in range(maps.batch):
        candidates = np.flatnonzero(other_flat[b])
        n_neg = min(int(counts[b]), candidates.size)
        if n_neg == 0 or constant[b]:
            continue
        # The first n_neg of a random permutation == the n_neg smallest of i.i.d. uniform keys.
        keys = torch.rand(num_splits, candidates.size, generator=generator)
        chosen = _smallest(keys, n_neg)  # [splits, n_neg] indices into the candidates
        scale = high[b] - low[b]
        positives = (flat[b, indices[b]] - low[b]) / scale  # min-max values, as the normalised map
        candidate_values = (flat[b, candidates] - low[b]) / scale
        scores[b] = _split_aucs_np(positives, candidate_values[chosen], step).mean()
    return _result(maps, scores)


def _smallest(keys: torch.Tensor, k: int) -> np.ndarray:
    """Column indices of the k smallest keys of each row [S, M] -> [S, k] (as sets, like
    ``keys.topk(k, largest=False)``): a partition finds each row's k-th smallest key; rows where it
    is tied fall back to ``topk`` itself."""
    array = keys.numpy()
    if k == array.shape[1]:
        return np.broadcast_to(np.arange(k), array.shape)
    kth = np.partition(array, k - 1, axis=1)[:, k - 1 : k]
    chosen = array <= kth
    tied = np.flatnonzero(np.count_nonzero(chosen, axis=1) != k)
    rows, cols = np.nonzero(chosen)
    if tied.size == 0:
        return cols.reshape(array.shape[0], k)
    result = np.empty((array.shape[0], k), dtype=np.int64)
    tied_rows = set(tied.tolist())
    for row in range(array.shape[0]):
        if row in tied_rows:
            result[row] = keys[row].topk(k, largest=False).indices.numpy()
        else:
            result[row] = np.flatnonzero(chosen[row])
    return result


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
