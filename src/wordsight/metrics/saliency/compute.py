"""Registry of the saliency metrics and one entry point that computes several of them at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from ...utils import InputError, Registry
from .blur import MIT_CUTOFF_CYCLES, fixation_density
from .functional import (
    auc_borji_prepared,
    default_generator,
    auc_judd_prepared,
    cc_prepared,
    information_gain_prepared,
    kld_prepared,
    nss_prepared,
    other_fixation_maps,
    shuffled_auc_prepared,
    sim_prepared,
)
from .inputs import PreparedMaps, binary_maps, prepare


@dataclass
class MetricInputs:
    """What the metrics of one chunk of a :func:`compute_saliency_metrics` call share: the prepared
    maps (checked once, with cached statistics) and the options."""

    maps: PreparedMaps
    other_fixations: torch.Tensor | None
    baseline: torch.Tensor | None
    generator: torch.Generator | None
    num_splits: int
    jitter: bool = True


@dataclass(frozen=True)
class SaliencyMetric:
    """A registered metric: its function of the shared inputs, whether it compares against the
    density map (CC, KLD, SIM) rather than fixations, and its direction."""

    name: str
    compute: Callable[[MetricInputs], torch.Tensor]
    needs_density: bool = False
    higher_is_better: bool = True


SALIENCY_METRICS: Registry[SaliencyMetric] = Registry("saliency metric")


def _register(name: str, compute: Callable[[MetricInputs], torch.Tensor], **flags: bool) -> None:
    SALIENCY_METRICS.register(name, SaliencyMetric(name, compute, **flags))


_register("auc_judd", lambda m: auc_judd_prepared(m.maps, m.jitter, m.generator))
_register("auc_borji", lambda m: auc_borji_prepared(m.maps, m.num_splits, generator=m.generator))
_register(
    "shuffled_auc",
    lambda m: shuffled_auc_prepared(m.maps, m.other_fixations, m.num_splits, generator=m.generator),
)
_register("nss", lambda m: nss_prepared(m.maps))
_register("cc", lambda m: cc_prepared(m.maps), needs_density=True)
_register("kld", lambda m: kld_prepared(m.maps), needs_density=True, higher_is_better=False)
_register("sim", lambda m: sim_prepared(m.maps), needs_density=True)
_register("information_gain", lambda m: information_gain_prepared(m.maps, m.baseline))

DEFAULT_METRICS = ("auc_judd", "shuffled_auc", "nss", "cc", "kld", "sim")


def compute_saliency_metrics(
    saliency: torch.Tensor,
    fixations: torch.Tensor,
    density: torch.Tensor | None = None,
    names: Sequence[str] = DEFAULT_METRICS,
    other_fixations: torch.Tensor | None = None,
    baseline: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    num_splits: int = 100,
    num_other: int = 10,
    average: str | None = None,
    chunk_size: int = 2,
    jitter: bool = True,
) -> dict[str, torch.Tensor]:
    """Compute several saliency metrics for a batch of maps.

    Args:
        saliency: maps [B, H, W] (any size; resized to the fixation maps' size).
        fixations: bool fixation maps [B, H', W'].
        density: blurred fixation maps [B, H', W'] for CC / KLD / SIM; built with
            :func:`fixation_density` (fc = 8) when omitted.
        names: metric names from ``SALIENCY_METRICS``.
        other_fixations: bool [B, H', W'] negatives for shuffled AUC; when omitted each image gets the
            union of ``num_other`` other images of the batch (:func:`other_fixation_maps`).
        baseline: information-gain baseline; the centre-bias map when omitted.
        generator: the source of the random parts (AUC-Judd jitter, Borji / shuffled negatives,
            other-image choice); default: one generator seeded with ``DEFAULT_METRIC_SEED``, so the
            same call gives the same scores.
        average: None for per-image scores [B]; "images" for their mean (the MIT benchmark's
            reduction); "fixations" for the mean weighted by each image's number of fixated pixels
            (pysaliency's default ``average='fixation'``).
        chunk_size: maps prepared together (checked, converted to float64, resized); the random
            draws (jitter, negatives) are made per chunk, so it is part of what a seed reproduces.
            The kernels then work one map at a time.
        jitter: AUC-Judd's tie-breaking noise (on, as the MATLAB default; ``False`` keeps ties).

    Returns:
        ``{name: float64 tensor [B]}`` (0-d tensors when ``average`` is set).

    >>> import torch
    >>> fix = torch.zeros(2, 16, 16, dtype=torch.bool); fix[:, 8, 8] = True; fix[1, 3, 4] = True
    >>> sal = torch.rand(2, 16, 16, generator=torch.Generator().manual_seed(0))
    >>> scores = compute_saliency_metrics(sal, fix, names=["nss", "auc_judd"])
    >>> sorted(scores), tuple(scores["nss"].shape)
    (['auc_judd', 'nss'], (2,))
    """
    if isinstance(names, str):
        names = [names]
    metrics = [SALIENCY_METRICS.get(name) for name in names]
    if not metrics:
        raise InputError("compute_saliency_metrics: no metric names given")
    fixation_batch, _ = binary_maps("fixations", fixations)
    if chunk_size < 1:
        raise InputError(f"chunk_size must be at least 1, got {chunk_size}")
    generator = default_generator(generator)
    if other_fixations is None and any(metric.name == "shuffled_auc" for metric in metrics):
        other_fixations = other_fixation_maps(fixation_batch, num_other, generator)
    chunks = []
    for start in range(0, fixation_batch.shape[0], chunk_size):
        part = slice(start, start + chunk_size)
        chunks.append(_compute_chunk(metrics, saliency, fixations, density, other_fixations, baseline, generator,
                                     num_splits, part, jitter))
    results = {metric.name: torch.cat([chunk[metric.name] for chunk in chunks]) for metric in metrics}
    single = all(t is None or t.dim() == 2 for t in (saliency, fixations, density))
    if single:  # one [H, W] map in, 0-d scores out, like the metric functions
        results = {name: scores.reshape(()) for name, scores in results.items()}
    if average is None:
        return results
    return {name: average_scores(scores.reshape(-1), fixations, over=average) for name, scores in results.items()}


def _chunk_of(tensor: torch.Tensor | None, part: slice, shared_if_single: bool = False) -> torch.Tensor | None:
    """The batch slice of a [B, H, W] input; [H, W] inputs (and a 1-map baseline) are shared."""
    if not isinstance(tensor, torch.Tensor) or tensor.dim() < 3 or (shared_if_single and tensor.shape[0] == 1):
        return tensor
    return tensor[part]


def _compute_chunk(metrics, saliency, fixations, density, other_fixations, baseline, generator, num_splits, part, jitter):
    maps = prepare(_chunk_of(saliency, part), fixations=_chunk_of(fixations, part), density=_chunk_of(density, part))
    if maps.density is None and any(metric.needs_density for metric in metrics):
        built = fixation_density(_chunk_of(fixations, part), MIT_CUTOFF_CYCLES)
        maps.density = built.to(maps.saliency.device).reshape(maps.batch, -1)
    maps.planned = tuple(metric.name for metric in metrics)  # e.g. NSS then also takes CC's cross moment
    inputs = MetricInputs(maps, _chunk_of(other_fixations, part), _chunk_of(baseline, part, shared_if_single=True), generator, num_splits,
                         jitter)
    return {metric.name: metric.compute(inputs) for metric in metrics}


def average_scores(
    scores: torch.Tensor,
    fixations: torch.Tensor | None = None,
    over: str = "images",
    fixation_counts: torch.Tensor | None = None,
) -> torch.Tensor:
    """Reduce per-image scores [B] to one number.

    ``over="images"``: plain mean (MIT benchmark). ``over="fixations"``: mean weighted by each image's
    number of fixations, which is how pysaliency's ``average='fixation'`` weighs images; the count is
    the number of fixated pixels of ``fixations`` unless ``fixation_counts`` [B] gives the true
    number of fixations (pysaliency counts repeated fixations on one pixel separately). NaN scores
    propagate, as in MATLAB's ``mean``.
    """
    if scores.dim() != 1:
        raise InputError(f"scores: expected per-image scores [B], got shape {tuple(scores.shape)}")
    if over == "images":
        return scores.mean()
    if over != "fixations":
        raise InputError(f"average: expected 'images' or 'fixations', got {over!r}")
    if fixation_counts is None:
        if fixations is None:
            raise InputError("average over fixations needs the fixation maps or fixation_counts")
        fix, _ = binary_maps("fixations", fixations)
        fixation_counts = fix.flatten(1).sum(dim=1)
    weights = fixation_counts.to(device=scores.device, dtype=torch.float64)
    if weights.shape != scores.shape:
        raise InputError(f"fixation_counts has shape {tuple(weights.shape)} but scores {tuple(scores.shape)}")
    # Images without fixations carry no weight (their NaN score must not poison the mean).
    weighted = torch.where(weights > 0, scores * weights, 0.0)
    return weighted.sum() / weights.sum()
