"""Commands that come from registries, not hand-kept lists: `wordsight train <saliency system>` and the
launcher's saliency switch; `wordsight train damsm --data` parses the same forms as `train SYSTEM --data`."""

import dataclasses

import pytest

from wordsight.cli.main import main
from wordsight.training import saliency as sal
from wordsight.training.launch import main as launch_main

from .conftest import write_tiny_cub


@pytest.fixture
def extra_saliency_system(monkeypatch):
    """A copy of SalGAN registered under a new name, removed afterwards."""
    spec = dataclasses.replace(sal.SALIENCY_SYSTEMS.get("salgan"), summary="A test-only copy of SalGAN.")
    sal.SALIENCY_SYSTEMS.register("salgan-copy", spec)
    yield "salgan-copy"
    sal.SALIENCY_SYSTEMS._items.pop("salgan-copy")


def test_a_registered_saliency_system_gets_a_train_command(extra_saliency_system, capsys):
    import typer

    from wordsight.cli.train_saliency import register

    app = typer.Typer()
    register(app)
    names = {c.name for c in app.registered_commands}
    assert names == set(sal.SALIENCY_SYSTEMS.names()) and "salgan-copy" in names


def test_train_list_shows_every_registered_saliency_system(extra_saliency_system, capsys):
    assert main(["train", "--list"]) == 0
    assert "A test-only copy of SalGAN." in capsys.readouterr().out


def test_the_launcher_sends_every_registered_saliency_system_to_saliency_training(extra_saliency_system, capsys, tmp_path):
    # the saliency path answers with its own --data forms (a GAN launch would take random data)
    rc = launch_main(["--config", "salgan_osie", "--set", "system=salgan-copy", "--data", "random", "--out", str(tmp_path)])
    assert rc == 2 and "unknown saliency data 'random'" in capsys.readouterr().err


def test_train_damsm_takes_the_shared_data_forms(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WORDSIGHT_CACHE", str(tmp_path / "cache"))
    assert main(["train", "damsm", "--data", "cub", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "cub needs a path: cub:PATH" in err and "folder:PATH" in err
    assert main(["train", "damsm", "--data", "imagenet:/x", "--out", str(tmp_path / "x")]) == 2
    assert "unknown --data 'imagenet:/x'" in capsys.readouterr().err
    root = write_tiny_cub(tmp_path / "cub", train=4, test=2, captions=5)
    assert main(["train", "damsm", "--data", f"CUB:{root}", "--steps", "2", "--batch-size", "4", "--image-size", "32",
                 "--eval-images", "0", "--no-progress", "--out", str(tmp_path / "damsm")]) == 0
    assert (tmp_path / "damsm" / "text_encoder").is_dir()
