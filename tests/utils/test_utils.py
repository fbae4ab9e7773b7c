import os

import pytest
import torch
from PIL import Image

from wordsight.utils import InputError, Registry, RegistryError, check_captions, check_shape
from wordsight.utils.images import load_image
from wordsight.utils.io import atomic_dir, atomic_write_text


def test_registry_lists_known_names():
    r = Registry("metric")
    r.register("fid", 1)
    with pytest.raises(RegistryError, match="unknown metric 'kid'; known: fid"):
        r.get("kid")
    with pytest.raises(RegistryError, match="already registered"):
        r.register("fid", 2)


def test_check_shape_binds_symbols_and_names_the_tensor():
    assert check_shape("words", torch.zeros(2, 5, 8), ["B", "T", 8]) == {"B": 2, "T": 5}
    with pytest.raises(InputError, match="words: axis 2 should be 8"):
        check_shape("words", torch.zeros(2, 5, 7), ["B", "T", 8])
    with pytest.raises(InputError, match="expected 3 dims"):
        check_shape("words", torch.zeros(2, 5), ["B", "T", 8])


def test_captions_empty_and_overlong():
    with pytest.raises(InputError, match="caption 1 is empty"):
        check_captions(["a red circle", "   "])
    with pytest.raises(InputError, match="limit is 3"):
        check_captions(["a b c d"], max_words=3)


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    p = tmp_path / "f.txt"
    atomic_write_text(p, "old")
    from wordsight.utils.io import atomic_path

    with pytest.raises(RuntimeError):
        with atomic_path(p) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert p.read_text() == "old" and os.listdir(tmp_path) == ["f.txt"]


def test_atomic_dir_replaces_whole_folder(tmp_path):
    d = tmp_path / "checkpoint-1"
    with atomic_dir(d) as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(RuntimeError):
        with atomic_dir(d) as tmp:
            (tmp / "a").write_text("2")
            raise RuntimeError
    assert (d / "a").read_text() == "1" and sorted(os.listdir(tmp_path)) == ["checkpoint-1"]


def test_load_image_errors_name_the_path(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_image(tmp_path / "nope.png")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(InputError, match="bad.png"):
        load_image(bad)
    Image.new("RGB", (8, 8)).save(tmp_path / "ok.png")
    trunc = tmp_path / "trunc.png"
    trunc.write_bytes((tmp_path / "ok.png").read_bytes()[:30])
    with pytest.raises(InputError, match="trunc.png"):
        load_image(trunc)
