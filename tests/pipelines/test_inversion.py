"""Inversion of a text-to-image generator to edit one's own image (seed 004 Algorithm 1)."""

import pytest
import torch

from wordsight.models.gan_int_cls import GANINTCLSGenerator
from wordsight.pipelines.inversion import edit_by_inversion, invert
from wordsight.pipelines.text_to_image import TextToImage
from wordsight.utils.checks import InputError

from test_text_to_image_protocol import BagOfWordsEncoder  # noqa: E402 (same folder, rootdir-relative import)


def _pipe():
    torch.manual_seed(0)
    g = GANINTCLSGenerator(ngf=4, z_dim=8, sentence_dim=6, image_size=16)
    return TextToImage(g, BagOfWordsEncoder(), {"name": "bag"}, device="cpu")


def test_inversion_recovers_an_image_the_generator_made():
    pipe = _pipe()
    z_true = torch.randn(2, 8, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        target = pipe.generator(z_true, BagOfWordsEncoder().encode(["a red circle"] * 2).sentence)
        start = pipe.generator(torch.zeros(2, 8), BagOfWordsEncoder().encode(["a red circle"] * 2).sentence)
    result = invert(pipe, target, "a red circle", steps=150, lr=0.05)
    assert result.latent.shape == (2, 8) and result.reconstruction.shape == (2, 3, 16, 16)
    assert "scene oracle" in result.perceptual  # no VGG-16 weights given
    assert result.losses[-1] < 0.5 * result.losses[0]
    assert (result.reconstruction - target).pow(2).mean() < 0.5 * (start - target).pow(2).mean()


def test_edit_regenerates_the_inverted_latent_with_the_new_caption():
    pipe = _pipe()
    x = torch.rand(1, 3, 32, 32) * 2 - 1  # resized to the generator's 16 px
    result = edit_by_inversion(pipe, x, "a red circle", "a blue star", steps=5)
    with torch.no_grad():
        expected = pipe.generator(result.latent, BagOfWordsEncoder().encode(["a blue star"]).sentence).clamp(-1, 1)
    assert torch.allclose(result.edited, expected, atol=1e-6)
    assert result.targets.shape == (1, 3, 16, 16) and len(result.to_pil()) == 1
    # a batch: one source and one new caption per image, each image its own latent
    pair = edit_by_inversion(pipe, torch.rand(2, 3, 16, 16) * 2 - 1, ["a red circle", "a blue star"], ["a blue star", "a red circle"], steps=2)
    with torch.no_grad():
        by_hand = pipe.generator(pair.latent, BagOfWordsEncoder().encode(["a blue star", "a red circle"]).sentence).clamp(-1, 1)
    assert torch.allclose(pair.edited, by_hand, atol=1e-6)
    with pytest.raises(InputError, match="one new caption or one per image"):
        edit_by_inversion(pipe, torch.zeros(3, 3, 16, 16), "a red circle", ["a", "b"], steps=1)
    with pytest.raises(InputError, match="one caption or one per image"):
        invert(pipe, torch.zeros(3, 3, 16, 16), ["a", "b"], steps=1)
    with pytest.raises(InputError, match="VGG|vgg|not found|weights"):
        invert(pipe, x, "a red circle", steps=1, vgg16_weights="/nonexistent/vgg16.pth")


def test_cli_edits_with_a_text_to_image_pipeline_by_inversion(tmp_path):
    from PIL import Image

    from wordsight.cli.main import main

    from wordsight.text.rnn import RNNTextEncoder
    from wordsight.text.tokenizer import Vocabulary

    torch.manual_seed(0)
    encoder = RNNTextEncoder(Vocabulary.build(["a red circle", "a blue star"]).words, embedding_dim=4, hidden_dim=6).eval()
    g = GANINTCLSGenerator(ngf=4, z_dim=8, sentence_dim=6, image_size=16)
    TextToImage(g, encoder, {"name": "rnn"}, device="cpu").save_pretrained(tmp_path / "t2i")
    Image.new("RGB", (16, 16), (200, 20, 20)).save(tmp_path / "a.png")
    args = ["manipulate", str(tmp_path / "a.png"), "--text", "a blue star", "--model", str(tmp_path / "t2i"), "--out", str(tmp_path / "e.png")]
    assert main([*args, "--source-caption", "a red circle", "--steps", "3"]) == 0
    assert Image.open(tmp_path / "e.png").width >= 2 * 96  # source and edit side by side
    assert main(args) != 0  # no style encoder and no --source-caption: a clear error
