import json

import pytest
import torch

from wordsight.text import EmbeddingCache, cache_key
from wordsight.utils import InputError


def test_key_depends_on_model_text_and_length():
    base = cache_key("m", "a bird", 64)
    assert base == cache_key("m", "a bird", 64) and len(base) == 64
    assert len({base, cache_key("m2", "a bird", 64), cache_key("m", "a bird.", 64), cache_key("m", "a bird", 32)}) == 4


def test_put_get_round_trip_across_instances(tmp_path):
    cache = EmbeddingCache(tmp_path / "c")
    items = {"k1": (torch.randn(3, 4), torch.randn(4)), "k2": (torch.randn(5, 4), torch.randn(4))}
    cache.put(items)
    cache.put({"k3": (torch.randn(2, 4), torch.randn(4))})
    reopened = EmbeddingCache(tmp_path / "c")
    assert len(reopened) == 3 and reopened.missing(["k1", "k9"]) == ["k9"]
    got = reopened.get(["k2", "k1"])
    assert torch.equal(got["k1"][0], items["k1"][0]) and torch.equal(got["k2"][1], items["k2"][1])
    assert len(list((tmp_path / "c").glob("shard-*.safetensors"))) == 2
    assert not list((tmp_path / "c").glob("*.tmp"))  # atomic writes leave no temporaries
    with pytest.raises(KeyError):
        reopened.get(["k9"])


def test_sees_entries_written_by_another_instance(tmp_path):
    reader = EmbeddingCache(tmp_path)
    EmbeddingCache(tmp_path).put({"k": (torch.zeros(1, 2), torch.zeros(2))})
    assert reader.missing(["k"]) == []


def test_corrupt_index_is_a_clear_error(tmp_path):
    (tmp_path / "index.json").write_text("{oops")
    with pytest.raises(InputError, match="index.json"):
        EmbeddingCache(tmp_path)
    (tmp_path / "index.json").write_text(json.dumps({"entries": {}}))
    with pytest.raises(InputError, match="not a wordsight text-cache"):
        EmbeddingCache(tmp_path)
