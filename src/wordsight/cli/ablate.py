"""`wordsight ablate`: train the variants of a system for a fixed budget and print the paper's table."""

from __future__ import annotations

import typer

app = typer.Typer(help="Ablation runners.", no_args_is_help=True)
