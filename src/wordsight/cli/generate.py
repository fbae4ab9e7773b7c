"""`wordsight generate [MODEL] CAPTION... [-n 8] [--seed 0] [--out grid.png] [--interpolate A B]`."""

from __future__ import annotations

from pathlib import Path

import typer

from ..utils.checks import InputError


def generate(
    args: list[str] = typer.Argument(..., help="[MODEL_DIR] then one or more captions; without MODEL_DIR the shipped model is used."),
    n: int = typer.Option(8, "-n", "--num-images", min=1, help="Images per caption."),
    seed: int = typer.Option(0, help="Noise seed (same seed, same images)."),
    out: Path = typer.Option(Path("generated.png"), help="Output grid PNG (a folder of single images is written beside it with --save-each)."),
    truncation: float = typer.Option(None, help="Truncated noise scale in (0, 1] (DF-GAN uses 0.88)."),
    interpolate: bool = typer.Option(False, "--interpolate", help="Write the GAN-INT strip between exactly two captions."),
    steps: int = typer.Option(8, help="Images in the --interpolate strip."),
    save_each: bool = typer.Option(False, help="Also write every image as its own PNG."),
    precision: str = typer.Option("no", help="no (exact fp32), bf16, or auto (bf16 where the CPU/GPU computes it natively)."),
    compile: bool = typer.Option(False, "--compile", help="Run the generator through torch.compile (pays off for many images)."),
    style_from: list[Path] = typer.Option(None, "--style-from", help="Style image(s) (GAN-INT-CLS style encoder): rows = images, columns = captions."),
    stages: bool = typer.Option(False, "--stages", help="Multi-stage generators (StackGAN, StackGAN++): one row per image with every stage, lowest resolution first."),
    attention: bool = typer.Option(False, "--attention", help="AttnGAN, DualAttnGAN: per caption (its first image), every stage and the attention maps of the 5 most attended words."),
    top_k: int = typer.Option(5, "--top-words", min=1, help="Words shown per attention stage with --attention."),
) -> None:
    """Generate images from captions with a trained text-to-image pipeline."""
    import warnings

    import torch

    from ..pipelines.text_to_image import OutOfDomainImageWarning, TextToImage, UnknownWordsWarning
    from ..utils.images import captioned_grid, load_image

    model = None
    if args and Path(args[0]).is_dir():
        model, args = args[0], args[1:]
    if not args:
        raise InputError("give at least one caption")
    pipe = TextToImage.from_pretrained(model, precision=precision, compile=compile)
    gen = torch.Generator().manual_seed(seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnknownWordsWarning)
        warnings.simplefilter("always", OutOfDomainImageWarning)
        if attention:
            if interpolate or style_from:
                raise InputError("--attention cannot be combined with --interpolate or --style-from")
            res, ncols = pipe(args, num_images=n, generator=gen, truncation=truncation, attention=True), 1
        else:
            res, ncols = _run(pipe, args, n, gen, truncation, interpolate, steps, style_from, load_image)
    for w in caught:
        typer.echo(f"warning: {w.message}", err=True)
    cell = max(96, res.images.shape[-1])
    out.parent.mkdir(parents=True, exist_ok=True)
    if attention:
        from ..utils.images import make_grid

        sheets = res.attention_pictures(top_k=top_k, cell=cell)
        make_grid(sheets[::n], ncols=1).save(out)  # the first image of every caption, one under the other
    elif stages:
        if not res.stages or len(res.stages) < 2:
            raise InputError(f"--stages: this pipeline's generator ({pipe.info.get('system', 'unknown system')}) has one stage")
        sizes = [s.shape[-1] for s in res.stages]
        pictures = [im for row in res.stages_to_pil() for im in row]
        labels = [f"stage {k + 1} ({size} px): {cap}" for cap in res.captions for k, size in enumerate(sizes)]
        captioned_grid(pictures, labels, ncols=len(sizes), cell=cell, text_h=36).save(out)
    else:
        captioned_grid(res.to_pil(), res.captions, ncols=ncols, cell=cell, text_h=36).save(out)
    if save_each:
        folder = out.with_suffix("")
        folder.mkdir(parents=True, exist_ok=True)
        for i, im in enumerate(res.to_pil()):
            im.save(folder / f"{i:04d}.png")
    typer.echo(f"wrote {out} ({res.images.shape[0]} images)")


def _run(pipe, args, n, gen, truncation, interpolate, steps, style_from, load_image):
    """The images and the grid's column count for one command line."""
    if interpolate:
        if len(args) != 2:
            raise InputError(f"--interpolate needs exactly two captions, got {len(args)}")
        return pipe.interpolate(args[0], args[1], steps=steps, generator=gen), steps
    if style_from:
        images = [load_image(p) for p in style_from]  # a missing or corrupt file is an InputError naming it
        return pipe.transfer_style(images, args), len(args)
    return pipe(args, num_images=n, generator=gen, truncation=truncation), (min(n, 8) if len(args) == 1 else n)
