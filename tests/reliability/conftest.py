"""Shared set-up of the bad-input reliability tests: a per-module tally of the generated cases, printed as
``RELIABILITY bad_input <area> tried=N handled=N`` when the module finishes (benchmarks grep ``pytest -s``
output for it), and the tests/data record builders (data_fixtures.py) on the path."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for folder in (HERE, HERE.parent / "data"):  # reliability_helpers, and tests/data's data_fixtures
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from reliability_helpers import Tally  # noqa: E402


@pytest.fixture(scope="module")
def tally(request):
    t = Tally(getattr(request.module, "AREA", request.module.__name__.rsplit(".", 1)[-1]))
    yield t
    print(f"\n{t.line()}")
