"""evaluate_generation: all metrics from one pass, equal to the pure functions on the same evidence."""

from __future__ import annotations

import math

import pytest
import torch

from wordsight.metrics import GenerationMetricOptions, evaluate_generation, module_feature_extractor
from wordsight.metrics.generation import caption_accuracy, clip_score_from_embeddings, r_precision
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
    """uint8 images -> oracle-style predictions: one object, colour from the brightest channel."""
    mean = images.float().mean(dim=(2, 3))
    one = lambda v: torch.stack([v, torch.full_like(v, -1), torch.full_like(v, -1)], dim=1)  # noqa: E731
    return {"count": torch.ones(images.shape[0], dtype=torch.long), "color": one(mean.argmax(1)),
            "shape": one(torch.zeros(images.shape[0], dtype=torch.long)), "size": one((mean.mean(1) > 128).long())}


@pytest.fixture()
def world(make_images, tiny_net_cls):
    fake = make_images(60, seed=21)
    real = make_images(70, seed=22, brightness=0.2)
    captions = [f"scene {i}: a {['small', 'large'][i % 2]} {['red', 'orange', 'yellow'][i % 3]} circle" for i in range(60)]
    labels = torch.arange(60) % 6
    held_out = torch.arange(60) >= 45
    spec = module_feature_extractor(tiny_net_cls(seed=23), "eval-test", features=("features", "logits"),
                                    classifier_layer="logits")
    return fake, real, captions, labels, held_out, spec


def test_all_metrics_in_one_pass_equal_the_pure_functions(world):
    fake, real, captions, labels, held_out, spec = world
    damsm, clip = ToyEncoder(8, 1), ToyEncoder(12, 2)
    options = GenerationMetricOptions(batch_size=16, kid_subsets=5, kid_subset_size=30, isc_splits=3)
    stream = (fake[i : i + 10] for i in range(0, 60, 10))  # one-shot: can only be read once
    out = evaluate_generation(
        stream, real, ["fid", "kid", "is", "r_precision", "clip_score", "oracle"], feature_extractor=spec,
        captions=captions, labels=labels, damsm=damsm, clip=clip, oracle=_oracle, held_out=held_out, options=options,
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
    expected_oracle = caption_accuracy(_oracle(fake), captions, held_out=held_out)
    for key, value in expected_oracle.items():
        assert out[key] == value or (math.isnan(value) and math.isnan(out[key])), key


class TinyOracle(torch.nn.Module):
    """A SceneOracle stand-in: ``embed`` features for oracle_fid/kid, ``predict`` for oracle."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 6, 3)

    def embed(self, images):
        return torch.nn.functional.adaptive_avg_pool2d(self.conv(images), 1).flatten(1)

    def predict(self, images):
        return _oracle(((images + 1) * 127.5).round().to(torch.uint8))


def test_oracle_fid_and_kid_equal_fid_and_kid_with_the_oracle_as_extractor(world):
    from wordsight.metrics.generation import evaluate_generation_by_metric, oracle_feature_extractor

    fake, real, captions, *_ = world
    with torch.random.fork_rng():  # leave the global RNG as it was for the tests that follow
        torch.manual_seed(0)
        oracle = TinyOracle()
    options = GenerationMetricOptions(batch_size=16, kid_subsets=5, kid_subset_size=30)
    out = evaluate_generation_by_metric(fake, None, ["oracle_fid", "oracle_kid", "oracle"], captions=captions,
                                        oracle=oracle, oracle_reference=real, options=options)
    assert set(out) == {"oracle_fid", "oracle_kid", "oracle"}
    assert set(out["oracle_kid"]) == {"oracle_kid_mean", "oracle_kid_std"} and "oracle_acc_joint" in out["oracle"]
    same = evaluate_generation(fake, real, ["fid", "kid"], feature_extractor=oracle_feature_extractor(oracle),
                               options=options)
    assert out["oracle_fid"]["oracle_fid"] == pytest.approx(same["fid"], rel=1e-12)
    assert out["oracle_kid"]["oracle_kid_mean"] == pytest.approx(same["kid_mean"], rel=1e-12)


def test_missing_inputs_are_named(world):
    fake, real, captions, *_ , spec = world
    with pytest.raises(InputError, match="reference="):
        evaluate_generation(fake, None, ["fid"], feature_extractor=spec)
    with pytest.raises(InputError, match="captions="):
        evaluate_generation(fake, None, ["clip_score"], clip=ToyEncoder(4, 0))
    with pytest.raises(InputError, match="damsm="):
        evaluate_generation(fake, None, ["r_precision"], captions=captions)
    with pytest.raises(InputError, match="captions="):
        evaluate_generation(fake, None, ["oracle"], oracle=_oracle)
    with pytest.raises(InputError, match="known: clip_score, fid, is, kid, oracle, oracle_fid, oracle_kid, r_precision"):
        evaluate_generation(fake, real, ["fdi"])
    with pytest.raises(InputError, match="captions"):
        evaluate_generation(fake, None, ["clip_score"], clip=ToyEncoder(4, 0), captions=captions[:10])
