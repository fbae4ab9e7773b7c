"""Shared test set-up: slow tests run only with WORDSIGHT_SLOW=1."""

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
# `mixed_precision: auto` times bf16 against fp32 once per machine (wordsight.utils.hardware); tests must not
# depend on such timings, so they resolve `auto` by the CPU flags alone unless a test asks otherwise
# (tests/utils/test_hardware.py removes this and monkeypatches the measurement)
if "WORDSIGHT_BF16" not in os.environ:
    from wordsight.utils.hardware import native_bf16

    os.environ["WORDSIGHT_BF16"] = "yes" if native_bf16("cpu") else "no"


def pytest_collection_modifyitems(config, items):
    if os.environ.get("WORDSIGHT_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow test: set WORDSIGHT_SLOW=1 to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
