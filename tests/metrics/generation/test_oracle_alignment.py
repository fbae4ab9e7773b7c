"""Oracle attribute accuracy on hand-built predictions."""

from __future__ import annotations

import math

import pytest
import torch

from wordsight.metrics.generation import attribute_accuracy
from wordsight.utils import InputError


def test_per_attribute_mean_joint_and_held_out():
    target = {"color": torch.tensor([0, 1, 2, 3]), "shape": torch.tensor([1, 1, 0, 0])}
    predicted = {"color": torch.tensor([0, 1, 0, 3]), "shape": torch.tensor([1, 0, 0, 0])}
    held_out = torch.tensor([False, False, True, True])
    out = attribute_accuracy(predicted, target, held_out=held_out)
    assert out["oracle_acc/color"] == 0.75 and out["oracle_acc/shape"] == 0.75
    assert out["oracle_acc_mean"] == 0.75
    assert out["oracle_acc_joint"] == 0.5  # rows 0 and 3 fully right
    assert out["oracle_heldout_acc/color"] == 0.5 and out["oracle_heldout_acc/shape"] == 1.0
    assert out["oracle_heldout_acc_joint"] == 0.5


def test_slots_with_ignore_index():
    target = {"color": torch.tensor([[2, -1, -1], [1, 4, -1]])}
    predicted = {"color": torch.tensor([[2, 5, -1], [1, 3, -1]])}
    out = attribute_accuracy(predicted, target, ignore_index=-1)
    assert out["oracle_acc/color"] == pytest.approx(2 / 3)
    assert out["oracle_acc_joint"] == 0.5
    scored_all = attribute_accuracy(predicted, target)
    assert scored_all["oracle_acc/color"] == pytest.approx(4 / 6)


def test_extra_predicted_attributes_are_ignored_and_all_ignored_gives_nan():
    target = {"size": torch.tensor([-1, -1])}
    out = attribute_accuracy({"size": torch.tensor([0, 1]), "count": torch.tensor([1, 2])}, target, ignore_index=-1)
    assert math.isnan(out["oracle_acc/size"]) and "oracle_acc/count" not in out


def test_bad_inputs():
    t = {"color": torch.tensor([0, 1])}
    with pytest.raises(InputError, match="lack attributes"):
        attribute_accuracy({}, t)
    with pytest.raises(InputError, match="not logits"):
        attribute_accuracy({"color": torch.randn(2, 5)}, t)
    with pytest.raises(InputError, match="shape"):
        attribute_accuracy({"color": torch.tensor([0, 1, 2])}, t)
    with pytest.raises(InputError, match="no samples"):
        attribute_accuracy(t, t, held_out=torch.tensor([False, False]))
