"""SISGAN: semantic image synthesis via adversarial learning (Dong, Yu, Wu and Guo, ICCV 2017,
arXiv:1707.06873; seed 004, "Semantic Image Synthesis via Adversarial Learning"; official PyTorch code
woozzu/dong_iccv_2017 ``model.py``). G edits an image to match a sentence; D judges (image, sentence) pairs.

Text: the *visual-semantic embedding* (VSE, seed 004 eq. 4): word vectors (fastText 300) -> a one-layer GRU
(300 units), its last hidden state the sentence phi(t). It is trained first against image features with
the bidirectional ranking loss (:func:`wordsight.losses.ranking.bidirectional_ranking_loss`), then frozen
while G and D train. The official image side is VGG-16's fc7 (fixed) -> Linear(4096, 300, bias=False);
here :class:`SISGANImageEmbedding`, a small CNN trained from scratch with the same bias-free projection
(no ImageNet weights can be downloaded). The GRU lives in the generator (``SISGANGenerator.text_encoder``)
so that a saved generator edits from raw text on its own; D reads the same frozen sentence vectors.

:class:`SISGANGenerator` (official ``Generator`` without VGG, ``use_vgg=False``): encoder conv3x3 3->ngf
(ReLU), two stride-2 conv4x4 + BN + ReLU (ngf -> 2ngf -> 4ngf, S/4); conditioning augmentation on phi(t)
(mu and log sigma from bias-free Linear(300, 128) + LeakyReLU 0.2 each); the code replicated and
concatenated -> conv3x3 + BN (no ReLU, as the official) -> ``r_num`` residual blocks ReLU(x + f(x)); decoder
two nearest x2 upsamplings + conv3x3 + BN + ReLU (4ngf -> 2ngf -> ngf), conv3x3 to RGB, Tanh. Unlike TAGAN
there is no skip connection from the encoder to the decoder: what is kept of the source passes through the
fusion. Official widths ngf = 128 (128-256-512), 64 px.

:class:`SISGANDiscriminator` (official ``Discriminator``): four stride-2 conv4x4 (ndf, 2ndf, 4ndf, 8ndf;
LeakyReLU 0.2, BN after the first, none after the last conv's BN) to S/16; a residual branch 1x1 -> 3x3 ->
3x3 (8ndf -> 2ndf -> 2ndf -> 8ndf, BN each) added and passed through LeakyReLU; the sentence compressed by
Linear(300, 128) + LeakyReLU, replicated and concatenated; conv1x1 + BN + LeakyReLU, then a conv whose
kernel covers the S/16 map -> one logit. Official ndf = 64.

models/ may not import text/ (tests/test_layering.py), so the GRU's class is looked up by its registered
name, as :mod:`wordsight.models.tagan` does.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..hub import register_model
from ..utils.checks import InputError, check_shape
from ..utils.model_registry import model_class
from .layers import PooledConvEncoder
from .tagan import TAGANResidualBlock, tagan_init

__all__ = ["SISGANGenerator", "SISGANDiscriminator", "SISGANImageEmbedding", "relevant_texts", "mismatched_texts"]

TEXT_ENCODER_MODEL_TYPE = "rnn_text_encoder"  # wordsight.text.rnn.RNNTextEncoder

# The official ``init_weights`` (N(0, 0.02) conv/linear weights, zero biases, BN weights N(1, 0.02), frozen
# parameters left alone) is TAGAN's too: the two codes come from the same author.
sisgan_init = tagan_init


def _check_size(image_size: int, minimum: int, what: str) -> None:
    if image_size < minimum or image_size & (image_size - 1):
        raise InputError(f"{what}: image_size must be a power of two >= {minimum}, got {image_size}")


def mismatched_texts(x: torch.Tensor) -> torch.Tensor:
    """The batch's texts (sentence vectors, or ids) rolled by one: image i gets text i - 1 (official
    ``txt_feat_mismatch = np.roll(txt_feat, 1, axis=0)``); needs B >= 2."""
    if x.shape[0] < 2:
        raise InputError(f"SISGAN's mismatched texts need a batch of at least 2, got {x.shape[0]}")
    return torch.roll(x, 1, 0)


def relevant_texts(x: torch.Tensor) -> torch.Tensor:
    """The 'semantically relevant' texts t-bar of seed 004 eq. 3, as the official ``preprocess``: the first
    half of the batch rolled by -1 (each image gets its neighbour's text: an edit), the second half kept (each
    image its own text: the edit that should change nothing)."""
    half = x.shape[0] // 2
    if half < 1:
        raise InputError(f"SISGAN's relevant texts need a batch of at least 2, got {x.shape[0]}")
    return torch.cat((torch.roll(x[:half], -1, 0), x[half:]))


@register_model("sisgan_generator")
class SISGANGenerator(nn.Module):
    """(image [B, 3, S, S] in [-1, 1], sentence) -> edited image [B, 3, S, S] in [-1, 1].

    Args:
        words: the vocabulary in id order of its text encoder (the VSE's GRU).
        image_size: S, a power of two >= 8 (official 64; two stride-2 convs down to S/4).
        ngf: base width (official 128: encoder 128-256-512). text_dim: GRU units = the sentence size
            (official 300). word_embedding_dim: word-vector size (fastText 300). c_dim: conditioning size
            (official 128). r_num: residual blocks (official 4). max_length: word limit (official 50).
        freeze_embeddings: keep the word vectors fixed (loaded fastText vectors).
    """

    def __init__(self, words: Sequence[str], image_size: int = 64, ngf: int = 128, text_dim: int = 300,
                 word_embedding_dim: int = 300, c_dim: int = 128, r_num: int = 4, max_length: int = 50,
                 freeze_embeddings: bool = False):
        super().__init__()
        _check_size(image_size, 8, "SISGANGenerator")
        if min(ngf, text_dim, word_embedding_dim, c_dim, max_length) < 1 or r_num < 0:
            raise InputError("SISGANGenerator: ngf, text_dim, word_embedding_dim, c_dim and max_length must be >= 1, r_num >= 0")
        if not words:
            raise InputError("SISGAN: the vocabulary (words) is empty")
        self.image_size, self.c_dim, self.text_dim, self.max_length = image_size, c_dim, text_dim, max_length
        self.text_encoder = model_class(TEXT_ENCODER_MODEL_TYPE)(
            list(words), embedding_dim=word_embedding_dim, hidden_dim=text_dim, rnn="gru", bidirectional=False,
            max_length=max_length, freeze_embeddings=freeze_embeddings)
        self.encoder = nn.Sequential(
            nn.Conv2d(3, ngf, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(ngf, ngf * 2, 4, 2, padding=1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(inplace=True),
            nn.Conv2d(ngf * 2, ngf * 4, 4, 2, padding=1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(inplace=True))
        self.mu = nn.Linear(text_dim, c_dim, bias=False)
        self.log_sigma = nn.Linear(text_dim, c_dim, bias=False)
        self.residual_blocks = nn.Sequential(
            nn.Conv2d(ngf * 4 + c_dim, ngf * 4, 3, padding=1, bias=False), nn.BatchNorm2d(ngf * 4),
            *[TAGANResidualBlock(ngf * 4, relu_after_sum=True) for _ in range(r_num)])
        self.decoder = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(ngf * 4, ngf * 2, 3, padding=1, bias=False),
            nn.BatchNorm2d(ngf * 2), nn.ReLU(inplace=True),
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(ngf * 2, ngf, 3, padding=1, bias=False),
            nn.BatchNorm2d(ngf), nn.ReLU(inplace=True),
            nn.Conv2d(ngf, 3, 3, padding=1), nn.Tanh())
        sisgan_init(self)

    def tokenize(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Texts -> (ids long [B, T], lengths [B]) of the text encoder."""
        return self.text_encoder.tokenize(texts)

    def sentence(self, token_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """phi(t) [B, text_dim]: the GRU's last hidden state."""
        return self.text_encoder(token_ids, lengths).sentence

    def condition(self, sentence: torch.Tensor, noise: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Conditioning augmentation: (c, mu, logvar), each [B, c_dim]; logvar = 2 log sigma. c = mu in eval
        mode without ``noise`` (the official samples noise at test time too; a deterministic edit is what a
        user of an editor expects)."""
        check_shape("sentence", sentence, ["B", self.text_dim])
        mu = F.leaky_relu(self.mu(sentence), 0.2)
        log_sigma = F.leaky_relu(self.log_sigma(sentence), 0.2)
        if noise is None:
            noise = torch.randn_like(mu) if self.training else torch.zeros_like(mu)
        return mu + log_sigma.exp() * noise, mu, 2.0 * log_sigma

    def forward(self, images: torch.Tensor, sentence: torch.Tensor,
                noise: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """images and sentence vectors phi(t) [B, text_dim] -> (edited images, mu, logvar)."""
        dims = check_shape("images", images, ["B", 3, self.image_size, self.image_size])
        check_shape("sentence", sentence, [dims["B"], self.text_dim])
        code = self.encoder(images)
        c, mu, logvar = self.condition(sentence, noise)
        c = c[:, :, None, None].expand(-1, -1, code.shape[2], code.shape[3]).to(code.dtype)
        return self.decoder(self.residual_blocks(torch.cat((code, c), dim=1))), mu, logvar

    def edit(self, images: torch.Tensor, texts: Sequence[str]) -> torch.Tensor:
        """Images [B, 3, S, S] in [-1, 1] edited to match ``texts`` (B strings). Call ``.eval()`` first for
        deterministic edits."""
        if isinstance(texts, str) or len(texts) != images.shape[0]:
            raise InputError(f"edit: expected a list of {images.shape[0]} texts (one per image), got {texts!r:.80}")
        return self.edit_encoded(images, self.encode_texts(texts))

    def encode_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """Texts -> phi(t) [B, text_dim] (what ``edit_encoded`` takes; interpolating two of them gives the
        sentence interpolation strip, TAGAN Fig. 7)."""
        ids, lengths = self.tokenize(texts)
        device = self.mu.weight.device
        return self.sentence(ids.to(device), lengths.to(device))

    def edit_encoded(self, images: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
        """Images edited by sentence vectors phi(t) [B, text_dim]."""
        return self(images, sentence)[0]


@register_model("sisgan_discriminator")
class SISGANDiscriminator(nn.Module):
    """(image [B, 3, S, S], sentence [B, text_dim]) -> logit [B] of "real image matching the text".

    Args: image_size (a power of two >= 16), ndf (official 64), text_dim (the VSE's, official 300),
    compressed_dim (the text's width in D, official 128).
    """

    def __init__(self, image_size: int = 64, ndf: int = 64, text_dim: int = 300, compressed_dim: int = 128):
        super().__init__()
        _check_size(image_size, 16, "SISGANDiscriminator")
        if min(ndf, text_dim, compressed_dim) < 1:
            raise InputError("SISGANDiscriminator: ndf, text_dim and compressed_dim must be >= 1")
        self.image_size, self.text_dim = image_size, text_dim
        self.encoder = nn.Sequential(
            nn.Conv2d(3, ndf, 4, 2, padding=1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, padding=1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, padding=1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, padding=1, bias=False), nn.BatchNorm2d(ndf * 8))
        self.residual_branch = nn.Sequential(
            nn.Conv2d(ndf * 8, ndf * 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, ndf * 2, 3, padding=1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, ndf * 8, 3, padding=1, bias=False), nn.BatchNorm2d(ndf * 8))
        self.compression = nn.Linear(text_dim, compressed_dim)
        self.classifier = nn.Sequential(
            nn.Conv2d(ndf * 8 + compressed_dim, ndf * 8, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 8, 1, image_size // 16))
        sisgan_init(self)

    def forward(self, images: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
        dims = check_shape("images", images, ["B", 3, self.image_size, self.image_size])
        check_shape("sentence", sentence, [dims["B"], self.text_dim])
        h = self.encoder(images)
        h = F.leaky_relu(h + self.residual_branch(h), 0.2)
        t = F.leaky_relu(self.compression(sentence.to(h.dtype)), 0.2)
        t = t[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
        return self.classifier(torch.cat((h, t), dim=1)).flatten()


@register_model("sisgan_image_embedding")
class SISGANImageEmbedding(nn.Module):
    """The image side of the visual-semantic embedding: images -> phi(x) [B, text_dim], compared with the
    GRU's sentence by cosine in the ranking loss (official: fixed VGG-16 fc7 -> Linear(4096, 300, bias=False);
    here a small CNN trained from scratch, then the same bias-free projection).

    ``updates`` counts the embedding's training steps (a buffer, so it is checkpointed: the trainer switches
    from the embedding stage to the GAN stage when it reaches ``embedding_steps``, and a resumed run knows
    where it was)."""

    def __init__(self, image_size: int = 64, text_dim: int = 300, channels: Sequence[int] = (32, 64, 128, 256)):
        super().__init__()
        if not channels or min(channels) < 1:
            raise InputError(f"SISGANImageEmbedding: channels must be a non-empty list of widths >= 1, got {list(channels)}")
        self.image_size = image_size
        self.encoder = PooledConvEncoder(text_dim, image_size, channels, bias=False)
        self.register_buffer("updates", torch.zeros((), dtype=torch.long))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.encoder(images)
