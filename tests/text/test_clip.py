"""CLIP through the real loading code, with a tiny random open_clip model saved to a local file."""

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from wordsight.text import CLIPEncoder, build_clip_model, build_text_encoder, clip_model_config
from wordsight.utils import InputError

TINY_CFG = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 24, "heads": 2, "layers": 1},
}
CAPTIONS = ["a red bird", "a small bird with a long tail and a short beak"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    torch.manual_seed(0)
    model = build_clip_model("tiny", TINY_CFG).eval()
    path = tmp_path_factory.mktemp("clip") / "tiny_clip.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    return model, path


@pytest.fixture(scope="module")
def encoder(tiny):
    return CLIPEncoder(tiny[1], arch="tiny", model_cfg=TINY_CFG)


def test_round_trip_matches_open_clip(tiny, encoder):
    model, _ = tiny
    f = encoder.encode(CAPTIONS)
    ids = encoder.tokenizer(CAPTIONS)
    with torch.no_grad():
        reference = F.normalize(model.encode_text(ids), dim=-1)
    torch.testing.assert_close(f.sentence, reference, rtol=0, atol=1e-6)
    assert f.words.shape == (2, 13, 24) and encoder.word_dim == 24 and encoder.sentence_dim == 16
    # words are pre-projection states: projecting the end-of-text word gives the sentence
    eot = f.lengths - 1
    projected = f.words[torch.arange(2), eot] @ model.text_projection
    torch.testing.assert_close(F.normalize(projected, dim=-1), f.sentence, rtol=0, atol=1e-6)


def test_mask_runs_from_start_to_end_of_text(encoder):
    f = encoder.encode(CAPTIONS)
    assert f.lengths.tolist() == [5, 13]  # start + 3 words + end; start + 11 words + end
    assert torch.all(f.words[~f.mask] == 0)


def test_padding_invariance(encoder):
    alone, batch = encoder.encode(CAPTIONS[:1]), encoder.encode(CAPTIONS)
    torch.testing.assert_close(batch.sentence[0], alone.sentence[0], rtol=0, atol=1e-6)
    torch.testing.assert_close(batch.words[0, :5], alone.words[0], rtol=0, atol=1e-6)


def test_overlong_captions_truncate_or_raise(encoder):
    long_caption = " ".join(["bird"] * 30)
    f = encoder.encode([long_caption])
    assert f.mask.shape == (1, 16) and f.mask.all()
    with pytest.raises(InputError, match="32 CLIP tokens; the limit is 16"):
        encoder.encode([long_caption], strict=True)
    with pytest.raises(InputError, match="caption 1 is empty"):
        encoder.encode(["a bird", ""])


def test_encode_image(tiny, encoder):
    model, _ = tiny
    images = torch.rand(3, 3, 40, 48) * 2 - 1
    emb = encoder.encode_image(images)
    assert emb.shape == (3, 16)
    torch.testing.assert_close(emb.norm(dim=-1), torch.ones(3))
    x = encoder.preprocess_images(images)
    assert x.shape == (3, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(emb, model.encode_image(x, normalize=True), rtol=0, atol=1e-6)
    as_uint8 = ((images + 1) * 127.5).round().to(torch.uint8)
    assert torch.allclose(encoder.encode_image(as_uint8), emb, atol=0.05)
    with pytest.raises(InputError, match="images"):
        encoder.encode_image(torch.rand(3, 32, 32))


def test_loading_never_touches_the_network(tiny, no_network):
    f = build_text_encoder("clip", weights_path=tiny[1], arch="tiny", model_cfg=TINY_CFG).encode(["a bird"])
    assert f.sentence.shape == (1, 16)


def test_missing_file_names_path_and_what_to_do(tmp_path):
    missing = tmp_path / "weights" / "open_clip_model.safetensors"
    with pytest.raises(InputError) as info:
        CLIPEncoder(missing)
    message = str(info.value)
    assert str(missing) in message and "ViT-B-32" in message and "never downloads" in message


def test_wrong_weights_are_a_clear_error(tmp_path):
    path = tmp_path / "other.safetensors"
    save_file({"foo": torch.zeros(2)}, str(path))
    with pytest.raises(InputError, match="cannot load CLIP weights"):
        CLIPEncoder(path, arch="tiny", model_cfg=TINY_CFG)


def test_builtin_config_and_unsupported_ones():
    cfg = clip_model_config("ViT-B-32")
    assert cfg["embed_dim"] == 512 and cfg["text_cfg"]["width"] == 512
    with pytest.raises(InputError, match="unknown open_clip architecture"):
        clip_model_config("ViT-Nope")
    with pytest.raises(InputError, match="built-in text transformer"):
        clip_model_config("x", {**TINY_CFG, "text_cfg": {**TINY_CFG["text_cfg"], "hf_model_name": "bert"}})
