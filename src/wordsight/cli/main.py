"""The ``wordsight`` command. Each subcommand group lives in its own module of this package.

Exit statuses: 0 success; 1 a check found problems (``wordsight data inspect``); 2 bad input or usage,
including a path that does not work as given (missing, not a folder, a folder, name too long); 74
(``EX_IOERR``) the command could not write or read the user's files: disk full, quota, read-only file
system, permission denied, I/O error. Both print one ``error:`` line naming the file, e.g. ``error:
cannot write runs/x/checkpoint-3/state.safetensors: No space left on device (errno 28)`` (atomic writes
leave the old data intact). 130/143 interrupted. Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import os
import re
import sys
import traceback
from pathlib import Path

import typer

from .. import __version__
from ..config import ConfigError
from ..utils.checks import InputError
from ..utils.registry import RegistryError
from . import ablate, bench, convert, data, evaluate, generate, manipulate, quickstart, retrieve, saliency, serve, train

app = typer.Typer(
    name="wordsight",
    help="wordsight: text-to-image synthesis, text-guided manipulation and saliency with GANs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"wordsight {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """wordsight: text-guided vision with GANs."""


app.add_typer(data.app, name="data")
app.add_typer(train.app, name="train")
app.command("generate")(generate.generate)
app.command("manipulate")(manipulate.manipulate)
app.command("retrieve")(retrieve.retrieve)
app.add_typer(saliency.app, name="saliency")
app.add_typer(evaluate.app, name="evaluate")
app.add_typer(bench.app, name="bench")
app.add_typer(serve.app, name="serve")
app.add_typer(ablate.app, name="ablate")
app.command("quickstart")(quickstart.quickstart)
app.add_typer(convert.app, name="convert")

USER_ERRORS = (InputError, ConfigError, RegistryError, FileNotFoundError)
EXIT_IO = 74  # sysexits.h EX_IOERR: the user's disk or files, not the input, stopped the command

# OSError numbers that are about the user's files or disk (anything else, e.g. EBADF or EINVAL, is a bug)
WRITE_ERRNOS = frozenset(getattr(errno, n) for n in ("ENOSPC", "EDQUOT", "EROFS", "EFBIG") if hasattr(errno, n))
FILE_ERRNOS = WRITE_ERRNOS | frozenset(
    getattr(errno, n) for n in ("EACCES", "EPERM", "ENAMETOOLONG", "ENOENT", "ENOTDIR", "EISDIR", "EIO") if hasattr(errno, n))
# ...of which these say the path given is wrong (bad input, status 2); the rest are the disk's or permissions' (74)
PATH_ERRNOS = frozenset(getattr(errno, n) for n in ("ENOENT", "ENOTDIR", "EISDIR", "ENAMETOOLONG") if hasattr(errno, n))
# locals that hold the file a failing writer was writing, innermost wordsight frame first
_PATH_LOCALS = ("path", "target", "out", "dest", "folder", "out_dir", "run_dir")
# utils.io's temporary names (.NAME.<random>.tmp) and safetensors' own (.tmpXXXXXX) stand for NAME / the folder
_ATOMIC_TMP = re.compile(r"^\.(.+)\.[A-Za-z0-9_]+\.tmp$")
_SAFETENSORS_TMP = re.compile(r"^\.tmp[A-Za-z0-9]+$")


def _is_safetensor_error(exc: BaseException) -> bool:
    return type(exc).__name__ == "SafetensorError" and type(exc).__module__.startswith("safetensors")


def _public_path(path: str | os.PathLike) -> str:
    """``path`` as the user knows it: temporary names of atomic writes replaced by the final names."""
    parts = []
    for part in Path(path).parts:
        m = _ATOMIC_TMP.match(part)
        if _SAFETENSORS_TMP.match(part):
            continue
        parts.append(m.group(1) if m else part)
    return str(Path(*parts)) if parts else str(path)


def _path_from_traceback(exc: BaseException) -> str | None:
    frames = [f for f, _ in traceback.walk_tb(exc.__traceback__)]
    for frame in reversed(frames):
        module = frame.f_globals.get("__name__", "")
        if not module.startswith("wordsight.") or module == __name__:
            continue
        for name in _PATH_LOCALS:
            value = frame.f_locals.get(name)
            if isinstance(value, (str, os.PathLike)) and str(value):
                return str(value)
    return None


def file_error(exc: BaseException) -> tuple[str, int] | None:
    """(one ``error:`` line, exit status) for an OSError/SafetensorError about the user's files or disk
    (2 for a missing file or folder, as for other bad input; EXIT_IO for the rest); None for any other error."""
    if _is_safetensor_error(exc):
        m = re.search(r"\(os error (\d+)\)", str(exc))
        if m is None:
            return None  # not an I/O failure (reads are wrapped as InputError by hub.load_weights)
        code = int(m.group(1))
        reason = os.strerror(code)
        at = re.search(r'at path "([^"]+)"', str(exc))
        where = _path_from_traceback(exc) or (at.group(1) if at else None)
    elif isinstance(exc, OSError) and exc.errno in FILE_ERRNOS:
        code, reason = exc.errno, exc.strerror or os.strerror(exc.errno)
        where = exc.filename if exc.filename not in (None, "") else _path_from_traceback(exc)
        if isinstance(where, int):  # a file descriptor
            where = _path_from_traceback(exc)
    else:
        return None
    if code not in FILE_ERRNOS:
        return None
    verb = "write" if code in WRITE_ERRNOS else "access"
    place = f" {_public_path(os.fsdecode(where))}" if where is not None else ""
    if len(place) > 200:  # ENAMETOOLONG: keep the line readable
        place = place[:120] + "..." + place[-60:]
    return f"error: cannot {verb}{place}: {reason} (errno {code})", (2 if code in PATH_ERRNOS else EXIT_IO)


def main(argv: list[str] | None = None) -> int:
    """Entry point: user errors print one clear line and exit with status 2 (no traceback); errors of the
    user's disk or files (full, read-only, no permission) print one line naming the file and exit 74
    (see the module docstring)."""
    try:
        # in non-standalone mode click returns the code of a `raise typer.Exit(code)` (commands return None)
        status = app(args=argv, standalone_mode=False)
    except FileNotFoundError as exc:  # a missing input or output folder is a user error (2), as before
        typer.echo((file_error(exc) or (f"error: {exc}",))[0], err=True)
        return 2
    except USER_ERRORS as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    except OSError as exc:
        found = file_error(exc)
        if found is None:
            raise
        typer.echo(found[0], err=True)
        return found[1]
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 130
    except Exception as exc:  # click's usage errors (typer vendors click, so match by interface)
        if _is_safetensor_error(exc):
            found = file_error(exc)
            if found is None:
                raise
            typer.echo(found[0], err=True)
            return found[1]
        show, code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            show()
            return code
        raise
    return status if isinstance(status, int) and not isinstance(status, bool) else 0


if __name__ == "__main__":
    sys.exit(main())
