"""Bad captions through the shipped text-to-image pipeline, its tokenizer and text encoders, and
``wordsight generate``: every case gives images or one InputError naming the caption's problem."""

from __future__ import annotations

import warnings

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reliability_helpers import assert_one_line_error, run_cli
from wordsight.pipelines.text_to_image import MAX_CAPTION_WORDS, TextToImage
from wordsight.text.tokenizer import tokenize
from wordsight.utils.checks import InputError

AREA = "captions"
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
KNOWN = ["red", "blue", "green", "small", "large", "circle", "square", "triangle", "star", "the", "a", "and"]
CONTROL = "".join(chr(c) for c in [*range(0, 32), 127, 0x85, 0x200B, 0x2028, 0xFEFF])


def _texts():
    unicode_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
    control = st.text(st.sampled_from(CONTROL), min_size=1, max_size=12)
    unknown = st.lists(st.from_regex(r"[qxz]{3,9}", fullmatch=True), min_size=1, max_size=6).map(" ".join)
    known = st.lists(st.sampled_from(KNOWN), min_size=1, max_size=12).map(" ".join)
    mixed = st.lists(st.one_of(st.sampled_from(KNOWN), unicode_text, control, unknown), min_size=1, max_size=8).map(" ".join)
    return st.one_of(
        st.just(""),
        st.text(st.sampled_from(" \t\n\r\x0b\x0c\u00a0\u2003\u3000"), min_size=1, max_size=20),
        st.builds(lambda w, n: (w + " ") * n, st.sampled_from(KNOWN + ["zzq"]), st.integers(1, 2500)),  # up to 10k chars
        st.builds(lambda c, n: c * n, st.sampled_from(["a", "é", "鳥", "x"]), st.integers(9000, 10000)),
        unicode_text, control, unknown, known, mixed,
    )


TEXTS = _texts()


@pytest.fixture(scope="module")
def pipe():
    return TextToImage.from_pretrained()


def _known_words(pipe) -> set[str]:
    return set(pipe.text_encoder.vocabulary.words)


def _expected_problem(pipe, caption: str) -> str | None:
    """What the pipeline must refuse ``caption`` for (a fragment of the message), or None for images."""
    if not caption.strip():
        return "is empty"
    if len(caption.split()) > MAX_CAPTION_WORDS:
        return f"the limit is {MAX_CAPTION_WORDS}"
    vocab = pipe.text_encoder.vocabulary
    tokens = tokenize(caption)
    if not (tokens if vocab.unk_id is not None else [t for t in tokens if t in _known_words(pipe)]):
        return "no known words"
    return None


@settings(max_examples=250, **SETTINGS)
@given(caption=TEXTS, seed=st.integers(0, 2**31 - 1))
def test_pipeline_captions(pipe, tally, caption, seed):
    with tally.case():
        want = _expected_problem(pipe, caption)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if want is not None:
                with pytest.raises(InputError, match="caption") as err:
                    pipe(caption, generator=torch.Generator().manual_seed(seed))
                assert want in str(err.value) and "\n" not in str(err.value)[:200]
                return
            out = pipe(caption, generator=torch.Generator().manual_seed(seed))
        assert out.images.shape == (1, 3, 64, 64)
        assert torch.isfinite(out.images).all() and out.images.abs().max() <= 1.0
        assert out.captions == [caption.strip()]
        unknown = {t for t in tokenize(caption) if t not in _known_words(pipe)}
        named = " ".join(str(w.message) for w in caught)
        for word in sorted(unknown)[:3]:  # the warning names unknown words
            assert word in named, (word, named)


@settings(max_examples=60, **SETTINGS)
@given(words=st.lists(st.sampled_from(KNOWN), min_size=1, max_size=10), junk=st.sampled_from(["", " \x00", " 🐦", " zzq"]),
       seed=st.integers(0, 2**16))
def test_pipeline_is_deterministic(pipe, tally, words, junk, seed):
    """The same captions and seed give the same images, whatever junk the caption carries."""
    with tally.case():
        caption = " ".join(words) + junk
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            one = pipe([caption, "a red circle"], generator=torch.Generator().manual_seed(seed)).images
            again = pipe([caption, "a red circle"], generator=torch.Generator().manual_seed(seed)).images
        assert one.shape == (2, 3, 64, 64)
        torch.testing.assert_close(one, again, rtol=0, atol=0)


@settings(max_examples=250, **SETTINGS)
@given(caption=TEXTS)
def test_tokenizer_and_bilstm_encoder(pipe, tally, caption):
    with tally.case():
        tokens = tokenize(caption)
        assert all(t and t.isascii() and t == t.lower() and t.replace("_", "a").isalnum() for t in tokens)
        encoder = pipe.text_encoder
        vocab = encoder.vocabulary
        usable = tokens if vocab.unk_id is not None else [t for t in tokens if t in vocab]
        if not caption.strip() or not usable:
            with pytest.raises(InputError, match="caption"):
                encoder.encode([caption])
            return
        ids = vocab.encode(caption)
        assert ids and all(0 <= i < len(vocab) for i in ids)
        with torch.no_grad():
            feats = encoder.encode([caption])
        assert feats.sentence.shape[0] == 1 and torch.isfinite(feats.sentence).all()
        assert torch.isfinite(feats.words).all()
        assert int(feats.lengths[0]) == min(len(ids), encoder.max_length or len(ids))


@pytest.fixture(scope="module")
def minilm():
    from wordsight.pipelines.saliency import Saliency

    return Saliency.from_pretrained("synthetic-text").text_encoder


@settings(max_examples=80, **SETTINGS)
@given(caption=TEXTS)
def test_minilm_encoder(minilm, tally, caption):
    with tally.case():
        if not caption.strip():
            with pytest.raises(InputError, match="empty"):
                minilm.encode([caption])
            return
        with torch.no_grad():
            feats = minilm.encode([caption])
        assert feats.sentence.shape == (1, minilm.sentence_dim) and torch.isfinite(feats.sentence).all()
        assert feats.lengths[0] >= 1


@settings(max_examples=20, **SETTINGS)
@given(caption=st.one_of(st.just(""), st.just("   "), st.text(st.sampled_from(CONTROL), min_size=1, max_size=5),
                         st.just("zzq " * 70), st.just("a small red circle"), st.just("鳥 🐦 ünïcødé circle")))
def test_generate_cli(tmp_path_factory, pipe, tally, caption):
    with tally.case():
        out = tmp_path_factory.mktemp("gen") / "grid.png"
        want = _expected_problem(pipe, caption)
        result = run_cli(["generate", caption, "-n", "1", "--out", str(out)])
        if want is None:
            assert result.code == 0, result.err
            assert out.is_file()
        else:
            assert_one_line_error(result, want)
