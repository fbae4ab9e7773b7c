"""`wordsight generate`: the model is `--model DIR` and every positional is a caption, so a mistyped model
path is an error saying how to write it, never a caption drawn with the shipped model (issue 20)."""

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from wordsight.cli.generate import resolve_model
from wordsight.cli.main import app, main
from wordsight.utils.checks import InputError


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WORDSIGHT_CACHE", str(tmp_path / "cache"))


def _err_line(err: str) -> str:
    lines = [line for line in err.replace("\r", "\n").splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_mistyped_model_path_is_an_error_not_a_caption(tiny_pipeline, tmp_path, capsys):
    out = tmp_path / "g.png"
    typo = str(tiny_pipeline) + "x"
    assert main(["generate", typo, "a small red circle", "-n", "1", "--out", str(out)]) == 2
    line = _err_line(capsys.readouterr().err)
    assert repr(typo) in line and "looks like a model path" in line and 'wordsight generate --model DIR "caption"' in line
    assert not out.exists()
    assert main(["generate", "runs/00000-dfgan-synthetic/pipelin", "a red circle", "--out", str(out)]) == 2
    assert "no such folder exists" in _err_line(capsys.readouterr().err)


def test_a_folder_without_pipeline_json_as_first_argument_is_an_error(tmp_path, capsys):
    (tmp_path / "notamodel").mkdir()
    assert main(["generate", str(tmp_path / "notamodel"), "a red circle", "--out", str(tmp_path / "g.png")]) == 2
    assert "is a folder without pipeline.json" in _err_line(capsys.readouterr().err)


def test_model_option_and_the_old_form_give_the_same_images_the_old_one_warns(tiny_pipeline, tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    runner = CliRunner()
    new = runner.invoke(app, ["generate", "--model", str(tiny_pipeline), "a small red circle", "-n", "2", "--out", str(a)])
    assert new.exit_code == 0, new.output
    assert "deprecated" not in new.stderr
    old = runner.invoke(app, ["generate", str(tiny_pipeline), "a small red circle", "-n", "2", "--out", str(b)])
    assert old.exit_code == 0, old.output
    assert f'write `wordsight generate --model {tiny_pipeline} "caption"`' in old.stderr
    assert np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b)))


def test_a_missing_model_folder_is_named(tmp_path, capsys):
    missing = tmp_path / "nope"
    assert main(["generate", "--model", str(missing), "a red circle", "--out", str(tmp_path / "g.png")]) == 2
    assert _err_line(capsys.readouterr().err) == (
        f"error: --model {missing}: folder not found (expected a pipeline folder holding pipeline.json)")
    (tmp_path / "file").write_text("x")
    assert main(["generate", "--model", str(tmp_path / "file"), "a red circle", "--out", str(tmp_path / "g.png")]) == 2
    assert "is not a folder" in _err_line(capsys.readouterr().err)
    assert main(["generate", "--model", str(tmp_path), "a red circle", "--out", str(tmp_path / "g.png")]) == 2
    assert "not a text-to-image pipeline folder" in _err_line(capsys.readouterr().err)


def test_a_first_argument_over_255_bytes_is_no_traceback(tiny_pipeline, tmp_path, capsys):
    out = tmp_path / "g.png"
    long_caption = "a" * 300
    assert main(["generate", "--model", str(tiny_pipeline), long_caption, "-n", "1", "--out", str(out)]) == 0
    assert out.exists()  # drawn: it is a caption
    long_path = "x/" * 200
    assert main(["generate", long_path, "a red circle", "--out", str(out)]) == 2
    line = _err_line(capsys.readouterr().err)
    assert "looks like a model path" in line and len(line) < 400
    assert main(["generate", "--model", long_path, "a red circle", "--out", str(out)]) == 2
    assert "folder not found" in _err_line(capsys.readouterr().err)


def test_an_empty_first_argument_is_an_empty_caption_not_the_current_folder(tiny_pipeline, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["generate", "", "--out", str(tmp_path / "g.png")]) == 2
    assert "caption 0 is empty" in _err_line(capsys.readouterr().err)
    assert main(["generate", "--model", "", "a red circle", "--out", str(tmp_path / "g.png")]) == 2
    assert "--model: empty folder name" in _err_line(capsys.readouterr().err)


def test_with_model_given_every_argument_is_a_caption(tiny_pipeline, tmp_path):
    out = tmp_path / "g.png"
    res = CliRunner().invoke(app, ["generate", "--model", str(tiny_pipeline), "a red/blue circle", str(tiny_pipeline),
                                   "-n", "1", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "(2 images)" in res.output  # two captions, one image each


def test_resolve_model():
    assert resolve_model(None, ["a red circle", "a blue star"]) == (None, ["a red circle", "a blue star"])
    assert resolve_model("shipped", ["a/b"]) == (None, ["a/b"])
    with pytest.raises(InputError, match="--model DIR"):
        resolve_model(None, ["./typo", "a red circle"])


def test_help_shows_the_model_option():
    res = CliRunner().invoke(app, ["generate", "--help"])
    assert res.exit_code == 0 and "--model" in res.output and "shipped" in res.output
