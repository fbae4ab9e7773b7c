"""`wordsight retrieve MODEL IMAGE "make it blue" --gallery DIR -k 5`: composed image retrieval (TIRG).

MODEL and the text may also be given as ``--model DIR`` and ``--text "..."``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..utils.checks import InputError


def retrieve(
    args: list[str] = typer.Argument(..., metavar="[MODEL] IMAGE [TEXT]",
                                     help="The retrieval pipeline folder, the query image, and how the wanted image differs from it."),
    text: Optional[str] = typer.Option(None, "--text", "-t", help="How the wanted image differs from the query, e.g. 'make the red circle "
                                       "blue' (instead of the last argument)."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="A retrieval pipeline folder (<run>/pipeline of `wordsight train "
                                         "tirg`; instead of the first argument)."),
    gallery: Path = typer.Option(..., help="Folder of gallery images."),
    k: int = typer.Option(5, "-k", min=1, help="How many results."),
    out: Path = typer.Option(None, help="Also write the query and the results side by side as a PNG."),
) -> None:
    """Print the k gallery images closest to the query image changed by the text (TIRG)."""
    from ..pipelines.retrieval import Retrieval
    from ..utils.images import captioned_grid, load_image
    from .manipulate import split_arguments

    model, images, text = split_arguments(args, text, model, need_model=True)
    if len(images) != 1:
        raise InputError(f"give one query image, got {len(images)}: {', '.join(map(str, images))}")
    image = images[0]
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
