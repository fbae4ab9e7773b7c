import os
import pickle

import numpy as np
import pytest

from wordsight.data.safe_pickle import dump_pickle, load_pickle, loads_restricted
from wordsight.utils.checks import InputError


def test_plain_data_round_trip(tmp_path):
    obj = [[[1, 2], [3]], [[4]], {0: "<end>", 1: "bird"}, {"<end>": 0, "bird": 1}, (1.5, None, True), {3, 4}]
    path = tmp_path / "captions.pickle"
    path.write_bytes(dump_pickle(obj))
    assert load_pickle(path) == obj


def test_python3_protocol2_bytes_are_decoded():
    # Python 3 writes bytes in protocol 2 through _codecs.encode: it must be allowed and decoded to str.
    data = pickle.dumps([b"001.Black_footed_Albatross/x", {b"key": b"value"}], protocol=2)
    assert loads_restricted(data) == ["001.Black_footed_Albatross/x", {"key": "value"}]


def test_python2_pickle_with_byte_strings():
    # What Python 2's cPickle.dump([...], f, protocol=2) writes for str: SHORT_BINSTRING ('U') opcodes.
    py2_list = b"\x80\x02]q\x00(U\x05a/b_1q\x01U\x04c/d2q\x02e."
    py2_dict = b"\x80\x02}q\x00(U\x04birdq\x01K\x01U\x05<end>q\x02K\x00u."
    assert loads_restricted(py2_list) == ["a/b_1", "c/d2"]
    assert loads_restricted(py2_dict) == {"bird": 1, "<end>": 0}


def test_numpy_ints_are_allowed():
    assert loads_restricted(pickle.dumps([np.int64(3), np.arange(3)], protocol=2))[0] == 3


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "filenames.pickle"
    path.write_bytes(pickle.dumps(_Evil(marker), protocol=2))
    with pytest.raises(InputError, match=r"unsafe pickle .*filenames.pickle.*(system|posix)"):
        load_pickle(path)
    assert not marker.exists()


def test_corrupt_and_missing_pickles_name_the_file(tmp_path):
    bad = tmp_path / "bad.pickle"
    bad.write_bytes(pickle.dumps(["a", "b"], protocol=2)[:-4])
    with pytest.raises(InputError, match="corrupt pickle .*bad.pickle"):
        load_pickle(bad)
    with pytest.raises(InputError, match="not found"):
        load_pickle(tmp_path / "nope.pickle")
