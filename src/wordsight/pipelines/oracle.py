"""The shipped oracle: load it and score images against the objects their captions name."""

from __future__ import annotations

import functools
import itertools
import os
from pathlib import Path
from typing import Sequence

import torch

from ..data.synthetic import COLOR_NAMES, SHAPES, SIZES, parse_caption, relation, ObjectSpec
from ..hub import from_pretrained
from ..models.oracle import SceneOracle
from ..utils.checks import InputError

ASSET_DIR = Path(__file__).resolve().parent.parent / "assets" / "oracle"


@functools.lru_cache(maxsize=2)
def load_oracle(path: str | os.PathLike | None = None) -> SceneOracle:
    """The oracle shipped with the package (or one trained with `wordsight train oracle`)."""
    path = Path(path) if path is not None else ASSET_DIR
    if not (path / "model.safetensors").exists():
        raise InputError(f"oracle weights not found in {path}; rebuild them with scripts/train_oracle.sh")
    model = from_pretrained(path)
    if not isinstance(model, SceneOracle):
        raise InputError(f"{path} holds a {type(model).__name__}, not a SceneOracle")
    return model.eval()


def _relation_of(pred_pos: torch.Tensor, i: int, j: int) -> str:
    a = ObjectSpec("circle", "red", "small", float(pred_pos[i, 0]), float(pred_pos[i, 1]), 0.1)
    b = ObjectSpec("circle", "red", "small", float(pred_pos[j, 0]), float(pred_pos[j, 1]), 0.1)
    return relation(a, b)


@torch.no_grad()
def score_against_captions(oracle: SceneOracle, images: torch.Tensor, captions: Sequence[str]) -> dict[str, list]:
    """Per image and attribute: 1 if the oracle reads what the caption says, 0 if not, None if the
    caption does not say. Objects are matched by attributes (a caption's mention order need not be
    left to right); relations compare the predicted positions of the first two mentioned objects.

    ``color``/``shape``/``size`` ask only whether *some* object found has the stated value, so an image
    with several objects scores more often by chance. ``joint`` is the strict reading: the object count is
    right and every object the caption names is its own found object, with all its stated attributes."""
    if len(captions) != images.shape[0]:
        raise InputError(f"{images.shape[0]} images but {len(captions)} captions")
    pred = oracle.predict(images.float())
    names = {"color": COLOR_NAMES, "shape": SHAPES, "size": SIZES}
    out: dict[str, list] = {k: [] for k in ("count", "color", "shape", "size", "relation", "joint")}
    for b, cap in enumerate(captions):
        objs = parse_caption(cap)
        if not objs:
            raise InputError(f"caption {b} names no object the oracle knows: {cap!r}")
        slots = [
            {a: (names[a][int(pred[a][b, k])] if int(pred[a][b, k]) >= 0 else None) for a in names}
            for k in range(oracle.max_objects)
        ]
        count_ok = int(pred["count"][b]) == len(objs)
        out["count"].append(int(count_ok))
        found = [k for k, s in enumerate(slots) if s["shape"] is not None]
        fits = [[k for k in found if all(slots[k][a] == o[a] for a in names if o.get(a) is not None)] for o in objs]
        out["joint"].append(int(count_ok and any(len(set(pick)) == len(pick) for pick in itertools.product(*fits))))
        for attr in ("color", "shape", "size"):
            hits = []
            for o in objs:
                if o.get(attr) is None:
                    continue
                hits.append(any(s[attr] == o[attr] for s in slots if s["shape"] is not None))
            out[attr].append(float(sum(hits) / len(hits)) if hits else None)
        # relation: find the slots that best match the first two mentioned objects
        if "relation" in objs[0] and len(objs) >= 2:
            idx = []
            for o in objs[:2]:
                best = max(
                    (k for k in range(oracle.max_objects) if slots[k]["shape"] is not None and k not in idx),
                    key=lambda k: sum(slots[k][a] == o.get(a) for a in names),
                    default=None,
                )
                idx.append(best)
            ok = None not in idx and _relation_of(pred["position"][b], idx[0], idx[1]) == objs[0]["relation"]
            out["relation"].append(int(ok))
        else:
            out["relation"].append(None)
    return out


def summarize_scores(scores: dict[str, list]) -> dict[str, float]:
    """Mean of each attribute over the images whose caption states it (NaN when none does)."""
    res = {}
    for k, vals in scores.items():
        v = [x for x in vals if x is not None]
        res[k] = float(sum(v) / len(v)) if v else float("nan")
    return res
