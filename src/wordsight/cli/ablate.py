"""`wordsight ablate`: train the variants of a system for a fixed budget and print the paper's table."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Ablation runners.", no_args_is_help=True)

# Seed 000, Table II: where the text enters (G1: generator encoder + decoder, G2: decoder only;
# D1: discriminator reads the text, D2: it does not), plus the same network never shown the text.
TEXT_SALGAN_VARIANTS = {
    "G1D1": ("G1", "D1", True), "G1D2": ("G1", "D2", True), "G2D1": ("G2", "D1", True),
    "G2D2": ("G2", "D2", True), "no-text": ("G1", "D2", False),
}


@app.command("text-salgan")
def ablate_text_salgan(
    overrides: list[str] = typer.Argument(None, help="Config overrides for every variant (model.width=0.25, lr=1e-4)."),
    steps: int = typer.Option(300, min=1, help="Training steps per variant (the fixed budget)."),
    scenes: int = typer.Option(200, min=4, help="Training scenes (x 4 text categories)."),
    test_scenes: int = typer.Option(50, min=4, help="Test scenes (x 4 text categories)."),
    variants: str = typer.Option(",".join(TEXT_SALGAN_VARIANTS), help="Comma-separated subset of the variants."),
    config: str = typer.Option("text_salgan_synthetic", help="Base config (shipped name or YAML path)."),
    out: Path = typer.Option(Path("runs/ablate-text-salgan"), help="Run folders, metrics.json and metrics.md go here."),
    text_cache: str = typer.Option(None, help="MiniLM embedding cache folder."),
    fresh: bool = typer.Option(False, "--fresh", help="Start every variant anew instead of resuming its run in --out."),
) -> None:
    """Train G1D1, G1D2, G2D1, G2D2 and a no-text control on the synthetic text-guided world; print Table II.

    Resumable: a variant whose run folder (``<out>/NNNNN-text-salgan-<variant>``) exists is resumed from its
    last checkpoint (a finished one is only re-evaluated), so an interrupted ablation continues where it
    stopped when the same command is run again.
    """
    import dataclasses

    from ..pipelines.saliency import Saliency
    from ..pipelines.saliency_evaluation import baseline_predictors, evaluate_predictors, format_table, pipeline_predictor
    from ..training.saliency import build_text_encoder_for, load_tensors, train_saliency
    from ..training.saliency_data import open_saliency_records
    from ..utils.io import atomic_write_json, atomic_write_text
    from .train_saliency import load_saliency_config

    chosen = [v.strip() for v in variants.split(",") if v.strip()]
    unknown = [v for v in chosen if v not in TEXT_SALGAN_VARIANTS]
    if unknown or not chosen:
        raise typer.BadParameter(f"unknown variants {unknown}; choose from {list(TEXT_SALGAN_VARIANTS)}")
    extra = [f"steps={steps}", f"data.num_scenes={scenes}", f"data.test_scenes={test_scenes}", "progress=false"]
    base = load_saliency_config("text-salgan", config, list(overrides or []) + extra + ([f"text_cache={text_cache}"] if text_cache else []), None, False)
    encoder = build_text_encoder_for(base)
    train_data = load_tensors(base, "synthetic", "train", encoder)
    val_data = load_tensors(base, "synthetic", "test", encoder)
    test_records = open_saliency_records("synthetic", "test", base.data)
    predictors = {}
    for name in chosen:
        g, d, with_text = TEXT_SALGAN_VARIANTS[name]
        cfg = dataclasses.replace(base, model={**base.model, "variant": g}, discriminator={**base.discriminator, "variant": d})
        data = train_data
        if not with_text:  # the control never sees a sentence: every text is the zero "no text" vector
            data = dataclasses.replace(train_data, text=train_data.text.new_zeros(train_data.text.shape))
        previous = None if fresh else _latest_run(out, f"text-salgan-{name}")
        result = train_saliency(cfg, data, out, previous, val_data, f"text-salgan-{name}")
        typer.echo(f"{name}: trained {result.step} steps in {result.run_dir}")
        pipe = Saliency(result.generator, cfg.input_size, encoder, {"name": cfg.text_encoder, "options": {}})
        predictors[name] = pipeline_predictor(pipe) if with_text else _without_text(pipe)
    predictors.update(baseline_predictors(open_saliency_records("synthetic", "train", base.data)))
    result = evaluate_predictors(predictors, test_records, progress=True)
    table = format_table(result, by_category=True)
    typer.echo(table)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "metrics.json", {"steps": steps, "scenes": scenes, "test_scenes": test_scenes, **result.to_json()})
    atomic_write_text(out / "metrics.md", f"`wordsight ablate text-salgan --steps {steps} --scenes {scenes} --test-scenes {test_scenes}"
                     f"{''.join(' ' + o for o in overrides or [])}`\n\n{table}\n")


def _latest_run(out: Path, desc: str):
    """The newest ``<out>/NNNNN-<desc>`` run folder with a checkpoint, or None."""
    from ..training.checkpoint import list_checkpoints

    runs = sorted(p for p in out.glob(f"*-{desc}") if p.is_dir() and list_checkpoints(p))
    return runs[-1] if runs else None


def _without_text(pipe):
    def predict(record):
        return pipe.compute_saliency(record.image, text="")

    return predict
