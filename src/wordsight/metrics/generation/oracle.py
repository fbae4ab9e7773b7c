"""Oracle accuracy: how often an oracle reads back from a generated image what its caption asked for.

On the synthetic world an oracle CNN (trained on the world's renderer, never on captions; passed in by the
caller) reads each image into object slots (count, colour, shape, size, position). The caption is parsed
into the objects it names (:func:`wordsight.data.synthetic.parse_caption`) and each image is scored
against its own caption:

* ``color`` / ``shape`` / ``size``: the fraction of the caption's stated values that *some* object the
  oracle found has (so an image with several objects scores more often by chance);
* ``count``: the oracle counts as many objects as the caption names;
* ``relation``: the first two named objects stand as the caption says (captions with a relation only);
* ``joint`` (the strict score): the count is right and every named object is its own found object with
  all its stated attributes.

This is the one oracle-accuracy definition of wordsight: the registered metric ``oracle``, the shipped
model's ``eval.json`` and the quick-start tables all come from :func:`score_predictions`.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Mapping, Sequence

import torch

from ...data.synthetic import COLOR_NAMES, SHAPES, SIZES, ObjectSpec, SyntheticWorld, WorldConfig, parse_caption, relation
from ...utils.checks import InputError, check_shape
from ..extractors import FeatureExtractorSpec, module_feature_extractor
from .keys import (
    KEY_ORACLE_ACC_JOINT,
    KEY_ORACLE_ACC_MEAN,
    KEY_ORACLE_HELDOUT_ACC_JOINT,
    KEY_ORACLE_HELDOUT_ACC_MEAN,
    oracle_attribute_key,
)

ORACLE_SCORES = ("count", "color", "shape", "size", "relation", "joint")  # per image, see the module docstring
ORACLE_MEAN_OF = ("count", "color", "shape", "size")  # ``oracle_acc_mean``: relations are stated too rarely
ORACLE_RESIZE = "bilinear (antialias) to the oracle's 64x64 input, inside SceneOracle.embed"
EVALUATION_SEED = 1234  # the world seed of the evaluation captions of eval.json and the quick start
_NAMES = {"color": COLOR_NAMES, "shape": SHAPES, "size": SIZES}

Predictions = Mapping[str, torch.Tensor]


def evaluation_captions(n: int, seed: int = EVALUATION_SEED, min_objects: int = 1, max_objects: int = 1,
                        splits: Sequence[str] = ("test", "heldout"), **world_options: Any) -> dict[str, list[str]]:
    """The first caption of scenes ``0..n-1`` of each split: ``test`` (fresh scenes, seen colour/shape
    combinations) and ``heldout`` (unseen combinations and unseen templates). ``world_options`` are other
    :class:`~wordsight.data.synthetic.WorldConfig` fields (e.g. ``backgrounds``)."""
    if n < 1:
        raise InputError(f"evaluation_captions: n must be >= 1, got {n}")
    out = {}
    for split in splits:
        world = SyntheticWorld(WorldConfig(**{"image_size": 64, **world_options, "seed": seed, "split": split,
                                              "min_objects": min_objects, "max_objects": max_objects}))
        out[split] = [world.scene_captions(i)[0] for i in range(n)]
    return out


def _check_predictions(predictions: Predictions, n: int) -> int:
    missing = [k for k in ("count", *_NAMES) if k not in predictions]
    if missing:
        raise InputError(f"oracle predictions lack {missing} (have {sorted(predictions)}); expected SceneOracle.predict's "
                         "count [N], color/shape/size [N,K] (-1 = empty slot) and position [N,K,2]")
    check_shape("predictions['count']", predictions["count"], [n])
    slots = predictions["color"].shape[1] if predictions["color"].dim() == 2 else None
    for name in _NAMES:
        check_shape(f"predictions[{name!r}]", predictions[name], [n, slots])
    return int(slots)


def _relation_of(position: torch.Tensor, i: int, j: int) -> str:
    a = ObjectSpec("circle", "red", "small", float(position[i, 0]), float(position[i, 1]), 0.1)
    b = ObjectSpec("circle", "red", "small", float(position[j, 0]), float(position[j, 1]), 0.1)
    return relation(a, b)


def _score_relation(objs: list[dict], slots: list[dict], position: torch.Tensor | None) -> int | None:
    """The slots that best match the first two mentioned objects must stand in the stated relation."""
    if "relation" not in objs[0] or len(objs) < 2:
        return None
    if position is None:
        raise InputError("a caption states a relation but the oracle predictions have no 'position'")
    idx: list[int | None] = []
    for o in objs[:2]:
        best = max((k for k in range(len(slots)) if slots[k]["shape"] is not None and k not in idx),
                   key=lambda k: sum(slots[k][a] == o.get(a) for a in _NAMES), default=None)
        idx.append(best)
    return int(None not in idx and _relation_of(position, idx[0], idx[1]) == objs[0]["relation"])


def score_predictions(predictions: Predictions, captions: Sequence[str]) -> dict[str, list]:
    """Per image and score of :data:`ORACLE_SCORES`: 1 (or a fraction) if the oracle read what the caption
    says, 0 if not, None if the caption does not state it.

    Args:
        predictions: ``SceneOracle.predict`` output for N images: ``count`` [N] (1-based), ``color``/
            ``shape``/``size`` [N,K] class ids with -1 for an empty slot, ``position`` [N,K,2] (relations).
        captions: the caption of each image (objects are matched by attributes, so the mention order need
            not be left to right).
    """
    captions = list(captions)
    slots_n = _check_predictions(predictions, len(captions))
    pred = {k: v.detach().cpu() for k, v in predictions.items() if isinstance(v, torch.Tensor)}
    out: dict[str, list] = {k: [] for k in ORACLE_SCORES}
    for b, cap in enumerate(captions):
        objs = parse_caption(cap)
        if not objs:
            raise InputError(f"caption {b} names no object the oracle knows: {cap!r}")
        slots = [{a: (_NAMES[a][int(pred[a][b, k])] if int(pred[a][b, k]) >= 0 else None) for a in _NAMES}
                 for k in range(slots_n)]
        count_ok = int(pred["count"][b]) == len(objs)
        out["count"].append(int(count_ok))
        found = [k for k, s in enumerate(slots) if s["shape"] is not None]
        fits = [[k for k in found if all(slots[k][a] == o[a] for a in _NAMES if o.get(a) is not None)] for o in objs]
        out["joint"].append(int(count_ok and any(len(set(pick)) == len(pick) for pick in itertools.product(*fits))))
        for attr in _NAMES:
            hits = [any(slots[k][attr] == o[attr] for k in found) for o in objs if o.get(attr) is not None]
            out[attr].append(float(sum(hits) / len(hits)) if hits else None)
        out["relation"].append(_score_relation(objs, slots, pred["position"][b] if "position" in pred else None))
    return out


@torch.no_grad()
def score_against_captions(oracle: Any, images: torch.Tensor, captions: Sequence[str]) -> dict[str, list]:
    """:func:`score_predictions` of ``oracle.predict(images)``; ``images`` float [N,3,H,W] in [-1, 1]."""
    if len(captions) != images.shape[0]:
        raise InputError(f"{images.shape[0]} images but {len(captions)} captions")
    return score_predictions(oracle.predict(images.float()), captions)


def summarize_scores(scores: Mapping[str, list], rows: Sequence[bool] | None = None) -> dict[str, float]:
    """Mean of each score over the images (``rows``: a mask of those to count) whose caption states it
    (NaN when none does)."""
    res = {}
    for k, vals in scores.items():
        v = [x for i, x in enumerate(vals) if x is not None and (rows is None or rows[i])]
        res[k] = float(sum(v) / len(v)) if v else float("nan")
    return res


def accuracy_keys(summary: Mapping[str, float], held_out: bool = False) -> dict[str, float]:
    """:func:`summarize_scores` as result keys: ``oracle_acc/<score>``, ``oracle_acc_joint`` and
    ``oracle_acc_mean`` (mean of count, colour, shape and size), or ``oracle_heldout_...``."""
    out = {oracle_attribute_key(k, held_out): summary[k] for k in ORACLE_SCORES if k != "joint"}
    out[KEY_ORACLE_HELDOUT_ACC_JOINT if held_out else KEY_ORACLE_ACC_JOINT] = summary["joint"]
    out[KEY_ORACLE_HELDOUT_ACC_MEAN if held_out else KEY_ORACLE_ACC_MEAN] = float(
        torch.tensor([summary[k] for k in ORACLE_MEAN_OF], dtype=torch.float64).nanmean())
    return out


def accuracy_from_keys(record: Mapping[str, Any], held_out: bool = False) -> dict[str, float]:
    """The inverse of :func:`accuracy_keys`: ``{count, color, shape, size, relation, joint}``."""
    out = {k: record[oracle_attribute_key(k, held_out)] for k in ORACLE_SCORES if k != "joint"}
    out["joint"] = record[KEY_ORACLE_HELDOUT_ACC_JOINT if held_out else KEY_ORACLE_ACC_JOINT]
    return out


def caption_accuracy(predictions: Predictions, captions: Sequence[str], *,
                     held_out: torch.Tensor | None = None) -> dict[str, float]:
    """The registered metric ``oracle``: :func:`accuracy_keys` over all images, and over the ``held_out``
    rows (bool [N], e.g. captions of unseen colour/shape combinations) with ``oracle_heldout_`` keys."""
    scores = score_predictions(predictions, captions)
    out = accuracy_keys(summarize_scores(scores))
    if held_out is not None:
        mask = torch.as_tensor(held_out).cpu()
        check_shape("held_out", mask, [len(captions)])
        if mask.dtype != torch.bool:
            raise InputError(f"held_out: expected a bool mask, got {mask.dtype}")
        if not mask.any():
            raise InputError("held_out: the mask selects no samples")
        out.update(accuracy_keys(summarize_scores(scores, mask.tolist()), held_out=True))
    return out


def oracle_reader(oracle: Any, device: str = "cpu") -> Callable[[torch.Tensor], dict[str, torch.Tensor]]:
    """uint8 batches [B,3,H,W] -> ``oracle.predict`` of them in [-1, 1] (what the metric reads)."""

    @torch.no_grad()
    def read(images: torch.Tensor) -> dict[str, torch.Tensor]:
        pred = oracle.predict(images.to(device).float() / 127.5 - 1.0)
        return {k: v.cpu() for k, v in pred.items() if k in ("count", "position", *_NAMES)}

    return read


def oracle_feature_extractor(oracle: torch.nn.Module) -> FeatureExtractorSpec:
    """The oracle's penultimate features (``SceneOracle.embed``) as a torch-fidelity extractor (oracle FID/KID)."""
    return module_feature_extractor(oracle, "scene-oracle", method="embed", input_range=(-1.0, 1.0),
                                    resize=ORACLE_RESIZE)
