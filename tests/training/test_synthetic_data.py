"""GAN training data from the synthetic world: MiniLM with and without whitening, a frozen DAMSM
encoder, and the pipeline that maps captions to exactly the vectors the generator was trained on."""

import dataclasses
import json
import math

import pytest
import torch

from wordsight.config import ConfigError
from wordsight.data.synthetic import SyntheticWorld, WorldConfig
from wordsight.pipelines.text_to_image import TextToImage
from wordsight.training import TrainConfig, train
from wordsight.training.damsm import DAMSMTrainConfig, build_synthetic_damsm, train_damsm
from wordsight.training.synthetic_data import build_training_data, training_text_encoder
from wordsight.utils.checks import InputError


def _cfg(sentence_dim, num_scenes=24, **data):
    return TrainConfig(steps=2, batch_size=4, model={"nf": 4, "image_size": 16, "sentence_dim": sentence_dim, "z_dim": 8},
                       data={"synthetic": {"num_scenes": num_scenes}, **data}, log_every=1, sample_every=100, checkpoint_every=100,
                       num_samples=4, tensorboard=False, progress=False, deterministic=True, mixed_precision="no")


def _round_trip(dataset, result, tmp_path):
    encoder, spec = training_text_encoder(dataset)
    # the pipeline's encoder reproduces the training vectors of the same captions
    again = encoder.encode(dataset.captions[:5]).sentence
    assert torch.allclose(again, dataset.sentences[:5], atol=1e-4)
    pipe = TextToImage(result.ema.float().eval(), encoder, spec)
    pipe.save_pretrained(tmp_path / "pipe")
    loaded = TextToImage.from_pretrained(tmp_path / "pipe")
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    # equal up to float rounding (the trained EMA is channels_last, the loaded copy contiguous)
    assert torch.allclose(pipe(dataset.captions[:2], generator=g()).images, loaded(dataset.captions[:2], generator=g()).images, atol=1e-4)
    return loaded


def test_whitened_minilm_data_trains_and_exports(tmp_path):
    data = build_training_data("synthetic", _cfg(8, sentence_whitening=8), progress=False)
    assert data.sentences.shape == (24 * 5, 8)
    z = data.sentences.double()
    assert z.mean(0).abs().max() < 1e-4 and torch.allclose(z.std(0), torch.ones(8, dtype=torch.float64), atol=1e-3)
    result = train(_cfg(8, sentence_whitening=8), "dfgan", data, tmp_path / "runs")
    assert (result.run_dir / "sentence_whitening" / "model.safetensors").exists()
    loaded = _round_trip(data, result, tmp_path)
    assert loaded.encoder_spec == {"name": "minilm", "whitening": "sentence_whitening"}
    assert (tmp_path / "pipe" / "sentence_whitening" / "config.json").exists()


def test_resume_refuses_whitening_fitted_on_other_data(tmp_path):
    data = build_training_data("synthetic", _cfg(8, sentence_whitening=8), progress=False)
    train(_cfg(8, sentence_whitening=8), "dfgan", data, tmp_path)
    other = build_training_data("synthetic", _cfg(8, sentence_whitening=8, num_scenes=30), progress=False)
    with pytest.raises(ConfigError, match="other training data"):
        train(_cfg(8, sentence_whitening=8), "dfgan", other, tmp_path, resume="latest")


def test_sentence_dim_must_match_the_encoder():
    with pytest.raises(ConfigError, match="model.sentence_dim=8"):
        build_training_data("synthetic", _cfg(384, sentence_whitening=8), progress=False)
    with pytest.raises(ConfigError, match="model.sentence_dim=384"):
        build_training_data("synthetic", _cfg(64), progress=False)


@pytest.fixture(scope="module")
def damsm_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("damsm")
    world = SyntheticWorld(WorldConfig(seed=0, image_size=16, split="train"))
    torch.manual_seed(0)
    text_encoder, image_encoder = build_synthetic_damsm(world, image_size=16, channels=(8, 16), embed_dim=16,
                                                        word_embedding_dim=8, vocabulary_items=64)
    cfg = DAMSMTrainConfig(steps=2, batch_size=4, image_size=16, num_items=16, log_every=1, eval_images=0, progress=False)
    train_damsm(world, text_encoder, image_encoder, cfg, out)
    return out


def test_frozen_damsm_encoder_conditions_dfgan(damsm_folder, tmp_path):
    cfg = _cfg(16, text_encoder="bilstm", text_encoder_path=str(damsm_folder))
    data = build_training_data("synthetic", cfg, progress=False)
    assert data.sentences.shape == (24 * 5, 16)
    assert not any(p.requires_grad for p in data.text_encoder.parameters())
    result = train(cfg, "dfgan", data, tmp_path / "runs")
    loaded = _round_trip(data, result, tmp_path)
    assert loaded.encoder_spec == {"name": "bilstm"}
    assert (tmp_path / "pipe" / "text_encoder" / "model.safetensors").exists()


def test_damsm_sentence_loss_trains_with_the_same_damsm_folder(damsm_folder, tmp_path):
    cfg = _cfg(16, text_encoder="bilstm", text_encoder_path=str(damsm_folder))
    cfg.model.update(damsm_sentence_weight=5.0, damsm_path=str(damsm_folder))
    data = build_training_data("synthetic", cfg, progress=False)
    scene = data.world.scene(7 // data.k)
    assert data[7]["label"] == scene.label  # the first object's colour x shape class, for the loss's mask
    result = train(cfg, "dfgan", data, tmp_path / "runs")
    logged = [json.loads(line) for line in (result.run_dir / "metrics.jsonl").read_text().splitlines()]
    terms = [r["g/g_damsm_sentence"] for r in logged if "g/g_damsm_sentence" in r]
    assert terms and all(math.isfinite(t) and t > 0 for t in terms)
    assert result.run_dir.joinpath("config.yaml").read_text().count("damsm_path") == 1
    # a resume rebuilds the frozen encoder from the saved config
    again = train(dataclasses.replace(cfg, steps=3), "dfgan", data, tmp_path / "runs", resume="latest")
    assert again.objective.damsm_image_encoder is not None


def test_damsm_encoder_errors(tmp_path):
    with pytest.raises(ConfigError, match="text_encoder_path"):
        build_training_data("synthetic", _cfg(16, text_encoder="bilstm"), progress=False)
    with pytest.raises(InputError, match="not found"):
        build_training_data("synthetic", _cfg(16, text_encoder="bilstm", text_encoder_path=str(tmp_path / "none")), progress=False)
    with pytest.raises(ConfigError, match="text_encoder.*'minilm'.*'bilstm'"):
        build_training_data("synthetic", _cfg(16, text_encoder="clip"), progress=False)


def test_hard_negatives_are_whitened_like_the_captions(tmp_path):
    data = build_training_data("synthetic", _cfg(8, sentence_whitening=8, hard_negatives=["shape"]), progress=False)
    plain = build_training_data("synthetic", _cfg(8, sentence_whitening=8), progress=False)
    assert torch.equal(data.sentences, plain.sentences)  # the whitening is fitted on the true captions only
    assert data.mismatch_sentences.shape == data.sentences.shape and "mismatch_sentence" not in plain[0]
    encoder, _ = training_text_encoder(data)
    assert torch.allclose(encoder.encode(data.mismatch_captions[:4]).sentence, data.mismatch_sentences[:4], atol=1e-4)
    assert torch.equal(data[3]["mismatch_sentence"], data.mismatch_sentences[3])
    result = train(_cfg(8, sentence_whitening=8, hard_negatives=True), "dfgan",
                   build_training_data("synthetic", _cfg(8, sentence_whitening=8, hard_negatives=True), progress=False), tmp_path)
    logged = [json.loads(line) for line in (result.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert all(math.isfinite(r["d/d_hard_mismatch"]) for r in logged if "d/d_hard_mismatch" in r)
    assert any("d/d_hard_mismatch" in r for r in logged)


def test_hard_negative_options_are_checked():
    with pytest.raises(ConfigError, match="hard_negatives"):
        build_training_data("synthetic", _cfg(8, sentence_whitening=8, hard_negatives=["texture"]), progress=False)
    with pytest.raises(ConfigError, match="needs --data synthetic"):
        build_training_data("folder:/nonexistent", _cfg(8, sentence_whitening=8, hard_negatives=True), progress=False)


def test_stackgan_stage2_is_conditioned_like_its_stage1_on_damsm_vectors(damsm_folder, tmp_path):
    """BiLSTM (DAMSM) sentence vectors condition StackGAN; stage 2 accepts the same encoder and refuses MiniLM."""
    from wordsight.config import ConfigError
    from wordsight.training import build_objective

    model = {"ngf": 4, "ndf": 4, "z_dim": 8, "sentence_dim": 16, "c_dim": 4, "stage1_size": 16, "upscale": 2}
    cfg = dataclasses.replace(_cfg(16, text_encoder="bilstm", text_encoder_path=str(damsm_folder)), system="stackgan", model=model)
    data = build_training_data("synthetic", cfg, progress=False)
    result = train(cfg, "stackgan", data, tmp_path / "runs")
    encoder, spec = training_text_encoder(data)
    TextToImage(result.ema.float().eval(), encoder, spec).save_pretrained(tmp_path / "stage1")
    stage2 = {**model, "stage": 2, "init_from": str(tmp_path / "stage1")}
    objective = build_objective("stackgan", stage2)
    data2 = build_training_data("synthetic", dataclasses.replace(cfg, model=stage2), progress=False)
    assert data2.sentences.shape[1] == 16 and data2[0]["images"].shape[-1] == 32  # Stage-II's real images: 32 px
    objective.check_data(data2)  # the same DAMSM encoder: accepted
    minilm = build_training_data("synthetic", _cfg(16, sentence_whitening=16), progress=False)
    with pytest.raises(ConfigError, match="bilstm sentence vectors.*minilm"):
        objective.check_data(minilm)
