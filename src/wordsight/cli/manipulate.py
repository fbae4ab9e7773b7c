"""`wordsight manipulate`."""

from __future__ import annotations

import typer

app = typer.Typer(help="manipulate commands.", no_args_is_help=True)
