"""`wordsight.cli.main.main`: a full disk, a read-only folder or a refused write is one `error:` line that
names the file and a non-zero status (74, EX_IOERR); programming errors keep their traceback (issue 20)."""

import errno
import os
import stat

import pytest
from PIL import Image

from wordsight.cli import main as cli_main
from wordsight.cli.main import EXIT_IO, main

TRAIN = ["model.nf=4", "model.image_size=16", "data.synthetic.num_scenes=4", "data.sentence_whitening=8", "model.sentence_dim=8",
         "batch_size=4", "sample_every=1", "checkpoint_every=1", "tensorboard=false", "progress=false", "num_samples=4", "steps=1"]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WORDSIGHT_CACHE", str(tmp_path / "cache"))


def _raise_on_save(exc):
    def save(self, *args, **kwargs):
        raise exc
    return save


def _one_error_line(err: str) -> str:
    """The one `error:` line of stderr (progress bars of model loading may precede it); no traceback."""
    lines = [line for line in err.replace("\r", "\n").splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err and err.rstrip().endswith(lines[0]), err
    return lines[0]


def test_full_disk_while_writing_the_grid_names_the_output(tiny_pipeline, tmp_path, monkeypatch, capsys):
    out = tmp_path / "grids" / "g.png"
    # a real write on a full disk: the OSError carries no file name, only the errno
    monkeypatch.setattr(Image.Image, "save", _raise_on_save(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))))
    code = main(["generate", "--model", str(tiny_pipeline), "a small red circle", "-n", "1", "--out", str(out)])
    assert code == EXIT_IO == 74
    line = _one_error_line(capsys.readouterr().err)
    assert line == f"error: cannot write {out}: No space left on device (errno 28)"


@pytest.mark.parametrize("code, words", [(errno.EROFS, "Read-only file system"), (errno.EDQUOT, "quota"),
                                         (errno.EACCES, "Permission denied")])
def test_read_only_quota_and_permission_errors_are_one_line(tiny_pipeline, tmp_path, monkeypatch, capsys, code, words):
    out = tmp_path / "g.png"
    monkeypatch.setattr(Image.Image, "save", _raise_on_save(OSError(code, os.strerror(code), str(out))))
    assert main(["generate", "--model", str(tiny_pipeline), "a red circle", "-n", "1", "--out", str(out)]) == EXIT_IO
    line = _one_error_line(capsys.readouterr().err)
    assert str(out) in line and words.lower() in line.lower() and f"(errno {code})" in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders; the monkeypatched tests cover it")
def test_a_really_read_only_output_folder(tiny_pipeline, tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        code = main(["generate", "--model", str(tiny_pipeline), "a red circle", "-n", "1", "--out", str(folder / "g.png")])
    finally:
        folder.chmod(stat.S_IRWXU)
    assert code == EXIT_IO
    line = _one_error_line(capsys.readouterr().err)
    assert str(folder / "g.png") in line and "Permission denied (errno 13)" in line


@pytest.mark.skipif(not (os.path.exists("/dev/full") and stat.S_ISCHR(os.stat("/dev/full").st_mode)),
                    reason="no /dev/full character device here")
def test_a_really_full_device(tiny_pipeline, tmp_path, capsys):
    out = tmp_path / "g.png"
    out.symlink_to("/dev/full")  # every write fails with ENOSPC
    assert main(["generate", "--model", str(tiny_pipeline), "a red circle", "-n", "1", "--out", str(out)]) == EXIT_IO
    assert "No space left on device (errno 28)" in _one_error_line(capsys.readouterr().err)


def test_full_disk_while_saving_a_checkpoint_names_the_checkpoint_not_its_temp_folder(tmp_path, monkeypatch, capsys):
    import wordsight.hub as hub
    from safetensors import SafetensorError

    real_save = hub.save_file

    def save_file(tensors, filename, metadata=None):
        if ".checkpoint-1." in filename:  # what safetensors raises when the disk fills up mid-write
            raise SafetensorError('Error while serializing: I/O error: No space left on device (os error 28)')
        return real_save(tensors, filename, metadata=metadata)

    monkeypatch.setattr(hub, "save_file", save_file)
    runs = tmp_path / "runs"
    assert main(["train", "dfgan", "--out", str(runs), *TRAIN]) == EXIT_IO
    line = _one_error_line(capsys.readouterr().err)
    run = next(runs.iterdir())
    assert line.startswith(f"error: cannot write {run / 'checkpoint-1'}{os.sep}") and ".tmp" not in line, line
    assert line.endswith(".safetensors: No space left on device (errno 28)"), line
    assert not (run / "checkpoint-1").exists() and not list(run.glob(".checkpoint-1*"))  # nothing half-written is left


def test_full_disk_inside_an_atomic_folder_write_names_the_final_folder(tmp_path, monkeypatch, capsys):
    out = tmp_path / "synth"
    monkeypatch.setattr(Image.Image, "save", _raise_on_save(OSError(errno.ENOSPC, "No space left on device")))
    assert main(["data", "synth", str(out), "--n", "2", "--size", "16", "--layout", "folder"]) == EXIT_IO
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith(f"error: cannot write {out}") and ".tmp" not in line and line.endswith("(errno 28)"), line
    assert not out.exists() and not list(tmp_path.glob(".synth*"))


def test_a_missing_file_is_still_bad_input(tiny_pipeline, tmp_path, capsys):
    photo = tmp_path / "missing.png"
    code = main(["generate", "--model", str(tiny_pipeline), "a red circle", "--style-from", str(photo), "--out", str(tmp_path / "g.png")])
    assert code == 2
    assert str(photo) in _one_error_line(capsys.readouterr().err)


def test_a_too_long_output_name_is_bad_input(tiny_pipeline, tmp_path, capsys):
    out = tmp_path / ("b" * 300 + ".png")
    assert main(["generate", "--model", str(tiny_pipeline), "a red circle", "-n", "1", "--out", str(out)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "File name too long (errno 36)" in line and len(line) < 300


@pytest.mark.parametrize("exc", [OSError(errno.EBADF, "Bad file descriptor"), OSError("no errno"), RuntimeError("a bug")])
def test_programming_errors_keep_their_traceback(tiny_pipeline, tmp_path, monkeypatch, exc):
    monkeypatch.setattr(Image.Image, "save", _raise_on_save(exc))
    with pytest.raises(type(exc)):
        main(["generate", "--model", str(tiny_pipeline), "a red circle", "-n", "1", "--out", str(tmp_path / "g.png")])


def test_a_safetensors_error_that_is_not_about_the_disk_keeps_its_traceback():
    from safetensors import SafetensorError

    assert cli_main.file_error(SafetensorError("Error while serializing: header too large")) is None
    line, code = cli_main.file_error(SafetensorError("Error while serializing: I/O error: Read-only file system (os error 30)"))
    assert code == EXIT_IO and line == "error: cannot write: Read-only file system (errno 30)"


def test_exit_status_of_a_command_that_raises_typer_exit_reaches_the_caller(tmp_path):
    import typer

    app = typer.Typer()

    @app.command()
    def fail() -> None:
        raise typer.Exit(7)

    original = cli_main.app
    try:
        cli_main.app = app
        assert main([]) == 7
    finally:
        cli_main.app = original
