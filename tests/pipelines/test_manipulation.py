"""The manipulation pipeline and `wordsight manipulate` over any editor (edit(images, texts), image_size)."""

import warnings

import pytest
import torch
from PIL import Image
from torch import nn

from wordsight.cli.main import main
from wordsight.hub import register_model
from wordsight.pipelines.manipulation import Manipulation
from wordsight.pipelines.text_to_image import OutOfDomainImageWarning, UnknownWordsWarning
from wordsight.utils.checks import InputError


@register_model("test_negating_editor")
class NegatingEditor(nn.Module):
    """Negates the image when the text says "negate", else returns it: an editor whose output is known."""

    def __init__(self, image_size: int = 16):
        super().__init__()
        self.image_size = image_size
        self.scale = nn.Parameter(torch.ones(1))

    def edit(self, images, texts):
        sign = torch.tensor([-1.0 if "negate" in t else 1.0 for t in texts])[:, None, None, None]
        return images * sign * self.scale


INFO = {"system": "test", "trained_on": {"data": "synthetic", "description": "the shape world"},
        "vocabulary": ["negate", "keep", "it"]}


def test_every_image_with_every_text_grouped_by_image():
    pipe = Manipulation(NegatingEditor(), INFO, device="cpu")
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    out = pipe(x, ["negate it", "keep it"])
    assert out.images.shape == (4, 3, 16, 16) and out.texts == ["negate it", "keep it"] * 2
    assert torch.allclose(out.images[0], -x[0]) and torch.allclose(out.images[1], x[0]) and torch.allclose(out.images[2], -x[1])
    assert out.note == ""


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK", "LA"])
def test_any_mode_and_size_is_converted_and_the_resize_stated(mode):
    pipe = Manipulation(NegatingEditor(), {}, device="cpu")
    image = Image.new("RGB", (40, 30), (200, 30, 30)).convert(mode)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = pipe(image, "keep it")
    assert out.images.shape == (1, 3, 16, 16) and "40x30" in out.note
    assert any("converted" in str(w.message) for w in caught)


def test_warnings_for_unknown_words_and_photos_given_to_a_synthetic_world_editor():
    pipe = Manipulation(NegatingEditor(), INFO, device="cpu")
    with pytest.warns(UnknownWordsWarning, match="zebra"):
        pipe(torch.zeros(1, 3, 16, 16), "negate the zebra")
    with pytest.warns(OutOfDomainImageWarning, match="64x64"):
        pipe(Image.new("RGB", (64, 64)), "keep it")
    with pytest.raises(InputError, match="no word of 'paint the zebra' is known"):
        pipe(torch.zeros(1, 3, 16, 16), "paint the zebra")
    with pytest.raises(InputError, match="empty"):
        pipe(torch.zeros(1, 3, 16, 16), "  ")
    with pytest.raises(InputError, match="NaN"):
        pipe(torch.full((1, 3, 16, 16), float("nan")), "keep it")
    with pytest.raises(InputError, match="not an image editor"):
        Manipulation(nn.Linear(2, 2))


def test_save_load_and_the_cli(tmp_path, capsys):
    pipe = Manipulation(NegatingEditor(), INFO, device="cpu")
    pipe.save_pretrained(tmp_path / "pipe")
    loaded = Manipulation.from_pretrained(tmp_path / "pipe")
    assert loaded.info["system"] == "test" and loaded.image_size == 16
    Image.new("RGB", (16, 16), (10, 200, 10)).save(tmp_path / "a.png")
    out = tmp_path / "edited.png"
    assert main(["manipulate", str(tmp_path / "a.png"), "--text", "negate it", "--model", str(tmp_path / "pipe"), "--out", str(out),
                 "--save-each"]) == 0
    edited = Image.open(tmp_path / "edited" / "0000.png").convert("RGB").getpixel((5, 5))
    assert edited[1] < 100 and edited[0] > 150  # green negated to magenta
    (tmp_path / "bad.png").write_bytes(b"not an image")
    assert main(["manipulate", str(tmp_path / "bad.png"), "--text", "keep it", "--model", str(tmp_path / "pipe")]) != 0
    assert main(["manipulate", str(tmp_path / "a.png"), "--text", "keep it", "--model", str(tmp_path / "none")]) != 0
    Image.new("RGB", (64, 64), (10, 200, 10)).save(tmp_path / "whole.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "whole.png").read_bytes()[:60])  # a truncated file
    capsys.readouterr()
    for args in ([str(tmp_path / "cut.png"), "keep it"], [str(tmp_path / "a.png"), " ".join(["keep"] * 65)], [str(tmp_path / "a.png"), "  "],
                 [str(tmp_path / "a.png"), "paint the zebra"]):
        assert main(["manipulate", str(tmp_path / "pipe"), *args]) != 0
        err = capsys.readouterr().err
        assert "error" in err.lower() and "Traceback" not in err, err
    with pytest.raises(InputError, match="manipulation.json"):
        Manipulation.from_pretrained(tmp_path)
