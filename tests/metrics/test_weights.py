"""The Inception weights are found in the documented places or named in a clear error; never downloaded."""

from __future__ import annotations

import pytest

from wordsight.metrics import INCEPTION_WEIGHTS_FILE, default_cache_dir, evaluate_generation, inception_extractor
from wordsight.utils import InputError


def test_missing_weights_error_names_the_file_and_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("WORDSIGHT_CACHE", str(tmp_path))
    with pytest.raises(InputError) as info:
        inception_extractor()
    message = str(info.value)
    assert INCEPTION_WEIGHTS_FILE in message
    assert str(tmp_path / "weights") in message


def test_evaluate_without_weights_fails_before_reading_images(tmp_path, monkeypatch, make_images):
    monkeypatch.setenv("WORDSIGHT_CACHE", str(tmp_path))
    with pytest.raises(InputError, match=INCEPTION_WEIGHTS_FILE):
        evaluate_generation(make_images(4), make_images(4, seed=1), ["fid"])


def test_explicit_missing_path_is_named(tmp_path):
    with pytest.raises(InputError, match="nope.pth"):
        inception_extractor(tmp_path / "nope.pth")


def test_wrong_file_is_refused_by_hash(tmp_path):
    fake = tmp_path / INCEPTION_WEIGHTS_FILE
    fake.write_bytes(b"definitely not inception")
    with pytest.raises(InputError, match="SHA-256"):
        inception_extractor(fake)


def test_cache_dir_follows_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("WORDSIGHT_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("WORDSIGHT_CACHE")
    assert default_cache_dir().parts[-2:] == (".cache", "wordsight")
