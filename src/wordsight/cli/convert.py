"""`wordsight convert SYSTEM FILE OUT [options]`: the released weights of the official repositories as
wordsight folders (safetensors + JSON config), see docs/convert.md.

    wordsight convert dfgan-official state_epoch_1220.pth out/dfgan-cub --text-encoder text_encoder200.pth --captions captions_DAMSM.pickle
    wordsight convert attngan-official bird_AttnGAN2.pth out/attngan-cub --text-encoder text_encoder200.pth --captions captions.pickle
    wordsight convert damsm-official text_encoder200.pth out/damsm-cub --captions captions.pickle --image-encoder image_encoder200.pth
    wordsight convert stackgan2-official netG_210000.pth out/stackgan2-cub

Every ``.pth`` is read with ``torch.load(weights_only=True)`` (:func:`wordsight.hub.load_torch_state_dict`) and
``captions.pickle`` with the restricted unpickler (:mod:`wordsight.data.safe_pickle`): a file holding code is
refused (exit status 2) without running it. The key mapping lives in :mod:`wordsight.models.official`; this
module reads the files, pairs the generator with its text encoder and writes the folder (atomically: an
interrupted conversion leaves no half-written OUT).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..utils.checks import InputError

app = typer.Typer(help="Convert the released weights of the official repositories (see docs/convert.md).", no_args_is_help=True)

TEXT_ENCODER_HELP = ("The DAMSM text encoder the generator was trained with: its text_encoder*.pth (with --captions), or a folder "
                     "written by `wordsight convert damsm-official`.")
CAPTIONS_HELP = "The captions.pickle (AttnGAN) / captions_DAMSM.pickle (DF-GAN) that holds the text encoder's vocabulary."
MAX_WORDS_HELP = "Word limit of the text encoder (AttnGAN cfg.TEXT.WORDS_NUM: 18 in training; eval_bird.yml 25, eval_coco.yml 20)."


def _file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise InputError(f"{what}: no such file: {path}")
    return path


def _read(path: Path, what: str) -> dict:
    import warnings

    from ..hub import load_torch_state_dict

    with warnings.catch_warnings():  # a plain pickle of protocol > 2 makes torch warn before refusing it: one line is enough
        warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
        return load_torch_state_dict(_file(path, what), what)


def _check_out(out: Path, overwrite: bool) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise InputError(f"{out} exists and is not empty; choose another OUT or pass --overwrite")


def _text_encoder(text_encoder: Path, captions: Optional[Path], max_words: int):
    """The DAMSM BiLSTM from a converted folder, or from text_encoder*.pth + captions.pickle."""
    from ..data.safe_pickle import load_pickle
    from ..models.damsm import TEXT_ENCODER_DIR, load_damsm_part
    from ..models.official import damsm_text_encoder_options
    from ..text.bilstm import DAMSMTextEncoder
    from ..text.tokenizer import Vocabulary

    if text_encoder.is_dir():
        return load_damsm_part(text_encoder, TEXT_ENCODER_DIR, what="--text-encoder")
    state, options = damsm_text_encoder_options(_read(text_encoder, "DAMSM text encoder"))
    if captions is None:
        raise InputError(f"--captions is needed with {text_encoder.name}: the encoder's word ids come from the "
                         "captions.pickle it was trained with (see docs/convert.md)")
    vocabulary = Vocabulary.from_attngan(load_pickle(_file(captions, "--captions")))
    if len(vocabulary) != options["vocab_size"]:
        raise InputError(f"{captions.name} holds {len(vocabulary)} words but {text_encoder.name} embeds {options['vocab_size']}: "
                         "they are not from the same release (see docs/convert.md for which files go together)")
    encoder = DAMSMTextEncoder.from_vocabulary(vocabulary, embedding_dim=options["embedding_dim"], hidden_dim=options["hidden_dim"],
                                               max_length=max_words)
    encoder.load_state_dict(state)
    return encoder.eval().requires_grad_(False)


def _write_pipeline(out: Path, generator, text_encoder, system: str, repository: str, source: Path, truncation: Optional[float],
                    extra_models: dict | None = None, epoch: object = None) -> None:
    from ..hub import save_pretrained
    from ..pipelines.text_to_image import TextToImage
    from ..utils.io import atomic_dir

    if getattr(text_encoder, "sentence_dim", None) != getattr(generator, "sentence_dim", None):
        raise InputError(f"the generator takes {generator.sentence_dim}-d sentence vectors but the text encoder gives "
                         f"{text_encoder.sentence_dim}-d ones: they are not from the same release")
    info = {"system": system, "trained_on": {"data": "official", "description": f"the official {repository} release ({source.name})"}}
    converted = {"repository": repository, "file": source.name, **({"epoch": epoch} if isinstance(epoch, int) else {})}
    pipe = TextToImage(generator, text_encoder, {"name": "bilstm"}, truncation=truncation, info=info, device="cpu")
    with atomic_dir(out) as tmp:
        pipe.save_pretrained(tmp, extra={"converted_from": converted})
        for name, module in (extra_models or {}).items():
            save_pretrained(module, tmp / name)


def _done(out: Path, what: str, example: str) -> None:
    typer.echo(f"wrote {out}: {what}")
    typer.echo(f"generate with: {example}")


@app.command("dfgan-official")
def dfgan_official(
    file: Path = typer.Argument(..., help="tobran/DF-GAN's state_epoch_*.pth (or a bare netG state dict)."),
    out: Path = typer.Argument(..., help="The pipeline folder to write."),
    text_encoder: Path = typer.Option(..., "--text-encoder", help=TEXT_ENCODER_HELP),
    captions: Optional[Path] = typer.Option(None, "--captions", help=CAPTIONS_HELP),
    max_words: int = typer.Option(18, "--max-words", min=1, help=MAX_WORDS_HELP),
    truncation: float = typer.Option(0.88, help="Default noise truncation of the pipeline (DF-GAN's trunc_rate 0.88)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUT if it exists."),
) -> None:
    """DF-GAN (tobran/DF-GAN): generator (+ netD/netC as OUT/discriminator) and its DAMSM text encoder -> a pipeline folder."""
    from ..models.official import convert_dfgan

    _check_out(out, overwrite)
    checkpoint = _read(file, "DF-GAN checkpoint")
    generator, discriminator = convert_dfgan(checkpoint)
    encoder = _text_encoder(text_encoder, captions, max_words)
    extra = {"discriminator": discriminator.module} if discriminator is not None else {}
    _write_pipeline(out, generator.module, encoder, "DF-GAN", "tobran/DF-GAN", file, truncation, extra, checkpoint.get("epoch"))
    g = generator.module
    _done(out, f"DF-GAN generator (nf {g.nf}, {g.image_size} px){' and discriminator' if extra else ''}, DAMSM text encoder "
               f"({len(encoder.vocabulary)} words)", f'wordsight generate --model {out} "this bird is red with white wings"')


@app.command("attngan-official")
def attngan_official(
    file: Path = typer.Argument(..., help="taoxugit/AttnGAN's generator: netG_epoch_*.pth, bird_AttnGAN2.pth or coco_AttnGAN2.pth."),
    out: Path = typer.Argument(..., help="The pipeline folder to write."),
    text_encoder: Path = typer.Option(..., "--text-encoder", help=TEXT_ENCODER_HELP),
    captions: Optional[Path] = typer.Option(None, "--captions", help=CAPTIONS_HELP),
    max_words: int = typer.Option(18, "--max-words", min=1, help=MAX_WORDS_HELP),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUT if it exists."),
) -> None:
    """AttnGAN (taoxugit/AttnGAN): G_NET and its DAMSM text encoder -> a pipeline folder."""
    from ..models.official import convert_attngan

    _check_out(out, overwrite)
    generator = convert_attngan(_read(file, "AttnGAN generator")).module
    encoder = _text_encoder(text_encoder, captions, max_words)
    _write_pipeline(out, generator, encoder, "AttnGAN", "taoxugit/AttnGAN", file, None)
    _done(out, f"AttnGAN generator (gf {generator.gf_dim}, {generator.branch_num} stages to {generator.image_size} px), DAMSM text "
               f"encoder ({len(encoder.vocabulary)} words)", f'wordsight generate --model {out} --attention "this bird is red with white wings"')


@app.command("damsm-official")
def damsm_official(
    file: Path = typer.Argument(..., help="AttnGAN's DAMSM text encoder, text_encoder*.pth."),
    out: Path = typer.Argument(..., help="The DAMSM folder to write (text_encoder/, image_encoder/ as `wordsight train damsm`)."),
    captions: Path = typer.Option(..., "--captions", help=CAPTIONS_HELP),
    image_encoder: Optional[Path] = typer.Option(None, "--image-encoder", help="The matching image_encoder*.pth (same epoch)."),
    max_words: int = typer.Option(18, "--max-words", min=1, help=MAX_WORDS_HELP),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUT if it exists."),
) -> None:
    """AttnGAN's DAMSM (text encoder + vocabulary, optionally the image encoder) -> a `wordsight train damsm`-style folder."""
    from ..hub import save_pretrained
    from ..models.damsm import IMAGE_ENCODER_DIR, TEXT_ENCODER_DIR
    from ..models.official import convert_damsm_image_encoder
    from ..utils.io import atomic_dir

    _check_out(out, overwrite)
    text = _text_encoder(_file(file, "DAMSM text encoder"), captions, max_words)
    image = convert_damsm_image_encoder(_read(image_encoder, "DAMSM image encoder")).module if image_encoder is not None else None
    if image is not None and image.embed_dim != text.sentence_dim:
        raise InputError(f"{image_encoder.name} embeds in {image.embed_dim} dims, {file.name} in {text.sentence_dim}: not one DAMSM")
    with atomic_dir(out) as tmp:
        save_pretrained(text, tmp / TEXT_ENCODER_DIR)
        if image is not None:
            save_pretrained(image, tmp / IMAGE_ENCODER_DIR)
    typer.echo(f"wrote {out}: DAMSM text encoder ({len(text.vocabulary)} words){' and image encoder' if image is not None else ''}")
    typer.echo(f"use it as: wordsight convert dfgan-official|attngan-official FILE OUT --text-encoder {out}"
               + (f"; wordsight evaluate generation MODEL --data ... --metrics r_precision --damsm {out}" if image is not None else ""))


@app.command("stackgan2-official")
def stackgan2_official(
    file: Path = typer.Argument(..., help="hanzhanggit/StackGAN-v2's text-conditioned generator netG_*.pth (birds)."),
    out: Path = typer.Argument(..., help="The model folder to write (config.json + model.safetensors)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUT if it exists."),
) -> None:
    """StackGAN-v2 (hanzhanggit/StackGAN-v2): G_NET -> a model folder. It takes char-CNN-RNN embeddings (1024-d),
    an encoder wordsight does not have, so it is not a pipeline: see docs/convert.md."""
    from ..hub import save_pretrained
    from ..models.official import convert_stackgan2
    from ..utils.io import atomic_dir

    _check_out(out, overwrite)
    generator = convert_stackgan2(_read(file, "StackGAN-v2 generator")).module
    with atomic_dir(out) as tmp:
        save_pretrained(generator, tmp, extra={"converted_from": {"repository": "hanzhanggit/StackGAN-v2", "file": file.name}})
    typer.echo(f"wrote {out}: StackGAN-v2 generator (gf {generator.gf_dim}, {generator.branch_num} stages to {generator.image_size} px, "
               f"{generator.sentence_dim}-d text embeddings)")
    typer.echo(f"load it with: wordsight.hub.from_pretrained({str(out)!r}) (see docs/convert.md)")
