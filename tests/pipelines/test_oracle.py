"""The shipped oracle reads attributes back from fresh rendered scenes (issue: >= 99% per attribute)."""

import numpy as np
import torch

from wordsight.data.synthetic import SyntheticWorld, WorldConfig
from wordsight.pipelines.oracle import load_oracle, score_against_captions, summarize_scores
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
    noise = torch.rand(64, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    fake = summarize_scores(score_against_captions(oracle, noise, caps))
    assert fake["color"] < 0.5 and fake["shape"] < 0.5
