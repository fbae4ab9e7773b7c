"""Training data for a :class:`~wordsight.training.config.TrainConfig` from a ``--data`` spec: the one
function every GAN entry point uses (``wordsight train SYSTEM``, ``python -m wordsight.training.launch``).

    cfg = load_config(TrainConfig, "dfgan_cub", ["steps=2000"])
    data = build_data("cub:/data/birds", cfg)            # or default_data_spec(cfg) when --data is omitted
    result = train(cfg, cfg.system, data, "runs")

Specs (:data:`TRAINING_DATA_FORMS`):

* ``synthetic``: the built-in caption world, rendered on the fly; options ``data.synthetic``;
* ``cub:PATH``, ``oxford:PATH``, ``coco:PATH``, ``folder:PATH``: a captioned-image layout read by
  :mod:`wordsight.data` and augmented as DF-GAN does; options ``data.captions`` (each layout gets only
  the options its loader has);
* ``random`` or ``random:N``: N (default 256) random images and sentence vectors sized from the model
  config, for tests and speed checks; used only when asked for.

The text options of ``data`` (``text_encoder``, ``text_encoder_path``, ``sentence_whitening``) apply to
every source but ``random``; ``hard_negatives`` needs ``synthetic``. Every data set carries ``name`` (the
kind of source: the run folder's suffix) and ``description`` (spec, path, counts, first captions; the
trainer writes it to ``<run>/data.json``), so a run says what it was trained on.

:func:`parse_data_spec` is the ``KIND[:PATH]`` parser shared with the saliency trainer
(``training.saliency_data``).
"""

from __future__ import annotations

import inspect
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from ..config import ConfigError, _from_dict
from ..utils.checks import InputError

log = logging.getLogger(__name__)

__all__ = ["CAPTION_LAYOUTS", "TRAINING_DATA_FORMS", "DataSpec", "build_data", "default_data_spec", "parse_data_spec"]

CAPTION_LAYOUTS = ("cub", "oxford", "coco", "folder")
TRAINING_DATA_FORMS = ("synthetic", "cub:PATH", "oxford:PATH", "coco:PATH", "folder:PATH", "random[:N]")
RANDOM_SAMPLES = 256
SYNTHETIC_SIZES = (16, 256)  # the image sizes the synthetic world renders (data.synthetic.WorldConfig)


@dataclass(frozen=True)
class DataSpec:
    """A parsed ``--data`` value: ``kind`` (lower case) and ``path`` (None for path-less kinds)."""

    kind: str
    path: Optional[str]
    text: str

    def __str__(self) -> str:
        return self.text


def parse_data_spec(spec: str, forms: Sequence[str] = TRAINING_DATA_FORMS, what: str = "--data") -> DataSpec:
    """Parse ``KIND`` or ``KIND:PATH`` against ``forms``: ``"K:PATH"`` needs a path, a bare ``"K"`` takes none,
    ``"K[:N]"`` takes an optional argument. Anything else is an InputError listing the valid forms."""
    text = str(spec).strip()
    kind, sep, rest = text.partition(":")
    kinds: dict[str, str] = {}
    for form in forms:
        if form.endswith("[:N]"):
            kinds[form[:-4]] = "optional"
        elif ":" in form:
            kinds[form.split(":", 1)[0]] = "path"
        else:
            kinds[form] = "none"
    valid = ", ".join(forms)
    need = kinds.get(kind.lower())
    if need is None:
        raise InputError(f"unknown {what} {text!r}; valid forms: {valid}")
    if need == "path" and not rest.strip():
        raise InputError(f"{what} {kind} needs a path: {kind}:PATH (valid forms: {valid})")
    if need == "none" and sep:
        raise InputError(f"{what} {kind} takes no path, got {text!r} (valid forms: {valid})")
    return DataSpec(kind.lower(), rest.strip() or None, text)


def default_data_spec(cfg: Any) -> str:
    """What to train on when no ``--data`` is given: ``synthetic`` for a config whose ``data.source`` is the
    synthetic world; a config for a real data set needs its path, so that is an InputError."""
    source = _data_config(cfg).source
    if source == "synthetic":
        return "synthetic"
    raise InputError(f"this config trains on {source}; pass --data {source}:PATH")


def model_image_size(cfg: Any) -> int:
    """The image size of the run's real data: ``model.image_size`` as the system's config resolves it (a
    system may derive it, as StackGAN's stage 2 does from stage1_size and upscale); 64 when unset."""
    import dataclasses

    from .objective import SYSTEMS

    cls = SYSTEMS.get(cfg.system).config_cls if cfg.system in SYSTEMS else None
    if cls is not None and "image_size" in {f.name for f in dataclasses.fields(cls)}:
        size = _from_dict(cls, dict(cfg.model), "model").image_size
        if size is not None:
            return int(size)
    return int(cfg.model.get("image_size", 64))


def build_data(spec: str, cfg: Any, progress: bool = True):
    """The training data set named by ``spec`` (see the module docstring) for ``cfg`` (a TrainConfig).

    Returns a map-style dataset of sample dicts (``images``, ``sentence``, ``captions``, ...), with
    ``name``, ``description``, and, except for ``random``, ``text_encoder``/``encoder_spec`` (what
    ``training_text_encoder`` exports) and the fitted ``artifacts()``.
    """
    from . import synthetic_data as sd

    parsed = parse_data_spec(spec)
    data_cfg = _data_config(cfg)
    size = model_image_size(cfg)
    if parsed.kind == "synthetic" and not SYNTHETIC_SIZES[0] <= size <= SYNTHETIC_SIZES[1]:
        raise ConfigError(f"model.image_size must be in [{SYNTHETIC_SIZES[0]}, {SYNTHETIC_SIZES[1]}] for --data synthetic "
                          f"(the sizes the world renders), got {size}")
    if parsed.kind == "random":
        dataset = _random_data(cfg, parsed, size)
    else:
        from .config import hard_negative_attributes

        hard = hard_negative_attributes(data_cfg.hard_negatives)
        if hard and parsed.kind != "synthetic":
            raise ConfigError(f"data.hard_negatives needs --data synthetic (it edits the world's captions), got --data {parsed}")
        whiten_dim = int(data_cfg.sentence_whitening or 0)
        if parsed.kind == "synthetic" and data_cfg.synthetic.manipulation:
            return _manipulation_data(cfg, data_cfg, parsed, size, hard)
        encoder = sd.frozen_text_encoder(data_cfg.text_encoder, data_cfg.text_encoder_path)
        sd._check_sentence_dim(encoder, whiten_dim, cfg)
        if parsed.kind == "synthetic":
            from ..data.synthetic import SyntheticWorld, WorldConfig

            opts = data_cfg.synthetic
            world = SyntheticWorld(WorldConfig(seed=cfg.seed, image_size=size, split="train", **opts.world_options()))
            dataset = sd.SyntheticCaptionData(world, opts.num_scenes, encoder, progress=progress, hard_negatives=hard)
        else:
            opened = open_caption_layout(parsed, data_cfg.captions)
            dataset = sd.CaptionedImageTrainingData(opened, encoder, size, progress=progress)
        dataset.text_encoder, dataset.encoder_spec = encoder, {"name": data_cfg.text_encoder}
        dataset = sd._maybe_whiten(dataset, whiten_dim)
    dataset.name = parsed.kind
    dataset.description = _describe(dataset, parsed)
    return dataset


def _manipulation_data(cfg: Any, data_cfg: Any, parsed: DataSpec, size: int, hard: Any):
    """The synthetic world's manipulation triplets (no sentence vectors: these systems encode the texts)."""
    from ..data.synthetic import SyntheticWorld, WorldConfig
    from ..data.manipulation_pairs import SyntheticManipulationData

    if hard:
        raise ConfigError("data.hard_negatives does not apply to data.synthetic.manipulation (the triplets are the edits)")
    opts = data_cfg.synthetic
    world = SyntheticWorld(WorldConfig(seed=cfg.seed, image_size=size, split="train", **opts.world_options()))
    dataset = SyntheticManipulationData(world, opts.num_scenes)
    dataset.name = parsed.kind
    dataset.description = {**_describe(dataset, parsed), "manipulation": True}
    return dataset


def open_caption_layout(spec: DataSpec, options: Any = None):
    """Open ``spec`` (cub/oxford/coco/folder:PATH) with the ``data.captions`` options its loader has."""
    from ..data.layouts import open_layout
    from .config import CaptionDataConfig

    if spec.kind not in CAPTION_LAYOUTS:
        raise InputError(f"{spec.kind!r} is not a captioned-image layout; use one of {', '.join(f'{k}:PATH' for k in CAPTION_LAYOUTS)}")
    opts = options if options is not None else CaptionDataConfig()
    if isinstance(opts, dict):
        opts = _from_dict(CaptionDataConfig, opts, "data.captions")
    accepted = _loader_parameters(spec.kind)
    kwargs: dict[str, Any] = {}
    for name in ("captions_per_image", "crop", "year", "check_images"):
        value = getattr(opts, name)
        if value is None:
            continue
        if name in accepted:
            kwargs[name] = value
        elif name != "check_images":
            log.warning("data.captions.%s is not an option of the %s layout; ignored", name, spec.kind)
    path = Path(spec.path).expanduser()
    if not path.exists():
        raise InputError(f"--data {spec}: folder not found: {path}")
    return open_layout(path, layout=spec.kind, split=opts.split, **kwargs)


def _loader_parameters(layout: str) -> set[str]:
    from .. import data as D

    cls = {"cub": D.CUBDataset, "oxford": D.OxfordFlowersDataset, "coco": D.COCOCaptionsDataset,
           "folder": D.CaptionFolderDataset}[layout]
    return set(inspect.signature(cls.__init__).parameters)


def _random_data(cfg: Any, spec: DataSpec, size: int):
    from .data import RandomCaptionData

    try:
        n = int(spec.path) if spec.path is not None else RANDOM_SAMPLES
    except ValueError:
        raise InputError(f"--data random:N needs a number of samples, got {spec.text!r}") from None
    dim = int(cfg.model.get("sentence_dim", 256))
    return RandomCaptionData(num_samples=n, image_size=size, sentence_dim=dim, seed=cfg.seed)


def _describe(dataset: Any, spec: DataSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"spec": spec.text, "source": spec.kind,
                           "path": os.path.abspath(os.path.expanduser(spec.path)) if spec.kind in CAPTION_LAYOUTS else None,
                           "items": len(dataset)}
    if spec.kind == "synthetic":
        out.update(scenes=dataset.num_scenes, captions_per_image=dataset.k)
    elif spec.kind in CAPTION_LAYOUTS:
        out.update(images=len(dataset.dataset), split=getattr(dataset.dataset, "split", "all"))
    captions = getattr(dataset, "captions", None)
    if captions:
        out["first_captions"] = list(captions[:4])
    return out


def _data_config(cfg: Any):
    from .config import DataConfig

    data = getattr(cfg, "data", None)
    if data is None:
        return DataConfig()
    if isinstance(data, dict):
        return _from_dict(DataConfig, data, "data")
    return data
