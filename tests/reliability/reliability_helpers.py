"""Helpers of the reliability tests (a module with a unique name, importable from the test modules)."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass


class Tally:
    """Counts the cases one module ran (``tried``) and the ones that ended in a correct result or one
    clean error (``handled``)."""

    def __init__(self, area: str):
        self.area = area
        self.tried = 0
        self.handled = 0

    @contextlib.contextmanager
    def case(self):
        self.tried += 1
        try:
            yield
        except BaseException as exc:
            if type(exc).__module__.startswith("hypothesis"):  # hypothesis abandoned the example (not a case run)
                self.tried -= 1
            raise
        self.handled += 1

    def line(self) -> str:
        return f"RELIABILITY bad_input {self.area} tried={self.tried} handled={self.handled}"


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def run_cli(argv: list[str]) -> CliResult:
    """``wordsight.cli.main.main(argv)`` with stdout/stderr captured; an exception escaping main (a bug:
    main keeps the traceback of unexpected errors) propagates to the test."""
    from wordsight.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return CliResult(code, out.getvalue(), err.getvalue())


def assert_one_line_error(result: CliResult, *needles: str) -> None:
    """A non-zero exit, stderr exactly one ``error:`` line naming each of ``needles``, no traceback."""
    assert result.code != 0, (result.out, result.err)
    assert "Traceback" not in result.err + result.out
    lines = [ln for ln in result.err.splitlines() if ln.strip()]
    assert len(lines) == 1, result.err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
