import json

import pytest

from data_fixtures import captioned, square_image
from wordsight.data.coco import COCOCaptionsDataset
from wordsight.data.export import write_caption_folder
from wordsight.data.folder import CaptionFolderDataset
from wordsight.utils.checks import InputError


def _coco(root, n_captions=(6, 5, 0)):
    (root / "annotations").mkdir(parents=True)
    (root / "val2014").mkdir()
    images, anns = [], []
    for i, n in enumerate(n_captions):
        name = f"COCO_val2014_{i:012d}.jpg"
        square_image(i).save(root / "val2014" / name)
        images.append({"id": i + 1, "file_name": name, "width": 32, "height": 32})
        anns += [{"id": 100 * i + j, "image_id": i + 1, "caption": f" image {i} caption {j} "} for j in range(n)]
    (root / "annotations" / "captions_val2014.json").write_text(json.dumps({"images": images, "annotations": anns}))


def test_coco_keeps_five_captions_and_reports_uncaptioned(tmp_path):
    _coco(tmp_path)
    with pytest.raises(InputError, match="image id 3 has no caption"):
        COCOCaptionsDataset(tmp_path, "val")
    ds = COCOCaptionsDataset(tmp_path, "val", strict=False)
    assert len(ds) == 2 and ds.year == "2014"
    assert ds[0].captions == [f"image 0 caption {j}" for j in range(5)]
    assert ds[0].key == "COCO_val2014_000000000000" and ds[0].image.size == (32, 32)


def test_coco_missing_image_and_annotations(tmp_path):
    _coco(tmp_path, (5, 5))
    (tmp_path / "val2014" / "COCO_val2014_000000000001.jpg").unlink()
    with pytest.raises(InputError, match="COCO_val2014_000000000001.jpg: missing image file"):
        COCOCaptionsDataset(tmp_path, "val")
    with pytest.raises(InputError, match="captions_train2014.json: missing caption annotations"):
        COCOCaptionsDataset(tmp_path, "train")


def test_caption_folder_round_trip(tmp_path):
    write_caption_folder(tmp_path, captioned(3, captions=2))
    ds = CaptionFolderDataset(tmp_path)
    assert [r.key for r in ds] == ["img_000", "img_001", "img_002"]
    assert ds[2].captions == ["a square number 2 caption 0", "a square number 2 caption 1"]
    assert ds[2].image.getpixel((16, 16)) == square_image(2).getpixel((16, 16))


def test_caption_folder_problems(tmp_path):
    write_caption_folder(tmp_path, captioned(4, captions=2))
    (tmp_path / "img_000.txt").unlink()  # image without captions
    (tmp_path / "img_001.png").unlink()  # captions without image
    (tmp_path / "img_002.txt").write_text("\n\n")  # empty caption file
    (tmp_path / "notes.csv").write_text("x")  # not an image
    (tmp_path / "broken.png").write_bytes(b"\x89PNG broken")
    (tmp_path / "broken.txt").write_text("a caption\n")
    with pytest.raises(InputError) as err:
        CaptionFolderDataset(tmp_path)
    msg = str(err.value)
    for expected in ("img_000.png: image without a caption file", "img_001.txt: caption file without an image",
                     "img_002.txt: caption file has no non-empty line", "notes.csv: neither an image",
                     "broken.png: not a readable image"):
        assert expected in msg
    assert [r.key for r in CaptionFolderDataset(tmp_path, strict=False)] == ["img_003"]
