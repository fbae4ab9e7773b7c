"""Evaluate a text-to-image pipeline on a data set: generate from the split's captions, measure, report.

    from wordsight.pipelines import TextToImage
    from wordsight.pipelines.evaluation import evaluate_text_to_image
    pipe = TextToImage.from_pretrained("runs/00001-dfgan-synthetic/pipeline")
    report = evaluate_text_to_image(pipe, "synthetic", ["oracle", "oracle_fid"], n=2000)
    report.save("runs/eval")          # metrics.json, metrics.md, samples.png
    print(report.to_markdown())

Metric names are those registered in ``wordsight.metrics`` (fid, kid, is, r_precision, clip_score, oracle,
oracle_fid, oracle_kid; ``oracle_fid``/``oracle_kid`` are FID/KID over the synthetic world's oracle CNN
features, its 192-d penultimate layer, and need no downloaded weights). The generated images are made once,
streamed batch by batch, and read once by every metric (``evaluate_generation`` does the reading).

:func:`oracle_accuracy` is the table of ``eval.json`` and the quick start: the ``oracle`` metric's scores
(``wordsight.metrics.generation.oracle``) of one image per caption, per split.
"""

from __future__ import annotations

import os
import platform
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import torch
from PIL import Image
from tqdm.auto import tqdm

from .. import __version__
from ..metrics import (
    GenerationMetricOptions,
    FeatureExtractorSpec,
    OpenClipEncoder,
    evaluate_generation,
    inception_extractor,
    list_metrics,
    reference_statistics,
    resolve_metrics,
)
from ..metrics.generation.oracle import oracle_feature_extractor, score_against_captions, summarize_scores
from ..models.oracle import load_oracle
from ..utils.checks import InputError
from ..utils.images import captioned_grid, to_uint8
from ..utils.io import atomic_path, atomic_write_json, atomic_write_text
from .evaluation_data import EvaluationData, load_evaluation_data

ORACLE_NEEDS = frozenset({"oracle", "oracle_features"})  # what only the synthetic world's ground truth gives
METRICS_JSON, METRICS_MD, SAMPLES_PNG = "metrics.json", "metrics.md", "samples.png"


def check_metric_names(names: Sequence[str] | str) -> list[str]:
    """Validate ``names`` (a list or "fid,kid") against the registry; returns them lower case, deduplicated.

    Raises InputError listing every known name when one is unknown or none is given.
    """
    if isinstance(names, str):
        names = [n for n in names.split(",")]
    wanted = list(dict.fromkeys(n.strip().lower() for n in names if n.strip()))
    unknown = [n for n in wanted if n not in list_metrics()]
    if unknown or not wanted:
        what = f"unknown metric(s) {unknown}" if unknown else "no metrics requested"
        raise InputError(f"{what}; known: {', '.join(list_metrics())}")
    return wanted


# ---------------------------------------------------------------------------------------------------
# the oracle table of eval.json and the quick start


@torch.no_grad()
def oracle_accuracy(pipe: Any, captions: Mapping[str, Sequence[str]], seed: int = 0,
                    oracle: torch.nn.Module | None = None) -> dict[str, dict[str, float]]:
    """Oracle accuracy (count, colour, shape, size, relation, joint; see ``wordsight.metrics.generation.oracle``)
    of one image per caption, per split: ``{split: {score: fraction}}``.

    Each split's images come from one ``pipe(captions, generator=torch.Generator().manual_seed(seed))`` call
    and are scored as the generator made them (floats in [-1, 1]); the registered ``oracle`` metric scores
    the same way after the uint8 rounding every registered metric sees (on the shipped model one image in
    256 reads differently). ``captions``: e.g. ``evaluation_captions(256)``; ``oracle``: default the shipped one.
    """
    from .text_to_image import UnknownWordsWarning

    oracle = oracle if oracle is not None else load_oracle()
    res = {}
    for split, caps in captions.items():
        with warnings.catch_warnings():  # held-out captions use unseen templates on purpose: that is the test
            warnings.simplefilter("ignore", UnknownWordsWarning)
            images = pipe(list(caps), generator=torch.Generator().manual_seed(seed)).images
        res[split] = summarize_scores(score_against_captions(oracle, images, list(caps)))
    return res


def caption_oracle_scores(images: torch.Tensor, captions: Sequence[str],
                          oracle: torch.nn.Module | None = None) -> dict[str, float]:
    """How well the oracle reads ``captions`` in ``images`` (float [N, 3, H, W] in [-1, 1], as a pipeline made
    them): the mean of each score of :data:`~wordsight.metrics.generation.oracle.ORACLE_SCORES` over the images
    whose caption states it (NaN when none does, e.g. relation for one-object captions)."""
    oracle = oracle if oracle is not None else load_oracle()
    with torch.no_grad():
        return summarize_scores(score_against_captions(oracle, images, list(captions)))


def oracle_accuracy_per_stage(pipe: Any, captions: Mapping[str, Sequence[str]], seed: int = 0,
                              oracle: torch.nn.Module | None = None) -> dict[str, list[dict[str, float]]]:
    """:func:`oracle_accuracy` of every stage of a multi-stage generator (StackGAN, StackGAN++), lowest
    resolution first, from the same noise: ``{split: [scores of stage 1, stage 2, ...]}``. The oracle
    resizes every stage to its input size, so a small stage is read as well as its pixels allow."""
    from .text_to_image import UnknownWordsWarning

    oracle = oracle if oracle is not None else load_oracle()
    res = {}
    for split, caps in captions.items():
        with warnings.catch_warnings():  # held-out captions use unseen templates on purpose
            warnings.simplefilter("ignore", UnknownWordsWarning)
            out = pipe(list(caps), generator=torch.Generator().manual_seed(seed))
        stages = out.stages or [out.images]
        res[split] = [summarize_scores(score_against_captions(oracle, images, list(caps))) for images in stages]
    return res


# ---------------------------------------------------------------------------------------------------
# encoders that need weights from disk


class DAMSMImageTextEncoder:
    """A trained DAMSM pair (``wordsight train damsm`` folder) as an ImageTextEncoder for R-precision."""

    def __init__(self, text_encoder: torch.nn.Module, image_encoder: torch.nn.Module, device: str = "cpu"):
        self.text_encoder, self.image_encoder, self.device = text_encoder.eval(), image_encoder.eval(), device

    @torch.no_grad()
    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        return self.image_encoder(images.to(self.device).float() / 127.5 - 1.0)[1].float().cpu()

    @torch.no_grad()
    def encode_texts(self, texts: Sequence[str]) -> torch.Tensor:
        return self.text_encoder.encode(list(texts)).sentence.float().cpu()


def load_damsm(path: str | os.PathLike, device: str = "cpu") -> DAMSMImageTextEncoder:
    """Read ``PATH/text_encoder`` and ``PATH/image_encoder`` (as written by ``train_damsm``), frozen."""
    from ..models.damsm import load_damsm_pair

    text, image = load_damsm_pair(path, what="--damsm")
    return DAMSMImageTextEncoder(text.to(device), image.to(device), device)


def load_open_clip(weights: str | os.PathLike, model_name: str = "ViT-B-32", device: str = "cpu") -> OpenClipEncoder:
    """An open_clip model from a local weights file (GALIP's CLIP score uses ViT-B/32); never downloads."""
    path = Path(weights)
    if not path.is_file():
        raise InputError(f"CLIP weights file not found: {path} (an open_clip {model_name} checkpoint, e.g. "
                         "open_clip_pytorch_model.bin of laion2b_s34b_b79k or OpenAI's ViT-B-32.pt)")
    import open_clip

    model, _, preprocess = open_clip.create_model_and_transforms(model_name, pretrained=str(path), device=device)
    return OpenClipEncoder(model.eval(), preprocess, open_clip.get_tokenizer(model_name), device=device)


# ---------------------------------------------------------------------------------------------------
# generation stream


def pipeline_image_size(pipe: Any) -> int:
    """The side of the pipeline's images: ``pipe.image_size``, its generator's ``image_size`` or config."""
    size = getattr(pipe, "image_size", None)
    generator = getattr(pipe, "generator", None)
    if size is None:  # multi-stage generators derive it (StackGAN++, AttnGAN: base_size and branch_num)
        size = getattr(generator, "image_size", None)
    if size is None:
        size = getattr(generator, "config", {}).get("image_size")
    if size is None:
        raise InputError(f"cannot tell the image size of {type(pipe).__name__}: give it .image_size "
                         "or a generator with config['image_size']")
    return int(size)


def generate_uint8(pipe: Any, captions: Sequence[str], batch_size: int, seed: int, truncation: float | None,
                   progress: bool = True) -> Iterator[torch.Tensor]:
    """One image per caption, in order, as uint8 batches (seeded noise: the same seed gives the same images)."""
    generator = torch.Generator().manual_seed(seed)
    starts = range(0, len(captions), batch_size)
    for lo in tqdm(starts, desc="generating", unit="batch", disable=not progress, dynamic_ncols=True):
        out = pipe(list(captions[lo:lo + batch_size]), num_images=1, generator=generator, truncation=truncation)
        yield to_uint8(out.images)


def tee_batches(batches: Iterable[torch.Tensor], taps: Sequence[Callable[[torch.Tensor], None]]) -> Iterator[torch.Tensor]:
    """Pass ``batches`` through unchanged, showing each one to every tap first."""
    for batch in batches:
        for tap in taps:
            tap(batch)
        yield batch


class SampleTap:
    """Keeps the first ``count`` images (for the sample grid)."""

    def __init__(self, count: int):
        self.count, self.images = count, []

    def __call__(self, batch: torch.Tensor) -> None:
        have = sum(b.shape[0] for b in self.images)
        if have < self.count:
            self.images.append(batch[: self.count - have].clone())


# ---------------------------------------------------------------------------------------------------
# the report


@dataclass
class EvaluationReport:
    """metrics: flat floats (keys of ``wordsight.metrics.generation.keys``);
    settings: what was measured how (JSON-able); samples: the first generated images (uint8) and captions."""

    metrics: dict[str, float]
    settings: dict[str, Any]
    sample_images: torch.Tensor | None = None
    sample_captions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"metrics": self.metrics, "settings": self.settings}

    def to_markdown(self) -> str:
        s = self.settings
        lines = [f"{s['num_images']} images from {s['model']} on {s['data']} ({s['split']}), seed {s['seed']}", "",
                 "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {_format(v)} |" for k, v in self.metrics.items()]
        return "\n".join(lines) + "\n"

    def save(self, out_dir: str | os.PathLike) -> dict[str, Path]:
        """Write ``metrics.json``, ``metrics.md`` and ``samples.png`` into ``out_dir`` (atomically)."""
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {"json": folder / METRICS_JSON, "markdown": folder / METRICS_MD}
        atomic_write_json(paths["json"], self.to_dict())
        atomic_write_text(paths["markdown"], self.to_markdown())
        if self.sample_images is not None and len(self.sample_images):
            paths["samples"] = folder / SAMPLES_PNG
            images = [Image.fromarray(im.permute(1, 2, 0).numpy(), "RGB") for im in self.sample_images]
            grid = captioned_grid(images, self.sample_captions[: len(images)], ncols=min(8, len(images)))
            with atomic_path(paths["samples"]) as tmp:
                grid.save(tmp, format="PNG")
        return paths


def _format(value: float) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


# ---------------------------------------------------------------------------------------------------
# evaluate


@dataclass
class _Measures:
    """Everything built before generation starts (so missing weights fail before any image is made)."""

    metrics: list[str]
    options: GenerationMetricOptions
    extractor: FeatureExtractorSpec | None = None
    reference: Any = None
    oracle: torch.nn.Module | None = None
    oracle_spec: FeatureExtractorSpec | None = None
    oracle_reference: Any = None
    damsm: Any = None
    clip: Any = None


def _needs(names: Sequence[str]) -> set[str]:
    return set().union(*(s.needs for s in resolve_metrics(names))) if names else set()


def _kid_subset_size(requested: int | None, n: int, n_reference: int) -> int:
    # torch-fidelity's default 1000, capped by both set sizes (smaller sets cannot fill a subset)
    return requested if requested is not None else min(1000, n, n_reference)


def _prepare(data: EvaluationData, metrics: Sequence[str] | str, *, n: int, inception_weights: Any, damsm: Any,
             clip: Any, oracle: Any, batch_size: int, device: str, kid_subset_size: int | None,
             stats_cache_dir: Any) -> _Measures:
    names = check_metric_names(metrics)
    needs = _needs(names)
    options = GenerationMetricOptions(
        batch_size=batch_size, device=device,
        kid_subset_size=_kid_subset_size(kid_subset_size, n, len(data.reference)),
    )
    m = _Measures(names, options)
    oracle_metrics = [s.name for s in resolve_metrics(names) if s.needs & ORACLE_NEEDS]
    if oracle_metrics and not data.is_synthetic:
        raise InputError(f"metrics {oracle_metrics} need the synthetic world (--data synthetic), not {data.spec}")
    if "damsm" in needs:
        m.damsm = load_damsm(damsm, device) if isinstance(damsm, (str, os.PathLike)) else damsm
        if m.damsm is None:
            raise InputError("r_precision needs a trained DAMSM folder (--damsm PATH, from `wordsight train damsm`)")
    if "clip" in needs:
        m.clip = load_open_clip(clip, device=device) if isinstance(clip, (str, os.PathLike)) else clip
        if m.clip is None:
            raise InputError("clip_score needs CLIP weights (--clip-weights PATH, an open_clip ViT-B-32 file)")
    if {"fidelity", "classifier"} & needs:
        m.extractor = inception_extractor(inception_weights)  # InputError naming the file when it is missing
    if oracle_metrics:
        m.oracle = _load_oracle(oracle, device)
    stats = dict(split=data.split, cache_dir=stats_cache_dir, batch_size=batch_size, device=device)
    if "reference" in needs:
        m.reference = reference_statistics(data.reference, m.extractor, **stats)
    if "oracle_reference" in needs:
        m.oracle_spec = oracle_feature_extractor(m.oracle)
        m.oracle_reference = reference_statistics(data.reference, m.oracle_spec, **stats)
    return m


def _load_oracle(oracle: Any, device: str) -> torch.nn.Module:
    if oracle is None or isinstance(oracle, (str, os.PathLike)):
        oracle = load_oracle(oracle)
    return oracle.to(device).eval()


def evaluate_text_to_image(
    pipe: Any,
    data: str | EvaluationData = "synthetic",
    metrics: Sequence[str] | str = ("oracle", "oracle_fid"),
    n: int = 30000,
    *,
    split: str = "test",
    inception_weights: str | os.PathLike | None = None,
    damsm: str | os.PathLike | Any | None = None,
    clip: str | os.PathLike | Any | None = None,
    oracle: str | os.PathLike | torch.nn.Module | None = None,
    batch_size: int = 64,
    seed: int = 0,
    truncation: float | None = None,
    kid_subset_size: int | None = None,
    stats_cache_dir: str | os.PathLike | None = None,
    world_seed: int = 0,
    max_objects: int = 3,
    num_samples: int = 16,
    device: str = "cpu",
    progress: bool = True,
    model_name: str | None = None,
) -> EvaluationReport:
    """Generate one image per caption of a data split and measure them.

    Args:
        pipe: a text-to-image pipeline: ``pipe(captions, num_images=1, generator=, truncation=)`` returns an
            object with ``images`` [B,3,H,W] in [-1, 1] (e.g. ``TextToImage``); its size comes from
            ``pipe.image_size`` or ``pipe.generator.config["image_size"]``.
        data: ``"synthetic"``, ``"LAYOUT:PATH"`` (cub, oxford, coco, folder) or an :class:`EvaluationData`.
        metrics: names, a list or ``"fid,kid,oracle"``: fid, kid, is, r_precision, clip_score, oracle,
            oracle_fid, oracle_kid. Validated before anything is loaded.
        n: number of generated images (papers: 30,000). Captions cycle over the split when it is smaller.
        split: ``test`` (default), ``heldout`` (synthetic: unseen colour/shape pairs, unseen templates;
            adds ``oracle_heldout_*`` keys) or a layout's split; COCO's ``test`` is val2014.
        inception_weights: ``weights-inception-2015-12-05-6726825d.pth`` for fid/kid/is (default: the cache).
        damsm: a ``wordsight train damsm`` folder (or an ImageTextEncoder) for r_precision.
        clip: an open_clip ViT-B-32 weights file (or an ImageTextEncoder) for clip_score.
        oracle: a SceneOracle or its folder; default the shipped one.
        batch_size, seed, truncation: generation batch size (also the metric batch size), noise seed, and
            truncation (None: the pipeline's default).
        kid_subset_size: KID subset size; default min(1000, n, reference size).
        stats_cache_dir: folder of cached reference statistics (default ``$WORDSIGHT_CACHE/stats``).
        world_seed: the synthetic world's seed; max_objects: its scenes hold 1..max_objects objects (1 to
            match models trained with the synthetic configs' one-object scenes).
        num_samples: images kept for the sample grid.
        device: ``cpu`` or ``cuda`` for the metric networks.
        model_name: how the report names the model.

    Returns:
        :class:`EvaluationReport` (``.metrics``, ``.settings``, ``.save(folder)``, ``.to_markdown()``).

    Raises:
        InputError: unknown metric (listing the known ones), missing weights (naming the file), bad data.
    """
    check_metric_names(metrics)  # fail on a misspelled name before reading any data
    size = pipeline_image_size(pipe)
    if not isinstance(data, EvaluationData):
        data = load_evaluation_data(data, n, size, split, world_seed, max_objects)
    n = len(data.captions)
    m = _prepare(data, metrics, n=n, inception_weights=inception_weights, damsm=damsm, clip=clip, oracle=oracle,
                 batch_size=batch_size, device=device, kid_subset_size=kid_subset_size,
                 stats_cache_dir=stats_cache_dir)
    samples = SampleTap(num_samples)
    stream = tee_batches(generate_uint8(pipe, data.captions, batch_size, seed, truncation, progress), [samples])
    results = evaluate_generation(
        stream, m.reference, m.metrics, feature_extractor=m.extractor, captions=data.captions, labels=data.labels,
        damsm=m.damsm, clip=m.clip, oracle=m.oracle, oracle_reference=m.oracle_reference,
        held_out=data.held_out if data.held_out is not None and bool(data.held_out.any()) else None,
        options=m.options,
    )
    settings = _settings(m, data, n, size, seed, truncation, model_name or type(pipe).__name__)
    images = torch.cat(samples.images) if samples.images else None
    return EvaluationReport(results, settings, images, list(data.captions[:num_samples]))


def _settings(m: _Measures, data: EvaluationData, n: int, size: int, seed: int, truncation: float | None,
              model: str) -> dict[str, Any]:
    return {
        "model": model, "data": data.spec, "split": data.split, "num_images": n, "image_size": size,
        "metrics": list(m.metrics), "seed": seed, "truncation": truncation,
        "reference_images": len(data.reference),
        "feature_extractor": m.extractor.fingerprint if m.extractor else None,
        "oracle_feature_extractor": m.oracle_spec.fingerprint if m.oracle_spec else None,
        "kid_subset_size": m.options.kid_subset_size, "metric_seed": m.options.seed,
        "oracle_scoring": "against each caption (wordsight.metrics.generation.oracle)" if m.oracle else None,
        "wordsight": __version__, "torch": torch.__version__, "python": platform.python_version(),
    }


REFERENCE_EXTRACTORS = ("inception", "oracle")


def build_reference_statistics(
    data: str,
    split: str = "test",
    n: int = 30000,
    image_size: int = 64,
    extractor: str = "inception",
    *,
    inception_weights: str | os.PathLike | None = None,
    oracle: str | os.PathLike | torch.nn.Module | None = None,
    world_seed: int = 0,
    max_objects: int = 3,
    stats_cache_dir: str | os.PathLike | None = None,
    batch_size: int = 64,
    device: str = "cpu",
) -> tuple[Any, EvaluationData]:
    """Compute (or read from the cache) the real-image statistics ``evaluate_text_to_image`` will use.

    The reference is the same as in an evaluation with the same ``data``, ``split``, ``n`` and image size
    (synthetic: scenes 0..n-1; a layout: its first ``n`` items resized to ``image_size``), so the cache
    entry written here is the one the evaluation reads. ``extractor``: ``inception`` (fid/kid) or
    ``oracle`` (oracle_fid/oracle_kid).
    """
    if extractor not in REFERENCE_EXTRACTORS:
        raise InputError(f"extractor must be one of {REFERENCE_EXTRACTORS}, got {extractor!r}")
    spec = (inception_extractor(inception_weights) if extractor == "inception"
            else oracle_feature_extractor(_load_oracle(oracle, device)))
    evaluation_data = load_evaluation_data(data, n, image_size, split, world_seed, max_objects)
    stats = reference_statistics(evaluation_data.reference, spec, split=evaluation_data.split,
                                 cache_dir=stats_cache_dir, batch_size=batch_size, device=device)
    return stats, evaluation_data
