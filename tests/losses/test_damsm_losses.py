"""DAMSM losses: equality with AttnGAN eq. 7-14 written out as explicit loops, masks, gradients."""

import math

import pytest
import torch

from wordsight.losses.damsm import (
    GAMMA1,
    GAMMA2,
    GAMMA3,
    damsm_loss,
    matching_loss,
    same_class_mask,
    sentence_loss,
    word_region_attention,
    words_loss,
)
from wordsight.utils.checks import InputError

LENGTHS = [4, 2, 3]


def _tiny_batch(seed=0, b=3, t=4, d=5, rh=2, rw=3):
    g = torch.Generator().manual_seed(seed)
    regions = torch.randn(b, d, rh, rw, generator=g, dtype=torch.float64)
    words = torch.randn(b, t, d, generator=g, dtype=torch.float64)
    mask = torch.arange(t)[None, :] < torch.tensor(LENGTHS)[:, None]
    image_global = torch.randn(b, d, generator=g, dtype=torch.float64)
    sentence = torch.randn(b, d, generator=g, dtype=torch.float64)
    return regions, words, mask, image_global, sentence


def _cos(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / max(math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)), 1e-8)


def _loop_relevance(regions, words, lengths, j, i):
    """R(Q_j, D_i) by the equations of the paper (with the official code's missing 1/gamma2)."""
    d = regions.shape[1]
    flat = regions[j].flatten(1)  # [D, R], regions in row-major order
    v = [[float(x) for x in flat[:, r]] for r in range(flat.shape[1])]
    e = [[float(x) for x in words[i, t]] for t in range(lengths[i])]
    n_r, n_t = len(v), len(e)
    s = [[sum(e[t][k] * v[r][k] for k in range(d)) for r in range(n_r)] for t in range(n_t)]  # eq. 7
    s_bar = [[math.exp(s[t][r]) / sum(math.exp(s[k][r]) for k in range(n_t)) for r in range(n_r)] for t in range(n_t)]  # eq. 8
    total = 0.0
    for t in range(n_t):
        z = sum(math.exp(GAMMA1 * s_bar[t][k]) for k in range(n_r))
        alpha = [math.exp(GAMMA1 * s_bar[t][r]) / z for r in range(n_r)]  # eq. 9
        c = [sum(alpha[r] * v[r][k] for r in range(n_r)) for k in range(d)]
        total += math.exp(GAMMA2 * _cos(c, e[t]))
    return math.log(total)  # eq. 10 as in AttnGAN's words_loss


def _loop_losses(score, b, same_class=None):
    """Eq. 11-13 (batch mean, as CrossEntropyLoss), leaving out same-class mismatched pairs."""
    def allowed(j, i):
        return i == j or same_class is None or not same_class[j][i]

    l1 = -sum(
        math.log(math.exp(GAMMA3 * score[q][q]) / sum(math.exp(GAMMA3 * score[q][k]) for k in range(b) if allowed(q, k)))
        for q in range(b)
    ) / b
    l2 = -sum(
        math.log(math.exp(GAMMA3 * score[q][q]) / sum(math.exp(GAMMA3 * score[k][q]) for k in range(b) if allowed(k, q)))
        for q in range(b)
    ) / b
    return l1, l2


@pytest.mark.parametrize("class_ids", [None, [0, 1, 0]])
def test_words_loss_matches_explicit_loops(class_ids):
    regions, words, mask, _, _ = _tiny_batch()
    out = words_loss(regions, words, mask, None if class_ids is None else torch.tensor(class_ids))
    b = len(LENGTHS)
    score = [[_loop_relevance(regions, words, LENGTHS, j, i) for i in range(b)] for j in range(b)]
    same = None if class_ids is None else [[class_ids[j] == class_ids[i] and i != j for i in range(b)] for j in range(b)]
    l1, l2 = _loop_losses(score, b, same)
    assert torch.allclose(out.scores.double(), torch.tensor(score, dtype=torch.float64), atol=1e-5)
    assert out.image_to_text.item() == pytest.approx(l1, abs=1e-4)
    assert out.text_to_image.item() == pytest.approx(l2, abs=1e-4)


@pytest.mark.parametrize("class_ids", [None, [2, 2, 5]])
def test_sentence_loss_matches_explicit_loops(class_ids):
    _, _, _, image_global, sentence = _tiny_batch(seed=1)
    out = sentence_loss(image_global, sentence, None if class_ids is None else torch.tensor(class_ids))
    b = len(LENGTHS)
    score = [[_cos(image_global[j].tolist(), sentence[i].tolist()) for i in range(b)] for j in range(b)]
    same = None if class_ids is None else [[class_ids[j] == class_ids[i] and i != j for i in range(b)] for j in range(b)]
    l1, l2 = _loop_losses(score, b, same)
    assert out.image_to_text.item() == pytest.approx(l1, abs=1e-5)
    assert out.text_to_image.item() == pytest.approx(l2, abs=1e-5)


def test_damsm_loss_is_the_sum_of_four_terms():
    regions, words, mask, image_global, sentence = _tiny_batch()
    out = damsm_loss(regions, image_global, words, sentence, mask)
    w = words_loss(regions, words, mask)
    s = sentence_loss(image_global, sentence)
    expected = w.image_to_text + w.text_to_image + s.image_to_text + s.text_to_image  # eq. 14
    assert out.total.item() == pytest.approx(expected.item(), rel=1e-6)
    assert set(out.as_floats()) == {"loss", "w_loss0", "w_loss1", "s_loss0", "s_loss1"}


def test_padded_words_do_not_change_anything():
    regions, words, mask, image_global, sentence = _tiny_batch()
    garbage = words.clone()
    garbage[~mask] = 1e3 * torch.randn(int((~mask).sum()), words.shape[2], dtype=words.dtype)
    a = damsm_loss(regions, image_global, words, sentence, mask)
    b = damsm_loss(regions, image_global, garbage, sentence, mask)
    assert a.total.item() == pytest.approx(b.total.item(), rel=1e-6)
    assert torch.equal(a.words.attention, b.words.attention)


def test_attention_maps_shape_normalisation_and_padding():
    regions, words, mask, _, _ = _tiny_batch()
    out = words_loss(regions, words, mask)
    assert out.attention.shape == (3, 4, 2, 3)
    sums = out.attention.flatten(2).sum(-1)
    assert torch.allclose(sums[mask], torch.ones(int(mask.sum()), dtype=sums.dtype), atol=1e-5)  # eq. 9 softmax
    assert torch.all(sums[~mask] == 0)
    context, attention = word_region_attention(regions.float(), words.float(), mask)
    assert context.shape == (3, 3, 4, 5) and attention.shape == (3, 3, 4, 6)
    assert torch.allclose(attention[1, 1].reshape(4, 2, 3)[mask[1]], out.attention[1][mask[1]].float(), atol=1e-6)


def test_gradients_reach_every_input_but_not_padding():
    regions, words, mask, image_global, sentence = (x.float() if x.is_floating_point() else x for x in _tiny_batch())
    tensors = [t.requires_grad_() for t in (regions, words, image_global, sentence)]
    damsm_loss(regions, image_global, words, sentence, mask).total.backward()
    for t in tensors:
        assert t.grad is not None and torch.isfinite(t.grad).all() and t.grad.abs().sum() > 0
    assert torch.all(words.grad[~mask] == 0)


def test_same_class_mask_and_its_effect():
    m = same_class_mask(torch.tensor([1, 2, 1, 1]), 4)
    expected = torch.tensor([[0, 0, 1, 1], [0, 0, 0, 0], [1, 0, 0, 1], [1, 0, 1, 0]], dtype=torch.bool)
    assert torch.equal(m, expected)
    assert same_class_mask(None, 4) is None
    # all classes distinct: the mask is empty and the loss equals the unlabelled one
    _, _, _, g, s = _tiny_batch()
    assert sentence_loss(g, s, torch.tensor([0, 1, 2])).total.item() == pytest.approx(sentence_loss(g, s).total.item())
    # a masked pair no longer counts as a negative: a very similar same-class caption costs nothing
    scores = torch.tensor([[1.0, 0.99], [0.99, 1.0]])
    l1, l2 = matching_loss(scores, negatives_mask=same_class_mask(torch.tensor([7, 7]), 2))
    assert l1.item() == pytest.approx(0.0) and l2.item() == pytest.approx(0.0)
    with pytest.raises(InputError, match="diagonal"):
        matching_loss(scores, negatives_mask=torch.ones(2, 2, dtype=torch.bool))


def test_aligned_pairs_give_low_loss_and_shuffled_pairs_high():
    g = torch.Generator().manual_seed(3)
    sentence = torch.randn(8, 16, generator=g)
    aligned = sentence_loss(sentence.clone(), sentence).total.item()
    shuffled = sentence_loss(sentence.roll(1, 0), sentence).total.item()
    assert aligned < 0.5 < 2 * math.log(8) < shuffled


def test_loss_is_float32_under_bf16_autocast():
    regions, words, mask, image_global, sentence = (x.float() if x.is_floating_point() else x for x in _tiny_batch())
    ref = damsm_loss(regions, image_global, words, sentence, mask).total
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = damsm_loss(regions, image_global, words, sentence, mask).total
    assert out.dtype == torch.float32
    assert out.item() == pytest.approx(ref.item(), rel=1e-6)


def test_bad_inputs_name_the_tensor():
    regions, words, mask, image_global, sentence = _tiny_batch()
    empty = mask.clone()
    empty[1] = False
    with pytest.raises(InputError, match="captions \\[1\\] have no words"):
        words_loss(regions, words, empty)
    with pytest.raises(InputError, match="regions"):
        words_loss(regions[:, :4], words, mask)
    with pytest.raises(InputError, match="word_mask"):
        words_loss(regions, words, mask.long())
    with pytest.raises(InputError, match="sentence"):
        sentence_loss(image_global, sentence[:2])
    with pytest.raises(InputError, match="class_ids"):
        sentence_loss(image_global, sentence, torch.tensor([0, 1]))
