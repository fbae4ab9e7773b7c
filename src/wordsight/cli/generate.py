"""`wordsight generate`."""

from __future__ import annotations

import typer

app = typer.Typer(help="generate commands.", no_args_is_help=True)
