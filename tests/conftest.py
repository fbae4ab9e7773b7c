"""Shared test set-up: slow tests run only with WORDSIGHT_SLOW=1."""

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_collection_modifyitems(config, items):
    if os.environ.get("WORDSIGHT_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow test: set WORDSIGHT_SLOW=1 to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
