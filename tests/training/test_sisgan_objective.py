import math

import pytest
import torch

import wordsight.training.objectives.sisgan as sg
from wordsight.config import ConfigError
from wordsight.losses.ranking import bidirectional_ranking_loss
from wordsight.models.sisgan import SISGANDiscriminator, SISGANGenerator, mismatched_texts, relevant_texts
from wordsight.training import SYSTEMS, TrainConfig, build_objective
from wordsight.training.loop import train

from .test_tagan_objective import CAPTIONS, TinyCaptionData

TINY = {"image_size": 16, "ngf": 4, "ndf": 4, "text_dim": 8, "word_embedding_dim": 6, "c_dim": 4, "r_num": 1,
        "embedding_channels": [4, 8], "embedding_steps": 2}


def _obj(**kw):
    torch.manual_seed(0)
    return build_objective("sisgan", {**TINY, **kw}, TinyCaptionData(size=16))


def _batch(b=4):
    return {"images": torch.rand(b, 3, 16, 16, generator=torch.Generator().manual_seed(1)) * 2 - 1, "captions": CAPTIONS[:b]}


def test_hand_worked_ranking_loss():
    # cosines: s(x0,t0)=1, s(x0,t1)=0, s(x1,t0)=0, s(x1,t1)=1 -> every hinge max(0, 0.2 - 1 + 0) = 0
    eye = torch.eye(2)
    assert float(bidirectional_ranking_loss(eye, eye)) == 0.0
    # texts swapped: right = 0, wrong = 1 -> each of the 4 hinges is 0.2 + 1; sum 4.8 / B=2
    assert math.isclose(float(bidirectional_ranking_loss(eye, eye.flip(0))), 2.4, rel_tol=1e-6)
    # scale does not matter (cosine)
    assert math.isclose(float(bidirectional_ranking_loss(3 * eye, eye.flip(0))), 2.4, rel_tol=1e-6)


def test_relevant_and_mismatched_texts_follow_the_official_preprocess():
    x = torch.arange(6)
    assert mismatched_texts(x).tolist() == [5, 0, 1, 2, 3, 4]
    assert relevant_texts(x).tolist() == [1, 2, 0, 3, 4, 5]


def test_networks_shapes_and_config_checks():
    from wordsight.text.tokenizer import Vocabulary
    G = SISGANGenerator(list(Vocabulary.build(["red bird"]).words), image_size=16, ngf=4, text_dim=8, word_embedding_dim=6, c_dim=4, r_num=1)
    D = SISGANDiscriminator(16, 4, 8)
    x = torch.rand(3, 3, 16, 16) * 2 - 1
    G.eval()
    out = G.edit(x, ["red bird", "bird", "red"])
    assert out.shape == x.shape and out.abs().max() <= 1
    assert torch.equal(out, G.edit(x, ["red bird", "bird", "red"]))  # eval: CA uses mu
    assert D(x, torch.randn(3, 8)).shape == (3,)
    assert SYSTEMS.get("sisgan") is sg.SISGANObjective
    with pytest.raises(ConfigError, match="vocabulary"):
        build_objective("sisgan", TINY)
    with pytest.raises(ConfigError, match="image_size"):
        build_objective("sisgan", {**TINY, "vocabulary": ["<end>", "<unk>", "a"], "image_size": 8})


def test_stage_one_trains_only_the_embedding_then_stage_two_only_the_gan():
    obj = _obj()
    batch = _batch()
    params = obj.optimizer_params()
    text = {id(p) for p in obj.G.text_encoder.parameters()}
    assert not text & {id(p) for p in params["g"]} and text <= {id(p) for p in params["embedding"]}
    assert obj.embedding_stage
    out = obj.embedding_step(batch)
    assert out["loss"].requires_grad and out["loss"] > 0
    out["loss"].backward()
    assert all(p.grad is None for p in obj.D.parameters())
    assert obj.d_step(batch)["loss"].item() == 0.0 and not obj._fakes  # G and D wait
    obj.end_step()
    assert int(obj.E.updates) == 1
    obj.embedding_step(batch)
    obj.end_step()
    assert not obj.embedding_stage  # embedding_steps = 2
    assert obj.embedding_step(batch)["loss"].item() == 0.0
    obj.zero_grad()
    d = obj.d_step(batch)
    assert set(d) >= {"d_real", "d_mismatch", "d_fake"}
    assert torch.isclose(d["loss"], d["d_real"] + 0.5 * d["d_mismatch"] + 0.5 * d["d_fake"])
    g = obj.g_step(batch)
    g["loss"].backward()
    assert all(p.grad is None for p in obj.G.text_encoder.parameters())  # frozen in stage 2
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in obj.G.decoder.parameters())
    assert all(p.grad is None for p in obj.D.parameters())


def test_train_save_and_exact_resume(tmp_path):
    data = TinyCaptionData(size=16)
    base = dict(batch_size=4, mixed_precision="no", channels_last=False, ema_decay=0.0, log_every=1,
                sample_every=1000, checkpoint_every=2, progress=False, seed=3)

    def run(out, steps, resume=None):
        cfg = TrainConfig(model=dict(TINY), steps=steps, **base)
        return train(cfg, "sisgan", data, out, resume=resume)

    full = run(tmp_path / "a", 4)
    run(tmp_path / "b", 2)
    resumed = run(tmp_path / "b", 4, resume="latest")
    assert int(resumed.objective.E.updates) == 2
    for (k, v), (_, w) in zip(full.objective.state_dict().items(), resumed.objective.state_dict().items()):
        assert torch.equal(v, w), k
