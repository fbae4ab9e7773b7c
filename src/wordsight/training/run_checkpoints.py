"""Checkpoints, resume and signal handling for the trainers with loops of their own (DAMSM pre-training,
the oracle, the saliency models), whose output folder is the run folder: ``checkpoint-<step>/`` holds
``<name>.safetensors`` per network, ``models.json``, ``state.safetensors`` + ``state.json`` (optimizer, RNG
and loop state, no pickle) and ``config.yaml``, written atomically. The main engine (loop.py) has its own
run folders (rundir.py) but shares the checkpoint format (checkpoint.py).
"""

from __future__ import annotations

import contextlib
import shutil
import signal
from pathlib import Path
from typing import Any, Iterator, Sequence

from torch import nn

from ..config import config_to_dict
from ..utils.checks import InputError
from .checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from .rundir import resolve_resume

__all__ = ["save_run_checkpoint", "load_run_checkpoint", "resolve_folder_resume", "check_folder_resume_config",
           "remove_checkpoints", "StopRequest", "stop_on_signals"]

# state.json (optimizer, RNG and loop state, no pickle) and config.yaml, written atomically


def save_run_checkpoint(run_dir: Path, step: int, networks: dict[str, nn.Module], state: dict[str, Any],
                        config: Any, keep_last: int) -> Path:
    """Write ``run_dir/checkpoint-<step>/`` atomically (a kill at any moment leaves the earlier ones
    intact), then delete all but the newest ``keep_last``: the main engine's format, without an EMA."""
    return save_checkpoint(run_dir, step, networks, None, state, config, keep_last)


def load_run_checkpoint(folder: Path, networks: dict[str, nn.Module]) -> dict[str, Any]:
    """Load each network's weights from ``folder`` in place; return the saved state (with ``step``)."""
    return load_checkpoint(folder, networks, None)


def resolve_folder_resume(run_dir: Path, resume: str | Path | None) -> Path | None:
    """The checkpoint a run writing to ``run_dir`` continues from: None for a fresh run, the newest
    checkpoint of ``run_dir`` for ``"latest"``, else as :func:`~wordsight.training.rundir.resolve_resume`.
    Also removes the temporary folders of checkpoint writes a kill interrupted."""
    run_dir = Path(run_dir)
    for pattern in (".checkpoint-*.tmp", ".checkpoint-*.old"):
        for stale in run_dir.glob(pattern):
            shutil.rmtree(stale, ignore_errors=True)
    found = list_checkpoints(run_dir)
    if resume is None:
        if found:
            raise InputError(f"{run_dir} holds checkpoints of an unfinished run ({found[-1][1].name}); "
                             "continue it with resume='latest' (--resume latest) or use another folder")
        return None
    if str(resume) == "latest" and found:
        return found[-1][1]
    return resolve_resume(run_dir, str(resume))


def check_folder_resume_config(folder: Path, saved: dict[str, Any], cfg: Any, may_change: Sequence[str]) -> None:
    """A resumed run must train as the interrupted one did: only the ``may_change`` fields may differ."""
    now = config_to_dict(cfg)
    changed = sorted(k for k in now if k not in may_change and k in saved and saved[k] != now[k])
    if changed:
        diffs = ", ".join(f"{k}: {saved[k]!r} -> {now[k]!r}" for k in changed)
        raise InputError(f"cannot resume {folder}: the config differs in {diffs} (only {', '.join(may_change)} may change)")


def remove_checkpoints(run_dir: Path) -> None:
    for _, path in list_checkpoints(run_dir):
        shutil.rmtree(path, ignore_errors=True)


class StopRequest:
    """Set by :func:`stop_on_signals`: ``signal`` is None, "SIGINT" or "SIGTERM"."""

    signal: str | None = None


@contextlib.contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """While active, SIGINT/SIGTERM only set ``request.signal`` (the loop finishes its step, saves a
    checkpoint and stops); a second signal raises KeyboardInterrupt. The old handlers come back after."""
    request = StopRequest()

    def handler(signum, frame):
        if request.signal is not None:
            raise KeyboardInterrupt
        request.signal = signal.Signals(signum).name

    previous = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread: leave the handlers alone
        pass
    try:
        yield request
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
