"""The ``wordsight`` command. Each subcommand group lives in its own module of this package."""

from __future__ import annotations

import sys

import typer

from .. import __version__
from ..config import ConfigError
from ..utils.checks import InputError
from ..utils.registry import RegistryError
from . import ablate, bench, data, evaluate, generate, manipulate, quickstart, retrieve, saliency, serve, train

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

USER_ERRORS = (InputError, ConfigError, RegistryError, FileNotFoundError)


def main(argv: list[str] | None = None) -> int:
    """Entry point: user errors print one clear line and exit with status 2 (no traceback)."""
    try:
        app(args=argv, standalone_mode=False)
    except USER_ERRORS as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 130
    except Exception as exc:  # click's usage errors (typer vendors click, so match by interface)
        show, code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            show()
            return code
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
