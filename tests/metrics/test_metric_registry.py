"""The metric registry validates names and describes every metric."""

from __future__ import annotations

import pytest

from wordsight.metrics import METRICS, describe_metrics, list_metrics, resolve_metrics
from wordsight.metrics.generation import keys
from wordsight.utils import InputError


def test_generation_metrics_are_registered_with_their_keys():
    assert {"fid", "kid", "is", "r_precision", "clip_score", "oracle"} <= set(list_metrics())
    assert METRICS.get("fid").result_keys == (keys.KEY_FID,)
    assert METRICS.get("kid").result_keys == (keys.KEY_KID_MEAN, keys.KEY_KID_STD)
    table = describe_metrics()
    assert table["r_precision"]["needs"] == ["damsm"] and table["is"]["summary"]


def test_resolve_is_case_insensitive_deduplicates_and_rejects_unknown():
    assert [s.name for s in resolve_metrics(["FID", "fid", "kid"])] == ["fid", "kid"]
    with pytest.raises(InputError, match="unknown metric 'fdi'"):
        resolve_metrics(["fdi"])
    with pytest.raises(InputError, match="no metrics"):
        resolve_metrics([])
