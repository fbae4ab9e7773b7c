import math

import pytest
import torch
import torch.nn.functional as F

from wordsight.hub import from_pretrained, save_pretrained
from wordsight.models.tagan import TAGANDiscriminator, TAGANGenerator, text_adaptive_log_score
from wordsight.text.tokenizer import Vocabulary
from wordsight.utils.checks import InputError

CAPTIONS = ["a red bird", "a small blue bird with wings", "red wings", "a bird"]
WORDS = list(Vocabulary.build(CAPTIONS).words)
TINY = dict(image_size=32, nf=4, text_dim=8, word_embedding_dim=6)


def _images(b=4, size=32, seed=0):
    return torch.rand(b, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _g(**kw):
    torch.manual_seed(0)
    return TAGANGenerator(WORDS, c_dim=4, r_num=1, **{**TINY, **kw})


def _d(**kw):
    torch.manual_seed(0)
    return TAGANDiscriminator(WORDS, **{**TINY, **kw})


def test_generator_shapes_and_edit():
    G = _g()
    ids, lengths = G.tokenize(CAPTIONS)
    out, mu, logvar = G(_images(), ids, lengths)
    assert out.shape == (4, 3, 32, 32) and mu.shape == logvar.shape == (4, 4)
    assert out.abs().max() <= 1.0
    G.eval()  # CA uses mu: the edit is deterministic
    a, b = G.edit(_images(), CAPTIONS), G.edit(_images(), CAPTIONS)
    assert torch.equal(a, b) and a.shape == (4, 3, 32, 32)
    assert G.image_size == 32
    with pytest.raises(InputError):
        G.edit(_images(), CAPTIONS[:2])


def test_generator_sizes_and_ca_in_eval_mode():
    G = _g(image_size=16)  # G alone works from 8 px
    ids, lengths = G.tokenize(CAPTIONS)
    assert G(_images(size=16), ids, lengths)[0].shape == (4, 3, 16, 16)
    G.eval()
    c, mu, logvar = G.condition(torch.randn(4, 8))
    assert torch.equal(c, mu)
    with pytest.raises(InputError):
        TAGANGenerator(WORDS, image_size=48)


def test_discriminator_shapes():
    D = _d()
    ids, lengths = D.tokenize(CAPTIONS)
    logit, score, attention = D(_images(), ids, lengths)
    assert logit.shape == (4,) and score.shape == (4,) and attention.shape == ids.shape
    assert ((score > 0) & (score <= 1)).all()
    _, s = D.scores(_images(), ids, lengths)
    assert s.local_logits.shape == (4, ids.shape[1], 3) and s.layer_weights.shape == (4, ids.shape[1], 3)
    assert torch.allclose(s.score, score)
    with pytest.raises(InputError):
        TAGANDiscriminator(WORDS, image_size=16)  # the last stage is S/32
    D64 = _d(image_size=64)
    assert D64(_images(size=64), ids, lengths)[0].shape == (4,)


def test_attention_sums_to_one_over_real_words_and_ignores_padding():
    D = _d().eval()
    ids, lengths = D.tokenize(CAPTIONS)
    images = _images()
    _, score, attention = D(images, ids, lengths)
    mask = torch.arange(ids.shape[1])[None] < lengths[:, None]
    assert torch.allclose(attention.sum(1), torch.ones(4))
    assert (attention[~mask] == 0).all() and (attention[mask] > 0).all()
    # more padding, and padded positions holding real word ids: the same scores
    padded = F.pad(ids, (0, 5))
    garbage = torch.where(F.pad(mask, (0, 5)), padded, torch.full_like(padded, WORDS.index("red")))
    for other in (padded, garbage):
        _, s2, a2 = D(images, other, lengths)
        assert torch.allclose(s2, score, atol=1e-6)
        assert torch.allclose(a2[:, : ids.shape[1]], attention, atol=1e-6) and (a2[:, ids.shape[1]:] == 0).all()


def test_text_adaptive_product_on_a_hand_worked_example():
    ln2, ln3 = math.log(2.0), math.log(3.0)
    # word 1: sigmoid(0, ln 3, -ln 3) = (0.5, 0.75, 0.25), beta = softmax(ln 2, 0, 0) = (0.5, 0.25, 0.25)
    #         -> 0.25 + 0.1875 + 0.0625 = 0.5
    # word 2: every scale 0.75 -> 0.75 whatever beta; word 3: padding (its numbers must not matter)
    local = torch.tensor([[[0.0, ln3, -ln3], [ln3, ln3, ln3], [-50.0, -50.0, -50.0]]])
    layers = torch.tensor([[[ln2, 0.0, 0.0], [0.0, 1.0, 2.0], [9.0, 0.0, 0.0]]])
    att = torch.tensor([[0.0, ln3, 99.0]])  # alpha = (1/4, 3/4) over the two real words
    mask = torch.tensor([[True, True, False]])
    s = text_adaptive_log_score(local, layers, att, mask)
    expected = 0.5 ** 0.25 * 0.75 ** 0.75
    assert torch.allclose(s.score, torch.tensor([expected]))
    assert torch.allclose(s.attention, torch.tensor([[0.25, 0.75, 0.0]]))
    assert torch.allclose(s.word_log_scores, torch.tensor([[math.log(0.5), math.log(0.75), 0.0]]))
    assert torch.allclose(s.layer_weights[0, 0], torch.tensor([0.5, 0.25, 0.25]))
    with pytest.raises(InputError):
        text_adaptive_log_score(local, layers, att, torch.zeros(1, 3, dtype=torch.bool))


def test_discriminator_score_is_the_official_product():
    """prod_i (sum_j beta_ij sigmoid(s_ij)) ** alpha_i over real words, from D's own parts."""
    D = _d().eval()
    ids, lengths = D.tokenize(CAPTIONS)
    _, s = D.scores(_images(), ids, lengths)
    per_word = (s.layer_weights * torch.sigmoid(s.local_logits)).sum(-1)
    mask = torch.arange(ids.shape[1])[None] < lengths[:, None]
    product = torch.where(mask, per_word.pow(s.attention), torch.ones_like(per_word)).prod(1)
    assert torch.allclose(s.score, product, atol=1e-6)
    # the local classifier's weights are a function of the word: another caption, another score
    _, s_other = D.scores(_images(), torch.roll(ids, 1, 0), torch.roll(lengths, 1, 0))
    assert not torch.allclose(s.log_score, s_other.log_score)


def test_each_network_has_its_own_text_encoder():
    G, D = _g(), _d()
    assert G.text_encoder is not D.text_encoder
    assert G.text_encoder.rnn_type == "gru" and G.text_encoder.bidirectional and G.text_encoder.merge == "mean"
    assert D.text_encoder.word_dim == 8
    frozen = _g(freeze_embeddings=True)
    assert not frozen.text_encoder.embedding.weight.requires_grad


def test_save_and_load_round_trip(tmp_path):
    G, D = _g().eval(), _d().eval()
    ids, lengths = G.tokenize(CAPTIONS)
    images = _images()
    for net, name in ((G, "g"), (D, "d")):
        save_pretrained(net, tmp_path / name)
        again = from_pretrained(tmp_path / name).eval()
        assert type(again) is type(net)
        for a, b in zip(net(images, ids, lengths), again(images, ids, lengths)):
            assert torch.equal(a, b)
    assert from_pretrained(tmp_path / "g").text_encoder.vocabulary.words == G.text_encoder.vocabulary.words
