import pytest
import torch

from wordsight.config import ConfigError
from wordsight.text import ENCODERS, TextEncoder, TextFeatures, Vocabulary, build_text_encoder, validate_texts
from wordsight.text.bilstm import DAMSMTextEncoder
from wordsight.utils import InputError


def _features(b=2, t=5, d=8):
    return TextFeatures(torch.randn(b, t, d), torch.randn(b, d), torch.ones(b, t, dtype=torch.bool))


def test_text_features_checks_shapes_and_dtype():
    f = _features()
    assert f.batch_size == 2 and f.lengths.tolist() == [5, 5]
    moved = f.to("cpu")
    assert torch.equal(moved.words, f.words) and moved.mask.dtype == torch.bool
    with pytest.raises(InputError, match="sentence"):
        TextFeatures(torch.randn(2, 5, 8), torch.randn(3, 8), torch.ones(2, 5, dtype=torch.bool))
    with pytest.raises(InputError, match="mask"):
        TextFeatures(torch.randn(2, 5, 8), torch.randn(2, 8), torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(InputError, match="torch.bool"):
        TextFeatures(torch.randn(2, 5, 8), torch.randn(2, 8), torch.ones(2, 5))


def test_registry_lists_the_encoders():
    assert ENCODERS.names() == ["bilstm", "clip", "minilm", "rnn"]
    assert all(issubclass(ENCODERS.get(n), TextEncoder) for n in ENCODERS)


def test_build_text_encoder_rejects_misspelled_options():
    vocab = Vocabulary.build(["a red bird"])
    enc = build_text_encoder("bilstm", words=list(vocab.words), embedding_dim=8, hidden_dim=6)
    assert isinstance(enc, DAMSMTextEncoder) and enc.sentence_dim == 6
    with pytest.raises(ConfigError, match="hiden_dim.*valid"):
        build_text_encoder("bilstm", words=list(vocab.words), hiden_dim=6)
    with pytest.raises(KeyError, match="unknown text encoder 'bert'"):
        build_text_encoder("bert")


@pytest.mark.parametrize(
    "texts, message",
    [
        ("a red bird", "single string"),
        (None, "NoneType"),
        ([], "no captions"),
        (["a bird", ""], "caption 1 is empty"),
        (["   "], "caption 0 is empty"),
        (["a bird", 3.5], "caption 1: expected a string, got float"),
    ],
)
def test_validate_texts_errors(texts, message):
    with pytest.raises(InputError, match=message):
        validate_texts(texts)


def test_validate_texts_strips():
    assert validate_texts(("  a bird ", "b")) == ["a bird", "b"]
