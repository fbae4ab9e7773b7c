"""Text-to-image pipeline: a trained generator plus its text encoder, saved and loaded as one folder.

    from wordsight.pipelines import TextToImage
    pipe = TextToImage.from_pretrained()            # the small DF-GAN shipped with the package
    out = pipe(["a small red circle"], num_images=4, generator=torch.Generator().manual_seed(0))
    out.to_pil()[0].save("circle.png")

Speed (``precision``, ``compile``): the generator always runs in channels_last; ``precision="bf16"`` (or
``"auto"``: bf16 only where it is measured faster here, :func:`wordsight.utils.hardware.precision_choice`)
runs it under bf16 autocast, and ``compile=True`` through ``torch.compile`` (a one-off compile of tens of
seconds). Both change pixels by a bf16 rounding, not the picture; the default is exact fp32. Measured with
``wordsight bench generate --size 256 --compile``, see README "Speed".

Folder layout: ``generator/`` (hub folder: config.json + model.safetensors), ``pipeline.json`` (text
encoder name and options, default truncation), ``text_encoder/`` when the encoder is trainable
(the DAMSM BiLSTM), and ``sentence_whitening/`` when the sentence vectors were whitened for training
(:mod:`wordsight.text.whitening`).
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import torch
from PIL import Image

from ..hub import from_pretrained, save_pretrained
from ..models.generator import split_stages, text_kwargs
from ..text.tokenizer import tokenize
from ..utils.checks import InputError, check_captions
from ..utils.hardware import resolve_precision
from ..utils.images import tensor_to_pil
from ..utils.io import atomic_write_json

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "assets" / "dfgan_synthetic"
PIPELINE_FILE = "pipeline.json"
TRAINED_ENCODERS = ("bilstm", "rnn")  # text encoders trained here, saved in the pipeline's text_encoder/
MAX_CAPTION_WORDS = 64
PRECISIONS = ("no", "bf16", "auto")
STYLE_ENCODER_DIR = "style_encoder"
INFO_KEYS = ("system", "trained_on", "vocabulary")


@dataclass
class TextToImageOutput:
    """images: [N, 3, H, W] in [-1, 1]; captions[i] is the caption image i was generated from."""

    images: torch.Tensor
    captions: list[str]
    stages: list[torch.Tensor] | None = None  # every stage's images of a multi-stage generator, lowest first
    # with attention=True (AttnGAN family): each attention stage's word attention [N, T, H, W] (summing to
    # one over the caption's words at every sub-region), and the words of image i's caption as encoded
    attention: list[torch.Tensor] | None = None
    words: list[list[str]] | None = None

    def to_pil(self) -> list[Image.Image]:
        return [tensor_to_pil(im) for im in self.images]

    def attention_pictures(self, top_k: int = 5, cell: int = 96) -> list[Image.Image]:
        """Seed 004's Fig. 1 per image: the first row holds every stage's image (lowest resolution first);
        then, per attention stage, the final image under the attention map of the caption's ``top_k`` most
        attended words (the most attention mass over the sub-regions), each word written under its map."""
        if self.attention is None or self.words is None:
            raise InputError("no attention maps: call the pipeline with attention=True on an AttnGAN-family model")
        from ..utils.images import attention_sheet

        stages = self.stages or [self.images]
        pictures = []
        for i in range(self.images.shape[0]):
            words = self.words[i]
            rows = []
            for maps in self.attention:
                m = maps[i, : len(words)].float()
                order = m.flatten(1).sum(1).argsort(descending=True)[:top_k].tolist()
                rows.append([(words[t], m[t].numpy()) for t in order])
            pictures.append(attention_sheet([tensor_to_pil(st[i]) for st in stages], tensor_to_pil(self.images[i]),
                                            rows, self.captions[i], cell=cell))
        return pictures

    def stages_to_pil(self) -> list[list[Image.Image]]:
        """Per image, every stage's picture, lowest resolution first (one per image for one-stage generators)."""
        stages = self.stages or [self.images]
        return [[tensor_to_pil(stage[i]) for stage in stages] for i in range(self.images.shape[0])]


def build_text_encoder_from_spec(spec: dict, folder: Path):
    from .. import text

    name = spec.get("name", "minilm")
    if name in TRAINED_ENCODERS:
        encoder = from_pretrained(folder / "text_encoder").eval()
    else:
        encoder = text.build_text_encoder(name, **spec.get("options", {}))
    if spec.get("whitening"):
        from ..text.whitening import WhitenedEncoder

        encoder = WhitenedEncoder(encoder, from_pretrained(folder / spec["whitening"]))
    return encoder


class UnknownWordsWarning(UserWarning):
    """A caption holds words the model never saw in training (its output will ignore or misread them)."""


def warn_unknown_words(texts: Sequence[str], vocabulary: Sequence[str], info: dict, what: str) -> list[str]:
    """Warn (:class:`UnknownWordsWarning`, naming them) about the words of ``texts`` outside ``vocabulary``, saying
    what the model (``info["trained_on"]``) was trained on; returns them. No vocabulary: nothing to check."""
    if not vocabulary:
        return []
    missing = unknown_words(texts, vocabulary)
    if missing:
        trained_on = (info.get("trained_on") or {}).get("description") or "its training texts"
        warnings.warn(f"{len(missing)} {what}, which was trained on {trained_on} ({len(vocabulary)} words): "
                      f"{', '.join(missing)}", UnknownWordsWarning, stacklevel=4)
    return missing


class OutOfDomainImageWarning(UserWarning):
    """An image given to a model trained only on the synthetic shape world is not one of its renders (a photo):
    the model has never seen anything like it, so what it reads from it means little."""


def unknown_words(captions: Sequence[str], vocabulary: Sequence[str]) -> list[str]:
    """Words of ``captions`` (lower-case ``\\w+`` tokens) missing from ``vocabulary``, in first-seen order."""
    known, out = set(vocabulary), []
    for caption in captions:
        for word in tokenize(caption):
            if word not in known and word not in out:
                out.append(word)
    return out


class TextToImage:
    """A text-to-image generator with its text encoder (any system following
    :mod:`wordsight.models.generator`), and optionally a style encoder (GAN-INT-CLS).

    ``info`` is what the model knows about itself, saved in ``pipeline.json``: ``system``, ``trained_on``
    (data source and a description), ``vocabulary`` (the words of its training captions; captions with other
    words get an :class:`UnknownWordsWarning` naming them).
    """

    def __init__(self, generator: torch.nn.Module, text_encoder, encoder_spec: dict | None = None,
                 truncation: float | None = None, precision: str = "no", compile: bool = False,
                 style_encoder: torch.nn.Module | None = None, info: dict | None = None,
                 device: str | torch.device | None = None):
        if precision not in PRECISIONS:
            raise InputError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        self.device = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.generator = generator.eval().to(self.device, memory_format=torch.channels_last)
        self.style_encoder = style_encoder.eval().to(self.device) if style_encoder is not None else None
        self.info = dict(info or {})
        self.text_encoder = text_encoder
        self.encoder_spec = encoder_spec or {"name": "minilm"}
        self.truncation = truncation
        self.precision = resolve_precision(precision, self.device)  # "bf16" or "no"
        # the compiled module shares the generator's weights; save_pretrained writes the plain one
        self._forward = torch.compile(self.generator, dynamic=False) if compile else self.generator

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike | None = None, precision: str = "no",
                        compile: bool = False, device: str | torch.device | None = None) -> "TextToImage":
        """Load a pipeline folder (default: the model shipped with the package); ``precision`` ("no",
        "bf16", "auto") and ``compile`` as in the module docstring."""
        folder = Path(path) if path is not None else SHIPPED_DIR
        meta_path = folder / PIPELINE_FILE
        if not meta_path.exists():
            hint = " (the shipped model is missing: reinstall or run scripts/train_shipped_dfgan.sh)" if path is None else ""
            raise InputError(f"not a text-to-image pipeline folder (no {PIPELINE_FILE}): {folder}{hint}")
        meta = json.loads(meta_path.read_text())
        generator = from_pretrained(folder / "generator")
        encoder = build_text_encoder_from_spec(meta.get("text_encoder", {}), folder)
        style = from_pretrained(folder / STYLE_ENCODER_DIR) if (folder / STYLE_ENCODER_DIR).is_dir() else None
        info = {k: meta[k] for k in INFO_KEYS if k in meta}
        return cls(generator, encoder, meta.get("text_encoder"), meta.get("truncation"), precision=precision, compile=compile,
                   style_encoder=style, info=info, device=device)

    def save_pretrained(self, path: str | os.PathLike, extra: dict | None = None) -> Path:
        folder = Path(path)
        save_pretrained(self.generator, folder / "generator")
        encoder = self.text_encoder
        if self.encoder_spec.get("whitening"):
            save_pretrained(encoder.whitening, folder / self.encoder_spec["whitening"])
            encoder = encoder.base
        if self.encoder_spec.get("name") in TRAINED_ENCODERS:  # weights of its own; frozen ones rebuild from the spec
            save_pretrained(encoder, folder / "text_encoder")
        if self.style_encoder is not None:
            save_pretrained(self.style_encoder, folder / STYLE_ENCODER_DIR)
        meta = {"text_encoder": self.encoder_spec, "truncation": self.truncation, **self.info, **(extra or {})}
        atomic_write_json(folder / PIPELINE_FILE, meta)
        return folder

    @torch.no_grad()
    def encode(self, captions: Sequence[str]) -> torch.Tensor:
        return self.text_encoder.encode(list(captions)).sentence.float()

    @property
    def vocabulary(self) -> list[str]:
        """The words the model was trained on: ``info["vocabulary"]``, else its text encoder's own vocabulary
        (a DAMSM BiLSTM's); empty when neither is known (then no vocabulary warning is given)."""
        if self.info.get("vocabulary"):
            return list(self.info["vocabulary"])
        encoder = getattr(self.text_encoder, "base", self.text_encoder)
        vocab = getattr(encoder, "vocabulary", None)
        if vocab is None or not hasattr(vocab, "words"):
            return []
        return [w for w in vocab.words if not (w.startswith("<") and w.endswith(">"))]

    def check_vocabulary(self, captions: Sequence[str]) -> list[str]:
        """Warn (:class:`UnknownWordsWarning`) naming the caption words outside the model's vocabulary."""
        return warn_unknown_words(captions, self.vocabulary, self.info, "caption word(s) unknown to this model")

    @torch.no_grad()
    def __call__(
        self,
        captions: str | Sequence[str],
        num_images: int = 1,
        generator: Optional[torch.Generator] = None,
        truncation: Optional[float] = None,
        batch_size: int = 64,
        style_from: Optional[torch.Tensor | Sequence[Image.Image]] = None,
        attention: bool = False,
    ) -> TextToImageOutput:
        """Generate ``num_images`` images for each caption.

        Args:
            captions: one caption or a list; empty or overlong (> 64 words) captions raise InputError; words
                outside the model's vocabulary give an :class:`UnknownWordsWarning` naming them.
            num_images: images per caption.
            generator: a torch.Generator for reproducible noise.
            truncation: noise truncation as the generator's system defines it (DF-GAN: a normal truncated
                to (-2, 2) scaled by this factor, 0.88 in the paper); None uses the pipeline's default.
            batch_size: images per generator forward pass.
            style_from: style images (PIL images or [N, 3, H, W] in [-1, 1]); needs a style encoder and
                replaces the noise: see :meth:`transfer_style` (``num_images`` is then ignored).
            attention: also return the word attention maps and the encoded words (AttnGAN, DualAttnGAN);
                ``output.attention_pictures()`` draws them.
        Returns:
            TextToImageOutput with images [len(captions) * num_images, 3, H, W] in [-1, 1], grouped by
            caption (``stages`` holds every stage of a multi-stage generator).
        """
        caps = check_captions([captions] if isinstance(captions, str) else list(captions), max_words=MAX_CAPTION_WORDS)
        if style_from is not None:
            return self.transfer_style(style_from, caps, batch_size=batch_size)
        if num_images < 1:
            raise InputError(f"num_images must be >= 1, got {num_images}")
        self.check_vocabulary(caps)
        index = torch.arange(len(caps)).repeat_interleave(num_images)
        trunc = truncation if truncation is not None else self.truncation
        z = self.generator.sample_noise(index.shape[0], generator=generator, truncation=trunc)
        labels = [c for c in caps for _ in range(num_images)]
        if attention:
            return self._generate_with_attention(z, caps, index, batch_size, labels)
        features = self.text_encoder.encode(caps)
        images, stages = self._generate(z, features, index, batch_size)
        return TextToImageOutput(images, labels, stages)

    def _generate_with_attention(self, z: torch.Tensor, caps: list[str], index: torch.Tensor, batch_size: int,
                                 labels: list[str]) -> TextToImageOutput:
        if not callable(getattr(self.generator, "forward_with_attention", None)):
            raise InputError(f"attention maps need a word-attention generator (AttnGAN, DualAttnGAN); this pipeline's is "
                             f"{self.info.get('system', type(self.generator).__name__)}")
        # tokenise once, so the words under the maps are exactly the ones the generator attended to
        ids, lengths = self.text_encoder.tokenize(caps)
        features = self.text_encoder(ids, lengths)
        vocab = self.text_encoder.vocabulary.words
        words = [[vocab[int(t)] for t in ids[i, : int(lengths[i])]] for i in range(len(caps))]
        finals, stage_lists, maps = [], [], []
        for i in range(0, z.shape[0], batch_size):
            rows = index[i : i + batch_size]
            text = {k: v.to(self.device) for k, v in text_kwargs(self.generator, features, rows).items()}
            out = self.generator.forward_with_attention(z[i : i + batch_size].to(self.device), **text)
            finals.append(out.images[-1].float().clamp(-1, 1).cpu())
            stage_lists.append([s.float().clamp(-1, 1).cpu() for s in out.images])
            maps.append([a.float().cpu() for a in out.attention])
        stages = [torch.cat([sl[k] for sl in stage_lists]) for k in range(len(stage_lists[0]))]
        attention = [torch.cat([m[k] for m in maps]) for k in range(len(maps[0]))]
        return TextToImageOutput(torch.cat(finals).contiguous(), labels, stages if len(stages) > 1 else None,
                                 attention, [words[int(r)] for r in index])

    @torch.no_grad()
    def transfer_style(self, images: torch.Tensor | Sequence[Image.Image], captions: str | Sequence[str],
                       batch_size: int = 64, paired: bool = False) -> TextToImageOutput:
        """GAN-INT-CLS style transfer (seed 004 section 4.4): s = S(x), x_hat = G(s, phi(t)): pose and
        background from each image x, content from each caption t.

        Returns N x M images for N style images and M captions, grouped by style image (row i holds image
        i's style under every caption); ``paired=True`` takes N captions and gives image i with caption i.
        """
        if self.style_encoder is None:
            raise InputError("this pipeline has no style encoder; train one with 'wordsight train gan-int-cls-style "
                             "model.generator=<this pipeline folder>'")
        caps = check_captions([captions] if isinstance(captions, str) else list(captions), max_words=MAX_CAPTION_WORDS)
        self.check_vocabulary(caps)
        x = self._style_images(images)
        if paired and len(caps) != x.shape[0]:
            raise InputError(f"paired style transfer needs one caption per image: {x.shape[0]} images, {len(caps)} captions")
        codes = torch.cat([self.style_encoder(x[i:i + batch_size].to(self.device)).float().cpu() for i in range(0, x.shape[0], batch_size)])
        if paired:
            z, index, labels = codes, torch.arange(len(caps)), caps
        else:
            z, index = codes.repeat_interleave(len(caps), 0), torch.arange(len(caps)).repeat(x.shape[0])
            labels = [c for _ in range(x.shape[0]) for c in caps]
        out, stages = self._generate(z, self.text_encoder.encode(caps), index, batch_size)
        return TextToImageOutput(out, labels, stages)

    def _style_images(self, images: torch.Tensor | Sequence[Image.Image]) -> torch.Tensor:
        import torch.nn.functional as F

        from ..utils.images import pil_to_tensor, to_rgb

        size = int(self.style_encoder.image_size)
        if isinstance(images, torch.Tensor):
            x = images if images.dim() == 4 else images[None]
        else:
            if not images:
                raise InputError("style_from: no images given")
            x = torch.stack([pil_to_tensor(to_rgb(im).resize((size, size), Image.BICUBIC)) for im in images])
        if x.dim() != 4 or x.shape[1] != 3:
            raise InputError(f"style images must be [N, 3, H, W], got {tuple(x.shape)}")
        self._check_image_domain(images, size)
        if not torch.isfinite(x).all():
            raise InputError("style images contain NaN or inf values")
        if x.shape[-1] != size or x.shape[-2] != size:
            x = F.interpolate(x.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        return x.float()

    def _check_image_domain(self, images: torch.Tensor | Sequence[Image.Image], size: int) -> None:
        """Warn (:class:`OutOfDomainImageWarning`) when a synthetic-world model gets images that are not the
        world's renders at its size: the world renders exactly ``size`` x ``size``, a photo almost never is."""
        if (self.info.get("trained_on") or {}).get("data") != "synthetic":
            return
        sizes = [tuple(images.shape[-2:])] if isinstance(images, torch.Tensor) else [(im.height, im.width) for im in images]
        foreign = [f"{w}x{h}" for h, w in sizes if (h, w) != (size, size)]
        if foreign:
            warnings.warn(f"this model was trained only on the synthetic shape world's {size}x{size} renders; "
                          f"{len(foreign)} style image(s) ({', '.join(sorted(set(foreign)))}) are not such renders, so the "
                          "pose and background it reads from them are those of the nearest shape scene, not of your image",
                          OutOfDomainImageWarning, stacklevel=4)

    def _generate(self, z: torch.Tensor, features, index: torch.Tensor, batch_size: int) -> tuple[torch.Tensor, list[torch.Tensor] | None]:
        """Run the generator on noise ``z`` [N, z_dim] and the text features of captions ``index`` [N]."""
        finals, stage_lists = [], []
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            for i in range(0, z.shape[0], batch_size):
                rows = index[i : i + batch_size]
                text = {k: v.to(self.device) for k, v in text_kwargs(self.generator, features, rows).items()}
                final, stages = split_stages(self._forward(z[i : i + batch_size].to(self.device), **text))
                finals.append(final.float().clamp(-1, 1).cpu())
                stage_lists.append([s.float().clamp(-1, 1).cpu() for s in stages])
        images = torch.cat(finals).contiguous()
        if len(stage_lists[0]) == 1:
            return images, None
        return images, [torch.cat([sl[k] for sl in stage_lists]) for k in range(len(stage_lists[0]))]

    @torch.no_grad()
    def interpolate(self, caption_a: str, caption_b: str, steps: int = 8,
                    generator: Optional[torch.Generator] = None) -> TextToImageOutput:
        """GAN-INT-style strip: fixed noise, sentence vectors interpolated linearly from A to B."""
        caps = check_captions([caption_a, caption_b], max_words=MAX_CAPTION_WORDS)
        if steps < 2:
            raise InputError("interpolation needs steps >= 2")
        from ..text.features import TextFeatures

        feats = self.text_encoder.encode(caps)
        w = torch.linspace(0, 1, steps)[:, None]
        sent = (1 - w) * feats.sentence[0:1].float() + w * feats.sentence[1:2].float()
        words = torch.where(w[:, :, None] < 0.5, feats.words[0:1], feats.words[1:2])  # word features cannot be mixed
        mask = torch.where(w < 0.5, feats.mask[0:1], feats.mask[1:2])
        mixed = TextFeatures(words, sent, mask)
        z = self.generator.sample_noise(1, generator=generator, truncation=self.truncation)
        images, stages = self._generate(z.repeat(steps, 1), mixed, torch.arange(steps), 64)
        labels = [f"{(1 - x):.2f} A + {x:.2f} B" for x in w[:, 0].tolist()]
        return TextToImageOutput(images, labels, stages)
