"""`wordsight manipulate IMAGE "TEXT" --model DIR [--out edited.png]`: text-guided image manipulation."""

from __future__ import annotations

from pathlib import Path

import typer

from ..utils.checks import InputError


def manipulate(
    image: list[Path] = typer.Argument(..., help="One or more images to edit (any mode and size: converted to RGB and resized to the model's size)."),
    text: str = typer.Option(..., "--text", "-t", help="The sentence to edit by, e.g. 'a small blue circle' (TAGAN: a description of the wanted image)."),
    model: Path = typer.Option(..., "--model", "-m", help="A manipulation pipeline folder (<run>/pipeline of `wordsight train tagan`)."),
    out: Path = typer.Option(Path("edited.png"), help="Output PNG: per image, the source and the edit side by side."),
    save_each: bool = typer.Option(False, help="Also write every edited image as its own PNG."),
) -> None:
    """Edit images with a sentence; writes the sources and the edits side by side."""
    import warnings

    from ..pipelines.manipulation import Manipulation
    from ..pipelines.text_to_image import OutOfDomainImageWarning, UnknownWordsWarning
    from ..utils.images import captioned_grid, load_image, tensor_to_pil

    if not model.is_dir():
        raise InputError(f"--model: no such folder: {model}")
    pipe = Manipulation.from_pretrained(model)
    pictures = [load_image(p) for p in image]  # a missing or corrupt file is an InputError naming it
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnknownWordsWarning)
        warnings.simplefilter("always", OutOfDomainImageWarning)
        res = pipe(pictures, text)
    for w in caught:
        typer.echo(f"warning: {w.message}", err=True)
    cells, labels = [], []
    for i, (src, edited) in enumerate(zip(res.sources, res.images)):
        cells += [tensor_to_pil(src), tensor_to_pil(edited)]
        labels += [f"source: {image[i].name}", f"edited: {text}"]
    out.parent.mkdir(parents=True, exist_ok=True)
    captioned_grid(cells, labels, ncols=2, cell=max(96, pipe.image_size), text_h=36).save(out)
    if save_each:
        folder = out.with_suffix("")
        folder.mkdir(parents=True, exist_ok=True)
        for i, im in enumerate(res.to_pil()):
            im.save(folder / f"{i:04d}.png")
    if res.note:
        typer.echo(res.note)
    typer.echo(f"wrote {out} ({res.images.shape[0]} edited images)")
