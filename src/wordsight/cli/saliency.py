"""`wordsight saliency`."""

from __future__ import annotations

import typer

app = typer.Typer(help="saliency commands.", no_args_is_help=True)
