"""`wordsight retrieve IMAGE --text "make it blue" --model DIR --gallery DIR -k 5`: composed image retrieval."""

from __future__ import annotations

from pathlib import Path

import typer


def retrieve(
    image: Path = typer.Argument(..., help="The query image."),
    text: str = typer.Option(..., "--text", "-t", help="How the wanted image differs from the query, e.g. 'make the red circle blue'."),
    model: Path = typer.Option(..., "--model", "-m", help="A retrieval pipeline folder (<run>/pipeline of `wordsight train tirg`)."),
    gallery: Path = typer.Option(..., help="Folder of gallery images."),
    k: int = typer.Option(5, "-k", min=1, help="How many results."),
    out: Path = typer.Option(None, help="Also write the query and the results side by side as a PNG."),
) -> None:
    """Print the k gallery images closest to the query image changed by the text (TIRG)."""
    from ..pipelines.retrieval import Retrieval
    from ..utils.images import captioned_grid, load_image

    pipe = Retrieval.from_pretrained(model)
    query = load_image(image)
    hits = pipe.search(query, text, pipe.index(gallery), k=k, exclude=image)
    for rank, (path, score) in enumerate(hits, start=1):
        typer.echo(f"{rank}\t{score:.4f}\t{path}")
    if out is not None:
        pictures = [query] + [load_image(p) for p, _ in hits]
        labels = [f"query: {text}"] + [f"{r}: {Path(p).name} ({s:.3f})" for r, (p, s) in enumerate(hits, start=1)]
        out.parent.mkdir(parents=True, exist_ok=True)
        captioned_grid(pictures, labels, ncols=len(pictures), cell=96, text_h=36).save(out)
        typer.echo(f"wrote {out}")
