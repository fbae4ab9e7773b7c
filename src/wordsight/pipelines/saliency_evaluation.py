"""Evaluate saliency predictors on records with gaze data, against free-viewing baselines.

A *predictor* is any function ``record -> float map [H, W]`` at the record's image size: a
:class:`~wordsight.pipelines.saliency.Saliency` pipeline (:func:`pipeline_predictor`), the centre bias
or the training set's mean fixation map (:func:`baseline_predictors`). Metrics are the MIT benchmark
definitions of ``wordsight.metrics.saliency`` computed at the image's own size against its binary
fixation map (and its density map for CC / KLD / SIM when the record has one, else the MIT blur).
Scores are averaged per text category (seed 000's Table II: total, none, salient, nonsalient, general).

    result = evaluate_predictors({"model": pipeline_predictor(pipe), **baseline_predictors(train)}, test)
    print(format_table(result))
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Optional, Sequence

import numpy as np
import torch

from ..data.records import SaliencyRecord
from ..data.saliency_transforms import check_record, points_to_binary  # re-exported (see __all__)
from ..metrics.saliency import compute_saliency_metrics, fixation_density
from ..models.saliency_baselines import CentreBias, MeanFixationMap
from ..utils.checks import InputError

__all__ = [
    "EVAL_METRICS",
    "EvaluationResult",
    "TABLE_CATEGORIES",
    "baseline_predictors",
    "check_record",
    "evaluate_predictors",
    "format_table",
    "pipeline_predictor",
    "points_to_binary",
    "record_density",
]

EVAL_METRICS = ("auc_judd", "shuffled_auc", "nss", "cc", "kld", "sim")
# Seed 000's Table II columns, plus "scene" (SJTU-TIS whole-scene descriptions) when present.
TABLE_CATEGORIES = ("total", "none", "salient", "nonsalient", "general", "scene")
METRIC_LABELS = {"auc_judd": "AUC-J", "shuffled_auc": "sAUC", "nss": "NSS", "cc": "CC", "kld": "KLD", "sim": "SIM",
                 "auc_borji": "AUC-B", "information_gain": "IG"}

Predictor = Callable[[SaliencyRecord], np.ndarray]


def record_density(record: SaliencyRecord) -> np.ndarray:
    """The record's density map, or the MIT blur (fc = 8) of its binary fixation map."""
    if record.fixation_map is not None:
        return np.asarray(record.fixation_map, dtype=np.float64)
    return fixation_density(torch.from_numpy(record.binary_map())).numpy()


def pipeline_predictor(pipe) -> Predictor:
    """A pipeline as a predictor; text-guided pipelines get the record's text ("" when it has none)."""

    def predict(record: SaliencyRecord) -> np.ndarray:
        text = (record.text or "") if pipe.uses_text else None
        return pipe.compute_saliency(record.image, text=text)

    return predict


def baseline_predictors(train_records: Iterable[SaliencyRecord], size: tuple[int, int] = (64, 64)) -> dict[str, Predictor]:
    """Centre bias (Gaussian fitted to the training fixations) and the training set's mean fixation map."""
    fixations, densities = [], []
    for r in train_records:
        h, w = r.image.height, r.image.width
        if r.fixations is not None and len(r.fixations):
            fixations.append((r.fixations.x, r.fixations.y, h, w))
        else:
            ys, xs = np.nonzero(r.binary_map())
            fixations.append((xs.astype(np.float64), ys.astype(np.float64), h, w))
        if r.fixation_map is not None:
            densities.append(np.asarray(r.fixation_map, dtype=np.float64))
        else:  # blur at the baseline's own size: the full-size MIT blur costs 0.3 s per OSIE image
            densities.append(fixation_density(torch.from_numpy(points_to_binary(r.fixations, (h, w), size))).numpy())
    centre = CentreBias.fit(fixations)
    mean_map = MeanFixationMap.fit(densities, size=size)
    return {
        "centre_bias": lambda r: centre.predict(r.image.height, r.image.width),
        "mean_fixation_map": lambda r: mean_map.predict(r.image.height, r.image.width),
    }


@dataclass
class EvaluationResult:
    """Per-record scores of each predictor and their per-category means."""

    metrics: tuple[str, ...]
    keys: list[str]
    categories: list[Optional[str]]
    scores: dict[str, dict[str, np.ndarray]]  # predictor -> metric -> [N]
    summary: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # predictor -> category -> metric

    def to_json(self) -> dict:
        return {"metrics": list(self.metrics), "num_records": len(self.keys), "summary": self.summary,
                "counts": category_counts(self.categories)}


def category_counts(categories: Sequence[Optional[str]]) -> dict[str, int]:
    out = {"total": len(categories)}
    for c in categories:
        if c is not None:
            out[c] = out.get(c, 0) + 1
    return out


def _image_identity(record: SaliencyRecord) -> str:
    """What makes two records the same photo (SJTU-TIS shows one image with several texts)."""
    return str(record.path) if record.path is not None else record.key


def _fixated_points(binary: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    ys, xs = np.nonzero(binary)
    return ys, xs, binary.shape


def _other_fixations(targets: Sequence[SaliencyRecord], binaries: list[np.ndarray], pool: Sequence[SaliencyRecord],
                     pool_points: list, num_other: int, rng: np.random.Generator) -> list[Optional[np.ndarray]]:
    """For shuffled AUC: per record, the union of the fixations of ``num_other`` other images of ``pool``
    (the MIT code's otherMap of 10 other images of the data set), never the record's own image.
    Fixations of an image of another size are moved to the record's size by scaling their coordinates."""
    pool_ids = [_image_identity(r) for r in pool]
    out: list[Optional[np.ndarray]] = []
    for record, binary in zip(targets, binaries):
        own = _image_identity(record)
        others = [j for j, pid in enumerate(pool_ids) if pid != own]
        if not others:
            out.append(None)
            continue
        h, w = binary.shape
        union = np.zeros((h, w), dtype=bool)
        for j in rng.choice(others, size=min(num_other, len(others)), replace=False):
            ys, xs, (ph, pw) = pool_points[j]
            if (ph, pw) != (h, w):
                ys = np.minimum((ys * h) // ph, h - 1)
                xs = np.minimum((xs * w) // pw, w - 1)
            union[ys, xs] = True
        out.append(union)
    return out


def evaluate_predictors(
    predictors: Mapping[str, Predictor],
    records: Sequence[SaliencyRecord],
    metrics: Sequence[str] = EVAL_METRICS,
    num_other: int = 10,
    seed: int = 0,
    progress: bool = False,
    other_pool: Optional[Sequence[SaliencyRecord]] = None,
) -> EvaluationResult:
    """Score every predictor on every record (same random negatives for all predictors).

    Shuffled AUC's negatives of a record are the fixations of ``num_other`` other images drawn from
    ``other_pool`` (the whole data set, as the MIT benchmark does; ``evaluate saliency`` passes every
    split), or from ``records`` themselves when it is None.
    """
    if not records:
        raise InputError("no records to evaluate")
    metrics = tuple(metrics)
    for r in records:
        check_record(r)
    binaries = [r.binary_map() for r in records]
    rng = np.random.default_rng(seed)
    if "shuffled_auc" in metrics:
        pool = list(other_pool) if other_pool is not None else list(records)
        points = [_fixated_points(b) for b in binaries] if other_pool is None else \
            [_fixated_points(r.binary_map()) for r in pool]
        others = _other_fixations(records, binaries, pool, points, num_other, rng)
    else:
        others = [None] * len(records)
    scores = {name: {m: np.full(len(records), np.nan) for m in metrics} for name in predictors}
    iterator = range(len(records))
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc="evaluate", unit="map")
    for i in iterator:
        r = records[i]
        fix = torch.from_numpy(binaries[i])
        density = torch.from_numpy(record_density(r))
        other = torch.from_numpy(others[i]) if others[i] is not None else None
        names = [m for m in metrics if m != "shuffled_auc" or other is not None]
        for name, predict in predictors.items():
            pred = np.asarray(predict(r), dtype=np.float64)
            if pred.shape != binaries[i].shape:
                raise InputError(f"{name}: predicted map for {r.key} is {pred.shape}, expected {binaries[i].shape}")
            gen = torch.Generator().manual_seed(seed * 1_000_003 + i)  # same negatives for every predictor
            out = compute_saliency_metrics(torch.from_numpy(pred), fix, density, names=names,
                                           other_fixations=other, generator=gen)
            for m, v in out.items():
                scores[name][m][i] = float(v)
    categories = [r.category for r in records]
    result = EvaluationResult(metrics, [r.key for r in records], categories, scores)
    result.summary = {name: summarize(s, categories) for name, s in scores.items()}
    return result


def summarize(scores: Mapping[str, np.ndarray], categories: Sequence[Optional[str]]) -> dict[str, dict[str, float]]:
    """Mean of each metric over all records ("total") and per category (NaN scores are skipped)."""
    cats = np.asarray([c or "" for c in categories])
    out: dict[str, dict[str, float]] = {}
    for cat in TABLE_CATEGORIES:
        mask = np.ones(len(cats), bool) if cat == "total" else cats == cat
        if mask.any():
            out[cat] = {m: _nanmean(v[mask]) for m, v in scores.items()}
    return out


def _nanmean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else math.nan


def format_table(result: EvaluationResult, by_category: Optional[bool] = None) -> str:
    """Markdown table: one row per predictor (and category, for text-guided data)."""
    cats_present = [c for c in TABLE_CATEGORIES[1:] if any(c in s for s in result.summary.values())]
    by_category = bool(cats_present) if by_category is None else by_category
    cols = [METRIC_LABELS.get(m, m) for m in result.metrics]
    head = ["model"] + (["category"] if by_category else []) + cols
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, summary in result.summary.items():
        for cat in (["total"] + cats_present) if by_category else ["total"]:
            if cat not in summary:
                continue
            vals = [f"{summary[cat][m]:.3f}" for m in result.metrics]
            lines.append("| " + " | ".join([name] + ([cat] if by_category else []) + vals) + " |")
    return "\n".join(lines)
