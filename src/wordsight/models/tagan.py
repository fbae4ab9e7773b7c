"""TAGAN: Text-Adaptive Generative Adversarial Networks (Nam, Kim and Kim, "Text-Adaptive Generative
Adversarial Networks: Manipulating Images with Natural Language", NeurIPS 2018, arXiv:1810.11919; official
code woozzu/tagan ``model.py``). G edits an image so that it matches a text and keeps what the text does
not mention; D judges, word by word, whether an image matches a text.

Text: each network has its own encoder, word vectors (fastText 300-d, kept fixed in the paper) -> a
bidirectional GRU (512 units) whose two directions are averaged (:class:`wordsight.text.rnn.RNNTextEncoder`
with ``merge="mean"``). The sentence vector is the mean of the word features over the real words (the
official ``cond = h.sum(0) / mask.sum(0)``), not the GRU's last state.

:class:`TAGANGenerator` (official ``Generator``): an encoder conv3x3 3->nf (ReLU) then three stride-2 conv4x4
+ BN + ReLU (nf -> 2nf -> 4nf -> 8nf, S/8); conditioning augmentation on the sentence (mu and log sigma from
a linear layer + LeakyReLU 0.2 each, c = mu + sigma * eps, c = mu in eval mode); c replicated spatially and
concatenated with the image code -> conv3x3 + BN + ReLU + ``r_num`` residual blocks; the decoder (three
nearest x2 upsamplings + conv3x3 + BN + ReLU, conv3x3 to RGB, Tanh) reads ``code + residual(code, c)``:
that sum is the skip connection that lets G copy the text-irrelevant content of the input.

:class:`TAGANDiscriminator` (official ``Discriminator``), the *text-adaptive* discriminator: an image encoder
of five stride-2 conv4x4 stages (nf, 2nf, 4nf | 8nf | 8nf; LeakyReLU 0.2, BN after the first), an
unconditional real/fake head (a conv whose kernel covers the last S/32 map) and, at three scales (after the
3rd, 4th and 5th stage), a conv3x3 + BN + LeakyReLU followed by global average pooling, v_j. For each word
feature w_i of the caption (eqs. 2-5):

    f_ij   = sigmoid(W_j(w_i) . v_j + b_j(w_i))        word-conditioned local discriminators   (eq. 2)
    alpha_i = softmax_i(w_i . w_mean) over real words    word attention, w_mean = mean word      (eq. 3)
    beta_ij = softmax_j(B(w_i))                          per-word weights of the three scales    (eq. 4)
    D(x, t) = prod_i (sum_j beta_ij f_ij) ^ alpha_i                                              (eq. 5)

W_j, b_j (``gen_filter`` in the official code: one Linear(text_dim, C_j + 1) per scale) turn a word into
the weights of a linear classifier, so what is checked depends on the word ("red" looks at colour
features, the scale weights beta decide at which depth). The product is computed in log space,

    log D(x, t) = sum_i alpha_i log sum_j exp(log beta_ij + log sigmoid(s_ij)),

exact and without the official ``clamp(sim + 1e-7, max=1)`` (which only guards log 0 and 0 ** 0): padding
words get alpha = 0 and contribute nothing. :meth:`TAGANDiscriminator.scores` gives the log-probability
(what the losses use: BCE(D, 1) = -log D); ``forward`` gives the probability D(x, t) in (0, 1).

models/ may not import text/ (tests/test_layering.py), so the text encoder class is looked up by its
registered name, as :mod:`wordsight.models.tirg` does.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..hub import register_model
from ..utils.checks import InputError, check_shape
from ..utils.model_registry import model_class

__all__ = ["TAGANGenerator", "TAGANDiscriminator", "TAGANScores", "text_adaptive_log_score", "masked_mean_words"]

TEXT_ENCODER_MODEL_TYPE = "rnn_text_encoder"  # wordsight.text.rnn.RNNTextEncoder
NUM_SCALES = 3  # the discriminator's three feature scales (official GAP_1, GAP_2, GAP_3)


def tagan_init(module: nn.Module) -> None:
    """The official ``init_weights``: conv/linear weights N(0, 0.02) and zero biases, BN weights N(1, 0.02).
    The text encoder (an embedding and a GRU) keeps PyTorch's defaults, as the official GRUCells do; frozen
    parameters are left alone (a frozen embedding holds loaded word vectors)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            if m.weight.requires_grad:
                nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None and m.bias.requires_grad:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d) and m.affine:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def _check_size(image_size: int, minimum: int, what: str) -> None:
    if image_size < minimum or image_size & (image_size - 1):
        raise InputError(f"{what}: image_size must be a power of two >= {minimum}, got {image_size}")


def _text_encoder(words: Sequence[str], text_dim: int, word_embedding_dim: int, max_length: int,
                  freeze_embeddings: bool) -> nn.Module:
    if not words:
        raise InputError("TAGAN: the vocabulary (words) is empty")
    return model_class(TEXT_ENCODER_MODEL_TYPE)(
        list(words), embedding_dim=word_embedding_dim, hidden_dim=text_dim, rnn="gru", bidirectional=True,
        merge="mean", max_length=max_length, freeze_embeddings=freeze_embeddings)


def _tokenize(encoder: nn.Module, texts: Sequence[str], pad_to: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    ids, lengths = encoder.tokenize(texts)
    if pad_to is not None:
        if pad_to < ids.shape[1]:
            raise InputError(f"pad_to={pad_to} is shorter than the longest text ({ids.shape[1]} words)")
        ids = F.pad(ids, (0, pad_to - ids.shape[1]))  # 0 = the padding id
    return ids, lengths


def masked_mean_words(words: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of word features [B, T, D] over the real words of mask [B, T] -> [B, D] (official
    ``h.sum(0) / mask.sum(0)``; the encoder's word features are already zero at padding)."""
    m = mask.to(words.dtype)[..., None]
    return (words * m).sum(1) / m.sum(1).clamp_min(1.0)


class TAGANResidualBlock(nn.Module):
    """x + BN(conv3x3(ReLU(BN(conv3x3(x))))) (official ``ResidualBlock``); ``relu_after_sum`` gives
    ReLU(x + ...), the official SISGAN ``ResidualBlock`` (same author, same layers)."""

    def __init__(self, channels: int, relu_after_sum: bool = False):
        super().__init__()
        self.relu_after_sum = relu_after_sum
        self.block = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x + self.block(x)
        return F.relu(y) if self.relu_after_sum else y


@register_model("tagan_generator")
class TAGANGenerator(nn.Module):
    """(image [B, 3, S, S] in [-1, 1], text) -> edited image [B, 3, S, S] in [-1, 1].

    Args:
        words: the vocabulary in id order (``Vocabulary.words``) of its own text encoder.
        image_size: S, a power of two >= 8 (official 128; three stride-2 convs down to S/8).
        nf: base width (official 64: encoder 64-128-256-512, decoder back down).
        text_dim: GRU units per direction = the word/sentence feature size (official 512).
        word_embedding_dim: word-vector size (fastText 300). c_dim: conditioning size (official 128).
        r_num: residual blocks after the fusion conv (official 4).
        max_length: word limit of the text encoder. freeze_embeddings: keep the word vectors fixed.
    """

    def __init__(self, words: Sequence[str], image_size: int = 128, nf: int = 64, text_dim: int = 512,
                 word_embedding_dim: int = 300, c_dim: int = 128, r_num: int = 4, max_length: int = 32,
                 freeze_embeddings: bool = False):
        super().__init__()
        _check_size(image_size, 8, "TAGANGenerator")
        if min(nf, text_dim, word_embedding_dim, c_dim, max_length) < 1 or r_num < 0:
            raise InputError("TAGANGenerator: nf, text_dim, word_embedding_dim, c_dim and max_length must be >= 1, r_num >= 0")
        self.image_size, self.c_dim, self.max_length = image_size, c_dim, max_length
        self.text_encoder = _text_encoder(words, text_dim, word_embedding_dim, max_length, freeze_embeddings)
        self.encoder = nn.Sequential(
            nn.Conv2d(3, nf, 3, 1, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(nf, nf * 2, 4, 2, padding=1, bias=False), nn.BatchNorm2d(nf * 2), nn.ReLU(inplace=True),
            nn.Conv2d(nf * 2, nf * 4, 4, 2, padding=1, bias=False), nn.BatchNorm2d(nf * 4), nn.ReLU(inplace=True),
            nn.Conv2d(nf * 4, nf * 8, 4, 2, padding=1, bias=False), nn.BatchNorm2d(nf * 8), nn.ReLU(inplace=True))
        # official: mu = LeakyReLU(Linear(512, 128)), log_sigma = LeakyReLU(Linear(512, 128)); one Linear to
        # 2 * c_dim split in two is the same map
        self.ca = nn.Linear(text_dim, 2 * c_dim)
        self.residual_blocks = nn.Sequential(
            nn.Conv2d(nf * 8 + c_dim, nf * 8, 3, padding=1, bias=False), nn.BatchNorm2d(nf * 8), nn.ReLU(inplace=True),
            *[TAGANResidualBlock(nf * 8) for _ in range(r_num)])
        up = []
        for cin, cout in ((nf * 8, nf * 4), (nf * 4, nf * 2), (nf * 2, nf)):
            up += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                   nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
        self.decoder = nn.Sequential(*up, nn.Conv2d(nf, 3, 3, padding=1), nn.Tanh())
        tagan_init(self)

    def tokenize(self, texts: Sequence[str], pad_to: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Texts -> (ids long [B, T], lengths [B]); ``pad_to`` pads T (e.g. to ``max_length``, so that id
        batches of different texts can be concatenated)."""
        return _tokenize(self.text_encoder, texts, pad_to)

    def sentence(self, token_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The sentence vector [B, text_dim]: the mean word feature over the real words (official)."""
        feats = self.text_encoder(token_ids, lengths)
        return masked_mean_words(feats.words, feats.mask)

    def condition(self, sentence: torch.Tensor, noise: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Conditioning augmentation: (c, mu, logvar), each [B, c_dim]; logvar = 2 log sigma. c = mu in eval
        mode without ``noise`` (a deterministic edit)."""
        h = F.leaky_relu(self.ca(sentence), 0.2)
        mu, log_sigma = h[:, : self.c_dim], h[:, self.c_dim:]
        if noise is None:
            noise = torch.randn_like(mu) if self.training else torch.zeros_like(mu)
        return mu + log_sigma.exp() * noise, mu, 2.0 * log_sigma

    def forward(self, images: torch.Tensor, token_ids: torch.Tensor, lengths: torch.Tensor,
                noise: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """-> (edited images [B, 3, S, S] in [-1, 1], mu [B, c_dim], logvar [B, c_dim])."""
        dims = check_shape("images", images, ["B", 3, self.image_size, self.image_size])
        check_shape("token_ids", token_ids, [dims["B"], "T"])
        return self.decode(images, self.sentence(token_ids, lengths), noise)

    def decode(self, images: torch.Tensor, sentence: torch.Tensor,
               noise: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """images and sentence vectors [B, text_dim] -> (edited images, mu, logvar)."""
        dims = check_shape("images", images, ["B", 3, self.image_size, self.image_size])
        check_shape("sentence", sentence, [dims["B"], self.ca.in_features])
        code = self.encoder(images)
        c, mu, logvar = self.condition(sentence, noise)
        c = c[:, :, None, None].expand(-1, -1, code.shape[2], code.shape[3]).to(code.dtype)
        merged = self.residual_blocks(torch.cat((code, c), dim=1))
        return self.decoder(code + merged), mu, logvar  # code + ...: the skip connection (official ``e + merge``)

    def encode_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """Texts -> sentence vectors [B, text_dim] (what ``edit_encoded`` takes; TAGAN Fig. 7 interpolates them)."""
        ids, lengths = self.tokenize(texts)
        device = self.ca.weight.device
        return self.sentence(ids.to(device), lengths.to(device))

    def edit_encoded(self, images: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
        """Images edited by sentence vectors [B, text_dim] (e.g. a mix of two ``encode_texts``)."""
        return self.decode(images, sentence)[0]

    def edit(self, images: torch.Tensor, texts: Sequence[str]) -> torch.Tensor:
        """Images [B, 3, S, S] in [-1, 1] edited to match ``texts`` (B strings; tokenised by this generator's
        own encoder). Call ``.eval()`` first for deterministic edits (CA then uses mu)."""
        if isinstance(texts, str) or len(texts) != images.shape[0]:
            raise InputError(f"edit: expected a list of {images.shape[0]} texts (one per image), got {texts!r:.80}")
        return self.edit_encoded(images, self.encode_texts(texts))


class TAGANScores(NamedTuple):
    """The text-adaptive discriminator's conditional scores of B (image, text) pairs with T word slots.

    log_score [B]: log D(x, t) (eq. 5 in log space); attention [B, T]: alpha (0 at padding, sums to 1);
    word_log_scores [B, T]: log sum_j beta_ij f_ij (0 at padding); local_logits [B, T, 3]: the logits of
    f_ij; layer_weights [B, T, 3]: beta_ij.
    """

    log_score: torch.Tensor
    attention: torch.Tensor
    word_log_scores: torch.Tensor
    local_logits: torch.Tensor
    layer_weights: torch.Tensor

    @property
    def score(self) -> torch.Tensor:
        """D(x, t) in (0, 1]."""
        return self.log_score.exp()


def text_adaptive_log_score(local_logits: torch.Tensor, layer_logits: torch.Tensor, attention_logits: torch.Tensor,
                            mask: torch.Tensor) -> TAGANScores:
    """Eqs. 2-5 in log space: local_logits s_ij and layer_logits [B, T, J], attention_logits [B, T], mask
    bool [B, T] (True at real words; every caption needs one) ->

        alpha = softmax over real words of attention_logits, beta = softmax_j(layer_logits),
        log D = sum_i alpha_i log sum_j beta_ij sigmoid(s_ij).

    Padded positions never matter: their alpha is exactly 0 and their word score is set to 0 (log 1)."""
    dims = check_shape("local_logits", local_logits, ["B", "T", "J"])
    check_shape("layer_logits", layer_logits, [dims["B"], dims["T"], dims["J"]])
    check_shape("attention_logits", attention_logits, [dims["B"], dims["T"]])
    check_shape("mask", mask, [dims["B"], dims["T"]])
    if not bool(mask.any(dim=1).all()):
        raise InputError("text_adaptive_log_score: every caption needs at least one real word")
    local_logits, layer_logits, attention_logits = local_logits.float(), layer_logits.float(), attention_logits.float()
    log_beta = F.log_softmax(layer_logits, dim=-1)
    # log sum_j beta f: logsumexp of log beta + log sigmoid, exact where sigmoid underflows
    word_log = torch.logsumexp(log_beta + F.logsigmoid(local_logits), dim=-1)
    word_log = word_log.masked_fill(~mask, 0.0)
    alpha = attention_logits.masked_fill(~mask, float("-inf")).softmax(dim=-1)
    return TAGANScores((alpha * word_log).sum(dim=1), alpha, word_log, local_logits, log_beta.exp())


@register_model("tagan_discriminator")
class TAGANDiscriminator(nn.Module):
    """The text-adaptive discriminator (see the module docstring).

    Args:
        words: its own text encoder's vocabulary. image_size: a power of two >= 32 (official 128; the last
            stage is S/32, covered by the unconditional head's kernel). nf: base width (official 64).
        text_dim, word_embedding_dim, max_length, freeze_embeddings: as :class:`TAGANGenerator`.
    """

    def __init__(self, words: Sequence[str], image_size: int = 128, nf: int = 64, text_dim: int = 512,
                 word_embedding_dim: int = 300, max_length: int = 32, freeze_embeddings: bool = False):
        super().__init__()
        _check_size(image_size, 32, "TAGANDiscriminator")
        if min(nf, text_dim, word_embedding_dim, max_length) < 1:
            raise InputError("TAGANDiscriminator: nf, text_dim, word_embedding_dim and max_length must be >= 1")
        self.image_size, self.max_length = image_size, max_length
        self.text_encoder = _text_encoder(words, text_dim, word_embedding_dim, max_length, freeze_embeddings)

        def down(cin: int, cout: int, bn: bool = True) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 4, 2, padding=1, bias=not bn), *([nn.BatchNorm2d(cout)] if bn else []),
                    nn.LeakyReLU(0.2, inplace=True)]

        self.encoder_1 = nn.Sequential(*down(3, nf, bn=False), *down(nf, nf * 2), *down(nf * 2, nf * 4))  # S/8
        self.encoder_2 = nn.Sequential(*down(nf * 4, nf * 8))  # S/16
        self.encoder_3 = nn.Sequential(*down(nf * 8, nf * 8))  # S/32
        self.scale_channels = (nf * 4, nf * 8, nf * 8)
        # the official GAP_j: conv3x3 + BN + LeakyReLU, then (in forward) the spatial mean
        self.gap = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.LeakyReLU(0.2, inplace=True))
            for c in self.scale_channels)
        # W_j(w), b_j(w) of eq. 2: a word -> the weights and bias of a linear classifier on v_j (gen_filter)
        self.gen_filter = nn.ModuleList(nn.Linear(text_dim, c + 1) for c in self.scale_channels)
        self.gen_weight = nn.Linear(text_dim, NUM_SCALES)  # beta's logits (eq. 4)
        self.classifier = nn.Conv2d(nf * 8, 1, image_size // 32)  # the unconditional real/fake logit
        tagan_init(self)

    def tokenize(self, texts: Sequence[str], pad_to: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        return _tokenize(self.text_encoder, texts, pad_to)

    def image_features(self, images: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Images [B, 3, S, S] -> (unconditional logit [B], the pooled features v_j [B, C_j] of 3 scales)."""
        check_shape("images", images, ["B", 3, self.image_size, self.image_size])
        h1 = self.encoder_1(images)
        h2 = self.encoder_2(h1)
        h3 = self.encoder_3(h2)
        pooled = [gap(h).mean(dim=(2, 3)) for gap, h in zip(self.gap, (h1, h2, h3))]
        return self.classifier(h3).flatten(), pooled

    def text_features(self, token_ids: torch.Tensor, lengths: torch.Tensor):
        """TextFeatures (words [B, T, text_dim], zero at padding, and the mask) of its own encoder."""
        return self.text_encoder(token_ids, lengths)

    def conditional(self, pooled: Sequence[torch.Tensor], words: torch.Tensor, mask: torch.Tensor) -> TAGANScores:
        """Scores of images (their pooled features from :meth:`image_features`) against word features
        [B, T, text_dim] with mask [B, T] (eqs. 2-5)."""
        dims = check_shape("words", words, ["B", "T", None])
        if len(pooled) != NUM_SCALES or any(v.shape[0] != dims["B"] for v in pooled):
            raise InputError(f"conditional: expected {NUM_SCALES} pooled features of batch {dims['B']}")
        local = []
        for j, v in enumerate(pooled):
            filt = self.gen_filter[j](words)  # [B, T, C_j + 1]
            weight, bias = filt[..., :-1], filt[..., -1]
            local.append((weight * v[:, None, :].to(weight.dtype)).sum(-1) + bias)  # W_j(w_i) . v_j + b_j(w_i)
        mean_word = masked_mean_words(words, mask)
        attention_logits = (words * mean_word[:, None, :]).sum(-1)  # official: u_i . m, m the mean word feature
        return text_adaptive_log_score(torch.stack(local, dim=-1), self.gen_weight(words), attention_logits, mask)

    def scores(self, images: torch.Tensor, token_ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, TAGANScores]:
        """-> (unconditional logit [B], :class:`TAGANScores` with log D(x, t) and the per-word terms)."""
        dims = check_shape("token_ids", token_ids, ["B", "T"])
        if images.shape[0] != dims["B"]:
            raise InputError(f"scores: {images.shape[0]} images but {dims['B']} texts")
        logit, pooled = self.image_features(images)
        feats = self.text_features(token_ids, lengths)
        return logit, self.conditional(pooled, feats.words, feats.mask)

    def forward(self, images: torch.Tensor, token_ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """-> (unconditional logit [B], conditional probability D(x, t) [B] in (0, 1], word attention [B, T])."""
        logit, s = self.scores(images, token_ids, lengths)
        return logit, s.score, s.attention
