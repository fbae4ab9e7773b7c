"""utils.images.to_rgb: every PIL mode becomes the RGB its values mean (issue 20: 16-bit PNGs were white),
and every place a user image becomes RGB (loading, tensors, saliency, the demo) gives the same pixels."""


import numpy as np
import pytest
from PIL import Image, ImageCms

from wordsight.data.saliency_transforms import image_tensor
from wordsight.utils import InputError
from wordsight.utils.images import load_image, pil_to_tensor, to_rgb

RAMP8 = np.arange(256, dtype=np.uint8).reshape(4, 64)  # every 8-bit value once


def _rgb(image):
    out = to_rgb(image)
    assert out.mode == "RGB" and out.size == image.size
    return np.asarray(out).astype(int)


def _grey(values):
    return np.repeat(np.asarray(values, dtype=int)[..., None], 3, axis=-1)


@pytest.mark.parametrize("mode, dtype", [("I;16", "<u2"), ("I;16B", ">u2"), ("I;16L", "<u2")])
def test_16_bit_ramp_becomes_the_8_bit_ramp_not_white(mode, dtype):
    ramp16 = RAMP8.astype(np.uint32) * 257  # 0, 257, ..., 65535: exactly v * 65535 / 255
    im = Image.frombytes(mode, (64, 4), ramp16.astype(dtype).tobytes())
    assert im.mode == mode
    np.testing.assert_array_equal(_rgb(im), _grey(RAMP8))
    # values between the steps round to the nearest 8-bit level
    mid = Image.frombytes(mode, (2, 1), np.array([128, 65535 - 129], dtype=dtype).tobytes())
    np.testing.assert_array_equal(_rgb(mid)[0, :, 0], [0, 254])  # 128/257 = 0.498, 65406/257 = 254.5 - 0.002


def test_16_bit_png_file_loads_as_its_8_bit_ramp(tmp_path):
    path = tmp_path / "deep.png"
    Image.fromarray((RAMP8.astype(np.uint16) * 257)).save(path)
    with Image.open(path) as raw:
        assert raw.mode.startswith("I")  # what PIL's convert("RGB") clipped to white
    np.testing.assert_array_equal(np.asarray(load_image(path)).astype(int), _grey(RAMP8))
    np.testing.assert_array_equal(np.asarray(load_image(path, mode="L")), RAMP8)


def test_mode_i_is_16_bit_when_it_fits_else_its_own_range():
    fits = Image.fromarray((RAMP8.astype(np.int32) * 257), "I")
    np.testing.assert_array_equal(_rgb(fits), _grey(RAMP8))
    wide = Image.fromarray(np.array([[0, 1 << 19, 1 << 20]], dtype=np.int32), "I")  # > 16 bits: 0..max
    np.testing.assert_array_equal(_rgb(wide)[0, :, 0], [0, 128, 255])
    signed = Image.fromarray(np.array([[-1000, 0, 1000]], dtype=np.int32), "I")  # negative: min..max
    np.testing.assert_array_equal(_rgb(signed)[0, :, 0], [0, 128, 255])


def test_float_images_unit_range_or_0_255_and_nan_refused():
    unit = Image.fromarray((RAMP8 / 255.0).astype(np.float32), "F")
    np.testing.assert_array_equal(_rgb(unit), _grey(RAMP8))
    bytes_range = Image.fromarray(RAMP8.astype(np.float32), "F")  # max > 1: [0, 255] data
    np.testing.assert_array_equal(_rgb(bytes_range), _grey(RAMP8))
    clipped = Image.fromarray(np.array([[-5.0, 300.0, 100.4]], dtype=np.float32), "F")
    np.testing.assert_array_equal(_rgb(clipped)[0, :, 0], [0, 255, 100])
    with pytest.raises(InputError, match="1 NaN or infinite"):
        to_rgb(Image.fromarray(np.array([[0.5, np.nan]], dtype=np.float32), "F"))


def _palette_image():
    im = Image.new("P", (3, 1))
    im.putpalette([255, 0, 0, 0, 0, 255, 0, 255, 0] + [0] * (768 - 9))
    im.putdata([0, 1, 2])
    return im


def test_palette_with_and_without_transparency(tmp_path):
    im = _palette_image()
    np.testing.assert_array_equal(_rgb(im)[0], [[255, 0, 0], [0, 0, 255], [0, 255, 0]])
    im.info["transparency"] = 1  # index 1 (blue) transparent: composited onto white, not blue or black
    np.testing.assert_array_equal(_rgb(im)[0], [[255, 0, 0], [255, 255, 255], [0, 255, 0]])
    path = tmp_path / "p.png"  # the same through a file (tRNS chunk)
    im.save(path, transparency=1)
    np.testing.assert_array_equal(np.asarray(load_image(path))[0], [[255, 0, 0], [255, 255, 255], [0, 255, 0]])
    # per-entry alpha (a GIF-style tRNS table): index 2 half transparent green over white
    path2 = tmp_path / "p2.png"
    im.info.pop("transparency")
    im.save(path2, transparency=bytes([255, 255, 128]))
    np.testing.assert_allclose(np.asarray(load_image(path2))[0, 2], [127, 255, 127], atol=1)


@pytest.mark.parametrize("mode, value, want", [
    ("RGBA", (0, 0, 255, 0), (255, 255, 255)),  # fully transparent: white, not its hidden blue
    ("RGBA", (0, 0, 255, 255), (0, 0, 255)),
    ("RGBA", (0, 0, 0, 128), (127, 127, 127)),
    ("LA", (0, 128), (127, 127, 127)),
    ("LA", (200, 255), (200, 200, 200)),
    ("RGBa", (0, 0, 128, 128), (127, 127, 255)),  # premultiplied blue at half alpha
    ("La", (50, 128), (177, 177, 177)),  # premultiplied 50 -> 100, at half alpha over white
])
def test_alpha_is_composited_onto_white(mode, value, want):
    np.testing.assert_allclose(_rgb(Image.new(mode, (2, 2), value))[0, 0], want, atol=1)


def test_pa_palette_with_alpha_band():
    im = Image.new("PA", (2, 1))
    im.putpalette([0, 255, 0] + [0] * 765)
    im.putdata([(0, 0), (0, 255)])
    np.testing.assert_array_equal(_rgb(im)[0], [[255, 255, 255], [0, 255, 0]])


def test_cmyk_plain_and_through_an_embedded_icc_profile(monkeypatch):
    cmyk = Image.new("CMYK", (1, 1), (0, 255, 255, 0))
    assert tuple(_rgb(cmyk)[0, 0]) == (255, 0, 0)
    assert tuple(_rgb(Image.new("CMYK", (1, 1), (0, 0, 0, 255)))[0, 0]) == (0, 0, 0)
    # with a profile it goes through ImageCms (to sRGB, RGB out); an unusable profile falls back to PIL's
    seen = []

    def fake(im, inp, out, outputMode=None, **kw):
        seen.append(outputMode)
        return Image.new("RGB", im.size, (1, 2, 3))

    tagged = cmyk.copy()
    tagged.info["icc_profile"] = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    monkeypatch.setattr(ImageCms, "profileToProfile", fake)
    assert tuple(_rgb(tagged)[0, 0]) == (1, 2, 3) and seen == ["RGB"]
    monkeypatch.undo()
    assert tuple(_rgb(tagged)[0, 0]) == (255, 0, 0)  # sRGB is not a CMYK profile: PIL's conversion
    tagged.info["icc_profile"] = b"not a profile"
    assert tuple(_rgb(tagged)[0, 0]) == (255, 0, 0)


def test_cmyk_jpeg_file(tmp_path):
    path = tmp_path / "print.jpg"
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(path, quality=100)
    np.testing.assert_allclose(np.asarray(load_image(path))[4, 4], (255, 0, 0), atol=3)


@pytest.mark.parametrize("mode, tol", [("YCbCr", 3), ("HSV", 6), ("LAB", 20)])  # 8-bit quantisation of each space
def test_colour_spaces_round_trip(mode, tol):
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), "RGB")
    other = rgb.convert(mode)
    assert other.mode == mode
    back = _rgb(other)
    np.testing.assert_allclose(back, np.asarray(rgb).astype(int), atol=tol)
    assert np.abs(back - np.asarray(rgb)).mean() < 2


def test_lab_is_the_colorimetric_conversion():
    lab = Image.new("LAB", (1, 1), (137, 208, 195))  # sRGB red in PIL's 8-bit CIELAB
    to_srgb = ImageCms.buildTransform(ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB")
    assert tuple(_rgb(lab)[0, 0]) == ImageCms.applyTransform(lab, to_srgb).getpixel((0, 0))
    # PIL's 8-bit LAB rounds L*, a*, b* to whole steps, so sRGB red comes back as about (250, 5, 11)
    np.testing.assert_allclose(_rgb(lab)[0, 0], (255, 0, 0), atol=12)


def test_bilevel_and_grey():
    np.testing.assert_array_equal(_rgb(Image.fromarray(RAMP8, "L")), _grey(RAMP8))
    bits = Image.new("1", (2, 1))
    bits.putpixel((1, 0), 1)
    np.testing.assert_array_equal(_rgb(bits)[0], [[0, 0, 0], [255, 255, 255]])
    rgb = Image.new("RGB", (1, 1), (1, 2, 3))
    out = to_rgb(rgb)
    assert out is not rgb and out.getpixel((0, 0)) == (1, 2, 3)  # a copy: the caller's image is left alone


def test_not_an_image_or_unconvertible_mode_is_an_input_error():
    with pytest.raises(InputError, match="expected a PIL image"):
        to_rgb(np.zeros((2, 2)))


def test_every_conversion_site_agrees_on_a_16_bit_image():
    ramp16 = Image.fromarray(np.tile(RAMP8.astype(np.uint16) * 257, (1, 1)))
    want = pil_to_tensor(Image.fromarray(RAMP8, "L").convert("RGB"))
    assert np.allclose(pil_to_tensor(ramp16).numpy(), want.numpy())
    assert np.allclose(image_tensor(ramp16, (4, 64)).numpy(), want.numpy())


def test_16_bit_png_saliency_matches_its_8_bit_version(tmp_path):
    """The bug: ``compute_saliency`` of a 16-bit PNG was the map of a white image."""
    from wordsight.data.synthetic import SyntheticWorld, WorldConfig
    from wordsight.pipelines.saliency import Saliency

    scene = SyntheticWorld(WorldConfig(split="test", image_size=64, max_objects=2)).scene(0)
    grey8 = np.asarray(scene.image.convert("L"))
    Image.fromarray(grey8, "L").save(tmp_path / "8.png")
    Image.fromarray(grey8.astype(np.uint16) * 257).save(tmp_path / "16.png")
    Image.new("L", (64, 64), 255).save(tmp_path / "white.png")
    pipe = Saliency.from_pretrained("synthetic-text")
    text = scene.captions[0]
    eight, sixteen, white = (pipe.compute_saliency(tmp_path / f"{n}.png", text=text) for n in ("8", "16", "white"))
    np.testing.assert_allclose(sixteen, eight, atol=1e-5)
    assert np.abs(sixteen - white).max() > 0.05  # a real map, not the white image's
