import pickle

import numpy as np
import pytest
from PIL import Image

from wordsight.data.attngan import CUBDataset, OxfordFlowersDataset, attngan_crop_box, class_labels
from wordsight.data.export import write_cub_layout
from wordsight.data.safe_pickle import dump_pickle, load_pickle
from wordsight.utils.checks import InputError

from data_fixtures import captioned, square_image


@pytest.fixture
def cub(tmp_path, class_names):
    root = tmp_path / "birds"
    write_cub_layout(root, captioned(4), captioned(2, start=4), class_names=class_names)
    return root


def _key(root, split="train", i=0):
    return load_pickle(root / split / "filenames.pickle")[i]


def test_cub_round_trip(cub, class_names):
    train = CUBDataset(cub, "train")
    test = CUBDataset(cub, "test")
    assert (len(train), len(test)) == (4, 2)
    rec = train[1]
    assert rec.key == "002.green_square/img_001"
    assert rec.captions == [f"a square number 1 caption {j}" for j in range(10)]
    assert rec.label == 1 and train.class_names == class_names
    assert rec.image.size == (32, 32)  # whole-image box: the AttnGAN crop keeps everything
    # JPEG round trip: close to the drawn square
    diff = np.abs(np.asarray(rec.image, dtype=float) - np.asarray(square_image(1), dtype=float)).mean()
    assert diff < 4
    assert train.vocabulary.wordtoix["<end>"] == 0
    assert train.vocabulary.decode(train.vocabulary.train_captions[0]) == "a square number 0 caption 0"
    assert train.summary()["splits"] == {"train": 4, "test": 2}


def test_captions_per_image_limits_lines(cub):
    ds = CUBDataset(cub, "train", captions_per_image=3)
    assert len(ds[0].captions) == 3


def test_attngan_crop_matches_get_imgs():
    # bbox (x, y, w, h) = (10, 20, 40, 20): r = int(40 * .75) = 30, centre (30, 30)
    assert attngan_crop_box((10, 20, 40, 20), 100, 100) == (0, 0, 60, 60)
    assert attngan_crop_box((60, 60, 20, 10), 80, 75) == (55, 50, 80, 75)  # clipped at the border


def test_cub_crop_uses_bounding_boxes(tmp_path, class_names):
    recs = captioned(2)
    root = tmp_path / "birds"
    boxes = {"001.red_square/img_000": (8, 8, 8, 4)}  # r = 6, centre (12, 10) -> crop (6, 4, 18, 16)
    write_cub_layout(root, recs, class_names=class_names, bounding_boxes=boxes)
    ds = CUBDataset(root, "train")
    assert ds[0].image.size == (12, 12)
    assert ds[1].image.size == (32, 32)
    assert CUBDataset(root, "train", crop=False)[0].image.size == (32, 32)


def test_class_labels_from_folder_numbers():
    labels, names = class_labels(["002.b", "001.a", "010.c"])
    assert labels == {"001.a": 0, "002.b": 1, "010.c": 9} and names[9] == "c"
    labels, names = class_labels(["class_00002", "class_00001"])
    assert labels == {"class_00001": 0, "class_00002": 1}
    labels, _ = class_labels(["zebra", "ant"])
    assert labels == {"ant": 0, "zebra": 1}


def test_all_damage_reported_in_one_error(cub):
    k0, k1, k2, k3 = (_key(cub, "train", i) for i in range(4))
    (cub / "CUB_200_2011" / "images" / f"{k0}.jpg").unlink()  # missing image
    (cub / "CUB_200_2011" / "images" / f"{k1}.jpg").write_bytes(b"not a jpeg at all")  # corrupt image
    (cub / "text" / f"{k2}.txt").unlink()  # missing text
    (cub / "text" / f"{k3}.txt").write_text("\n  \n\n")  # empty caption file
    with pytest.raises(InputError) as err:
        CUBDataset(cub, "train")
    msg = str(err.value)
    assert "4 problem(s)" in msg
    assert f"{k0}.jpg: missing image file" in msg
    assert f"{k1}.jpg: not a readable image" in msg
    assert f"{k2}.txt: missing caption file" in msg
    assert f"{k3}.txt: caption file has no non-empty line" in msg
    lenient = CUBDataset(cub, "train", strict=False)
    assert len(lenient) == 0 and len(lenient.problems) == 4


def test_truncated_image_fails_on_access_naming_the_path(cub):
    key = _key(cub)
    path = cub / "CUB_200_2011" / "images" / f"{key}.jpg"
    path.write_bytes(path.read_bytes()[:200])  # header parses, pixels do not
    ds = CUBDataset(cub, "train", strict=False)
    if len(ds) == 4:  # header survived the cut: decoding must fail with the path
        with pytest.raises(InputError, match="img_000"):
            ds[0]
    else:
        assert "img_000" in str(ds.problems.items[0])


def test_bad_and_malicious_pickles(cub):
    (cub / "train" / "filenames.pickle").write_bytes(b"\x80\x02garbage")
    with pytest.raises(InputError, match=r"train/filenames.pickle: corrupt pickle"):
        CUBDataset(cub, "train")

    class Evil:
        def __reduce__(self):
            import os
            return (os.system, ("echo unsafe",))

    (cub / "captions.pickle").write_bytes(pickle.dumps(Evil(), protocol=2))
    with pytest.raises(InputError, match=r"captions.pickle: unsafe pickle"):
        CUBDataset(cub, "test")


def test_stale_vocabulary_is_reported(cub):
    vocab = load_pickle(cub / "captions.pickle")
    vocab[0] = vocab[0][:-3]
    (cub / "captions.pickle").write_bytes(dump_pickle(vocab))
    with pytest.raises(InputError, match="caption counts do not match"):
        CUBDataset(cub, "train")


def test_missing_bounding_boxes_need_crop_false(tmp_path, class_names):
    root = tmp_path / "birds"
    write_cub_layout(root, captioned(2), class_names=class_names, bounding_boxes=False)
    with pytest.raises(InputError, match="bounding_boxes.txt: missing"):
        CUBDataset(root, "train")
    assert len(CUBDataset(root, "train", crop=False)) == 2


def test_oxford_layout_with_flat_jpg_folder(tmp_path):
    root = tmp_path / "flowers"
    keys = ["class_00001/image_00001", "class_00002/image_00002"]
    for i, key in enumerate(keys):
        (root / "jpg").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (16, 16), (i * 100, 50, 50)).save(root / "jpg" / f"{key.split('/')[1]}.jpg")
        (root / "text_c10" / key).parent.mkdir(parents=True, exist_ok=True)
        (root / "text_c10" / f"{key}.txt").write_text("a pink flower\nwith round petals\n")
    for split in ("train", "test"):
        (root / split).mkdir()
        (root / split / "filenames.pickle").write_bytes(pickle.dumps(keys if split == "train" else keys[:1], protocol=2))
    ds = OxfordFlowersDataset(root, "train")
    assert len(ds) == 2 and ds[1].label == 1 and ds[1].captions == ["a pink flower", "with round petals"]
