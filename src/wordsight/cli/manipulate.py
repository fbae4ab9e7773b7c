"""`wordsight manipulate IMAGE --text "TEXT" --model DIR [--out edited.png]`: text-guided image manipulation.

MODEL is a manipulation pipeline (TAGAN, ...), or a text-to-image pipeline: then the image is edited by
inverting its generator (``--source-caption``, seed 004 Algorithm 1) or, for GAN-INT-CLS with a style
encoder, by style transfer G(S(x), phi(text))."""

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
    source_caption: str = typer.Option(None, help="Text-to-image MODEL: what the image shows; inverts the generator with it (seed 004 Algorithm 1)."),
    steps: int = typer.Option(300, min=1, help="Inversion: optimisation steps."),
    vgg16_weights: Path = typer.Option(None, help="Inversion: torchvision VGG-16 weights for the perceptual loss (default: the scene oracle's features)."),
) -> None:
    """Edit images with a sentence; writes the sources and the edits side by side."""
    import warnings

    from ..pipelines.manipulation import Manipulation
    from ..pipelines.text_to_image import OutOfDomainImageWarning, UnknownWordsWarning
    from ..utils.images import captioned_grid, load_image, tensor_to_pil

    if not model.is_dir():
        raise InputError(f"--model: no such folder: {model}")
    pictures = [load_image(p) for p in image]  # a missing or corrupt file is an InputError naming it
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnknownWordsWarning)
        warnings.simplefilter("always", OutOfDomainImageWarning)
        if (model / "pipeline.json").exists():
            res, size = _edit_with_text_to_image(model, pictures, text, source_caption, steps, vgg16_weights)
        else:
            pipe = Manipulation.from_pretrained(model)
            res, size = pipe(pictures, text), pipe.image_size
    for w in caught:
        typer.echo(f"warning: {w.message}", err=True)
    cells, labels = [], []
    for i, (src, edited) in enumerate(zip(res.sources, res.images)):
        cells += [tensor_to_pil(src), tensor_to_pil(edited)]
        labels += [f"source: {image[i].name}", f"edited: {text}"]
    out.parent.mkdir(parents=True, exist_ok=True)
    captioned_grid(cells, labels, ncols=2, cell=max(96, size), text_h=36).save(out)
    if save_each:
        folder = out.with_suffix("")
        folder.mkdir(parents=True, exist_ok=True)
        for i, im in enumerate(res.to_pil()):
            im.save(folder / f"{i:04d}.png")
    if res.note:
        typer.echo(res.note)
    typer.echo(f"wrote {out} ({res.images.shape[0]} edited images)")


def _edit_with_text_to_image(model, pictures, text, source_caption, steps, vgg16_weights):
    """A text-to-image pipeline as an editor: inversion with --source-caption, else its style encoder."""
    from ..pipelines.inversion import edit_by_inversion
    from ..pipelines.manipulation import ManipulationOutput
    from ..pipelines.text_to_image import TextToImage

    pipe = TextToImage.from_pretrained(model)
    size = int(pipe.generator.image_size)
    if source_caption is not None:
        result = edit_by_inversion(pipe, pictures, source_caption, text, steps=steps, vgg16_weights=vgg16_weights)
        typer.echo(f"inverted with {steps} steps; perceptual loss: {result.perceptual}; final loss {result.losses[-1]:.4f}")
        return ManipulationOutput(result.edited, result.targets, [text] * len(pictures)), size
    if pipe.style_encoder is None:
        raise InputError(f"{model} is a text-to-image pipeline without a style encoder: give --source-caption (what the image "
                         "shows) to edit by inverting its generator")
    out = pipe.transfer_style(pictures, [text])
    return ManipulationOutput(out.images, pipe._style_images(pictures), [text] * len(pictures)), size
