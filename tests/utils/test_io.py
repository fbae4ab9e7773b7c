"""Atomic writes: the permissions of what they write, and the clean-up of what killed writes leave."""

import os
import stat

import pytest
import torch

from wordsight.hub import save_weights
from wordsight.utils.io import atomic_dir, atomic_path, atomic_write_json, atomic_write_text, current_umask, remove_stale_temporaries


@pytest.fixture
def umask():
    """Set a umask for one test and put the old one back."""
    saved = os.umask(0o022)
    os.umask(saved)

    def set_mask(mask):
        os.umask(mask)

    yield set_mask
    os.umask(saved)


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o002])
def test_written_files_and_folders_follow_the_umask(tmp_path, umask, mask):
    umask(mask)
    assert current_umask() == mask
    atomic_write_text(tmp_path / "a.txt", "x")
    save_weights({"w": torch.zeros(2)}, tmp_path / "w.safetensors")
    with atomic_dir(tmp_path / "checkpoint-1") as tmp:
        atomic_write_json(tmp / "state.json", {"step": 1})
    assert _mode(tmp_path / "a.txt") == 0o666 & ~mask
    assert _mode(tmp_path / "w.safetensors") == 0o666 & ~mask
    assert _mode(tmp_path / "checkpoint-1") == 0o777 & ~mask
    assert _mode(tmp_path / "checkpoint-1" / "state.json") == 0o666 & ~mask


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "config.yaml"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("disk gone")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]


def _leave_temporaries(folder):
    """What SIGKILL in the middle of atomic writes leaves (the names tempfile makes)."""
    (folder / ".checkpoint-5.k2j_x9ab.tmp").mkdir()
    (folder / ".checkpoint-5.k2j_x9ab.tmp" / "generator.safetensors").write_bytes(b"partial")
    (folder / ".metrics.jsonl.abc123de.tmp").write_text('{"step": 1}\n')


def test_stale_temporaries_are_removed_and_nothing_else(tmp_path):
    _leave_temporaries(tmp_path)
    (tmp_path / "checkpoint-3").mkdir()
    (tmp_path / "checkpoint-3" / "state.json").write_text("{}")
    (tmp_path / "checkpoint-3" / ".inside.zzzzzzzz.tmp").write_text("not ours to judge")  # below the folder: kept
    keep = ["notes.tmp", ".hidden", ".tmp", "metrics.jsonl", ".config.yaml.tmp", ".a.b.c", ".x.old"]
    for name in keep:
        (tmp_path / name).write_text("user file")
    removed = remove_stale_temporaries(tmp_path)
    assert sorted(p.name for p in removed) == [".checkpoint-5.k2j_x9ab.tmp", ".metrics.jsonl.abc123de.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["checkpoint-3", *keep])
    assert (tmp_path / "checkpoint-3" / ".inside.zzzzzzzz.tmp").exists()
    assert remove_stale_temporaries(tmp_path) == [] and remove_stale_temporaries(tmp_path / "missing") == []


def test_a_swapped_out_folder_is_put_back_when_its_replacement_never_arrived(tmp_path):
    # a kill between atomic_dir's two renames: .NAME.old is the only complete copy
    (tmp_path / ".checkpoint-4.old").mkdir()
    (tmp_path / ".checkpoint-4.old" / "state.json").write_text('{"step": 4}')
    # a kill after both renames: the new folder is in place, the old one is garbage
    (tmp_path / "checkpoint-6").mkdir()
    (tmp_path / ".checkpoint-6.old").mkdir()
    removed = remove_stale_temporaries(tmp_path)
    assert [p.name for p in removed] == [".checkpoint-6.old"]
    assert (tmp_path / "checkpoint-4" / "state.json").read_text() == '{"step": 4}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-4", "checkpoint-6"]
