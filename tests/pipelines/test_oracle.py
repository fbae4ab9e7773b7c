"""The shipped oracle reads attributes back from fresh rendered scenes (issue: >= 99% per attribute)."""

import numpy as np
import torch

from wordsight.data.synthetic import SyntheticWorld, WorldConfig
from wordsight.metrics.generation.oracle import score_against_captions, summarize_scores
from wordsight.models.oracle import load_oracle
from wordsight.training.oracle import evaluate_oracle
from wordsight.utils.images import pil_to_tensor


def test_shipped_oracle_reads_fresh_scenes_at_99_percent():
    oracle = load_oracle()
    for split in ("test", "heldout"):
        acc = evaluate_oracle(oracle, SyntheticWorld(WorldConfig(seed=77, image_size=64, split=split)), 300, offset=5_000_000)
        for attr in ("count", "color", "shape", "size"):
            assert acc[attr] >= 0.99, (split, attr, acc[attr])


def test_caption_scoring_on_real_scenes_and_noise():
    oracle = load_oracle()
    world = SyntheticWorld(WorldConfig(seed=5, image_size=64, split="test"))
    images = torch.stack([pil_to_tensor(world.scene(i).image) for i in range(64)])
    caps = [world.scene_captions(i)[1] for i in range(64)]
    real = summarize_scores(score_against_captions(oracle, images, caps))
    assert real["color"] >= 0.97 and real["shape"] >= 0.97 and real["size"] >= 0.97 and real["relation"] >= 0.9
    assert real["joint"] >= 0.9
    noise = torch.rand(64, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    fake = summarize_scores(score_against_captions(oracle, noise, caps))
    assert fake["color"] < 0.5 and fake["shape"] < 0.5 and fake["joint"] < 0.2


class _StubOracle:
    """Returns fixed predictions: one image, three slots."""

    max_objects = 3

    def __init__(self, count, colors, shapes, sizes):
        t = lambda v: torch.tensor([v])  # noqa: E731
        self.pred = {"count": t(count), "color": t(colors), "shape": t(shapes), "size": t(sizes),
                     "background": t(0), "position": torch.tensor([[[0.2, 0.5], [0.5, 0.5], [0.8, 0.5]]])}

    def predict(self, images):
        return self.pred


def test_joint_needs_the_count_and_one_found_object_per_named_object():
    from wordsight.data.synthetic import COLOR_NAMES, SHAPES, SIZES

    c, s, z = COLOR_NAMES.index, SHAPES.index, SIZES.index
    image, cap = torch.zeros(1, 3, 64, 64), ["a small red circle"]
    # three objects found, one of them the red small circle: every per-attribute score hits, joint does not
    many = score_against_captions(_StubOracle(3, [c("blue"), c("red"), c("green")], [s("star"), s("circle"), s("square")],
                                              [z("large"), z("small"), z("large")]), image, cap)
    assert (many["color"], many["shape"], many["size"], many["count"], many["joint"]) == ([1.0], [1.0], [1.0], [0], [0])
    # one object, right colour and size but the wrong shape
    wrong = score_against_captions(_StubOracle(1, [c("red"), -1, -1], [s("star"), -1, -1], [z("small"), -1, -1]), image, cap)
    assert (wrong["color"], wrong["shape"], wrong["joint"]) == ([1.0], [0.0], [0])
    right = score_against_captions(_StubOracle(1, [c("red"), -1, -1], [s("circle"), -1, -1], [z("small"), -1, -1]), image, cap)
    assert right["joint"] == [1]
    # two named objects may not share one found object, even with the right count
    two = ["a small red circle left of a small red circle"]
    shared = score_against_captions(_StubOracle(2, [c("red"), c("blue"), -1], [s("circle"), s("star"), -1],
                                                [z("small"), z("small"), -1]), image, two)
    assert shared["color"] == [1.0] and shared["joint"] == [0]
