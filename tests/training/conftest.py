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


def write_tiny_oxford(root, n: int = 4, captions: int = 5):
    """An Oxford-102 fixture in the AttnGAN/DF-GAN layout (jpg/, text_c10/<class>/<image>.txt, train/ and
    test/ filenames.pickle)."""
    import pickle
    from pathlib import Path

    root = Path(root)
    records = tiny_caption_records(n, 0, captions)
    keys = [f"class_{r.label + 1:05d}/image_{i + 1:05d}" for i, r in enumerate(records)]
    (root / "jpg").mkdir(parents=True)
    for key, record in zip(keys, records):
        record.image.save(root / "jpg" / f"{key.split('/')[1]}.jpg", quality=95)
        (root / "text_c10" / key).parent.mkdir(parents=True, exist_ok=True)
        (root / "text_c10" / f"{key}.txt").write_text("\n".join(record.captions) + "\n")
    for split, split_keys in (("train", keys), ("test", keys[:1])):
        (root / split).mkdir()
        (root / split / "filenames.pickle").write_bytes(pickle.dumps(split_keys, protocol=2))
    return root


def write_tiny_coco(root, n: int = 4, captions: int = 5):
    """A COCO-captions fixture: train2014/ images and annotations/captions_train2014.json."""
    import json
    from pathlib import Path

    root = Path(root)
    (root / "annotations").mkdir(parents=True)
    (root / "train2014").mkdir()
    images, anns = [], []
    for i, record in enumerate(tiny_caption_records(n, 0, captions)):
        name = f"COCO_train2014_{i:012d}.jpg"
        record.image.save(root / "train2014" / name, quality=95)
        images.append({"id": i + 1, "file_name": name, "width": record.image.width, "height": record.image.height})
        anns += [{"id": 100 * i + j, "image_id": i + 1, "caption": c} for j, c in enumerate(record.captions)]
    (root / "annotations" / "captions_train2014.json").write_text(json.dumps({"images": images, "annotations": anns}))
    return root
