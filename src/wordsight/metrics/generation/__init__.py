"""Generation metrics: FID, KID, IS (through torch-fidelity), R-precision, CLIP score, oracle alignment."""

from .clip_score import ImageTextEncoder, OpenClipEncoder, clip_score, clip_score_from_embeddings
from .evaluate import GenerationEvidence, GenerationMetricOptions, evaluate_generation
from .fidelity import frechet_distance, inception_score, kernel_inception_distance
from .keys import *  # noqa: F401,F403 - the result-key constants
from .keys import oracle_attribute_key
from .oracle import attribute_accuracy
from .r_precision import fold_mean_std, r_precision, r_precision_hits, sample_distractors

__all__ = [
    "GenerationEvidence", "GenerationMetricOptions", "ImageTextEncoder", "OpenClipEncoder", "attribute_accuracy",
    "clip_score", "clip_score_from_embeddings", "evaluate_generation", "fold_mean_std", "frechet_distance",
    "inception_score", "kernel_inception_distance", "oracle_attribute_key", "r_precision", "r_precision_hits",
    "sample_distractors",
]
