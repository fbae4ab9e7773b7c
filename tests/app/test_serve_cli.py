"""`wordsight serve`: options reach the server, the address is printed, a missing gradio is a clear error."""

import sys

import pytest

from wordsight.app import server
from wordsight.cli.main import main

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class _FakeDemo:
    share_url = None

    def __init__(self):
        self.blocked = self.closed = False

    def block_thread(self):
        self.blocked = True

    def close(self):
        self.closed = True


def test_serve_prints_the_address_and_binds_loopback_by_default(monkeypatch, capsys, tmp_path):
    calls, demo = [], _FakeDemo()

    def fake_launch(models_dir, host, port, share, concurrency, gallery=None, osie=None):
        calls.append((models_dir, host, port, share, concurrency, gallery, osie))
        return demo, f"http://{host}:{port}/"

    monkeypatch.setattr(server, "launch", fake_launch)
    assert main(["serve", "--port", "7861"]) == 0
    assert calls == [(None, "127.0.0.1", 7861, False, 2, None, None)]
    assert "wordsight demo running at http://127.0.0.1:7861/" in capsys.readouterr().out
    assert demo.blocked and demo.closed
    assert main(["serve", "--models", str(tmp_path), "--host", "0.0.0.0"]) == 0
    assert calls[-1][:3] == (tmp_path, "0.0.0.0", 7860)
    assert "anyone who can reach this machine" in capsys.readouterr().out
    assert main(["serve", "--gallery", str(tmp_path), "--osie", str(tmp_path)]) == 0
    assert calls[-1][5:] == (tmp_path, tmp_path)


@pytest.mark.parametrize("option", ["--models", "--gallery", "--osie"])
def test_serve_refuses_a_missing_folder(tmp_path, capsys, option):
    assert main(["serve", option, str(tmp_path / "nope")]) == 2
    assert f"{option}: no such folder" in capsys.readouterr().err


def test_a_missing_gradio_tells_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "gradio", None)  # `import gradio` now raises ImportError
    assert main(["serve"]) == 2
    assert "pip install 'wordsight[demo]'" in capsys.readouterr().err


def test_serve_help_lists_the_options(capsys):
    assert main(["serve", "--help"]) == 0
    out = capsys.readouterr().out
    assert all(o in out for o in ("--models", "--gallery", "--osie", "--host", "--port"))
