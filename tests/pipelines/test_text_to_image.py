import pytest
import torch

from wordsight.models.dfgan import DFGenerator
from wordsight.pipelines.text_to_image import TextToImage
from wordsight.text.minilm import MiniLMEncoder
from wordsight.utils.checks import InputError


@pytest.fixture(scope="module")
def pipe():
    torch.manual_seed(0)
    g = DFGenerator(nf=4, sentence_dim=384, image_size=16)
    with torch.no_grad():  # DF-GAN's affines start as the identity (text has no effect): perturb them
        for name, p in g.named_parameters():
            if "affine" in name.lower() or "gamma" in name or "beta" in name:
                p.add_(0.2 * torch.randn_like(p))
    return TextToImage(g, MiniLMEncoder())


def test_call_shapes_range_and_determinism(pipe):
    out = pipe(["a red circle", "a blue star"], num_images=3, generator=torch.Generator().manual_seed(1))
    assert out.images.shape == (6, 3, 16, 16) and out.images.abs().max() <= 1
    assert out.captions == ["a red circle"] * 3 + ["a blue star"] * 3
    again = pipe(["a red circle", "a blue star"], num_images=3, generator=torch.Generator().manual_seed(1))
    assert torch.equal(out.images, again.images)
    # the caption conditions the image: same noise, different text, different pixels
    z_same = pipe(["a red circle"], generator=torch.Generator().manual_seed(5)).images
    z_other = pipe(["a big green hexagon"], generator=torch.Generator().manual_seed(5)).images
    assert not torch.allclose(z_same, z_other)


def test_save_and_load_round_trip(pipe, tmp_path):
    pipe.save_pretrained(tmp_path / "p")
    loaded = TextToImage.from_pretrained(tmp_path / "p")
    g = lambda: torch.Generator().manual_seed(2)  # noqa: E731
    assert torch.equal(pipe("a red circle", generator=g()).images, loaded("a red circle", generator=g()).images)


def test_bad_input(pipe, tmp_path):
    with pytest.raises(InputError, match="empty"):
        pipe([""])
    with pytest.raises(InputError, match="limit is 64"):
        pipe(["word " * 65])
    with pytest.raises(InputError, match="num_images"):
        pipe("a red circle", num_images=0)
    with pytest.raises(InputError, match="pipeline.json"):
        TextToImage.from_pretrained(tmp_path)


def test_interpolation_strip_ends_at_the_two_captions(pipe):
    strip = pipe.interpolate("a red circle", "a blue star", steps=4, generator=torch.Generator().manual_seed(0))
    assert strip.images.shape[0] == 4


def test_bf16_precision_changes_pixels_by_rounding_only(pipe):
    fast = TextToImage(pipe.generator, pipe.text_encoder, pipe.encoder_spec, precision="bf16")
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    exact = pipe(["a red circle", "a blue star"], num_images=2, generator=g()).images
    rounded = fast(["a red circle", "a blue star"], num_images=2, generator=g()).images
    assert rounded.dtype == torch.float32 and rounded.shape == exact.shape
    diff = (rounded - exact).abs()
    assert 0 < diff.max() < 0.1 and diff.mean() < 0.02  # bf16 keeps ~3 significant digits
    with pytest.raises(InputError, match="precision must be one of"):
        TextToImage(pipe.generator, pipe.text_encoder, precision="fp16")


def test_precision_auto_follows_the_measured_choice(pipe, monkeypatch):
    import wordsight.pipelines.text_to_image as t2i
    from wordsight.utils import hardware

    monkeypatch.setattr(hardware, "precision_choice", lambda device="cpu": hardware.PrecisionChoice("no", "test"))
    assert TextToImage(pipe.generator, pipe.text_encoder, precision="auto").precision == "no"
    monkeypatch.setattr(hardware, "precision_choice", lambda device="cpu": hardware.PrecisionChoice("bf16", "test"))
    assert t2i.TextToImage(pipe.generator, pipe.text_encoder, precision="auto").precision == "bf16"


def test_compiled_generator_gives_the_eager_images(pipe, tmp_path):
    compiled = TextToImage(pipe.generator, pipe.text_encoder, pipe.encoder_spec, compile=True)
    g = lambda: torch.Generator().manual_seed(4)  # noqa: E731
    assert torch.allclose(compiled("a red circle", generator=g()).images, pipe("a red circle", generator=g()).images, atol=1e-4)
    compiled.save_pretrained(tmp_path / "c")  # saves the plain generator, loadable without compiling
    assert torch.equal(TextToImage.from_pretrained(tmp_path / "c")("a red circle", generator=g()).images,
                       pipe("a red circle", generator=g()).images)
