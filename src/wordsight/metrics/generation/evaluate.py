"""``evaluate_generation``: every requested generation metric from one pass over the generated images.

The registered metrics (see ``wordsight.metrics.list_metrics()``):

=================  ====================================================================================
``fid``            Frechet distance of generated vs reference features (Inception pool3 by default)
``kid``            kernel (cubic polynomial) MMD^2 of the same features, over random subsets
``is``             Inception Score on ``logits_unbiased``, 10 splits
``r_precision``    AttnGAN R-precision with DAMSM vectors (``damsm=`` encoder and ``captions=``)
``clip_score``     GALIP CLIP score, 100 x mean cosine (``clip=`` encoder and ``captions=``)
``oracle``         oracle accuracy against each image's caption (``oracle=`` and ``captions=``)
``oracle_fid``     FID over the oracle's penultimate features (``oracle=``, ``oracle_reference=``)
``oracle_kid``     KID over the same features
=================  ====================================================================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import torch

from ...utils.checks import InputError
from ..extractors import DEVICES, FeatureExtractorSpec, inception_extractor
from ..features import ImageSource, extract
from ..registry import register_metric, resolve_metrics
from ..stats_cache import ReferenceStats, gaussian_statistics, stats_from_features
from .clip_score import ImageTextEncoder, clip_score_from_embeddings, encode_captions
from .fidelity import frechet_distance, inception_score, kernel_inception_distance
from .keys import (
    KEY_CLIP_SCORE,
    KEY_FID,
    KEY_IS_MEAN,
    KEY_IS_STD,
    KEY_KID_MEAN,
    KEY_KID_STD,
    KEY_ORACLE_ACC_JOINT,
    KEY_ORACLE_ACC_MEAN,
    KEY_ORACLE_FID,
    KEY_ORACLE_KID_MEAN,
    KEY_ORACLE_KID_STD,
    KEY_R_PRECISION_MEAN,
    KEY_R_PRECISION_STD,
)
from .oracle import caption_accuracy, oracle_feature_extractor, oracle_reader
from .r_precision import r_precision

# a SceneOracle-like module (``predict`` of images in [-1, 1]; ``embed`` for oracle_fid/oracle_kid), or a
# callable uint8 images [B,3,H,W] -> its predictions
Oracle = Any


@dataclass(frozen=True)
class GenerationMetricOptions:
    """Settings of the generation metrics; defaults are the published protocols'.

    ``seed`` (torch-fidelity's default 2020) drives the IS shuffle, the KID subsets and the R-precision
    draws, so two runs on the same images give the same numbers.
    """

    batch_size: int = 64
    device: str = "cpu"
    isc_splits: int = 10
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    r_precision_distractors: int = 99
    r_precision_folds: int = 10
    seed: int = 2020

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise InputError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.device not in DEVICES:
            raise InputError(f"device must be one of {DEVICES}, got {self.device!r}")
        for name in ("isc_splits", "kid_subsets", "r_precision_distractors", "r_precision_folds"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be >= 1, got {getattr(self, name)}")


@dataclass
class GenerationEvidence:
    """What the metrics read, gathered once by :func:`evaluate_generation`."""

    num_images: int
    extractor: FeatureExtractorSpec | None = None
    features: dict[str, torch.Tensor] = field(default_factory=dict)
    reference: ReferenceStats | None = None
    damsm_image: torch.Tensor | None = None
    damsm_text: torch.Tensor | None = None
    labels: torch.Tensor | None = None
    clip_image: torch.Tensor | None = None
    clip_text: torch.Tensor | None = None
    captions: Sequence[str] | None = None
    oracle_predictions: Mapping[str, torch.Tensor] | None = None
    held_out: torch.Tensor | None = None
    oracle_extractor: FeatureExtractorSpec | None = None
    oracle_features: torch.Tensor | None = None
    oracle_reference: ReferenceStats | None = None


def _distribution(evidence: GenerationEvidence, oracle: bool = False) -> tuple[torch.Tensor, ReferenceStats]:
    if oracle:
        extractor, reference, features = evidence.oracle_extractor, evidence.oracle_reference, evidence.oracle_features
    else:
        extractor, reference = evidence.extractor, evidence.reference
    assert extractor is not None and reference is not None  # guaranteed by the needs check
    if reference.extractor_fingerprint != extractor.fingerprint or reference.layer != extractor.distribution_layer:
        raise InputError(
            f"reference statistics come from {reference.extractor_fingerprint!r} layer {reference.layer!r}, but the "
            f"generated images were measured with {extractor.fingerprint!r} layer {extractor.distribution_layer!r}"
        )
    return (features if oracle else evidence.features[extractor.distribution_layer]), reference


@register_metric("fid", summary="Frechet distance of generated vs reference features (Heusel et al. 2017)",
                 result_keys=(KEY_FID,), needs=("fidelity", "reference"))
def _fid(evidence: GenerationEvidence, options: GenerationMetricOptions) -> dict[str, float]:
    features, reference = _distribution(evidence)
    mean, cov = gaussian_statistics(features, "generated features")
    return {KEY_FID: frechet_distance(mean, cov, reference.mean, reference.cov)}


@register_metric("kid", summary="Kernel Inception Distance, cubic polynomial MMD^2 (Binkowski et al. 2018)",
                 result_keys=(KEY_KID_MEAN, KEY_KID_STD), needs=("fidelity", "reference"))
def _kid(evidence: GenerationEvidence, options: GenerationMetricOptions) -> dict[str, float]:
    features, reference = _distribution(evidence)
    if reference.features is None:
        raise InputError("KID needs the reference features; compute the statistics with keep_features=True")
    return kernel_inception_distance(
        features, reference.features, subsets=options.kid_subsets, subset_size=options.kid_subset_size,
        seed=options.seed,
    )


@register_metric("is", summary="Inception Score on logits_unbiased, 10 splits (Salimans et al. 2016)",
                 result_keys=(KEY_IS_MEAN, KEY_IS_STD), needs=("fidelity", "classifier"))
def _is(evidence: GenerationEvidence, options: GenerationMetricOptions) -> dict[str, float]:
    assert evidence.extractor is not None and evidence.extractor.classifier_layer is not None
    logits = evidence.features[evidence.extractor.classifier_layer]
    return inception_score(logits, splits=options.isc_splits, seed=options.seed)


@register_metric("r_precision", summary="AttnGAN R-precision: true caption first among 100 (DAMSM vectors)",
                 result_keys=(KEY_R_PRECISION_MEAN, KEY_R_PRECISION_STD), needs=("damsm",))
def _r_precision(evidence: GenerationEvidence, options: GenerationMetricOptions) -> dict[str, float]:
    generator = torch.Generator().manual_seed(options.seed)
    return r_precision(
        evidence.damsm_image, evidence.damsm_text, labels=evidence.labels,
        num_distractors=options.r_precision_distractors, num_folds=options.r_precision_folds, generator=generator,
    )


@register_metric("clip_score", summary="GALIP CLIP score: 100 x mean cosine of CLIP image/caption embeddings",
                 result_keys=(KEY_CLIP_SCORE,), needs=("clip",))
def _clip_score(evidence: GenerationEvidence, options: GenerationMetricOptions) -> dict[str, float]:
    return clip_score_from_embeddings(evidence.clip_image, evidence.clip_text)


@register_metric("oracle", summary="oracle accuracy against the caption: colour, shape, size, count, relation, joint",
                 result_keys=(KEY_ORACLE_ACC_MEAN, KEY_ORACLE_ACC_JOINT), needs=("oracle", "captions"))
def _oracle(evidence: GenerationEvidence, options: GenerationMetricOptions) -> dict[str, float]:
    return caption_accuracy(evidence.oracle_predictions, evidence.captions, held_out=evidence.held_out)


@register_metric("oracle_fid", summary="FID over the synthetic world's oracle features (no downloaded weights)",
                 result_keys=(KEY_ORACLE_FID,), needs=("oracle_features", "oracle_reference"))
def _oracle_fid(evidence: GenerationEvidence, options: GenerationMetricOptions) -> dict[str, float]:
    features, reference = _distribution(evidence, oracle=True)
    mean, cov = gaussian_statistics(features, "generated oracle features")
    return {KEY_ORACLE_FID: frechet_distance(mean, cov, reference.mean, reference.cov)}


@register_metric("oracle_kid", summary="KID over the synthetic world's oracle features (no downloaded weights)",
                 result_keys=(KEY_ORACLE_KID_MEAN, KEY_ORACLE_KID_STD), needs=("oracle_features", "oracle_reference"))
def _oracle_kid(evidence: GenerationEvidence, options: GenerationMetricOptions) -> dict[str, float]:
    features, reference = _distribution(evidence, oracle=True)
    if reference.features is None:
        raise InputError("oracle_kid needs the reference features; compute the statistics with keep_features=True")
    kid = kernel_inception_distance(features, reference.features, subsets=options.kid_subsets,
                                    subset_size=options.kid_subset_size, seed=options.seed)
    return {KEY_ORACLE_KID_MEAN: kid[KEY_KID_MEAN], KEY_ORACLE_KID_STD: kid[KEY_KID_STD]}


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise InputError(message)


def _check_arguments(needs: set[str], reference: Any, captions: Any, damsm: Any, clip: Any, oracle: Any,
                     oracle_reference: Any, names: list[str]) -> None:
    wanted = ", ".join(names)
    _require("reference" not in needs or reference is not None,
             f"metrics [{wanted}] need reference= (ReferenceStats from reference_statistics(), or real images)")
    _require(not ({"damsm", "clip", "captions"} & needs) or captions is not None, f"metrics [{wanted}] need captions=")
    _require("damsm" not in needs or damsm is not None, "r_precision needs damsm= (an ImageTextEncoder)")
    _require("clip" not in needs or clip is not None, "clip_score needs clip= (e.g. OpenClipEncoder)")
    _require("oracle" not in needs or oracle is not None,
             "oracle needs oracle= (a SceneOracle, or uint8 images -> its predictions) and captions=")
    _require("oracle_features" not in needs or isinstance(oracle, torch.nn.Module),
             f"metrics [{wanted}] need oracle= as a module with embed() (a SceneOracle)")
    _require("oracle_reference" not in needs or oracle_reference is not None,
             f"metrics [{wanted}] need oracle_reference= (ReferenceStats of the oracle features, or real images)")


class _FeatureConsumer:
    """A torch-fidelity extractor as an ``extract`` consumer: uint8 batch -> its distribution features."""

    def __init__(self, spec: FeatureExtractorSpec, device: str):
        self.spec, self.device = spec, device
        self.module = spec.build([spec.distribution_layer], device)

    @torch.no_grad()
    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        out = self.module(batch.to(self.device) if self.device != "cpu" else batch)
        return self.module.convert_features_tuple_to_dict(out)[self.spec.distribution_layer].cpu()


def _reference_stats(reference: ReferenceStats | ImageSource, extractor: FeatureExtractorSpec,
                     module: torch.nn.Module, options: GenerationMetricOptions) -> ReferenceStats:
    if isinstance(reference, ReferenceStats):
        return reference
    layer = extractor.distribution_layer
    result = extract(reference, extractor=module, batch_size=options.batch_size, device=options.device,
                     name="reference images")
    return stats_from_features(result.features[layer], layer=layer, extractor_fingerprint=extractor.fingerprint,
                               image_size=result.image_size)


def evaluate_generation(
    images: ImageSource,
    reference: ReferenceStats | ImageSource | None = None,
    metrics: Sequence[str] | str = ("fid",),
    *,
    feature_extractor: FeatureExtractorSpec | None = None,
    inception_weights: str | os.PathLike | None = None,
    captions: Sequence[str] | None = None,
    labels: torch.Tensor | None = None,
    damsm: ImageTextEncoder | None = None,
    clip: ImageTextEncoder | None = None,
    oracle: Oracle | None = None,
    oracle_reference: ReferenceStats | ImageSource | None = None,
    held_out: torch.Tensor | None = None,
    options: GenerationMetricOptions | None = None,
) -> dict[str, float]:
    """Compute generation metrics; the generated images are read once, every model sees each batch.

    Args:
        images: generated images, uint8 [N,3,H,W] tensor, Dataset of [3,H,W], or an iterable of images or
            batches (a generator sampling on the fly is fine: it is consumed once).
        reference: for ``fid``/``kid``: ``ReferenceStats`` (cached, from ``reference_statistics``) or the real
            images themselves (extracted now, not cached).
        metrics: registered names, e.g. ``["fid", "kid", "is", "r_precision", "clip_score", "oracle", "oracle_fid"]``.
        feature_extractor: FID/KID/IS network; default the TF-compatible Inception (``inception_extractor``).
        inception_weights: path to ``weights-inception-2015-12-05-6726825d.pth`` (default: the cache folder).
        captions: caption of each image, in order (``r_precision``, ``clip_score``, ``oracle``).
        labels: class label of each image [N]; R-precision then draws distractors from other classes.
        damsm: ImageTextEncoder giving DAMSM global image and sentence vectors (``r_precision``).
        clip: ImageTextEncoder over a CLIP model, e.g. ``OpenClipEncoder`` (``clip_score``).
        oracle: a SceneOracle (``predict`` for ``oracle``, ``embed`` for ``oracle_fid``/``oracle_kid``), or for
            ``oracle`` alone a callable uint8 images [B,3,H,W] -> its ``predict`` output.
        oracle_reference: for ``oracle_fid``/``oracle_kid``: ``ReferenceStats`` of the oracle features
            (``reference_statistics(real, oracle_feature_extractor(oracle), ...)``) or the real images.
        held_out: bool [N], samples of held-out attribute combinations (``oracle``, optional): adds
            ``oracle_heldout_*`` keys.
        options: batch size, device, splits, subsets, seed.

    Returns:
        A flat dict of floats keyed by the constants in ``wordsight.metrics.generation.keys``
        (:func:`evaluate_generation_by_metric` keeps them apart by metric).

    Example:
        >>> ref = reference_statistics(real_uint8, inception_extractor(), split="test")  # doctest: +SKIP
        >>> evaluate_generation(fake_uint8, ref, ["fid", "kid", "is"])  # doctest: +SKIP
        {'fid': 14.2, 'kid_mean': 0.004, 'kid_std': 0.0006, 'is_mean': 4.9, 'is_std': 0.07}
    """
    by_metric = evaluate_generation_by_metric(
        images, reference, metrics, feature_extractor=feature_extractor, inception_weights=inception_weights,
        captions=captions, labels=labels, damsm=damsm, clip=clip, oracle=oracle, oracle_reference=oracle_reference,
        held_out=held_out, options=options)
    return {key: value for values in by_metric.values() for key, value in values.items()}


def evaluate_generation_by_metric(
    images: ImageSource,
    reference: ReferenceStats | ImageSource | None = None,
    metrics: Sequence[str] | str = ("fid",),
    *,
    feature_extractor: FeatureExtractorSpec | None = None,
    inception_weights: str | os.PathLike | None = None,
    captions: Sequence[str] | None = None,
    labels: torch.Tensor | None = None,
    damsm: ImageTextEncoder | None = None,
    clip: ImageTextEncoder | None = None,
    oracle: Oracle | None = None,
    oracle_reference: ReferenceStats | ImageSource | None = None,
    held_out: torch.Tensor | None = None,
    options: GenerationMetricOptions | None = None,
) -> dict[str, dict[str, float]]:
    """:func:`evaluate_generation` with the results by metric: ``{name: {key: value}}`` (e.g. for one
    ``metric-<name>.jsonl`` per metric)."""
    options = options or GenerationMetricOptions()
    specs = resolve_metrics(metrics)
    needs = set().union(*(spec.needs for spec in specs))
    _check_arguments(needs, reference, captions, damsm, clip, oracle, oracle_reference, [s.name for s in specs])

    extractor, module = None, None
    if {"fidelity", "classifier"} & needs:
        extractor = feature_extractor or inception_extractor(inception_weights)
        layers = extractor.layers_for("reference" in needs, "classifier" in needs)
        module = extractor.build(layers, options.device)

    consumers: dict[str, Callable[[torch.Tensor], Any]] = {}
    if "damsm" in needs:
        consumers["damsm"] = damsm.encode_images
    if "clip" in needs:
        consumers["clip"] = clip.encode_images
    if "oracle" in needs:
        consumers["oracle"] = oracle_reader(oracle, options.device) if hasattr(oracle, "predict") else oracle
    oracle_spec = oracle_feature_extractor(oracle) if "oracle_features" in needs else None
    if oracle_spec is not None:
        consumers["oracle_features"] = _FeatureConsumer(oracle_spec, options.device)
    result = extract(images, extractor=module, consumers=consumers, batch_size=options.batch_size,
                     device=options.device, name="generated images")

    evidence = GenerationEvidence(num_images=result.num_images, extractor=extractor, features=result.features,
                                  labels=labels, captions=captions, held_out=held_out,
                                  oracle_predictions=result.outputs.get("oracle"), oracle_extractor=oracle_spec,
                                  oracle_features=result.outputs.get("oracle_features"))
    if captions is not None and len(captions) != evidence.num_images:
        raise InputError(f"{evidence.num_images} generated images but {len(captions)} captions")
    if "reference" in needs:
        evidence.reference = _reference_stats(reference, extractor, module, options)
    if oracle_spec is not None:
        evidence.oracle_reference = _reference_stats(oracle_reference, oracle_spec, consumers["oracle_features"].module,
                                                     options)
    _attach_texts(evidence, result.outputs, needs, captions, damsm, clip, options)
    return {spec.name: spec.compute(evidence, options) for spec in specs}


def _attach_texts(evidence: GenerationEvidence, outputs: Mapping[str, Any], needs: set[str],
                  captions: Sequence[str] | None, damsm: ImageTextEncoder | None, clip: ImageTextEncoder | None,
                  options: GenerationMetricOptions) -> None:
    if not ({"damsm", "clip"} & needs):
        return
    if "damsm" in needs:
        evidence.damsm_image = outputs["damsm"]
        evidence.damsm_text = encode_captions(damsm, captions, options.batch_size)
    if "clip" in needs:
        evidence.clip_image = outputs["clip"]
        evidence.clip_text = encode_captions(clip, captions, options.batch_size)
