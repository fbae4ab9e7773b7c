"""``evaluate_generation``: every requested generation metric from one pass over the generated images.

The registered metrics (see ``wordsight.metrics.list_metrics()``):

=================  ====================================================================================
``fid``            Frechet distance of generated vs reference features (Inception pool3 by default)
``kid``            kernel (cubic polynomial) MMD^2 of the same features, over random subsets
``is``             Inception Score on ``logits_unbiased``, 10 splits
``r_precision``    AttnGAN R-precision with DAMSM vectors (``damsm=`` encoder and ``captions=``)
``clip_score``     GALIP CLIP score, 100 x mean cosine (``clip=`` encoder and ``captions=``)
``oracle``         attribute accuracy of an oracle on the images (``oracle=`` and ``target_attributes=``)
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
    KEY_R_PRECISION_MEAN,
    KEY_R_PRECISION_STD,
)
from .oracle import attribute_accuracy
from .r_precision import r_precision

Oracle = Callable[[torch.Tensor], Mapping[str, torch.Tensor]]


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
    oracle_ignore_index: int | None = None
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
    oracle_predictions: Mapping[str, torch.Tensor] | None = None
    target_attributes: Mapping[str, torch.Tensor] | None = None
    held_out: torch.Tensor | None = None


def _distribution(evidence: GenerationEvidence) -> tuple[torch.Tensor, ReferenceStats]:
    extractor, reference = evidence.extractor, evidence.reference
    assert extractor is not None and reference is not None  # guaranteed by the needs check
    if reference.extractor_fingerprint != extractor.fingerprint or reference.layer != extractor.distribution_layer:
        raise InputError(
            f"reference statistics come from {reference.extractor_fingerprint!r} layer {reference.layer!r}, but the "
            f"generated images were measured with {extractor.fingerprint!r} layer {extractor.distribution_layer!r}"
        )
    return evidence.features[extractor.distribution_layer], reference


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


@register_metric("oracle", summary="oracle attribute accuracy (per attribute, mean, joint; held-out subset)",
                 result_keys=(KEY_ORACLE_ACC_MEAN, KEY_ORACLE_ACC_JOINT), needs=("oracle",))
def _oracle(evidence: GenerationEvidence, options: GenerationMetricOptions) -> dict[str, float]:
    return attribute_accuracy(
        evidence.oracle_predictions, evidence.target_attributes, held_out=evidence.held_out,
        ignore_index=options.oracle_ignore_index,
    )


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise InputError(message)


def _check_arguments(needs: set[str], reference: Any, captions: Any, damsm: Any, clip: Any, oracle: Any,
                     target_attributes: Any, names: list[str]) -> None:
    wanted = ", ".join(names)
    _require("reference" not in needs or reference is not None,
             f"metrics [{wanted}] need reference= (ReferenceStats from reference_statistics(), or real images)")
    _require(not ({"damsm", "clip"} & needs) or captions is not None, f"metrics [{wanted}] need captions=")
    _require("damsm" not in needs or damsm is not None, "r_precision needs damsm= (an ImageTextEncoder)")
    _require("clip" not in needs or clip is not None, "clip_score needs clip= (e.g. OpenClipEncoder)")
    _require("oracle" not in needs or (oracle is not None and target_attributes is not None),
             "oracle needs oracle= (uint8 images -> {attribute: class ids}) and target_attributes=")


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
    target_attributes: Mapping[str, torch.Tensor] | None = None,
    held_out: torch.Tensor | None = None,
    options: GenerationMetricOptions | None = None,
) -> dict[str, float]:
    """Compute generation metrics; the generated images are read once, every model sees each batch.

    Args:
        images: generated images, uint8 [N,3,H,W] tensor, Dataset of [3,H,W], or an iterable of images or
            batches (a generator sampling on the fly is fine: it is consumed once).
        reference: for ``fid``/``kid``: ``ReferenceStats`` (cached, from ``reference_statistics``) or the real
            images themselves (extracted now, not cached).
        metrics: registered names, e.g. ``["fid", "kid", "is", "r_precision", "clip_score", "oracle"]``.
        feature_extractor: FID/KID/IS network; default the TF-compatible Inception (``inception_extractor``).
        inception_weights: path to ``weights-inception-2015-12-05-6726825d.pth`` (default: the cache folder).
        captions: caption of each image, in order (``r_precision``, ``clip_score``).
        labels: class label of each image [N]; R-precision then draws distractors from other classes.
        damsm: ImageTextEncoder giving DAMSM global image and sentence vectors (``r_precision``).
        clip: ImageTextEncoder over a CLIP model, e.g. ``OpenClipEncoder`` (``clip_score``).
        oracle: uint8 images [B,3,H,W] -> {attribute: integer class ids [B] or [B,K]} (``oracle``).
        target_attributes: {attribute: class ids [N] or [N,K]} the captions asked for (``oracle``).
        held_out: bool [N], samples of held-out attribute combinations (``oracle``, optional).
        options: batch size, device, splits, subsets, seed.

    Returns:
        A flat dict of floats keyed by the constants in ``wordsight.metrics.generation.keys``.

    Example:
        >>> ref = reference_statistics(real_uint8, inception_extractor(), split="test")  # doctest: +SKIP
        >>> evaluate_generation(fake_uint8, ref, ["fid", "kid", "is"])  # doctest: +SKIP
        {'fid': 14.2, 'kid_mean': 0.004, 'kid_std': 0.0006, 'is_mean': 4.9, 'is_std': 0.07}
    """
    options = options or GenerationMetricOptions()
    specs = resolve_metrics(metrics)
    needs = set().union(*(spec.needs for spec in specs))
    _check_arguments(needs, reference, captions, damsm, clip, oracle, target_attributes, [s.name for s in specs])

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
        consumers["oracle"] = oracle
    result = extract(images, extractor=module, consumers=consumers, batch_size=options.batch_size,
                     device=options.device, name="generated images")

    evidence = GenerationEvidence(num_images=result.num_images, extractor=extractor, features=result.features,
                                  labels=labels, target_attributes=target_attributes, held_out=held_out,
                                  oracle_predictions=result.outputs.get("oracle"))
    if "reference" in needs:
        evidence.reference = _reference_stats(reference, extractor, module, options)
    _attach_texts(evidence, result.outputs, needs, captions, damsm, clip, options)
    out: dict[str, float] = {}
    for spec in specs:
        out.update(spec.compute(evidence, options))
    return out


def _attach_texts(evidence: GenerationEvidence, outputs: Mapping[str, Any], needs: set[str],
                  captions: Sequence[str] | None, damsm: ImageTextEncoder | None, clip: ImageTextEncoder | None,
                  options: GenerationMetricOptions) -> None:
    if not ({"damsm", "clip"} & needs):
        return
    if len(captions) != evidence.num_images:
        raise InputError(f"{evidence.num_images} generated images but {len(captions)} captions")
    if "damsm" in needs:
        evidence.damsm_image = outputs["damsm"]
        evidence.damsm_text = encode_captions(damsm, captions, options.batch_size)
    if "clip" in needs:
        evidence.clip_image = outputs["clip"]
        evidence.clip_text = encode_captions(clip, captions, options.batch_size)
