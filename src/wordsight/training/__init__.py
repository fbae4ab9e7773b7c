"""Training: one Accelerate loop for every GAN, checkpoints with exact resume, per-system objectives.

    from wordsight.training import TrainConfig, RandomCaptionData, train
    cfg = TrainConfig(steps=20, batch_size=4, model={"nf": 4, "image_size": 16, "sentence_dim": 8})
    result = train(cfg, "dfgan", RandomCaptionData(32, 16, 8), "runs")

Only this package imports accelerate.
"""

from . import objectives  # noqa: F401  (registers the systems in SYSTEMS)
from .checkpoint import NonFiniteWeightsError, list_checkpoints, load_checkpoint
from .config import OptimizerConfig, TrainConfig
from .data import BatchSource, RandomCaptionData
from .loop import NonFiniteTrainingError, TrainResult, train
from .objective import SYSTEMS, GANObjective, GeneratorDiscriminatorPair, Phase, build_objective
from .objectives import DFGANConfig, DFGANObjective

__all__ = [
    "SYSTEMS",
    "BatchSource",
    "DFGANConfig",
    "DFGANObjective",
    "GANObjective",
    "GeneratorDiscriminatorPair",
    "NonFiniteTrainingError",
    "NonFiniteWeightsError",
    "OptimizerConfig",
    "Phase",
    "RandomCaptionData",
    "TrainConfig",
    "TrainResult",
    "build_objective",
    "list_checkpoints",
    "load_checkpoint",
    "train",
]
