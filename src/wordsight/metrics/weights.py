"""Where metric weights and cached statistics live on disk; nothing here downloads.

Cache folder: ``$WORDSIGHT_CACHE`` if set, else ``~/.cache/wordsight``. Inside it:

- ``weights/weights-inception-2015-12-05-6726825d.pth``: torch-fidelity's port of the TensorFlow FID
  Inception (the file torch-fidelity publishes; copy it there by hand on an offline machine),
- ``stats/<key>.safetensors``: cached reference statistics (see ``stats_cache.py``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..utils.checks import InputError

INCEPTION_WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
# torch hub convention: the 8 hex digits in the file name start the SHA-256 of the file's bytes.
INCEPTION_WEIGHTS_SHA256_PREFIX = "6726825d"
INCEPTION_WEIGHTS_URL = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/" + INCEPTION_WEIGHTS_FILE
)


def default_cache_dir() -> Path:
    """``$WORDSIGHT_CACHE`` if set, else ``~/.cache/wordsight``."""
    env = os.environ.get("WORDSIGHT_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "wordsight"


def sha256_of_file(path: str | os.PathLike, chunk_bytes: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk_bytes):
            digest.update(block)
    return digest.hexdigest()


def find_inception_weights(weights_path: str | os.PathLike | None = None, verify: bool = True) -> Path:
    """The FID Inception weights file: ``weights_path`` if given, else ``<cache>/weights/<file>``.

    Raises InputError naming the file and where to put it when it is absent, and (``verify``) when its
    SHA-256 does not start with the digits in its official name (a truncated or different file).
    """
    if weights_path is not None:
        path = Path(weights_path).expanduser()
        if not path.is_file():
            raise InputError(f"Inception weights file not found: {path} (expected {INCEPTION_WEIGHTS_FILE})")
    else:
        path = default_cache_dir() / "weights" / INCEPTION_WEIGHTS_FILE
        if not path.is_file():
            raise InputError(
                f"FID/KID/IS need the TensorFlow-compatible Inception weights {INCEPTION_WEIGHTS_FILE}, not found at "
                f"{path}. Download it once from {INCEPTION_WEIGHTS_URL} and put it in {path.parent} "
                f"(or set WORDSIGHT_CACHE, or pass its path explicitly); wordsight never downloads it itself."
            )
    if verify:
        digest = sha256_of_file(path)
        if not digest.startswith(INCEPTION_WEIGHTS_SHA256_PREFIX):
            raise InputError(
                f"{path}: SHA-256 {digest[:16]}... does not match {INCEPTION_WEIGHTS_FILE} "
                f"(expected prefix {INCEPTION_WEIGHTS_SHA256_PREFIX}); the file is corrupt or a different network"
            )
    return path
