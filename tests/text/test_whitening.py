import pytest
import torch

from wordsight.hub import from_pretrained, save_pretrained
from wordsight.text.features import TextFeatures
from wordsight.text.whitening import SentenceWhitening, WhitenedEncoder
from wordsight.utils.checks import InputError


def _correlated(n=500, d=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(d, d, generator=g) * torch.logspace(0, -2, d)[:, None]  # strongly unequal variances
    return torch.randn(n, d, generator=g) @ mix + 3.0


def test_whitened_vectors_are_centred_decorrelated_unit_variance():
    x = _correlated()
    w = SentenceWhitening.fit(x, output_dim=5)
    z = w(x).double()
    assert z.shape == (500, 5)
    assert z.mean(0).abs().max() < 1e-4
    cov = torch.cov(z.T)
    assert torch.allclose(cov, torch.eye(5, dtype=torch.float64), atol=1e-3)


def test_whitening_keeps_the_top_principal_subspace():
    x = _correlated()
    w = SentenceWhitening.fit(x, output_dim=3)
    xc = (x - x.mean(0)).double()
    top = torch.linalg.svd(xc, full_matrices=False)[2][:3]          # reference: numpy-free SVD of the data
    proj = w.projection.double()
    # the projection's columns span the same subspace as the top-3 right singular vectors
    q = torch.linalg.qr(proj)[0]
    assert torch.allclose(q @ q.T, top.T @ top, atol=1e-4)


def test_fit_is_deterministic_and_sign_fixed():
    x = _correlated()
    a, b = SentenceWhitening.fit(x, 4), SentenceWhitening.fit(-(-x), 4)
    assert torch.equal(a.projection, b.projection)
    big = a.projection.abs().argmax(0)
    assert (a.projection[big, torch.arange(4)] > 0).all()


def test_save_and_load_round_trip(tmp_path):
    x = _correlated()
    w = SentenceWhitening.fit(x, 4)
    save_pretrained(w, tmp_path / "w")
    loaded = from_pretrained(tmp_path / "w")
    assert torch.equal(loaded(x), w(x))


def test_bad_input():
    with pytest.raises(InputError, match="more than 8"):
        SentenceWhitening.fit(torch.randn(8, 12), 8)
    with pytest.raises(InputError, match="NaN"):
        SentenceWhitening.fit(torch.full((50, 4), float("nan")), 2)
    rank2 = torch.randn(100, 2) @ torch.randn(2, 6)
    with pytest.raises(InputError, match="span only 2"):
        SentenceWhitening.fit(rank2, 4)
    with pytest.raises(InputError, match="sentence"):
        SentenceWhitening.fit(_correlated(), 4)(torch.randn(3, 7))


class _Fixed:
    sentence_dim, word_dim = 12, 12

    def __init__(self, table):
        self.table = table

    def encode(self, texts, strict=False):
        s = torch.stack([self.table[t] for t in texts])
        return TextFeatures(words=s[:, None], sentence=s, mask=torch.ones(len(texts), 1, dtype=torch.bool))


def test_whitened_encoder_applies_the_whitening_to_sentences_only():
    x = _correlated(n=50)
    base = _Fixed({f"c{i}": x[i] for i in range(50)})
    w = SentenceWhitening.fit(x, 4)
    enc = WhitenedEncoder(base, w)
    f = enc.encode(["c3", "c7"])
    assert enc.sentence_dim == 4
    assert torch.allclose(f.sentence, (x[[3, 7]] - w.mean) @ w.projection)
    assert torch.equal(f.words[:, 0], x[[3, 7]])
    with pytest.raises(InputError, match="expects 5-d"):
        WhitenedEncoder(base, SentenceWhitening(input_dim=5, output_dim=2))
