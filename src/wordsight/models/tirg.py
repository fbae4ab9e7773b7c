"""TIRG: Text-Image Residual Gating (Vo et al., "Composing Text and Image for Image Retrieval - An Empirical
Odyssey", CVPR 2019, arXiv:1812.07119; official code google/tirg, ``img_text_composition_models.py``).

A query is a source image x plus a modification text t ("make the red circle blue"); its answer is the
target image y. TIRG embeds all three in one space and *composes* the query as (section 3.1, eq. 1-3):

    phi_xt = w_g * f_gate(phi_x, phi_t) + w_r * f_res(phi_x, phi_t)                          (eq. 1)
    f_gate = sigmoid(W_g2 * ReLU(W_g1 * [phi_x, phi_t])) (.) phi_x                            (eq. 2)
    f_res  = W_r2 * ReLU(W_r1 * [phi_x, phi_t])                                               (eq. 3)

laid out as the official ``TIRG.compose_img_text_features``:

* gate     = sigmoid(Linear(2D, D)(ReLU(BatchNorm1d(2D)([img, text]))));
* residual = Linear(2D, D)(ReLU(Linear(2D, 2D)(ReLU(BatchNorm1d(2D)([img, text])))));
* f = w[0] * gate * img + w[1] * residual with learnable w initialised to (1, 10) (the official
  ``self.a = Parameter([1.0, 10.0, 1.0, 1.0])``, of which only a[0] and a[1] are used);
* query and target features are L2-normalised and multiplied by one learnable scale initialised to 4
  (``NormalizationLayer(normalize_scale=4.0, learn_scale=True)``), so that in-batch softmax logits
  q . y lie in [-16, 16] and the temperature is learned.

Encoders: the official image encoder is an ImageNet-pretrained ResNet-18 (global average pooling, fc to
512); nothing can be downloaded here, so :class:`TIRGImageEncoder` is a small CNN trained from scratch
(stride-2 conv + BN + ReLU blocks, global average pooling, Linear). The text encoder is the official
``TextLSTMModel``: a word embedding, a one-layer unidirectional LSTM, its output at the last word, then
Dropout(0.1) + Linear(D, D) (``fc_output``); the embedding and LSTM are
:class:`wordsight.text.rnn.RNNTextEncoder` (LSTM, one direction), the Dropout + Linear are ``text_head``.

    tirg = TIRG(vocabulary.words, embed_dim=512, image_size=64)
    query = tirg.compose(source_images, ["make the red circle blue", ...])   # [B, 512], norm 4
    gallery = tirg.image_features(candidate_images)                         # [N, 512], norm 4
    best = (query @ gallery.T).argmax(1)
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

__all__ = ["TIRG", "TIRGComposition", "TIRGImageEncoder", "FeatureNormalization"]

# The text encoder class's registered name (wordsight.text.rnn.RNNTextEncoder). models/ may not import
# text/ (its layer sibling, tests/test_layering.py), so the class is looked up by name in the model
# registry, the same way from_pretrained finds a saved model's class.
TEXT_ENCODER_MODEL_TYPE = "rnn_text_encoder"


# The stand-in for the official pretrained ResNet-18 (kept under its old name; shared with SISGAN).
TIRGImageEncoder = PooledConvEncoder


class TIRGComposition(nn.Module):
    """The TIRG composition f(img, text) = w_g * gate(img, text) * img + w_r * residual(img, text) (eq. 1-3).

    ``weights`` = (w_g, w_r), learnable, initialised to (1, 10) as the official ``self.a``: the residual
    starts ten times stronger than the gated image feature (the paper: the gate keeps what the text does
    not change, the residual adds what it does).
    """

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim
        # official gated_feature_composer: ConCat -> BatchNorm1d(2D) -> ReLU -> Linear(2D, D); sigmoid in forward
        self.gate = nn.Sequential(nn.BatchNorm1d(2 * dim), nn.ReLU(), nn.Linear(2 * dim, dim))
        # official res_info_composer: ConCat -> BatchNorm1d(2D) -> ReLU -> Linear(2D, 2D) -> ReLU -> Linear(2D, D)
        self.residual = nn.Sequential(nn.BatchNorm1d(2 * dim), nn.ReLU(), nn.Linear(2 * dim, 2 * dim), nn.ReLU(),
                                      nn.Linear(2 * dim, dim))
        self.weights = nn.Parameter(torch.tensor([1.0, 10.0]))

    def gate_and_residual(self, image: torch.Tensor, text: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(sigmoid gate [B, D] in (0, 1), residual [B, D]) of image and text features [B, D] (eq. 2 and 3)."""
        dims = check_shape("image features", image, ["B", self.dim])
        check_shape("text features", text, [dims["B"], self.dim])
        both = torch.cat([image, text], dim=1)
        return torch.sigmoid(self.gate(both)), self.residual(both)

    def forward(self, image: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        gate, residual = self.gate_and_residual(image, text)
        return self.weights[0] * gate * image + self.weights[1] * residual  # eq. 1


class FeatureNormalization(nn.Module):
    """x -> s * x / ||x||_2 with a learnable scale s (official ``NormalizationLayer(4.0, learn_scale=True)``)."""

    def __init__(self, scale: float = 4.0, learn_scale: bool = True):
        super().__init__()
        value = torch.tensor([float(scale)])
        if learn_scale:
            self.scale = nn.Parameter(value)
        else:
            self.register_buffer("scale", value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # the clamp only matters for an all-zero feature, where the official code divides by zero
        return self.scale * x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)


@register_model("tirg")
class TIRG(nn.Module):
    """Image encoder + LSTM text encoder + TIRG composition + learnable normalisation.

    Args:
        words: the text encoder's vocabulary in id order (``Vocabulary.words`` of the training texts).
        embed_dim: D, the size of image, text and composed features (official 512; also the LSTM's size).
        word_embedding_dim: the word embedding size (official: embed_dim).
        image_size: side the image encoder works at (inputs of another size are resized bilinearly).
        channels: widths of the image encoder's stride-2 blocks.
        normalize_scale: initial value of the learned feature scale (official 4.0).
        text_dropout: dropout before the text head's Linear (official ``fc_output``: 0.1).
        max_length: word limit of the text encoder.
    """

    def __init__(self, words: Sequence[str], embed_dim: int = 512, word_embedding_dim: int = 512, image_size: int = 64,
                 channels: Sequence[int] = (32, 64, 128, 256), normalize_scale: float = 4.0, text_dropout: float = 0.1,
                 max_length: int = 32):
        super().__init__()
        if min(embed_dim, word_embedding_dim, image_size, max_length) < 1:
            raise InputError("TIRG: embed_dim, word_embedding_dim, image_size and max_length must be >= 1")
        if not channels or min(channels) < 1:
            raise InputError(f"TIRG: channels must be a non-empty list of widths >= 1, got {list(channels)}")
        if not normalize_scale > 0 or not 0.0 <= text_dropout < 1.0:
            raise InputError(f"TIRG: normalize_scale must be > 0 and text_dropout in [0, 1), got {normalize_scale}, {text_dropout}")
        self.embed_dim, self.image_size, self.max_length = embed_dim, image_size, max_length
        self.image_encoder = TIRGImageEncoder(embed_dim, image_size, channels)
        self.text_encoder = model_class(TEXT_ENCODER_MODEL_TYPE)(
            list(words), embedding_dim=word_embedding_dim, hidden_dim=embed_dim, rnn="lstm", bidirectional=False,
            max_length=max_length)
        # official TextLSTMModel.fc_output, applied to the LSTM's output at the last word
        self.text_head = nn.Sequential(nn.Dropout(text_dropout), nn.Linear(embed_dim, embed_dim))
        self.composition = TIRGComposition(embed_dim)
        self.normalization = FeatureNormalization(normalize_scale, learn_scale=True)

    # ---- features -------------------------------------------------------------------------------
    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        """Unnormalised image features phi_x [B, D] (the composition's input)."""
        return self.image_encoder(images)

    def image_features(self, images: torch.Tensor) -> torch.Tensor:
        """Normalised features [B, D] of gallery/target images (norm = the learned scale)."""
        return self.normalization(self.encode_images(images))

    def tokenize(self, texts: Sequence[str], pad_to: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Texts -> (ids long [B, T], lengths [B]) of the text encoder; ``pad_to`` pads T to that width
        (e.g. ``max_length``, so that id batches of different texts can be concatenated)."""
        ids, lengths = self.text_encoder.tokenize(texts)
        if pad_to is not None:
            if pad_to < ids.shape[1]:
                raise InputError(f"pad_to={pad_to} is shorter than the longest text ({ids.shape[1]} words)")
            ids = F.pad(ids, (0, pad_to - ids.shape[1]))  # 0 = the padding id
        return ids, lengths

    def text_features_from_ids(self, token_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Text features phi_t [B, D] of token ids (padded with 0) and their lengths."""
        return self.text_head(self.text_encoder(token_ids, lengths).sentence)

    def text_features(self, texts: Sequence[str]) -> torch.Tensor:
        """Text features phi_t [B, D]: the LSTM's output at the last word, then Dropout + Linear."""
        return self.text_features_from_ids(*self.tokenize(texts))

    # ---- composition ----------------------------------------------------------------------------
    def compose_features(self, image_features: torch.Tensor, text_features: torch.Tensor) -> torch.Tensor:
        """Normalised query features [B, D] from *unnormalised* image features (``encode_images``) and
        text features (official ``compose_img_text_features``, then the normalisation layer)."""
        return self.normalization(self.composition(image_features, text_features))

    def compose(self, images: torch.Tensor, texts: Sequence[str]) -> torch.Tensor:
        """Normalised query features [B, D] of source images [B, 3, S, S] and their modification texts."""
        image = self.encode_images(images)
        if isinstance(texts, str) or len(texts) != image.shape[0]:
            raise InputError(f"compose: expected a list of {image.shape[0]} texts (one per image), got {texts!r:.80}")
        return self.compose_features(image, self.text_features(texts))

    def compose_ids(self, images: torch.Tensor, token_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """:meth:`compose` with tokenised texts (:meth:`tokenize`)."""
        image = self.encode_images(images)
        check_shape("token_ids", token_ids, [image.shape[0], None])
        return self.compose_features(image, self.text_features_from_ids(token_ids, lengths))

    def forward(self, images: torch.Tensor, texts: Sequence[str]) -> torch.Tensor:
        return self.compose(images, texts)
