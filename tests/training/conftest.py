import pytest

from wordsight.training import RandomCaptionData, TrainConfig

TINY_MODEL = {"nf": 4, "image_size": 16, "sentence_dim": 8, "z_dim": 8}


def tiny_config(**overrides) -> TrainConfig:
    """A DF-GAN small enough to train a step in a few milliseconds."""
    base = dict(
        steps=4, batch_size=4, model=dict(TINY_MODEL), log_every=2, sample_every=100, checkpoint_every=100,
        num_samples=4, tensorboard=False, progress=False, deterministic=True,
    )
    base.update(overrides)
    return TrainConfig(**base)


def tiny_data(n: int = 32) -> RandomCaptionData:
    return RandomCaptionData(num_samples=n, image_size=16, sentence_dim=8, seed=0)


@pytest.fixture
def cfg_factory():
    return tiny_config


@pytest.fixture
def data_factory():
    return tiny_data
