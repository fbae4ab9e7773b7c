"""The synthetic world's manipulation triplets as training data (data.synthetic.manipulation)."""

import pytest
import torch

from wordsight.config import ConfigError
from wordsight.training import TrainConfig
from wordsight.training.data import RandomCaptionData
from wordsight.data.manipulation_pairs import OPERATIONS
from wordsight.training.objective import data_vocabulary
from wordsight.training.sources import build_data


def _data(n=40, **synthetic):
    cfg = TrainConfig(model={"image_size": 32}, data={"synthetic": {"manipulation": True, "num_scenes": n, **synthetic}})
    return build_data("synthetic", cfg, progress=False)


def test_items_are_triplets_that_change_only_inside_the_mask():
    data = _data()
    assert len(data) == 40 and data.description["manipulation"] is True
    ops = set()
    for i in range(len(data)):
        item = data[i]
        assert item["images"].shape == item["target_images"].shape == (3, 32, 32)
        assert item["change_mask"].shape == (1, 32, 32) and item["operation"] in OPERATIONS
        outside = item["change_mask"][0] == 0
        # every pixel the edit changed lies in the change mask; the edit changed something
        assert torch.equal(item["images"][:, outside], item["target_images"][:, outside]), i
        assert not torch.equal(item["images"], item["target_images"])
        ops.add(item["operation"])
    assert ops == set(OPERATIONS)
    assert torch.equal(data[5]["target_images"], _data()[5]["target_images"])  # a pure function of the index


def test_vocabulary_covers_the_instructions_and_the_captions():
    data = _data()
    words = data_vocabulary(data)
    assert words[:2] == ["<end>", "<unk>"]
    assert {"make", "turn", "remove", "add", "into"} <= set(words)  # instruction words, not in captions
    assert len(data.captions) == 40 and data.captions[3] == data[3]["captions"]
    with pytest.raises(ConfigError, match="has none"):
        data_vocabulary(RandomCaptionData(num_samples=4))


def test_one_object_scenes_never_remove():
    data = _data(n=30, min_objects=1, max_objects=1)
    assert "remove" not in {data[i]["operation"] for i in range(30)}
