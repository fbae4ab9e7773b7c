"""`wordsight train SYSTEM`: train a published system (or the synthetic world's oracle)."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Train a system: oracle (more systems register here).", no_args_is_help=True)


@app.command("oracle")
def train_oracle_cmd(
    out: Path = typer.Option(Path("runs/oracle"), help="Folder for the oracle weights (safetensors + config.json)."),
    steps: int = typer.Option(4000, min=1, help="Training steps (batch 64, scenes rendered on the fly)."),
    seed: int = typer.Option(0),
    eval_scenes: int = typer.Option(2000, min=1, help="Fresh test/held-out scenes to measure accuracy on."),
) -> None:
    """Train the synthetic world's oracle CNN and report its per-attribute accuracy.

    The shipped weights were made with `scripts/train_oracle.sh`.
    """
    from ..training.oracle import OracleTrainConfig, train_oracle

    report = train_oracle(out, OracleTrainConfig(steps=steps, seed=seed, eval_scenes=eval_scenes))
    for split in ("test", "heldout"):
        accs = "  ".join(f"{k} {v:.4f}" for k, v in report[split].items())
        typer.echo(f"{split:8s} {accs}")
    typer.echo(f"saved to {out}")
