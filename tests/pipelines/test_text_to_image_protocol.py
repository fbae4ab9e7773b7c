"""The pipeline works for any generator following models/generator.py: GAN-INT-CLS with a style encoder,
a multi-stage generator, and it says what it was trained on."""

import warnings

import pytest
import torch
from torch import nn

from wordsight.models.gan_int_cls import GANINTCLSGenerator, StyleEncoder
from wordsight.pipelines.text_to_image import OutOfDomainImageWarning, TextToImage, UnknownWordsWarning, unknown_words
from wordsight.text.features import TextFeatures
from wordsight.utils.checks import InputError


class BagOfWordsEncoder:
    """A tiny deterministic encoder: sentence = sum of per-word random vectors (no download)."""

    sentence_dim = word_dim = 6

    def encode(self, texts, strict=False):
        vecs = []
        for t in texts:
            v = torch.zeros(6)
            for w in t.lower().split():
                v += torch.randn(6, generator=torch.Generator().manual_seed(sum(map(ord, w))))
            vecs.append(v)
        s = torch.stack(vecs)
        return TextFeatures(s[:, None, :], s, torch.ones(len(texts), 1, dtype=torch.bool))


def _pipe(style=True, info=None):
    torch.manual_seed(0)
    g = GANINTCLSGenerator(ngf=4, z_dim=8, sentence_dim=6, image_size=16)
    s = StyleEncoder(nf=4, z_dim=8, image_size=16) if style else None
    return TextToImage(g, BagOfWordsEncoder(), {"name": "bag"}, style_encoder=s, info=info, device="cpu")


def test_gan_int_cls_pipeline_generates_and_transfers_style():
    pipe = _pipe()
    out = pipe(["a red circle", "a blue star"], num_images=2, generator=torch.Generator().manual_seed(0))
    assert out.images.shape == (4, 3, 16, 16) and out.stages is None
    sources = torch.rand(3, 3, 32, 32) * 2 - 1  # resized to the style encoder's 16 px
    res = pipe.transfer_style(sources, ["a red circle", "a blue star"])
    assert res.images.shape == (6, 3, 16, 16)
    assert res.captions == ["a red circle", "a blue star"] * 3  # grouped by source image
    # the same as G(S(x), phi(t)) by hand
    with torch.no_grad():
        x = torch.nn.functional.interpolate(sources, size=(16, 16), mode="bilinear", antialias=True, align_corners=False)
        z = pipe.style_encoder(x)
        expected = pipe.generator(z[1:2], BagOfWordsEncoder().encode(["a blue star"]).sentence).clamp(-1, 1)
    assert torch.allclose(res.images[3], expected[0], atol=1e-5)
    assert torch.equal(pipe(["a red circle"], style_from=sources).images, pipe.transfer_style(sources, ["a red circle"]).images)
    paired = pipe.transfer_style(sources, ["a red circle", "a blue star", "a red circle"], paired=True)
    assert paired.images.shape == (3, 3, 16, 16) and paired.captions == ["a red circle", "a blue star", "a red circle"]
    assert torch.allclose(paired.images[1], expected[0], atol=1e-5)  # image 1 with caption 1
    with pytest.raises(InputError, match="one caption per image"):
        pipe.transfer_style(sources, ["a red circle"], paired=True)


def test_style_transfer_without_style_encoder_is_a_clear_error():
    with pytest.raises(InputError, match="gan-int-cls-style"):
        _pipe(style=False).transfer_style(torch.zeros(1, 3, 16, 16), ["a red circle"])
    with pytest.raises(InputError, match="NaN"):
        _pipe().transfer_style(torch.full((1, 3, 16, 16), float("nan")), ["a red circle"])


def test_a_photo_given_to_a_synthetic_world_style_encoder_is_warned_about():
    from PIL import Image

    synthetic = _pipe(info={"trained_on": {"data": "synthetic"}})
    photo = Image.new("RGB", (640, 480), (120, 80, 40))
    with pytest.warns(OutOfDomainImageWarning, match="640x480"):
        synthetic.transfer_style([photo], ["a red circle"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", OutOfDomainImageWarning)
        synthetic.transfer_style(torch.zeros(1, 3, 16, 16), ["a red circle"])  # a render at the model's size
        _pipe(info={"trained_on": {"data": "cub:/birds"}}).transfer_style([photo], ["a red circle"])  # trained on photos


def test_save_load_keeps_system_style_encoder_and_vocabulary(tmp_path):
    info = {"system": "gan-int-cls", "trained_on": {"data": "synthetic", "description": "the shape world"},
            "vocabulary": ["a", "red", "circle"]}
    pipe = _pipe(info=info)
    pipe.save_pretrained(tmp_path / "p")
    import json

    meta = json.loads((tmp_path / "p" / "pipeline.json").read_text())
    assert meta["system"] == "gan-int-cls" and meta["vocabulary"] == ["a", "red", "circle"]
    from wordsight.hub import from_pretrained

    assert isinstance(from_pretrained(tmp_path / "p" / "style_encoder"), StyleEncoder)


def test_unknown_words_warn_naming_them():
    pipe = _pipe(info={"vocabulary": ["a", "red", "circle"], "trained_on": {"description": "the shape world"}})
    with pytest.warns(UnknownWordsWarning, match=r"the shape world.*bird, has") as rec:
        pipe(["a red bird has a circle"])
    assert len(rec) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pipe(["a red circle"])  # all known: no warning
    assert unknown_words(["A Red, BIRD!"], ["a", "red"]) == ["bird"]


class TwoStage(nn.Module):
    """A fake multi-stage generator (StackGAN-like): returns [8 px, 16 px] images."""

    z_dim, text_inputs = 4, ("sentence", "words", "mask")

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4 + 6, 3 * 8 * 8)

    def sample_noise(self, n, generator=None, truncation=None):
        return torch.randn(n, 4, generator=generator)

    def forward(self, z, sentence, words, mask):
        assert words.dim() == 3 and mask.dtype == torch.bool
        low = torch.tanh(self.lin(torch.cat((z, sentence), 1))).reshape(-1, 3, 8, 8)
        return [low, torch.nn.functional.interpolate(low, scale_factor=2)]


def test_multi_stage_generator_returns_last_stage_and_keeps_the_others():
    pipe = TextToImage(TwoStage(), BagOfWordsEncoder(), {"name": "bag"}, device="cpu")
    out = pipe(["a red circle"], num_images=3)
    assert out.images.shape == (3, 3, 16, 16)
    assert [s.shape[-1] for s in out.stages] == [8, 16]


def test_stackgan_pipeline_gives_every_stage_as_pictures_and_oracle_scores():
    from wordsight.models.stackgan import StackGANGenerator
    from wordsight.pipelines.evaluation import oracle_accuracy, oracle_accuracy_per_stage

    torch.manual_seed(0)
    g = StackGANGenerator(ngf=4, z_dim=8, sentence_dim=6, c_dim=4, stage1_size=16, stages=2, upscale=2)
    pipe = TextToImage(g, BagOfWordsEncoder(), {"name": "bag"}, device="cpu")
    out = pipe(["a red circle", "a blue square"], num_images=2)
    rows = out.stages_to_pil()
    assert len(rows) == 4 and [im.size for im in rows[0]] == [(16, 16), (32, 32)]
    captions = {"test": ["a small red circle", "a large blue square"]}
    per_stage = oracle_accuracy_per_stage(pipe, captions, seed=3)
    assert len(per_stage["test"]) == 2
    assert per_stage["test"][1] == pytest.approx(oracle_accuracy(pipe, captions, seed=3)["test"], nan_ok=True)  # the last stage is the result
