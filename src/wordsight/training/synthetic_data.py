"""The synthetic caption world as GAN training data: rendered images paired with caption embeddings.

Sample ``i`` is caption ``i % captions_per_image`` of scene ``i // captions_per_image``; images are
rendered on the fly (thousands per second, never the bottleneck) and the sentence vectors of every
caption are encoded once when the data set is built (through the encoder's on-disk cache, so a second
run with the same captions encodes nothing).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import torch
from tqdm import tqdm

from ..config import ConfigError
from ..data.synthetic import ATTRIBUTES, SyntheticWorld, WorldConfig
from ..text.whitening import WHITENING_FOLDER, SentenceWhitening, with_whitening
from ..utils.checks import InputError
from ..utils.images import pil_to_tensor


def default_cache_dir() -> Path:
    """Caption-embedding cache: $WORDSIGHT_CACHE/minilm (default ~/.cache/wordsight/minilm)."""
    return Path(os.environ.get("WORDSIGHT_CACHE", Path.home() / ".cache" / "wordsight")) / "minilm"


class _FittedArtifacts:
    """What a data set fitted on its captions and the run folder must keep: the sentence whitening, when
    :func:`_maybe_whiten` fitted one (the trainer saves ``artifacts()``)."""

    whitening: SentenceWhitening | None = None

    def artifacts(self) -> dict[str, torch.nn.Module]:
        return {WHITENING_FOLDER: self.whitening} if self.whitening is not None else {}

    def encode_captions(self, captions: Sequence[str], batch_size: int = 256) -> dict[str, torch.Tensor]:
        """A batch-like ``{"sentence": [N, D], "captions": [...]}`` for any captions, made exactly as the training sentences
        were: the data set's ``text_encoder`` (set by ``build_data``), then the fitted whitening if any. An
        objective's ``conditions`` reads it like a training batch (e.g. to evaluate during training)."""
        encoder = getattr(self, "text_encoder", None)
        if encoder is None:
            raise InputError(f"{type(self).__name__} has no text_encoder to encode captions with; build it with "
                             "wordsight.training.sources.build_data (or set .text_encoder)")
        sentence = _encode(encoder, list(captions), batch_size, False, "encoding captions")
        if self.whitening is not None:
            with torch.no_grad():
                sentence = self.whitening(sentence)
        # the captions too: a system conditioned on word features (AttnGAN) encodes them itself
        return {"sentence": sentence, "captions": list(captions)}


class SyntheticCaptionData(_FittedArtifacts, torch.utils.data.Dataset):
    """Map-style data set of {"images" [3,S,S] in [-1,1], "sentence" [D], "captions" str, "label" int}.

    ``label`` is the class of the scene's first object (colour x shape, :attr:`Scene.label`): the DAMSM loss
    on the generator (``model.damsm_sentence_weight``) leaves same-class pairs out of its negatives, as
    AttnGAN does with its class ids.

    With ``hard_negatives`` (attributes to change, see :meth:`SyntheticWorld.contrastive_captions`) items
    also hold ``"mismatch_sentence"`` [D]: the vector of the same caption with one attribute word changed.
    Objectives with a matching-aware term (DF-GAN's real/mismatched pair) then cannot tell a mismatch
    by colour alone: with in-batch mismatches the colour differs 7 times in 8, so a discriminator learns
    colour-text matching first and shape-text matching barely at all (measured in docs/dfgan.md).
    """

    name = "synthetic"

    def __init__(self, world: SyntheticWorld, num_scenes: int, encoder: Any, batch_size: int = 256, progress: bool = True,
                 hard_negatives: Sequence[str] | None = None):
        self.world, self.num_scenes = world, num_scenes
        self.k = world.config.captions_per_image
        self.captions = [c for i in range(num_scenes) for c in world.scene_captions(i)]
        self.sentences = _encode(encoder, self.captions, batch_size, progress, "encoding captions")
        self.mismatch_captions: list[str] | None = None
        self.mismatch_sentences: torch.Tensor | None = None
        if hard_negatives:
            self.mismatch_captions = [c for i in range(num_scenes) for c in world.contrastive_captions(i, tuple(hard_negatives))]
            self.mismatch_sentences = _encode(encoder, self.mismatch_captions, batch_size, progress, "encoding hard negatives")

    def __len__(self) -> int:
        return len(self.captions)

    def __getitem__(self, index: int) -> dict[str, Any]:
        scene = self.world.scene(index // self.k)
        item = {"images": pil_to_tensor(scene.image), "sentence": self.sentences[index], "captions": self.captions[index],
                "label": scene.label}
        if self.mismatch_sentences is not None:
            item["mismatch_sentence"] = self.mismatch_sentences[index]
        return item


def _encode(encoder: Any, captions: list[str], batch_size: int, progress: bool, desc: str) -> torch.Tensor:
    vecs = []
    with torch.no_grad():
        for start in tqdm(range(0, len(captions), batch_size), desc=desc, disable=not progress):
            vecs.append(encoder.encode(captions[start : start + batch_size]).sentence.float())
    return torch.cat(vecs)


def minilm_encoder(cache_dir: str | os.PathLike | None = None):
    from ..text.minilm import MiniLMEncoder

    return MiniLMEncoder(cache_dir=cache_dir if cache_dir is not None else default_cache_dir())


def synthetic_world_from_model_cfg(model: dict, seed: int, data: Any = None) -> SyntheticWorld:
    """The training world of a run: ``data`` is its ``DataConfig`` (or a mapping of one: ``data:`` of a
    saved config.yaml), or only its ``data.synthetic`` section (a ``SyntheticDataConfig`` or mapping)."""
    import dataclasses

    from ..config import _from_dict
    from .config import DataConfig, SyntheticDataConfig

    if isinstance(data, dict):
        full = {f.name for f in dataclasses.fields(DataConfig)} & set(data)
        data = _from_dict(DataConfig, data, "data") if full else _from_dict(SyntheticDataConfig, data, "data.synthetic")
    options = data.synthetic if isinstance(data, DataConfig) else data if data is not None else SyntheticDataConfig()
    return SyntheticWorld(WorldConfig(seed=seed, image_size=int(model.get("image_size", 64)), split="train", **options.world_options()))


class CaptionedImageTrainingData(_FittedArtifacts, torch.utils.data.Dataset):
    """(image, caption) pairs of a real captioned data set (CUB, Oxford, COCO, a caption folder).

    Images get DF-GAN's augmentation: resize to 76/64 of the size, random crop, random flip (the loop
    seeds torch per step, so a resumed run sees the same crops). Captions are encoded once up front.
    """

    name = "captions"

    def __init__(self, dataset: Any, encoder: Any, image_size: int, progress: bool = True, batch_size: int = 256):
        self.dataset, self.image_size = dataset, image_size
        self.pairs: list[tuple[int, int]] = []
        captions: list[str] = []
        for i in tqdm(range(len(dataset)), desc="reading captions", disable=not progress):
            item = dataset.items[i] if hasattr(dataset, "items") else None
            caps = item.captions if getattr(item, "captions", None) is not None else dataset[i].captions
            for j, c in enumerate(caps):
                self.pairs.append((i, j))
                captions.append(c)
        if not captions:
            raise InputError("the training data set has no captions")
        self.captions = captions
        self.sentences = _encode(encoder, captions, batch_size, progress, "encoding captions")

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict[str, Any]:
        import torch.nn.functional as F

        i, _ = self.pairs[index]
        img = pil_to_tensor(self.dataset[i].image)
        big = int(round(self.image_size * 76 / 64))
        img = F.interpolate(img[None], size=(big, big), mode="bilinear", antialias=True, align_corners=False)[0]
        y, x = (int(v) for v in torch.randint(0, big - self.image_size + 1, (2,)))
        img = img[:, y : y + self.image_size, x : x + self.image_size]
        if torch.rand(()) < 0.5:
            img = img.flip(-1)
        return {"images": img.contiguous(), "sentence": self.sentences[index], "captions": self.captions[index]}


def build_training_data(spec: str, cfg: Any, progress: bool = True) -> torch.utils.data.Dataset:
    """Alias of :func:`wordsight.training.sources.build_data` (the training data of a ``--data`` spec)."""
    from .sources import build_data

    return build_data(spec, cfg, progress=progress)


def frozen_text_encoder(name: str, path: str | os.PathLike | None = None):
    """The frozen caption encoder of a DF-GAN run: ``minilm`` (cached), or ``bilstm`` loaded from a
    DAMSM folder (``path`` or ``path/text_encoder``) in eval mode with gradients off."""
    if name == "minilm":
        if path is not None:
            raise ConfigError("data.text_encoder_path is only for data.text_encoder=bilstm (MiniLM ships with its package)")
        return minilm_encoder()
    if name == "bilstm":
        if path is None:
            raise ConfigError("data.text_encoder=bilstm needs data.text_encoder_path=<folder written by 'wordsight train damsm'>")
        from ..models.damsm import TEXT_ENCODER_DIR, load_damsm_part

        return load_damsm_part(path, TEXT_ENCODER_DIR, what="data.text_encoder_path")
    raise ConfigError(f"data.text_encoder must be 'minilm' or 'bilstm', got {name!r}")


def _check_sentence_dim(encoder: Any, whiten_dim: int, cfg: Any) -> None:
    expected = whiten_dim if whiten_dim > 0 else int(encoder.sentence_dim)
    sentence_dim = int(cfg.model.get("sentence_dim", expected))
    if sentence_dim != expected:
        why = f"data.sentence_whitening={whiten_dim} makes {expected}-d" if whiten_dim > 0 else f"the text encoder gives {expected}-d"
        raise ConfigError(f"{why} sentence vectors but model.sentence_dim is {sentence_dim}; set model.sentence_dim={expected}")


def _maybe_whiten(dataset: Any, output_dim: int) -> Any:
    """With ``data.sentence_whitening: k`` (k > 0), fit PCA whitening to k dimensions on the data set's
    sentence vectors and replace them (see :mod:`wordsight.text.whitening` for why). The fitted module is
    exposed through ``dataset.artifacts()`` so the trainer saves it in the run folder."""
    if output_dim <= 0:
        return dataset
    whitening = SentenceWhitening.fit(dataset.sentences, output_dim)  # fitted on the true captions only
    with torch.no_grad():
        dataset.sentences = whitening(dataset.sentences)
        if getattr(dataset, "mismatch_sentences", None) is not None:
            dataset.mismatch_sentences = whitening(dataset.mismatch_sentences)
    dataset.whitening = whitening
    return dataset


def training_text_encoder(dataset: Any):
    """The text encoder that maps captions to the sentence vectors ``dataset`` was built with, and its
    pipeline spec (what ``TextToImage.save_pretrained`` needs), wrapped in the fitted whitening when the
    data set has one."""
    encoder = getattr(dataset, "text_encoder", None) or minilm_encoder()
    spec = getattr(dataset, "encoder_spec", None) or {"name": "minilm"}
    return with_whitening(encoder, spec, getattr(dataset, "whitening", None))
