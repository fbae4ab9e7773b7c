"""`wordsight evaluate saliency MODEL --data ...` (registered on the `evaluate` group by `register(app)`)."""

from __future__ import annotations

from pathlib import Path

import typer

from .train_saliency import DATA_HELP


def register(app: typer.Typer) -> None:
    """Add `saliency` to the `evaluate` group."""
    app.command("saliency")(evaluate_saliency)


def evaluate_saliency(
    model: str = typer.Argument("shipped", help="A saliency pipeline folder or a shipped model's name (osie, synthetic-text; 'shipped' = osie, the default)."),
    data: str = typer.Option("synthetic", help=DATA_HELP),
    split: str = typer.Option("test", help="train | test | all"),
    out: Path = typer.Option(None, help="Folder for metrics.json and metrics.md (default: printed only)."),
    baselines: bool = typer.Option(True, help="Also score the centre bias and the training set's mean fixation map."),
    metrics: str = typer.Option("auc_judd,shuffled_auc,nss,cc,kld,sim", help="Comma-separated metric names."),
    limit: int = typer.Option(None, min=1, help="Evaluate only the first N records."),
    test_fraction: float = typer.Option(0.2, help="Held-out fraction for data sets without a split (OSIE, folders)."),
    split_seed: int = typer.Option(0),
    seed: int = typer.Option(0, help="Seed of the random parts (AUC-Judd jitter, AUC-Borji and shuffled-AUC negatives)."),
    shuffle_from: str = typer.Option("all", help="Where shuffled AUC draws its 10 other images: 'all' (the whole "
                                     "data set, as the MIT benchmark) or 'split' (only the evaluated split)."),
) -> None:
    """Score a saliency model with the MIT benchmark metrics (per text category for text-guided data)."""
    from ..pipelines.saliency import Saliency
    from ..pipelines.saliency_evaluation import baseline_predictors, evaluate_predictors, format_table, pipeline_predictor
    from ..training.saliency_data import SaliencyDataConfig, open_saliency_records
    from ..utils.io import atomic_write_json, atomic_write_text

    pipe = Saliency.from_pretrained(None if model == "shipped" else model)
    dcfg = SaliencyDataConfig(test_fraction=test_fraction, split_seed=split_seed, limit=limit)
    records = open_saliency_records(data, split, dcfg)
    predictors = {"model": pipeline_predictor(pipe)}
    if baselines:
        dcfg.limit = None
        predictors.update(baseline_predictors(open_saliency_records(data, "train", dcfg)))
    names = [m.strip() for m in metrics.split(",") if m.strip()]
    if shuffle_from not in ("all", "split"):
        raise typer.BadParameter(f"--shuffle-from must be 'all' or 'split', got {shuffle_from!r}")
    pool = None
    # the synthetic world's splits are separate worlds: its test scenes shuffle among themselves
    if "shuffled_auc" in names and shuffle_from == "all" and split != "all" and data != "synthetic":
        dcfg.limit = None
        pool = open_saliency_records(data, "all", dcfg)
    result = evaluate_predictors(predictors, records, names, seed=seed, progress=True, other_pool=pool)
    table = format_table(result)
    typer.echo(table)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        report = {"model": str(model), "data": data, "split": split, **result.to_json()}
        atomic_write_json(out / "metrics.json", report)
        atomic_write_text(out / "metrics.md", f"`wordsight evaluate saliency {model} --data {data} --split {split}`\n\n{table}\n")
        typer.echo(f"wrote {out / 'metrics.json'} and {out / 'metrics.md'}")
