"""Metrics, registered by name (``METRICS``), with results under constant keys.

Generation metrics (``wordsight.metrics.generation``): FID, KID and IS computed by torch-fidelity with the
TensorFlow-compatible Inception (never re-implemented, never downloaded), reference statistics cached by
content, pluggable feature extractors (e.g. an oracle CNN), AttnGAN R-precision, GALIP CLIP score,
oracle accuracy against the captions and oracle FID/KID. See docs/how-we-measure.md. Importing this package only registers names.
"""

from .extractors import FeatureExtractorSpec, inception_extractor, module_feature_extractor
from .features import extract, iter_image_batches
from .generation import (
    GenerationMetricOptions,
    OpenClipEncoder,
    caption_accuracy,
    clip_score,
    clip_score_from_embeddings,
    evaluate_generation,
    evaluate_generation_by_metric,
    frechet_distance,
    inception_score,
    kernel_inception_distance,
    r_precision,
)
from .generation import keys
from .registry import METRICS, MetricSpec, describe_metrics, list_metrics, register_metric, resolve_metrics
from .stats_cache import (
    ReferenceStats,
    fingerprint_images,
    gaussian_statistics,
    load_reference_stats,
    reference_statistics,
    save_reference_stats,
    stats_cache_key,
)
from .saliency import SALIENCY_METRICS, compute_saliency_metrics
from .weights import INCEPTION_WEIGHTS_FILE, default_cache_dir, find_inception_weights

__all__ = [
    "SALIENCY_METRICS", "compute_saliency_metrics",
    "INCEPTION_WEIGHTS_FILE", "METRICS", "FeatureExtractorSpec", "GenerationMetricOptions", "MetricSpec",
    "OpenClipEncoder", "ReferenceStats", "caption_accuracy", "clip_score", "clip_score_from_embeddings",
    "default_cache_dir", "describe_metrics", "evaluate_generation", "evaluate_generation_by_metric", "extract", "find_inception_weights",
    "fingerprint_images", "frechet_distance", "gaussian_statistics", "inception_extractor", "inception_score",
    "iter_image_batches", "kernel_inception_distance", "keys", "list_metrics", "load_reference_stats",
    "module_feature_extractor", "r_precision", "reference_statistics", "register_metric", "resolve_metrics",
    "save_reference_stats", "stats_cache_key",
]
