"""`wordsight manipulate [MODEL] IMAGE... "TEXT" [--out edited.png]`: text-guided image manipulation.

MODEL (optional: the editor shipped with the package when omitted; also ``--model``) is a manipulation
pipeline (SISGAN, TAGAN), or a text-to-image pipeline: then the image is edited by inverting its generator
(``--source-caption``, seed 004 Algorithm 1) or, for GAN-INT-CLS with a style encoder, by style transfer
G(S(x), phi(text)). TEXT is the last argument (or ``--text``). ``--interpolate "text A" "text B"`` writes
the sentence interpolation strip instead (TAGAN Fig. 7)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

import typer

from ..utils.checks import InputError


def _exists_as(arg: str, kind: str) -> bool:
    """Whether ``arg`` names an existing file (``kind="file"``) or folder; a sentence too long to be a path
    is neither (the OS refuses it)."""
    try:
        return Path(arg).is_file() if kind == "file" else Path(arg).is_dir()
    except (OSError, ValueError):
        return False


def split_arguments(args: list[str], text: Optional[str], model: Optional[Path], need_text: bool = True,
                    need_model: bool = False) -> tuple[Optional[Path], list[Path], Optional[str]]:
    """``[MODEL] IMAGE... [TEXT]`` -> (model, images, text). MODEL is the first argument when it is a folder
    (and ``--model`` is not given); TEXT the last when ``--text`` is not given."""
    rest = list(args)
    if text is None and need_text:
        if len(rest) < 2:
            raise InputError('give the image(s), then the text to edit by as the last argument (or --text "...")')
        if _exists_as(rest[-1], "file"):
            raise InputError(f'the last argument {rest[-1]!r} is a file: give the text after the images (or --text "...")')
        text = rest.pop()
    if model is None and rest and _exists_as(rest[0], "dir"):
        model = Path(rest.pop(0))
    if model is None and need_model:
        raise InputError("give the model folder as the first argument (or --model DIR)")
    if not rest:
        raise InputError("give at least one image to edit")
    for r in rest:
        if _exists_as(r, "dir"):
            raise InputError(f"{r} is a folder, not an image (only the first argument may be a model folder)")
    return model, [Path(r) for r in rest], text


def manipulate(
    args: list[str] = typer.Argument(..., metavar="[MODEL] IMAGE... [TEXT]",
                                     help="Optional model folder, one or more images (any mode and size: converted to RGB and resized "
                                          "to the model's size), then the sentence, e.g. 'a small blue circle'."),
    text: Optional[str] = typer.Option(None, "--text", "-t", help="The sentence to edit by (instead of the last argument)."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="A manipulation pipeline folder (<run>/pipeline of `wordsight "
                                         "train sisgan|tagan`) or a text-to-image one; default: the shipped editor."),
    out: Path = typer.Option(Path("edited.png"), help="Output PNG: per image, the source and the edit side by side."),
    save_each: bool = typer.Option(False, help="Also write every edited image as its own PNG."),
    interpolate: Optional[Tuple[str, str]] = typer.Option(None, help="Two sentences: write the strip of edits by their mixes "
                                                          "(TAGAN Fig. 7) instead of one edit."),
    interpolation_steps: int = typer.Option(8, min=2, max=64, help="--interpolate: images in the strip."),
    source_caption: Optional[str] = typer.Option(None, help="Text-to-image MODEL: what the image shows; inverts the generator with it "
                                                 "(seed 004 Algorithm 1)."),
    steps: int = typer.Option(300, min=1, help="Inversion: optimisation steps."),
    vgg16_weights: Optional[Path] = typer.Option(None, help="Inversion: torchvision VGG-16 weights for the perceptual loss (default: the "
                                                 "scene oracle's features)."),
) -> None:
    """Edit images with a sentence; writes the sources and the edits side by side."""
    import warnings

    from ..pipelines.manipulation import Manipulation
    from ..pipelines.text_to_image import OutOfDomainImageWarning, UnknownWordsWarning
    from ..utils.images import captioned_grid, load_image, tensor_to_pil

    model, image, text = split_arguments(args, text, model, need_text=interpolate is None)
    if model is not None and not model.is_dir():
        raise InputError(f"--model: no such folder: {model}")
    pictures = [load_image(p) for p in image]  # a missing or corrupt file is an InputError naming it
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnknownWordsWarning)
        warnings.simplefilter("always", OutOfDomainImageWarning)
        if interpolate is not None:
            if model is not None and (model / "pipeline.json").exists():
                raise InputError("--interpolate needs a manipulation pipeline (SISGAN, TAGAN), not a text-to-image one")
            pipe = Manipulation.from_pretrained(model)
            if len(pictures) != 1:
                raise InputError(f"--interpolate takes one image, got {len(pictures)}")
            res, size = pipe.interpolate(pictures[0], interpolate[0], interpolate[1], interpolation_steps), pipe.image_size
        elif model is not None and (model / "pipeline.json").exists():
            res, size = _edit_with_text_to_image(model, pictures, text, source_caption, steps, vgg16_weights)
        else:
            pipe = Manipulation.from_pretrained(model)  # None: the shipped editor
            if model is None:
                typer.echo(f"model: the shipped editor ({pipe.info.get('system')}, trained on "
                           f"{(pipe.info.get('trained_on') or {}).get('description', '?')})", err=True)
            res, size = pipe(pictures, text), pipe.image_size
    for w in caught:
        typer.echo(f"warning: {w.message}", err=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    if interpolate is not None:
        cells = [tensor_to_pil(res.sources[0])] + res.to_pil()
        labels = [f"source: {image[0].name}"] + [f"{lab}" for lab in res.texts]
        labels[1], labels[-1] = f"w=0: {interpolate[0]}", f"w=1: {interpolate[1]}"
        captioned_grid(cells, labels, ncols=len(cells), cell=max(96, size), text_h=48).save(out)
    else:
        cells, labels = [], []
        for i, (src, edited) in enumerate(zip(res.sources, res.images)):
            cells += [tensor_to_pil(src), tensor_to_pil(edited)]
            labels += [f"source: {image[i].name}", f"edited: {text}"]
        captioned_grid(cells, labels, ncols=2, cell=max(96, size), text_h=36).save(out)
    if save_each:
        folder = out.with_suffix("")
        folder.mkdir(parents=True, exist_ok=True)
        for i, im in enumerate(res.to_pil()):
            im.save(folder / f"{i:04d}.png")
    if res.note:
        typer.echo(res.note)
    what = f"{res.images.shape[0]}-image interpolation strip" if interpolate is not None else f"{res.images.shape[0]} edited images"
    typer.echo(f"wrote {out} ({what})")


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
