"""CLIP score (GALIP protocol) on a tiny randomly initialised open_clip model."""

from __future__ import annotations

import pytest
import torch

from wordsight.metrics.generation import OpenClipEncoder, clip_score, clip_score_from_embeddings
from wordsight.metrics.generation.keys import KEY_CLIP_SCORE
from wordsight.utils import InputError

open_clip = pytest.importorskip("open_clip")


@pytest.fixture(scope="module")
def tiny_clip():
    from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg

    torch.manual_seed(0)
    model = CLIP(
        16,
        CLIPVisionCfg(layers=1, width=32, head_width=16, patch_size=8, image_size=32),
        CLIPTextCfg(context_length=16, vocab_size=49408, width=32, heads=2, layers=1),
    ).eval()
    preprocess = open_clip.image_transform(32, is_train=False)
    tokenizer = open_clip.tokenizer.SimpleTokenizer(context_length=16)
    return model, preprocess, tokenizer


def test_clip_score_equals_a_direct_cosine_computation(tiny_clip, make_images):
    model, preprocess, tokenizer = tiny_clip
    images = make_images(6, size=40)
    captions = ["a red circle", "two blue squares", "a bird", "a green star", "a small hexagon", "nothing"]
    ours = clip_score(OpenClipEncoder(model, preprocess, tokenizer), images, captions, batch_size=4)

    from PIL import Image

    pixels = torch.stack([preprocess(Image.fromarray(im.permute(1, 2, 0).numpy())) for im in images])
    with torch.no_grad():
        img, txt = model.encode_image(pixels), model.encode_text(tokenizer(captions))
    direct = 100 * (torch.nn.functional.normalize(img, dim=1) * torch.nn.functional.normalize(txt, dim=1)).sum(1).mean()
    assert ours[KEY_CLIP_SCORE] == pytest.approx(float(direct), rel=1e-5)


def test_no_clamp_negative_cosines_stay_negative():
    image = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    text = torch.tensor([[-1.0, 0.0], [0.0, 2.0]])
    # torchmetrics would give mean(max(100 cos, 0)) = 50; GALIP's protocol gives mean(100 cos) = 0
    assert clip_score_from_embeddings(image, text)[KEY_CLIP_SCORE] == pytest.approx(0.0, abs=1e-12)
    assert clip_score_from_embeddings(image, image * 3)[KEY_CLIP_SCORE] == pytest.approx(100.0)


def test_training_mode_model_and_count_mismatch_are_refused(tiny_clip, make_images):
    model, preprocess, tokenizer = tiny_clip
    with pytest.raises(InputError, match="eval"):
        OpenClipEncoder(model.train(), preprocess, tokenizer)
    model.eval()
    with pytest.raises(InputError, match="captions"):
        clip_score(OpenClipEncoder(model, preprocess, tokenizer), make_images(3, size=32), ["a", "b"])
