"""Generation metrics: FID, KID, IS (through torch-fidelity), R-precision, CLIP score, oracle accuracy and oracle FID/KID."""

from .clip_score import ImageTextEncoder, OpenClipEncoder, clip_score, clip_score_from_embeddings
from .evaluate import GenerationEvidence, GenerationMetricOptions, evaluate_generation, evaluate_generation_by_metric
from .fidelity import frechet_distance, inception_score, kernel_inception_distance
from .keys import *  # noqa: F401,F403 - the result-key constants
from .keys import oracle_attribute_key
from .oracle import (
    accuracy_from_keys,
    accuracy_keys,
    caption_accuracy,
    evaluation_captions,
    oracle_feature_extractor,
    oracle_reader,
    score_against_captions,
    score_predictions,
    summarize_scores,
)
from .r_precision import fold_mean_std, r_precision, r_precision_hits, sample_distractors

__all__ = [
    "GenerationEvidence", "GenerationMetricOptions", "ImageTextEncoder", "OpenClipEncoder", "accuracy_from_keys",
    "accuracy_keys", "caption_accuracy", "clip_score", "clip_score_from_embeddings", "evaluate_generation",
    "evaluate_generation_by_metric", "evaluation_captions", "fold_mean_std", "frechet_distance", "inception_score",
    "kernel_inception_distance", "oracle_attribute_key", "oracle_feature_extractor", "oracle_reader", "r_precision",
    "r_precision_hits", "sample_distractors", "score_against_captions", "score_predictions", "summarize_scores",
]
