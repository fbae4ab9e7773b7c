"""Fixtures shared by the CLI tests."""

import pytest


@pytest.fixture(scope="module")
def tiny_pipeline(tmp_path_factory):
    """A 16 px DF-GAN pipeline folder with the MiniLM encoder (random weights): fast to load and run."""
    from wordsight.models.dfgan import DFGenerator
    from wordsight.pipelines.text_to_image import TextToImage
    from wordsight.text.minilm import MiniLMEncoder

    path = tmp_path_factory.mktemp("pipe")
    TextToImage(DFGenerator(nf=4, sentence_dim=384, image_size=16), MiniLMEncoder()).save_pretrained(path)
    return path
