"""The pixel limit (issue 20 item 5): images over it are refused from their header, before decoding, with one
error naming the file; the limit is configurable; large images can be read downscaled."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from wordsight.cli.main import main
from wordsight.utils.checks import InputError
from wordsight.utils.images import DEFAULT_MAX_PIXELS, MAX_PIXELS_ENV, ImageTooLargeError, load_image, max_pixels, open_image


def _png_header_only(path, width, height):
    """A PNG that declares width x height but holds no pixel data: reading its header is cheap, decoding it
    would fail (or, for a real file of that size, take gigabytes)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    return path


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv(MAX_PIXELS_ENV, raising=False)


def test_a_20000_by_20000_png_is_refused_from_its_header_naming_the_file(tmp_path):
    path = _png_header_only(tmp_path / "bomb.png", 20000, 20000)
    with pytest.raises(ImageTooLargeError) as err:
        load_image(path)
    message = str(err.value)
    assert "bomb.png" in message and "20000x20000 = 400.0 MP" in message and "the limit is 40 MP" in message
    assert MAX_PIXELS_ENV in message and "\n" not in message  # says how to raise it, on one line
    # just under the limit the header passes (decoding this empty file then fails with its own error)
    side = int(DEFAULT_MAX_PIXELS ** 0.5)
    with pytest.raises(InputError) as err:
        load_image(_png_header_only(tmp_path / "under.png", side, side))
    assert not isinstance(err.value, ImageTooLargeError)


def test_the_limit_is_configurable_by_argument_and_environment(tmp_path, monkeypatch):
    path = tmp_path / "img.png"
    Image.new("RGB", (40, 30), (10, 20, 30)).save(path)
    assert load_image(path).size == (40, 30)
    with pytest.raises(ImageTooLargeError, match="40x30 = 0.0012 MP; the limit is 0.001 MP"):
        load_image(path, max_pixels=1000)
    assert load_image(path, max_pixels=0).size == (40, 30)  # 0 = no limit
    monkeypatch.setenv(MAX_PIXELS_ENV, "1000")
    with pytest.raises(ImageTooLargeError):
        load_image(path)
    assert max_pixels() == 1000
    monkeypatch.setenv(MAX_PIXELS_ENV, "none")
    assert max_pixels() is None and load_image(path).size == (40, 30)
    monkeypatch.setenv(MAX_PIXELS_ENV, "lots")
    with pytest.raises(InputError, match=f"{MAX_PIXELS_ENV} must be a whole number"):
        load_image(path)
    with pytest.raises(InputError, match="max_pixels must be a whole number"):
        max_pixels(-5)


def test_open_image_reads_only_the_header_and_closes_on_refusal(tmp_path):
    path = _png_header_only(tmp_path / "big.png", 9000, 9000)
    with open_image(path, max_pixels=0) as im:  # no limit: the header opens without decoding anything
        assert im.size == (9000, 9000)
    with pytest.raises(ImageTooLargeError):
        open_image(path)


def test_large_images_can_be_read_downscaled(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("wide.jpg", "wide.png"):
        path = tmp_path / name
        Image.fromarray(rng.integers(0, 255, (300, 1200, 3), dtype=np.uint8)).save(path)
        im = load_image(path, max_side=256)
        assert max(im.size) == 256 and abs(im.width / im.height - 4) < 0.05
        assert load_image(path, max_side=4096).size == (1200, 300)  # small enough: untouched


def test_the_cli_refuses_a_bomb_with_one_line_and_exit_2(tmp_path, capsys):
    path = _png_header_only(tmp_path / "bomb.png", 20000, 20000)
    assert main(["saliency", str(path), "--out", str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert "bomb.png" in err and "limit is 40 MP" in err and "Traceback" not in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o.png").exists()
