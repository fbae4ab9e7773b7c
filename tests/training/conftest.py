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


FIXTURE_CAPTION = "fixture bird {i} sings song {j}"  # words the synthetic world never uses


def tiny_caption_records(n: int, start: int = 0, captions: int = 5):
    """``n`` captioned 32x32 images (synthetic-world pictures) with captions of their own, labelled 0/1."""
    from wordsight.data.records import CaptionedImage
    from wordsight.data.synthetic import SyntheticWorld, WorldConfig

    world = SyntheticWorld(WorldConfig(seed=3, image_size=32, min_objects=1, max_objects=1))
    return [CaptionedImage(key=f"bird_{i:02d}", image=world.scene(i).image, label=i % 2,
                           captions=[FIXTURE_CAPTION.format(i=i, j=j) for j in range(captions)])
            for i in range(start, start + n)]


def write_tiny_cub(root, train: int = 4, test: int = 2, captions: int = 5):
    """A CUB-layout fixture (train/test filenames.pickle, text/, images/, bounding boxes)."""
    from wordsight.data.export import write_cub_layout

    return write_cub_layout(root, tiny_caption_records(train, 0, captions), tiny_caption_records(test, train, captions),
                            class_names=["sparrow", "finch"], captions_per_image=captions)


def write_tiny_caption_folder(root, n: int = 4, captions: int = 3):
    from wordsight.data.export import write_caption_folder

    return write_caption_folder(root, tiny_caption_records(n, 0, captions))
