"""`wordsight evaluate generation` and `wordsight evaluate real-stats` (text-to-image metrics).

The work is done by :mod:`wordsight.pipelines.evaluation`; these commands parse options, print and save.
"""

from __future__ import annotations

from pathlib import Path

import typer

DATA_HELP = "synthetic | cub:PATH | oxford:PATH | coco:PATH | folder:PATH"
METRICS_HELP = "Comma-separated: fid, kid, is, r_precision, clip_score, oracle, oracle_fid, oracle_kid."
SPLIT_HELP = "test (COCO: val2014) | heldout (synthetic: unseen colour/shape pairs and templates) | train"


def _default_out(model: str, data: str, split: str) -> Path:
    name = Path(model).name if model != "shipped" else "dfgan_synthetic"
    return Path("runs") / "eval" / f"{name}-{data.split(':')[0]}-{split}"


def evaluate_generation_cmd(
    model: str = typer.Argument(..., help="A text-to-image pipeline folder, or 'shipped' for the packaged DF-GAN."),
    data: str = typer.Option("synthetic", help=DATA_HELP),
    metrics: str = typer.Option("oracle,oracle_fid", help=METRICS_HELP),
    n: int = typer.Option(30000, "-n", "--num-images", min=1, help="Generated images (papers: 30,000)."),
    split: str = typer.Option("test", help=SPLIT_HELP),
    inception_weights: Path = typer.Option(None, help="weights-inception-2015-12-05-6726825d.pth (default: the cache)."),
    damsm: Path = typer.Option(None, help="A `wordsight train damsm` folder (r_precision)."),
    clip_weights: Path = typer.Option(None, help="open_clip ViT-B-32 weights file (clip_score)."),
    oracle: Path = typer.Option(None, help="Oracle folder (default: the shipped oracle)."),
    out: Path = typer.Option(None, help="Output folder (default runs/eval/<model>-<data>-<split>)."),
    batch_size: int = typer.Option(64, min=1),
    seed: int = typer.Option(0, help="Noise seed for generation."),
    truncation: float = typer.Option(None, help="Truncation of the noise (default: the pipeline's)."),
    kid_subset_size: int = typer.Option(None, min=2, help="KID subset size (default min(1000, n, reference))."),
    world_seed: int = typer.Option(0, help="Synthetic world seed."),
    max_objects: int = typer.Option(3, min=1, max=3, help="Synthetic world: scenes of 1..N objects (1 for models trained by the synthetic configs)."),
    device: str = typer.Option("cpu", help="cpu | cuda (metric networks)."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Generate from a split's captions and measure the images; writes metrics.json, metrics.md, samples.png."""
    from ..pipelines.evaluation import check_metric_names, evaluate_text_to_image
    from ..pipelines.text_to_image import TextToImage

    check_metric_names(metrics)  # a misspelled metric fails before the model is loaded
    pipe = TextToImage.from_pretrained(None if model == "shipped" else model)
    report = evaluate_text_to_image(
        pipe, data, metrics, n, split=split, inception_weights=inception_weights, damsm=damsm, clip=clip_weights,
        oracle=oracle, batch_size=batch_size, seed=seed, truncation=truncation, kid_subset_size=kid_subset_size,
        world_seed=world_seed, max_objects=max_objects, device=device, progress=progress, model_name=model,
    )
    folder = out or _default_out(model, data, split)
    paths = report.save(folder)
    typer.echo(report.to_markdown())
    typer.echo(f"wrote {', '.join(str(p) for p in paths.values())}")


def real_stats_cmd(
    data: str = typer.Option("synthetic", help=DATA_HELP),
    split: str = typer.Option("test", help=SPLIT_HELP),
    n: int = typer.Option(30000, "-n", "--num-images", min=1, help="Reference images (the evaluation's -n)."),
    image_size: int = typer.Option(64, help="The generator's image size (real images are resized to it)."),
    extractor: str = typer.Option("inception", help="inception (fid/kid) | oracle (oracle_fid/oracle_kid)."),
    inception_weights: Path = typer.Option(None, help="weights-inception-2015-12-05-6726825d.pth (default: the cache)."),
    oracle: Path = typer.Option(None, help="Oracle folder (default: the shipped oracle)."),
    world_seed: int = typer.Option(0, help="Synthetic world seed."),
    max_objects: int = typer.Option(3, min=1, max=3, help="Synthetic world: scenes of 1..N objects (1 for models trained by the synthetic configs)."),
    batch_size: int = typer.Option(64, min=1),
    device: str = typer.Option("cpu", help="cpu | cuda."),
) -> None:
    """Compute and cache the real-image statistics an evaluation with the same options will read."""
    from ..pipelines.evaluation import build_reference_statistics

    stats, evaluation_data = build_reference_statistics(
        data, split, n, image_size, extractor, inception_weights=inception_weights, oracle=oracle,
        world_seed=world_seed, max_objects=max_objects, batch_size=batch_size, device=device,
    )
    typer.echo(
        f"{data} ({evaluation_data.split}): {stats.num_images} images at {image_size}px, {stats.mean.shape[0]}-d "
        f"features of {stats.extractor_fingerprint} layer {stats.layer}; cached"
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("generation")(evaluate_generation_cmd)
    app.command("real-stats")(real_stats_cmd)
