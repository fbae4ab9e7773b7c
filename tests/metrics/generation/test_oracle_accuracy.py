"""The one oracle accuracy (caption-based), on hand-built predictions, and through the registered metric."""

from __future__ import annotations

import math

import pytest
import torch

from wordsight.data.synthetic import COLOR_NAMES, SHAPES, SIZES
from wordsight.metrics import evaluate_generation, list_metrics
from wordsight.metrics.generation import (
    accuracy_from_keys,
    caption_accuracy,
    evaluation_captions,
    score_predictions,
)
from wordsight.utils import InputError

C, S, Z = COLOR_NAMES.index, SHAPES.index, SIZES.index
CAPTIONS = [
    "a small red circle",                              # read right
    "a large blue star",                               # right object, plus an extra one: count and joint fail
    "a small green square",                            # one object, wrong shape
    "a small red circle left of a large blue star",    # two objects in the stated relation
]


def _predictions() -> dict[str, torch.Tensor]:
    slots = [  # (colour, shape, size) per slot, None = empty
        [("red", "circle", "small"), None, None],
        [("blue", "star", "large"), ("red", "circle", "small"), None],
        [("green", "triangle", "small"), None, None],
        [("red", "circle", "small"), ("blue", "star", "large"), None],
    ]
    pick = {"color": (0, C), "shape": (1, S), "size": (2, Z)}
    out = {a: torch.tensor([[f(o[i]) if o else -1 for o in row] for row in slots]) for a, (i, f) in pick.items()}
    out["count"] = torch.tensor([1, 2, 1, 2])
    out["position"] = torch.tensor([[[0.2, 0.5], [0.5, 0.5], [0.8, 0.5]]] * 4)
    return out


def test_scores_per_image_by_hand():
    scores = score_predictions(_predictions(), CAPTIONS)
    assert scores["color"] == [1.0, 1.0, 1.0, 1.0]
    assert scores["shape"] == [1.0, 1.0, 0.0, 1.0]
    assert scores["count"] == [1, 0, 1, 1]
    assert scores["joint"] == [1, 0, 0, 1]
    assert scores["relation"] == [None, None, None, 1]


def test_the_metric_keys_mean_and_held_out_rows():
    out = caption_accuracy(_predictions(), CAPTIONS, held_out=torch.tensor([False, False, True, True]))
    assert out["oracle_acc/color"] == 1.0 and out["oracle_acc/shape"] == 0.75 and out["oracle_acc/count"] == 0.75
    assert out["oracle_acc/relation"] == 1.0 and out["oracle_acc_joint"] == 0.5
    assert out["oracle_acc_mean"] == pytest.approx((0.75 + 1 + 0.75 + 1) / 4)  # count, colour, shape, size
    assert out["oracle_heldout_acc/shape"] == 0.5 and out["oracle_heldout_acc/count"] == 1.0
    assert out["oracle_heldout_acc_joint"] == 0.5
    assert accuracy_from_keys(out) == {"count": 0.75, "color": 1.0, "shape": 0.75, "size": 1.0, "relation": 1.0,
                                       "joint": 0.5}


def test_relation_is_nan_when_no_caption_states_one():
    out = caption_accuracy({k: v[:3] for k, v in _predictions().items()}, CAPTIONS[:3])
    assert math.isnan(out["oracle_acc/relation"]) and out["oracle_acc_joint"] == pytest.approx(1 / 3)


class _StubOracle:
    """predict() returns the hand-built predictions in order, whatever the images."""

    def __init__(self):
        self.pred, self.seen = _predictions(), 0

    def predict(self, images):
        lo, self.seen = self.seen, self.seen + images.shape[0]
        assert images.dtype == torch.float32 and images.min() >= -1 and images.max() <= 1
        return {k: v[lo:self.seen] for k, v in self.pred.items()}


def test_registered_metric_equals_the_function_in_any_batch_size():
    images = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    expected = caption_accuracy(_predictions(), CAPTIONS)
    from wordsight.metrics import GenerationMetricOptions

    for batch in (1, 3, 4):
        out = evaluate_generation(images, None, ["oracle"], captions=CAPTIONS, oracle=_StubOracle(),
                                  options=GenerationMetricOptions(batch_size=batch))
        assert out.keys() == expected.keys()
        assert all(out[k] == expected[k] or (math.isnan(out[k]) and math.isnan(expected[k])) for k in out)


def test_registered_names_and_errors():
    assert {"oracle", "oracle_fid", "oracle_kid"} <= set(list_metrics())
    images = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    with pytest.raises(InputError, match="captions="):
        evaluate_generation(images, None, ["oracle"], oracle=_StubOracle())
    with pytest.raises(InputError, match="oracle="):
        evaluate_generation(images, None, ["oracle"], captions=CAPTIONS)
    with pytest.raises(InputError, match="oracle_reference="):
        evaluate_generation(images, None, ["oracle_fid"], oracle=torch.nn.Identity())
    with pytest.raises(InputError, match="names no object"):
        score_predictions({k: v[:1] for k, v in _predictions().items()}, ["a blank canvas"])
    with pytest.raises(InputError, match="lack"):
        score_predictions({"count": torch.tensor([1])}, CAPTIONS[:1])


def test_evaluation_captions_follow_the_world_options():
    caps = evaluation_captions(6, max_objects=2, splits=("test",))
    assert list(caps) == ["test"] and len(caps["test"]) == 6
    assert caps == evaluation_captions(6, max_objects=2, splits=("test",))  # a function of its arguments
    assert evaluation_captions(3)["heldout"] != evaluation_captions(3)["test"]
