"""evaluate_generation: all metrics from one pass, equal to the pure functions on the same evidence."""

from __future__ import annotations

import pytest
import torch

from wordsight.metrics import GenerationMetricOptions, evaluate_generation, module_feature_extractor
from wordsight.metrics.generation import attribute_accuracy, clip_score_from_embeddings, r_precision
from wordsight.utils import InputError


class ToyEncoder:
    """An ImageTextEncoder: pooled pixels -> D, captions -> D by a fixed hash of their characters."""

    def __init__(self, dim: int, seed: int):
        gen = torch.Generator().manual_seed(seed)
        self.image_proj = torch.randn(3 * 4 * 4, dim, generator=gen)
        self.char_table = torch.randn(128, dim, generator=gen)
        self.image_batches: list[int] = []

    def encode_images(self, images):
        self.image_batches.append(images.shape[0])
        pooled = torch.nn.functional.adaptive_avg_pool2d(images.float() / 255, 4).flatten(1)
        return pooled @ self.image_proj

    def encode_texts(self, texts):
        return torch.stack([self.char_table[[ord(c) % 128 for c in t]].mean(0) for t in texts])


def _oracle(images):
    mean = images.float().mean(dim=(2, 3))
    return {"color": mean.argmax(1), "size": (mean.mean(1) > 128).long()}


@pytest.fixture()
def world(make_images, tiny_net_cls):
    fake = make_images(60, seed=21)
    real = make_images(70, seed=22, brightness=0.2)
    captions = [f"scene {i} with {['red', 'blue', 'green'][i % 3]} things" for i in range(60)]
    labels = torch.arange(60) % 6
    targets = {"color": torch.arange(60) % 3, "size": torch.arange(60) % 2}
    held_out = torch.arange(60) >= 45
    spec = module_feature_extractor(tiny_net_cls(seed=23), "eval-test", features=("features", "logits"),
                                    classifier_layer="logits")
    return fake, real, captions, labels, targets, held_out, spec


def test_all_metrics_in_one_pass_equal_the_pure_functions(world):
    fake, real, captions, labels, targets, held_out, spec = world
    damsm, clip = ToyEncoder(8, 1), ToyEncoder(12, 2)
    options = GenerationMetricOptions(batch_size=16, kid_subsets=5, kid_subset_size=30, isc_splits=3)
    stream = (fake[i : i + 10] for i in range(0, 60, 10))  # one-shot: can only be read once
    out = evaluate_generation(
        stream, real, ["fid", "kid", "is", "r_precision", "clip_score", "oracle"], feature_extractor=spec,
        captions=captions, labels=labels, damsm=damsm, clip=clip, oracle=_oracle, target_attributes=targets,
        held_out=held_out, options=options,
    )
    assert damsm.image_batches == [16, 16, 16, 12] and clip.image_batches == [16, 16, 16, 12]
    separately = evaluate_generation(fake, real, ["fid", "kid", "is"], feature_extractor=spec, options=options)
    for key, value in separately.items():
        assert out[key] == pytest.approx(value, rel=1e-12)
    expected_r = r_precision(damsm.encode_images(fake), damsm.encode_texts(captions), labels=labels,
                             generator=torch.Generator().manual_seed(options.seed))
    assert out["r_precision_mean"] == expected_r["r_precision_mean"]
    expected_clip = clip_score_from_embeddings(clip.encode_images(fake), clip.encode_texts(captions))
    assert out["clip_score"] == pytest.approx(expected_clip["clip_score"], rel=1e-12)
    expected_oracle = attribute_accuracy(_oracle(fake), targets, held_out=held_out)
    for key, value in expected_oracle.items():
        assert out[key] == value


def test_missing_inputs_are_named(world):
    fake, real, captions, *_ , spec = world
    with pytest.raises(InputError, match="reference="):
        evaluate_generation(fake, None, ["fid"], feature_extractor=spec)
    with pytest.raises(InputError, match="captions="):
        evaluate_generation(fake, None, ["clip_score"], clip=ToyEncoder(4, 0))
    with pytest.raises(InputError, match="damsm="):
        evaluate_generation(fake, None, ["r_precision"], captions=captions)
    with pytest.raises(InputError, match="target_attributes="):
        evaluate_generation(fake, None, ["oracle"], oracle=_oracle)
    with pytest.raises(InputError, match="known: clip_score, fid, is, kid, oracle, r_precision"):
        evaluate_generation(fake, real, ["fdi"])
    with pytest.raises(InputError, match="captions"):
        evaluate_generation(fake, None, ["clip_score"], clip=ToyEncoder(4, 0), captions=captions[:10])
