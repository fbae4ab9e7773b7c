import pytest

from data_fixtures import CLASS_NAMES, captioned, saliency_records
from wordsight.cli.main import main
from wordsight.data import LAYOUTS, detect_layout, inspect_layout, open_layout
from wordsight.data.export import write_caption_folder, write_cub_layout, write_saliency_folder, write_saliency_manifest
from wordsight.utils.checks import InputError


@pytest.fixture
def datasets(tmp_path):
    write_cub_layout(tmp_path / "cub", captioned(3), captioned(1, start=3), class_names=CLASS_NAMES)
    write_caption_folder(tmp_path / "folder", captioned(2, captions=2))
    write_saliency_folder(tmp_path / "saliency", saliency_records(2))
    write_saliency_manifest(tmp_path / "manifest", saliency_records(2, category="salient", text="a square"))
    return tmp_path


def test_registry_lists_every_layout():
    assert {"cub", "oxford", "coco", "folder", "saliency", "salicon", "mit1003", "osie", "sjtu-tis", "manifest"} <= set(LAYOUTS)


@pytest.mark.parametrize("name", ["cub", "folder", "saliency", "manifest"])
def test_detect_and_open(datasets, name):
    assert detect_layout(datasets / name) == name
    assert len(open_layout(datasets / name)) >= 1


def test_detect_unknown(tmp_path):
    with pytest.raises(InputError, match="no known data layout"):
        detect_layout(tmp_path)


def test_inspect_counts_splits(datasets):
    report = inspect_layout(datasets / "cub")
    assert report["usable"] and report["splits"]["train"]["images"] == 3 and report["splits"]["test"]["images"] == 1


def test_cli_inspect(datasets, capsys):
    assert main(["data", "inspect", str(datasets / "saliency")]) == 0
    assert "saliency" in capsys.readouterr().out
    (datasets / "folder" / "img_000.txt").unlink()
    (datasets / "folder" / "img_001.txt").write_text("")
    assert main(["data", "inspect", str(datasets / "folder")]) == 2  # unusable: no item left
    captured = capsys.readouterr()
    assert "img_000.png: image without a caption file" in captured.out
    assert "no usable items" in captured.err


def test_cli_synth_all_layouts(tmp_path, capsys):
    out = tmp_path / "synth"
    assert main(["data", "synth", str(out), "--n", "3", "--size", "32", "--seed", "1", "--layout", "all"]) == 0
    for name in ("cub", "folder", "saliency", "manifest"):
        assert detect_layout(out / name) == name
    assert len(open_layout(out / "cub", split="train")) == 3 and len(open_layout(out / "cub", split="test")) == 1
    assert len(open_layout(out / "manifest")) == 15
    assert main(["data", "synth", str(out), "--n", "1"]) == 2  # refuses to overwrite
    assert main(["data", "synth", str(tmp_path / "x"), "--layout", "nope"]) == 2
