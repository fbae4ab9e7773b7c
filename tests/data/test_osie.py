from pathlib import Path

import numpy as np
import pytest

from wordsight.data.saliency_sets import OSIEDataset
from wordsight.data.splits import select_split, split_stems
from wordsight.utils.checks import InputError

OSIE = Path(__file__).resolve().parents[3] / "shared" / "data" / "osie"
needs_osie = pytest.mark.skipif(not (OSIE / "eye" / "fixations.mat").is_file(),
                                reason=f"real OSIE data not found at {OSIE} (point the loader at your own copy)")


@needs_osie
def test_osie_real_data():
    ds = OSIEDataset(OSIE)
    s = ds.summary()
    assert (s["images"], s["observers"], s["fixations"]) == (700, 15, 98321)
    rec = ds[0]
    assert rec.key == "1001" and rec.image.size == (800, 600)
    # fixations.mat stores 1-based MATLAB pixels: the first fixation of subject 1 on 1001.jpg is (395.5, 265.7)
    assert rec.fixations.x[0] == pytest.approx(394.5) and rec.fixations.y[0] == pytest.approx(264.7)
    assert rec.fixations.duration[0] == 246
    assert rec.fixation_map is None and rec.binary_map().shape == (600, 800)
    all_x = np.concatenate([it.fixations.x for it in ds.items])
    all_y = np.concatenate([it.fixations.y for it in ds.items])
    assert all_x.min() >= 0 and all_x.max() < 800 and all_y.min() >= 0 and all_y.max() < 600


@needs_osie
def test_osie_split_is_deterministic_and_disjoint():
    train = OSIEDataset(OSIE, split="train", test_fraction=0.2, split_seed=3)
    test = OSIEDataset(OSIE, split="test", test_fraction=0.2, split_seed=3)
    keys_train, keys_test = {it.key for it in train.items}, {it.key for it in test.items}
    assert (len(keys_train), len(keys_test)) == (560, 140) and not keys_train & keys_test
    assert keys_test == {it.key for it in OSIEDataset(OSIE, split="test", test_fraction=0.2, split_seed=3).items}


def test_split_stems_ignores_listing_order():
    stems = [f"{i:04d}" for i in range(50)]
    a = split_stems(stems, 0.3, seed=1)
    b = split_stems(list(reversed(stems)), 0.3, seed=1)
    assert a == b and len(a[1]) == 15 and not set(a[0]) & set(a[1])
    assert split_stems(stems, 0.3, seed=2) != a
    assert select_split(stems, "all") == stems
    with pytest.raises(InputError):
        select_split(stems, "validation")


def test_osie_missing_files(tmp_path):
    (tmp_path / "stimuli").mkdir()
    with pytest.raises(InputError, match="fixations.mat: missing OSIE fixations file"):
        OSIEDataset(tmp_path)
