"""Reference statistics: float64, keyed by content/split/size/resize/extractor, hits skip extraction."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wordsight.metrics import (
    evaluate_generation,
    fingerprint_images,
    load_reference_stats,
    module_feature_extractor,
    reference_statistics,
    stats_cache_key,
)
from wordsight.metrics.stats_cache import stats_key_fields
from wordsight.utils import InputError


@pytest.fixture()
def spec(tiny_net_cls):
    return module_feature_extractor(tiny_net_cls(seed=5), "cache-test")


@pytest.fixture()
def real(make_images):
    return make_images(40, seed=7)


def _key(images, spec, split="test"):
    fields = stats_key_fields(content_fingerprint=fingerprint_images(images), split=split,
                              image_size=tuple(images.shape[-2:]), extractor=spec, keep_features=True)
    return stats_cache_key(fields)


def test_key_changes_with_content_split_size_and_extractor(real, spec, tiny_net_cls):
    base = _key(real, spec)
    changed = real.clone()
    changed[3, 1, 5, 5] ^= 1  # one bit of one pixel
    other_spec = module_feature_extractor(tiny_net_cls(seed=6), "cache-test")  # same name, other weights
    assert _key(changed, spec) != base
    assert _key(real, spec, split="train") != base
    assert _key(real[:, :, :12, :12].contiguous(), spec) != base
    assert _key(real, other_spec) != base
    assert _key(real.clone(), spec) == base  # same content, new object: same key


def test_key_changes_with_resize_method(real, spec):
    from dataclasses import replace

    assert _key(real, replace(spec, resize="bicubic to 64")) != _key(real, spec)


def test_cache_hit_skips_extraction_and_returns_float64_stats(real, spec, tiny_net_cls, tmp_path):
    tiny_net_cls.calls.clear()
    first = reference_statistics(real, spec, split="test", cache_dir=tmp_path, batch_size=16)
    assert sum(tiny_net_cls.calls) == 40
    tiny_net_cls.calls.clear()
    second = reference_statistics(real, spec, split="test", cache_dir=tmp_path, batch_size=16)
    assert tiny_net_cls.calls == []  # read from disk, the network never ran
    assert len(list(tmp_path.glob("*.safetensors"))) == 1
    assert second.mean.dtype == torch.float64 and second.cov.dtype == torch.float64
    assert torch.equal(first.mean, second.mean) and torch.equal(first.cov, second.cov)
    assert torch.equal(first.features, second.features)
    feats = first.features.double().numpy()
    np.testing.assert_allclose(second.cov.numpy(), np.cov(feats, rowvar=False), rtol=1e-12)


def test_given_content_fingerprint_is_used_instead_of_hashing(real, spec, tmp_path):
    reference_statistics(real, spec, split="test", cache_dir=tmp_path, content_fingerprint="cub-test-v1")
    reference_statistics(real, spec, split="test", cache_dir=tmp_path, content_fingerprint="cub-test-v2")
    assert len(list(tmp_path.glob("*.safetensors"))) == 2


def test_changed_content_misses_the_cache(real, spec, tiny_net_cls, tmp_path):
    reference_statistics(real, spec, split="test", cache_dir=tmp_path)
    tiny_net_cls.calls.clear()
    reference_statistics(real[:30], spec, split="test", cache_dir=tmp_path)
    assert sum(tiny_net_cls.calls) == 30
    assert len(list(tmp_path.glob("*.safetensors"))) == 2


def test_damaged_cache_entry_is_recomputed(real, spec, tiny_net_cls, tmp_path):
    reference_statistics(real, spec, split="test", cache_dir=tmp_path)
    (entry,) = tmp_path.glob("*.safetensors")
    entry.write_bytes(b"not a safetensors file")
    with pytest.raises(InputError, match="cannot read reference statistics"):
        load_reference_stats(entry)
    tiny_net_cls.calls.clear()
    stats = reference_statistics(real, spec, split="test", cache_dir=tmp_path)
    assert sum(tiny_net_cls.calls) == 40 and stats.num_images == 40
    assert load_reference_stats(entry).num_images == 40  # rewritten


def test_cached_stats_give_the_same_fid_as_raw_reference_images(real, spec, make_images, tmp_path):
    fake = make_images(30, seed=8, brightness=0.2)
    stats = reference_statistics(real, spec, split="test", cache_dir=tmp_path)
    from_stats = evaluate_generation(fake, stats, ["fid"], feature_extractor=spec)
    from_images = evaluate_generation(fake, real, ["fid"], feature_extractor=spec)
    assert from_stats["fid"] == pytest.approx(from_images["fid"], rel=1e-12)


def test_stats_of_another_extractor_are_refused(real, spec, tiny_net_cls, tmp_path):
    stats = reference_statistics(real, spec, split="test", cache_dir=tmp_path)
    other = module_feature_extractor(tiny_net_cls(seed=9), "other")
    with pytest.raises(InputError, match="reference statistics come from"):
        evaluate_generation(real, stats, ["fid"], feature_extractor=other)


def test_one_shot_iterables_cannot_be_cached(real, spec, tmp_path):
    with pytest.raises(InputError, match="re-readable"):
        reference_statistics(iter(real), spec, split="test", cache_dir=tmp_path, content_fingerprint="x")


def test_split_is_required(real, spec, tmp_path):
    with pytest.raises(InputError, match="split"):
        reference_statistics(real, spec, split="", cache_dir=tmp_path)
