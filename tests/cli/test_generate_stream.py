"""`wordsight generate --captions-file FILE --out-dir DIR`: captions streamed to single images, caption i
with seed + i (the images of a one-caption call with that seed), an index file, and clear errors."""

import numpy as np
import pytest
import torch
from PIL import Image

from wordsight.cli.main import main
from wordsight.pipelines.text_to_image import TextToImage


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_streamed_images_are_those_of_single_calls_with_seed_plus_index(tmp_path, capsys):
    captions = tmp_path / "captions.txt"
    captions.write_text("a small red circle\n\n  a big blue square  \nthis bird has a white belly\n", encoding="utf-8")
    out = tmp_path / "images"
    assert main(["generate", "--captions-file", str(captions), "--out-dir", str(out), "-n", "2", "--seed", "5"]) == 0
    captured = capsys.readouterr()
    assert "wrote 6 images of 3 captions" in captured.out
    assert "warning (1 caption(s))" in captured.err and "bird" in captured.err  # one line for all captions
    rows = (out / "captions.tsv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "index\tseed\tcaption\tfiles"
    assert rows[2] == "1\t6\ta big blue square\t00001_00.png,00001_01.png"
    pipe = TextToImage.from_pretrained(None)
    expected = pipe(["a big blue square"], num_images=2, generator=torch.Generator().manual_seed(6)).to_pil()
    for k in range(2):
        np.testing.assert_array_equal(np.asarray(Image.open(out / f"00001_{k:02d}.png")), np.asarray(expected[k]))
    assert sorted(p.name for p in out.glob("*.png")) == [f"{i:05d}_{k:02d}.png" for i in range(3) for k in range(2)]


def test_positional_captions_stream_too_and_bad_combinations_are_refused(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["generate", "a red circle", "--out-dir", str(out), "-n", "1"]) == 0
    assert (out / "00000_00.png").is_file()
    assert main(["generate", "a", "b", "--out-dir", str(out), "--interpolate"]) == 2
    assert "cannot be combined with --interpolate" in capsys.readouterr().err


@pytest.mark.parametrize("content, message", [
    (b"", "no captions in it"),
    (b"\n   \n", "no captions in it"),
    (b"a red circle\n\xff\xfe broken", "not UTF-8"),
])
def test_bad_captions_files_are_one_line_errors(tmp_path, capsys, content, message):
    path = tmp_path / "c.txt"
    path.write_bytes(content)
    assert main(["generate", "--captions-file", str(path), "--out-dir", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert main(["generate", "--captions-file", str(tmp_path / "missing.txt")]) == 2
    assert "not found" in capsys.readouterr().err
