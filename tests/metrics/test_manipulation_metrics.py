"""Manipulation measures: preservation worked by hand, accuracy with the shipped oracle on the world's own
target images (a perfect edit) and on the unchanged sources (no edit)."""

import pytest
import torch

from wordsight.data.synthetic import SyntheticWorld, WorldConfig
from wordsight.metrics.manipulation import edit_accuracy, preservation
from wordsight.models.oracle import load_oracle
from wordsight.data.manipulation_pairs import SyntheticManipulationData
from wordsight.utils.checks import InputError


def test_preservation_by_hand():
    source = torch.zeros(1, 3, 2, 2) - 1  # black
    edited = source.clone()
    edited[0, :, 0, 0] = 1.0  # inside the mask: white, allowed
    edited[0, 0, 1, 1] = 0.0  # outside: red channel to mid-grey: diff 0.5 in [0, 1] units
    mask = torch.tensor([[[1.0, 0.0], [0.0, 0.0]]])
    out = preservation(edited, source, mask)
    assert out["l2_outside"] == pytest.approx(0.25 / (3 * 3))  # one channel of one of 3 outside pixels
    assert out["changed_outside"] == pytest.approx(1 / 3)
    with pytest.raises(InputError, match="cover every pixel"):
        preservation(edited, source, torch.ones(1, 2, 2))


def test_accuracy_is_high_for_the_true_targets_and_low_for_no_edit():
    world = SyntheticWorld(WorldConfig(seed=0, image_size=64, split="test", min_objects=1, max_objects=2))
    data = SyntheticManipulationData(world, 48)
    items = [data[i] for i in range(48)]
    targets = torch.stack([it["target_images"] for it in items])
    sources = torch.stack([it["images"] for it in items])
    caps, ops = [it["target_captions"] for it in items], [it["operation"] for it in items]
    oracle = load_oracle()
    perfect = edit_accuracy(oracle, targets, caps, ops)
    unchanged = edit_accuracy(oracle, sources, caps, ops)
    assert perfect["accuracy"] > 0.8 and unchanged["accuracy"] < perfect["accuracy"] - 0.3
    assert preservation(targets, sources, torch.stack([it["change_mask"] for it in items]))["l2_outside"] == 0.0
    with pytest.raises(InputError, match="unknown operations"):
        edit_accuracy(oracle, targets[:1], caps[:1], ["rotate"])
