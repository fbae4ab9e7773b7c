"""Regressions found by tests/reliability: the restricted unpickler on empty bytes, sizes, codecs, torch
zip files and deep nesting."""

import io
import pickle

import pytest
import torch

from wordsight.data.safe_pickle import loads_restricted
from wordsight.utils.checks import InputError


@pytest.mark.parametrize("protocol", [0, 1, 2])
def test_empty_bytes_are_plain_data(protocol):
    # Python 3 writes b"" as __builtin__.bytes() in protocols 0-2; it used to be refused as unsafe
    assert loads_restricted(pickle.dumps([b"", b"ab"], protocol=protocol)) == ["", "ab"]


@pytest.mark.parametrize("name", ["bytes", "bytearray"])
def test_sizes_are_refused_not_allocated(name):
    with pytest.raises(InputError, match="a size, not data"):
        loads_restricted(f"c__builtin__\n{name}\n(I1000000000000\ntR.".encode(), source="x.pickle")


def test_codecs_other_than_latin1_are_refused():
    data = pickle.dumps(b"\xff", protocol=2).replace(b"latin1", b"atin1")  # used to escape as LookupError
    with pytest.raises(InputError, match="x.pickle"):
        loads_restricted(data, source="x.pickle")
    data = pickle.dumps(b"\xff", protocol=2).replace(b"latin1", b"rot_13")
    with pytest.raises(InputError, match="refusing _codecs.encode"):
        loads_restricted(data, source="x.pickle")


def test_torch_zip_file_is_one_line_error():
    buf = io.BytesIO()
    torch.save({"a": 1}, buf)
    with pytest.raises(InputError) as err:
        loads_restricted(buf.getvalue(), source="x.pickle")
    assert "corrupt pickle x.pickle" in str(err.value) and "\n" not in str(err.value)


def test_deep_nesting_is_a_corrupt_pickle():
    with pytest.raises(InputError, match="corrupt pickle"):
        loads_restricted(b"(" * 200_000 + b"l" * 200_000 + b".", source="x.pickle")
