"""AttnGAN and DualAttnGAN objectives at tiny sizes: the official D terms on a hand-made batch, the DAMSM word
loss reaching G, the data checks, training + exact resume on the synthetic world, export and the CLI."""

import dataclasses
import json

import pytest
import torch

import wordsight.training.objectives.attngan as ag
from wordsight.cli.main import main
from wordsight.config import ConfigError
from wordsight.data.synthetic import SyntheticWorld, WorldConfig
from wordsight.hub import save_pretrained
from wordsight.training import SYSTEMS, TrainConfig, build_objective
from wordsight.training.damsm import build_synthetic_damsm
from wordsight.training.loop import train
from wordsight.training.sources import build_data, model_image_size

TINY = {"gf_dim": 4, "df_dim": 2, "z_dim": 8, "sentence_dim": 8, "c_dim": 4, "base_size": 16, "branch_num": 2, "words_num": 10}


@pytest.fixture(scope="module")
def damsm(tmp_path_factory):
    """An untrained DAMSM pair on the synthetic world's vocabulary (8-d), saved as `wordsight train damsm` does."""
    out = tmp_path_factory.mktemp("damsm")
    world = SyntheticWorld(WorldConfig(seed=0, image_size=32, split="train"))
    torch.manual_seed(0)
    text, image = build_synthetic_damsm(world, image_size=16, channels=(4, 8), embed_dim=8, word_embedding_dim=4, vocabulary_items=64)
    save_pretrained(text, out / "text_encoder")
    save_pretrained(image, out / "image_encoder")
    return out


def _model(damsm, **kw):
    return {**TINY, "damsm_path": str(damsm), **kw}


def _batch(b=4):
    torch.manual_seed(1)
    caps = ["a small red circle", "a large blue square on the left", "a green triangle", "a big yellow star"][:b]
    return {"images": torch.rand(b, 3, 32, 32) * 2 - 1, "captions": caps, "label": torch.tensor([0, 1, 2, 0])[:b]}


def _cfg(damsm, system="attngan", steps=2, **kw):
    return TrainConfig(system=system, model=_model(damsm), steps=steps, batch_size=4, log_every=1, sample_every=1000,
                       checkpoint_every=1000, num_samples=4, tensorboard=False, progress=False, mixed_precision="no",
                       ema_decay=0.999, data={"text_encoder": "bilstm", "text_encoder_path": str(damsm),
                                              "synthetic": {"num_scenes": 8}}, **kw)


def test_registered_and_config_checks(damsm):
    assert SYSTEMS.get("attngan") is ag.AttnGANObjective
    assert SYSTEMS.get("dualattngan").__name__ == "DualAttnGANObjective"
    assert ag.AttnGANConfig(**_model(damsm)).image_size == 32
    assert model_image_size(TrainConfig(system="attngan", model=_model(damsm))) == 32
    with pytest.raises(ConfigError, match="damsm_path"):
        ag.AttnGANConfig(**TINY)
    with pytest.raises(ConfigError, match="model.sentence_dim=8"):
        build_objective("attngan", _model(damsm, sentence_dim=16))
    with pytest.raises(ConfigError, match="no DAMSM"):
        build_objective("attngan", {**TINY, "damsm_path": str(damsm / "missing")})


def test_d_loss_on_a_hand_made_batch():
    s = torch.tensor
    out = ag.attngan_d_loss(s([2.0]), s([1.0]), s([-1.0]), s([0.5]), s([-2.0]))
    bce1 = lambda x: -torch.log(torch.sigmoid(x))  # noqa: E731
    bce0 = lambda x: -torch.log(1 - torch.sigmoid(x))  # noqa: E731
    expected = (bce1(s(2.0)) + bce1(s(1.0))) / 2 + (bce0(s(-1.0)) + bce0(s(0.5)) + bce0(s(-2.0))) / 3
    assert torch.allclose(out["loss"], expected)


def test_d_sees_every_scale_the_sentence_and_its_neighbour(damsm):
    torch.manual_seed(0)
    obj = build_objective("attngan", _model(damsm))
    batch = _batch()
    seen, sizes = [], []
    for D in obj.Ds:
        orig_f, orig_l = D.features, D.logits
        D.features = lambda x, o=orig_f: (sizes.append(x.shape[-1]), o(x))[1]
        D.logits = lambda f, c, o=orig_l: (seen.append(c.clone()), o(f, c))[1]
    out = obj.d_step(batch)
    assert sizes == [16, 16, 32, 32]
    sentence = obj.encode_captions(batch["captions"])["sentence"]
    right, fake, wrong = seen[:3]
    assert torch.equal(right, sentence) and torch.equal(fake, sentence) and torch.equal(wrong, torch.roll(sentence, -1, 0))
    assert torch.allclose(out["loss"], out["d0"] + out["d1"])


def test_words_are_padded_to_words_num_and_conditions_stack(damsm):
    obj = build_objective("attngan", _model(damsm))
    a = obj.conditions({"captions": ["a red circle"]})
    b = obj.conditions({"captions": ["a large blue square on the left of a small green triangle"]})
    assert a["words"].shape == b["words"].shape == (1, 10, 8)
    assert a["mask"].sum() == 3 and not a["mask"][0, 3:].any()
    assert torch.cat([a["words"], b["words"]]).shape == (2, 10, 8)
    with pytest.raises(Exception, match="captions"):
        obj.conditions({"sentence": torch.zeros(1, 8)})


def test_the_damsm_word_loss_reaches_g(damsm, monkeypatch):
    torch.manual_seed(0)
    obj = build_objective("attngan", _model(damsm))
    recorded = []
    real = ag.words_loss
    monkeypatch.setattr(ag, "words_loss", lambda *a, **k: (recorded.append(real(*a, **k)), recorded[-1])[1])
    out = obj.g_step(_batch())
    assert set(out) >= {"damsm_words", "damsm_sentence", "kl", "g0", "g1"}
    params = [obj.G.stages[0].attention.project.weight, obj.G.init.fc[0].weight, obj.G.to_rgb[-1][0].weight]
    grads = torch.autograd.grad(recorded[0].total, params)
    assert all(g.abs().sum() > 0 for g in grads)  # through the image, into the attention and the first stage
    assert not any(p.requires_grad for p in obj.damsm_image_encoder.parameters())
    expected = out["g_adversarial"] + 5.0 * (out["damsm_words"] + out["damsm_sentence"]) + 1.0 * out["kl"]
    assert torch.allclose(out["loss"].detach(), expected, atol=1e-5)


def test_data_must_come_from_the_same_text_encoder(damsm, tmp_path):
    obj = build_objective("attngan", _model(damsm))
    minilm = build_data("random:8", _cfg(damsm))
    obj.check_data(minilm)  # random tensors: nothing to compare
    other = build_objective("attngan", _model(damsm))
    with torch.no_grad():
        other.text_encoder.encoder.weight.add_(1.0)

    class Data:
        text_encoder = other.text_encoder
        whitening = None

    with pytest.raises(ConfigError, match="data.text_encoder=bilstm data.text_encoder_path="):
        obj.check_data(Data())
    Data.text_encoder, Data.whitening = obj.text_encoder, object()
    with pytest.raises(ConfigError, match="sentence_whitening=0"):
        obj.check_data(Data())


@pytest.mark.parametrize("system", ["attngan", "dualattngan"])
def test_trains_on_the_synthetic_world_and_resumes_exactly(damsm, tmp_path, system):
    cfg = _cfg(damsm, system, steps=4, deterministic=True)
    data = build_data("synthetic", cfg, progress=False)
    full = train(cfg, data=data, run_dir=tmp_path / "a")
    train(dataclasses.replace(cfg, steps=2), data=data, run_dir=tmp_path / "b")
    resumed = train(cfg, data=data, run_dir=tmp_path / "b", resume="latest")
    assert resumed.step == 4
    for k, v in full.objective.G.state_dict().items():
        assert torch.equal(v, resumed.objective.G.state_dict()[k]), k
    logged = [json.loads(line) for line in (full.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert any("g/damsm_words" in r for r in logged)


def test_cli_trains_exports_and_generates_with_attention(damsm, tmp_path, monkeypatch):
    monkeypatch.setenv("WORDSIGHT_CACHE", str(tmp_path / "cache"))
    args = ["train", "attngan", "--out", str(tmp_path / "runs"), "steps=2", "batch_size=4", "progress=false", "sample_every=1000",
            "checkpoint_every=1000", "tensorboard=false", "data.synthetic.num_scenes=8", f"model.damsm_path={damsm}",
            f"data.text_encoder_path={damsm}", *[f"model.{k}={v}" for k, v in TINY.items()]]
    assert main(args) == 0
    run = next((tmp_path / "runs").iterdir())
    meta = json.loads((run / "pipeline" / "pipeline.json").read_text())
    assert meta["system"] == "attngan" and meta["text_encoder"]["name"] == "bilstm"
    out = tmp_path / "attention.png"
    assert main(["generate", str(run / "pipeline"), "a small red circle", "--attention", "--out", str(out)]) == 0
    from PIL import Image

    picture = Image.open(out)
    assert picture.width > 32 and picture.height > 32
    # a data set encoded by another text encoder (MiniLM) is refused before training
    assert main([*args[:3], str(tmp_path / "bad"), *args[4:], "data.text_encoder=minilm", "data.text_encoder_path=null"]) != 0
