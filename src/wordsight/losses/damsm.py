"""The DAMSM losses of AttnGAN (Xu et al. CVPR 2018, sec. 3.3), as the official code computes them
(taoxugit/AttnGAN ``code/miscc/losses.py``: ``words_loss``, ``sent_loss``; ``code/GlobalAttention.py``:
``func_attention``). Equation numbers are those of the paper (seed 004).

Inputs follow wordsight's conventions: words [B, T, D] with a bool mask [B, T] (True at real tokens),
regions [B, D, R_h, R_w], global image and sentence vectors [B, D]. Row i of the image tensors and row i
of the text tensors form the matching pair; every other pair in the batch is a mismatch.

Word level, for image j (regions v_r) and caption i (words e_t):

- eq. 7:  s[t, r]   = e_t . v_r
- eq. 8:  s_bar     = softmax over the caption's words t (per region r)
- eq. 9:  alpha     = softmax over regions r of gamma1 * s_bar[t, r];  c_t = sum_r alpha[t, r] v_r
- eq. 10: R(Q_j, D_i) = log sum_t exp(gamma2 * cos(c_t, e_t))
- eq. 11-13: P(D_i | Q_j) = softmax_i(gamma3 * R(Q_j, D_i)); L1^w = CE over captions per image,
  L2^w = CE over images per caption.

Sentence level (L1^s, L2^s): the same posterior with R = cos(v_bar, e_bar). Eq. 14 sums the four.

Where the official code and the paper differ, we follow the code:
- eq. 10 in the paper is ``(1 / gamma2) * log sum exp``; the code drops the 1/gamma2 factor, so the
  effective posterior scale on the log-sum-exp is gamma3, not gamma3 / gamma2.
- the paper sums -log P over the batch (eq. 12-13); the code uses ``CrossEntropyLoss``, the mean.
- with class labels, pairs (j, i), j != i, of the *same class* are set to -inf before the softmax, so
  a same-class caption is never a negative.

All functions compute in float32 with autocast disabled, whatever the encoders ran in.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..utils.checks import InputError, check_shape

__all__ = [
    "COSINE_EPS",
    "DAMSMLoss",
    "GAMMA1",
    "GAMMA2",
    "GAMMA3",
    "MatchingLoss",
    "damsm_loss",
    "matching_loss",
    "same_class_mask",
    "sentence_loss",
    "sentence_scores",
    "sentence_hard_negative_loss",
    "word_region_attention",
    "word_level_scores",
    "words_loss",
]

# AttnGAN cfg/DAMSM/{bird,coco}.yml TRAIN.SMOOTH
GAMMA1 = 4.0  # eq. 9: sharpness of word -> region attention
GAMMA2 = 5.0  # eq. 10: weight of the most relevant word-context pair
GAMMA3 = 10.0  # eq. 11: posterior smoothing factor
COSINE_EPS = 1e-8  # official cosine_similarity: dot / clamp(|x| |y|, min=1e-8)


@dataclass
class MatchingLoss:
    """One level (word or sentence) of the DAMSM loss.

    image_to_text: L1 = -log P(D_i | Q_i), mean over the batch (eq. 12 / L1^s).
    text_to_image: L2 = -log P(Q_i | D_i), mean over the batch (eq. 13 / L2^s).
    scores: [B_image, B_text] relevance R(Q_j, D_i) before gamma3 and masking (eq. 10 / cosine).
    attention: word level only: [B, T, R_h, R_w], eq. 9 attention of caption i's words over image i's
        regions (zeros at padded words), for visualisation; None at sentence level.
    """

    image_to_text: torch.Tensor
    text_to_image: torch.Tensor
    scores: torch.Tensor
    attention: torch.Tensor | None = None

    @property
    def total(self) -> torch.Tensor:
        return self.image_to_text + self.text_to_image


@dataclass
class DAMSMLoss:
    """Eq. 14: ``total = words.total + sentence.total`` (L1^w + L2^w + L1^s + L2^s)."""

    words: MatchingLoss
    sentence: MatchingLoss

    @property
    def total(self) -> torch.Tensor:
        return self.words.total + self.sentence.total

    def as_floats(self) -> dict[str, float]:
        return {
            "loss": float(self.total.detach()),
            "w_loss0": float(self.words.image_to_text.detach()),
            "w_loss1": float(self.words.text_to_image.detach()),
            "s_loss0": float(self.sentence.image_to_text.detach()),
            "s_loss1": float(self.sentence.text_to_image.detach()),
        }


def _no_autocast(device: torch.device):
    return torch.autocast(device_type=device.type, enabled=False)


def _cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Cosine along the last dim, as AttnGAN's ``cosine_similarity``."""
    return (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1)).clamp(min=COSINE_EPS)


def _check_words(words: torch.Tensor, word_mask: torch.Tensor) -> dict[str, int]:
    dims = check_shape("words", words, ["B", "T", "D"])
    check_shape("word_mask", word_mask, [dims["B"], dims["T"]])
    if word_mask.dtype != torch.bool:
        raise InputError(f"word_mask: expected dtype torch.bool, got {word_mask.dtype}")
    if not word_mask.any(dim=1).all():
        empty = (~word_mask.any(dim=1)).nonzero().flatten().tolist()
        raise InputError(f"word_mask: captions {empty} have no words")
    return dims


def same_class_mask(
    class_ids: torch.Tensor | None, batch_size: int, device: torch.device | None = None
) -> torch.Tensor | None:
    """bool [B, B]: True at (j, i), j != i, where samples j and i share a class (AttnGAN's ``masks``).

    None when ``class_ids`` is None (every off-diagonal pair is a negative).
    """
    if class_ids is None:
        return None
    class_ids = torch.as_tensor(class_ids, device=device)
    check_shape("class_ids", class_ids, [batch_size])
    same = class_ids[:, None] == class_ids[None, :]
    return same & ~torch.eye(batch_size, dtype=torch.bool, device=same.device)


def matching_loss(
    scores: torch.Tensor, gamma3: float = GAMMA3, negatives_mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 11-13 from relevance scores [B_image, B_text]: (L1 image->text, L2 text->image), batch means.

    ``negatives_mask`` (bool [B, B], from :func:`same_class_mask`) removes pairs from both softmaxes.
    """
    dims = check_shape("scores", scores, ["B", "B"])
    logits = scores * gamma3  # eq. 11
    if negatives_mask is not None:
        check_shape("negatives_mask", negatives_mask, [dims["B"], dims["B"]])
        if negatives_mask.diagonal().any():
            raise InputError("negatives_mask: the diagonal (matching pairs) must be False")
        logits = logits.masked_fill(negatives_mask, float("-inf"))
    targets = torch.arange(dims["B"], device=scores.device)
    loss_image_to_text = F.cross_entropy(logits, targets)  # eq. 12: softmax over captions per image
    loss_text_to_image = F.cross_entropy(logits.t(), targets)  # eq. 13: softmax over images per caption
    return loss_image_to_text, loss_text_to_image


def word_region_attention(
    regions: torch.Tensor, words: torch.Tensor, word_mask: torch.Tensor, gamma1: float = GAMMA1
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 7-9 for every (image j, caption i) pair of the batch.

    Returns:
        context: [B_image, B_text, T, D], c_t of caption i's word t over image j's regions;
        attention: [B_image, B_text, T, R] (R = R_h * R_w), alpha of eq. 9.
    Padded words take no part in eq. 8's softmax; their rows are meaningless and must stay masked.
    """
    dims = _check_words(words, word_mask)
    check_shape("regions", regions, [None, dims["D"], None, None])
    v = regions.flatten(2)  # [Bi, D, R]
    s = torch.einsum("itd,jdr->jitr", words, v)  # eq. 7
    s = s.masked_fill(~word_mask[None, :, :, None], float("-inf"))
    s_bar = torch.softmax(s, dim=2)  # eq. 8: over the caption's words, per region
    attention = torch.softmax(gamma1 * s_bar, dim=3)  # eq. 9: over regions, per word
    context = torch.einsum("jitr,jdr->jitd", attention, v)  # eq. 9: c_t = sum_r alpha_r v_r
    return context, attention


def word_level_scores(
    regions: torch.Tensor,
    words: torch.Tensor,
    word_mask: torch.Tensor,
    gamma1: float = GAMMA1,
    gamma2: float = GAMMA2,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 10: R(Q_j, D_i) = log sum_t exp(gamma2 cos(c_t, e_t)) over caption i's real words.

    Returns (scores [B_image, B_text], attention maps [B, T, R_h, R_w] of the matching pairs).
    """
    with _no_autocast(regions.device):
        regions, words = regions.float(), words.float()
        context, attention = word_region_attention(regions, words, word_mask, gamma1)
        relevance = _cosine(context, words[None])  # [Bi, Bt, T], R(c_t, e_t)
        relevance = (gamma2 * relevance).masked_fill(~word_mask[None], float("-inf"))
        scores = torch.logsumexp(relevance, dim=2)  # eq. 10 as in the code (no 1/gamma2)
        b = words.shape[0]
        matched = attention[torch.arange(b), torch.arange(b)] * word_mask[..., None]
        return scores, matched.reshape(b, words.shape[1], *regions.shape[2:])


def words_loss(
    regions: torch.Tensor,
    words: torch.Tensor,
    word_mask: torch.Tensor,
    class_ids: torch.Tensor | None = None,
    gamma1: float = GAMMA1,
    gamma2: float = GAMMA2,
    gamma3: float = GAMMA3,
) -> MatchingLoss:
    """The word-level DAMSM loss (L1^w, L2^w) with attention maps; AttnGAN ``words_loss``.

    Args:
        regions: image region features [B, D, R_h, R_w] (the image encoder's first output).
        words: word features [B, T, D] of the matching captions; word_mask: bool [B, T].
        class_ids: optional class labels [B]; same-class mismatched pairs are left out of the softmax.
    """
    b = check_shape("regions", regions, ["B", None, None, None])["B"]
    check_shape("words", words, [b, None, None])
    scores, attention = word_level_scores(regions, words, word_mask, gamma1, gamma2)
    l1, l2 = matching_loss(scores, gamma3, same_class_mask(class_ids, b, scores.device))
    return MatchingLoss(l1, l2, scores, attention)


def sentence_scores(image_global: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
    """cos(v_bar_j, e_bar_i) for every pair: [B_image, B_text] (AttnGAN ``sent_loss`` scores0 / gamma3)."""
    dims = check_shape("image_global", image_global, ["B", "D"])
    check_shape("sentence", sentence, [None, dims["D"]])
    with _no_autocast(image_global.device):
        return _cosine(image_global.float()[:, None, :], sentence.float()[None, :, :])


def sentence_loss(
    image_global: torch.Tensor,
    sentence: torch.Tensor,
    class_ids: torch.Tensor | None = None,
    gamma3: float = GAMMA3,
) -> MatchingLoss:
    """The sentence-level DAMSM loss (L1^s, L2^s); AttnGAN ``sent_loss``."""
    b = check_shape("image_global", image_global, ["B", None])["B"]
    check_shape("sentence", sentence, [b, None])
    scores = sentence_scores(image_global, sentence)
    with _no_autocast(scores.device):
        l1, l2 = matching_loss(scores, gamma3, same_class_mask(class_ids, b, scores.device))
    return MatchingLoss(l1, l2, scores)


def sentence_hard_negative_loss(
    image_global: torch.Tensor, sentence: torch.Tensor, hard_sentence: torch.Tensor, gamma3: float = GAMMA3
) -> torch.Tensor:
    """Mean over images of -log P(D_i | Q_i) with a two-way softmax over {caption i, its hard negative}.

    Not in AttnGAN. Eq. 11's posterior restricted to the true caption and one hard negative (the same
    caption with one attribute word changed): softplus(gamma3 * (cos(v_i, e_hard_i) - cos(v_i, e_i))). The
    batch softmax of :func:`sentence_loss` is dominated by negatives of another colour; this term is only
    lowered by an image whose global vector reads the changed word.
    """
    b = check_shape("image_global", image_global, ["B", "D"])["B"]
    check_shape("sentence", sentence, [b, image_global.shape[1]])
    check_shape("hard_sentence", hard_sentence, [b, image_global.shape[1]])
    with _no_autocast(image_global.device):
        v = image_global.float()
        true, hard = _cosine(v, sentence.float()), _cosine(v, hard_sentence.float())
        return F.softplus(gamma3 * (hard - true)).mean()


def damsm_loss(
    regions: torch.Tensor,
    image_global: torch.Tensor,
    words: torch.Tensor,
    sentence: torch.Tensor,
    word_mask: torch.Tensor,
    class_ids: torch.Tensor | None = None,
    gamma1: float = GAMMA1,
    gamma2: float = GAMMA2,
    gamma3: float = GAMMA3,
) -> DAMSMLoss:
    """Eq. 14: L_DAMSM = L1^w + L2^w + L1^s + L2^s for a batch of matching (image, caption) pairs.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> regions, glob = torch.randn(4, 8, 3, 3, generator=g), torch.randn(4, 8, generator=g)
        >>> words, sent = torch.randn(4, 5, 8, generator=g), torch.randn(4, 8, generator=g)
        >>> mask = torch.arange(5)[None] < torch.tensor([5, 3, 2, 4])[:, None]
        >>> out = damsm_loss(regions, glob, words, sent, mask)
        >>> out.words.attention.shape
        torch.Size([4, 5, 3, 3])
    """
    with _no_autocast(regions.device):
        return DAMSMLoss(
            words=words_loss(regions, words, word_mask, class_ids, gamma1, gamma2, gamma3),
            sentence=sentence_loss(image_global, sentence, class_ids, gamma3),
        )
