"""`wordsight generate [--model DIR] CAPTION... [-n 8] [--seed 0] [--out grid.png] [--interpolate A B]`.
`wordsight generate --captions-file FILE --out-dir DIR`: many captions, streamed to single images.

Every positional argument is a caption; the model is the ``--model`` option (default: the model shipped
with the package). The old form ``wordsight generate DIR "caption"`` is recognised only to help: a first
argument that is a pipeline folder is used with a warning showing the ``--model`` form, and one that
merely looks like a path (it contains a path separator) is an error saying how to write it, instead of
being drawn as a caption. With ``--model`` given, no argument is ever taken for a path.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from ..utils.checks import InputError

PIPELINE_FILE = "pipeline.json"  # the file that makes a folder a text-to-image pipeline
SHIPPED = "shipped"  # --model shipped names the shipped model explicitly (./shipped is a folder of that name)
NEW_FORM = 'wordsight generate --model DIR "caption"'


def generate(
    args: Optional[list[str]] = typer.Argument(None, metavar="CAPTION", help="One or more captions (each argument is one caption)."),
    model: Optional[str] = typer.Option(
        None, "--model", "-m", metavar="DIR", show_default="the shipped model",
        help="Pipeline folder (holds pipeline.json), e.g. <run>/pipeline of `wordsight train`; `shipped` names the shipped model."),
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
    captions_file: Optional[Path] = typer.Option(None, "--captions-file", help="Read captions from this UTF-8 file, one per line (blank lines skipped)."),
    out_dir: Optional[Path] = typer.Option(None, "--out-dir", help="Stream: write every image as DIR/<caption>_<image>.png plus "
                                           "DIR/captions.tsv, caption by caption (memory stays flat), instead of a grid."),
) -> None:
    """Generate images from captions with a trained text-to-image pipeline.

    Every argument is a caption: `wordsight generate "a small red circle"` uses the shipped model,
    `wordsight generate --model runs/00000-dfgan-synthetic/pipeline "a small red circle"` a trained one.
    """
    import warnings

    import torch

    from ..pipelines.text_to_image import OutOfDomainImageWarning, TextToImage, UnknownWordsWarning
    from ..utils.images import captioned_grid, load_image

    folder, args = resolve_model(model, list(args or []))
    if captions_file is not None:
        args = args + read_captions_file(captions_file)
    if not args:
        raise InputError(f'give at least one caption ({NEW_FORM}, or --captions-file FILE)')
    if out_dir is not None:
        clash = [name for name, on in (("--interpolate", interpolate), ("--style-from", bool(style_from)), ("--stages", stages),
                                       ("--attention", attention), ("--save-each", save_each)) if on]
        if clash:
            raise InputError(f"--out-dir writes single images; it cannot be combined with {', '.join(clash)}")
    pipe = TextToImage.from_pretrained(folder, precision=precision, compile=compile)
    if out_dir is not None:
        stream_to_folder(pipe, args, n, seed, truncation, out_dir)
        return
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


MAX_CAPTIONS_FILE_BYTES = 64 * 2**20


def read_captions_file(path: Path) -> list[str]:
    """The captions of a UTF-8 text file, one per line, blank lines skipped; errors name the file and line."""
    if not path.is_file():
        raise InputError(f"--captions-file {path}: not found")
    if path.stat().st_size > MAX_CAPTIONS_FILE_BYTES:
        raise InputError(f"--captions-file {path}: {path.stat().st_size / 2**20:.0f} MB; the limit is "
                         f"{MAX_CAPTIONS_FILE_BYTES // 2**20} MB (split it)")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"--captions-file {path}: not UTF-8 text (byte {exc.start})") from None
    captions = [line.strip() for line in text.splitlines()]
    captions = [c for c in captions if c]
    if not captions:
        raise InputError(f"--captions-file {path}: no captions in it (one per line)")
    return captions


def stream_to_folder(pipe, captions: list[str], n: int, seed: int, truncation, out_dir: Path) -> None:
    """Generate caption by caption and write each image at once, so memory does not grow with the number of
    captions. Caption i's noise comes from seed ``seed + i``: its images are those of
    ``wordsight generate "caption i" --seed <seed + i>``, wherever it stands in the file."""
    import warnings

    import torch
    from tqdm import tqdm

    from ..pipelines.text_to_image import OutOfDomainImageWarning, UnknownWordsWarning
    from ..utils.io import atomic_path

    out_dir.mkdir(parents=True, exist_ok=True)
    unknown: dict[str, int] = {}
    with atomic_path(out_dir / "captions.tsv") as index_tmp, open(index_tmp, "w", encoding="utf-8") as index:
        index.write("index\tseed\tcaption\tfiles\n")
        for i, caption in enumerate(tqdm(captions, unit="caption", desc="generate", dynamic_ncols=True, disable=len(captions) < 2)):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", UnknownWordsWarning)
                warnings.simplefilter("always", OutOfDomainImageWarning)
                res = pipe([caption], num_images=n, generator=torch.Generator().manual_seed(seed + i), truncation=truncation)
            for w in caught:
                unknown[str(w.message)] = unknown.get(str(w.message), 0) + 1
            names = []
            for k, im in enumerate(res.to_pil()):
                name = f"{i:05d}_{k:02d}.png"
                with atomic_path(out_dir / name) as tmp:
                    im.save(tmp, format="PNG")
                names.append(name)
            index.write(f"{i}\t{seed + i}\t{caption.replace(chr(9), ' ')}\t{','.join(names)}\n")
            del res
    for message, count in unknown.items():
        typer.echo(f"warning ({count} caption(s)): {message}", err=True)
    typer.echo(f"wrote {len(captions) * n} images of {len(captions)} captions to {out_dir} (index: {out_dir / 'captions.tsv'})")


def _is_dir(path: str, file: str | None = None) -> bool:
    """``path`` is a folder (holding ``file``); False for names the OS refuses (too long, NUL bytes)."""
    try:
        p = Path(path)
        return p.is_dir() and (file is None or (p / file).is_file())
    except (OSError, ValueError):
        return False


def _looks_like_path(arg: str) -> bool:
    seps = {os.sep, "/"} | ({os.altsep} if os.altsep else set())
    return any(sep in arg for sep in seps)


def resolve_model(model: Optional[str], args: list[str]) -> tuple[Optional[Path], list[str]]:
    """The pipeline folder to load (None = the shipped model) and the captions.

    Raises InputError for a ``--model`` that is not a folder, and for an old-style first argument that looks
    like a model path but is not a pipeline folder (a mistyped path is never drawn as a caption).
    """
    if model is not None:
        if model == SHIPPED:
            return None, args
        if not model.strip():
            raise InputError("--model: empty folder name (leave --model out for the shipped model)")
        if not _is_dir(model):
            what = "is not a folder" if _exists(model) else "folder not found"
            raise InputError(f"--model {_short(model)}: {what} (expected a pipeline folder holding {PIPELINE_FILE})")
        return Path(model), args
    if args and _is_dir(args[0], PIPELINE_FILE):
        typer.echo(f"warning: taking {args[0]!r} as the model; this form is deprecated, write "
                   f"`wordsight generate --model {args[0]} \"caption\"` (every argument is a caption)", err=True)
        return Path(args[0]), args[1:]
    if args and _looks_like_path(args[0]):
        first = _short(args[0])
        reason = (f"is a folder without {PIPELINE_FILE}" if _is_dir(args[0])
                  else "is a file, not a pipeline folder" if _exists(args[0]) else "no such folder exists")
        raise InputError(f"{first!r} looks like a model path, not a caption, and {reason}; the model is an option now: "
                         f"{NEW_FORM} (a caption with a path separator: pass --model, e.g. --model {SHIPPED})")
    return None, args


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else f"{text[: limit - 30]}...{text[-27:]}"


def _exists(path: str) -> bool:
    try:
        return Path(path).exists()
    except (OSError, ValueError):
        return False


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
