"""Deterministic train/test splits for data sets that ship without one (OSIE, MIT1003, user folders)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..utils.checks import InputError

SPLIT_NAMES = ("train", "test", "all")


def split_stems(stems: Sequence[str], test_fraction: float = 0.2, seed: int = 0) -> tuple[list[str], list[str]]:
    """Split names into (train, test), independent of the order the file system lists them in.

    The stems are sorted, shuffled with ``numpy.random.default_rng(seed)``, and the first
    ``round(test_fraction * n)`` go to test; both halves are returned sorted. The same names, fraction
    and seed always give the same split.
    """
    if not 0.0 <= test_fraction <= 1.0:
        raise InputError(f"test_fraction must be in [0, 1], got {test_fraction}")
    ordered = sorted(set(stems))
    if len(ordered) != len(stems):
        raise InputError("split_stems: names are not unique")
    order = np.random.default_rng(seed).permutation(len(ordered))
    n_test = int(round(test_fraction * len(ordered)))
    test = sorted(ordered[i] for i in order[:n_test])
    train = sorted(ordered[i] for i in order[n_test:])
    return train, test


def select_split(stems: Sequence[str], split: str, test_fraction: float = 0.2, seed: int = 0) -> list[str]:
    """The stems of ``split`` ("train", "test" or "all") under ``split_stems``."""
    if split not in SPLIT_NAMES:
        raise InputError(f"split must be one of {SPLIT_NAMES}, got {split!r}")
    if split == "all":
        return sorted(stems)
    train, test = split_stems(stems, test_fraction, seed)
    return train if split == "train" else test
