"""Captions -> features: the tokenizer/vocabulary and the text encoders.

Every encoder has ``encode(texts) -> TextFeatures(words [B,T,D], sentence [B,D], mask [B,T])``:

- ``bilstm`` (:class:`DAMSMTextEncoder`): AttnGAN's trainable DAMSM BiLSTM, 256-d;
- ``minilm`` (:class:`MiniLMEncoder`): frozen all-MiniLM-L6-v2, 384-d, with an on-disk cache;
- ``clip`` (:class:`CLIPEncoder`): frozen open_clip CLIP from a local weights file;
- ``rnn`` (:class:`RNNTextEncoder`): a trainable (bi)GRU/LSTM with its own vocabulary (TAGAN, SISGAN, TIRG).

Importing this package only registers names; sentence-transformers and open_clip load on first use.
"""

from .base import ENCODERS, TextEncoder, build_text_encoder, validate_texts
from .bilstm import ATTNGAN_WORDS_NUM, DAMSMTextEncoder
from .cache import EmbeddingCache, cache_key
from .clip import DEFAULT_CLIP_ARCH, CLIPEncoder, build_clip_model, clip_model_config
from .features import TextFeatures
from .minilm import MINILM_DIM, MiniLMEncoder, default_minilm_path
from .rnn import RNNTextEncoder, load_word_vectors
from .tokenizer import END_ID, END_TOKEN, UNK_TOKEN, Vocabulary, subsample_tokens, tokenize

__all__ = [
    "ATTNGAN_WORDS_NUM",
    "CLIPEncoder",
    "DAMSMTextEncoder",
    "DEFAULT_CLIP_ARCH",
    "ENCODERS",
    "END_ID",
    "END_TOKEN",
    "EmbeddingCache",
    "MINILM_DIM",
    "MiniLMEncoder",
    "RNNTextEncoder",
    "TextEncoder",
    "TextFeatures",
    "UNK_TOKEN",
    "Vocabulary",
    "build_clip_model",
    "build_text_encoder",
    "cache_key",
    "clip_model_config",
    "default_minilm_path",
    "subsample_tokens",
    "tokenize",
    "validate_texts",
]
