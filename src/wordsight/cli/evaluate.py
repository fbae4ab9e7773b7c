"""`wordsight evaluate`."""

from __future__ import annotations

import typer

app = typer.Typer(help="evaluate commands.", no_args_is_help=True)
