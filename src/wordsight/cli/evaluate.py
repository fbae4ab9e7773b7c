"""`wordsight evaluate`: one command, dispatched by task to cli/evaluate_generation.py and
cli/evaluate_saliency.py (each owns its options)."""

from __future__ import annotations

import typer

from . import evaluate_generation, evaluate_saliency

app = typer.Typer(help="Evaluate a model with the field's standard metrics.", no_args_is_help=True)
evaluate_generation.register(app)
evaluate_saliency.register(app)
