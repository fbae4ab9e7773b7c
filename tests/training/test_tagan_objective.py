import math

import pytest
import torch
import torch.nn.functional as F

import wordsight.training.objectives.tagan as tg
from wordsight.config import ConfigError
from wordsight.hub import from_pretrained
from wordsight.losses.conditioning import kl_to_standard_normal
from wordsight.text.tokenizer import Vocabulary
from wordsight.training import SYSTEMS, TrainConfig, build_objective
from wordsight.training.loop import train

CAPTIONS = ["a red bird", "a small blue bird with wings", "red wings", "a bird", "blue circle", "a small red circle"]
WORDS = list(Vocabulary.build(CAPTIONS).words)
TINY = {"image_size": 32, "nf": 4, "text_dim": 8, "word_embedding_dim": 6, "c_dim": 4, "r_num": 1}


class TinyCaptionData:
    """A map-style data set of {"images": [3, 32, 32], "captions": str}; ``captions`` lists them all."""

    def __init__(self, n=12, size=32):
        gen = torch.Generator().manual_seed(0)
        self.images = torch.rand(n, 3, size, size, generator=gen) * 2 - 1
        self.captions = [CAPTIONS[i % len(CAPTIONS)] for i in range(n)]

    def __len__(self):
        return len(self.captions)

    def __getitem__(self, i):
        return {"images": self.images[i], "captions": self.captions[i]}


def _obj(**kw):
    torch.manual_seed(0)
    return build_objective("tagan", {**TINY, **kw}, TinyCaptionData())


def _batch(b=4):
    return {"images": torch.rand(b, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1,
            "captions": CAPTIONS[:b]}


def test_registered_and_configured_from_the_data():
    assert SYSTEMS.get("tagan") is tg.TAGANObjective
    obj = _obj()
    assert obj.cfg.vocabulary == list(Vocabulary.build(TinyCaptionData().captions).words)
    assert set(obj.networks()) == {"generator", "discriminator"} and obj.generator is obj.G
    assert obj.G.text_encoder is not obj.D.text_encoder
    d = obj.optimizer_defaults()
    assert d["g"].lr == d["d"].lr == 2e-4 and tuple(d["g"].betas) == tuple(d["d"].betas) == (0.5, 0.999)
    assert (obj.cfg.lambda_cond, obj.cfg.lambda_rec, obj.cfg.kl_weight) == (10.0, 0.2, 0.5)
    with pytest.raises(ConfigError, match="vocabulary"):
        build_objective("tagan", TINY)
    with pytest.raises(ConfigError, match="image_size"):
        build_objective("tagan", {**TINY, "vocabulary": WORDS, "image_size": 16})


def test_hand_made_conditional_d_term_and_log_one_minus():
    out = tg.conditional_d_loss(torch.log(torch.tensor([0.5])), torch.log(torch.tensor([0.25])))
    assert torch.allclose(out["d_cond"], torch.tensor((math.log(2.0) - math.log(0.75)) / 2))
    x = torch.tensor([0.0, -1e-3, -5.0], requires_grad=True)  # p = 1 is clamped to 1 - 1e-7: finite
    y = tg.log_one_minus(x)
    y.sum().backward()
    assert torch.isfinite(y).all() and torch.isfinite(x.grad).all()
    assert torch.allclose(y[1:], torch.log1p(-torch.exp(x[1:].detach())), atol=1e-5)
    assert y[0] >= math.log(1e-7) - 1e-3


def _record(obj):
    """Wrap G.forward and the D entry points so that the test sees every call's inputs and outputs."""
    calls = {"G": [], "cond": [], "feat": [], "scores": []}
    g_fwd, cond, feat, scores = obj.G.forward, obj.D.conditional, obj.D.image_features, obj.D.scores

    def g(images, ids, lengths, noise=None):
        out = g_fwd(images, ids, lengths, noise)
        calls["G"].append((images, ids.clone(), lengths.clone(), out))
        return out

    def c(pooled, words, mask):
        out = cond(pooled, words, mask)
        calls["cond"].append((words.detach().clone(), mask.clone(), out))
        return out

    def f(images):
        out = feat(images)
        calls["feat"].append((images, out))
        return out

    def s(images, ids, lengths):
        out = scores(images, ids, lengths)
        calls["scores"].append((ids.clone(), lengths.clone(), out))
        return out

    obj.G.forward, obj.D.conditional, obj.D.image_features, obj.D.scores = g, c, f, s
    return calls


def test_d_loss_terms_weights_and_texts():
    obj = _obj()
    batch = _batch()
    calls = _record(obj)
    out = obj.d_step(batch)
    ids, lengths = obj.G.tokenize(batch["captions"])
    # G edits with the rolled (negative) texts: image i gets caption i - 1
    (_, g_ids, g_len, _), = calls["G"]
    assert torch.equal(g_ids, torch.roll(ids, 1, 0)) and torch.equal(g_len, torch.roll(lengths, 1, 0))
    (right_words, right_mask, right), (wrong_words, wrong_mask, wrong) = calls["cond"]
    assert torch.equal(right_mask, torch.arange(ids.shape[1])[None] < lengths[:, None])
    assert torch.equal(wrong_words, torch.roll(right_words, 1, 0)) and torch.equal(wrong_mask, torch.roll(right_mask, 1, 0))
    (real_images, (real_logit, _)), (fake_images, (fake_logit, _)) = calls["feat"]
    assert real_images is batch["images"] and not fake_images.requires_grad  # D's fakes are detached
    d_real = F.binary_cross_entropy_with_logits(real_logit, torch.ones(4))
    d_fake = F.binary_cross_entropy_with_logits(fake_logit, torch.zeros(4))
    d_cond = (F.binary_cross_entropy(right.score, torch.ones(4)) + F.binary_cross_entropy(wrong.score, torch.zeros(4))) / 2
    assert torch.allclose(out["loss"], d_real + d_fake + 10.0 * d_cond, atol=1e-5)
    assert torch.allclose(out["d_cond"], d_cond, atol=1e-6)
    lam = _obj(lambda_cond=3.0)
    _record(lam)
    out3 = lam.d_step(batch)
    assert torch.allclose(out3["loss"], out3["d_real"] + out3["d_fake"] + 3.0 * out3["d_cond"], atol=1e-5)


def test_g_loss_reconstructs_with_the_own_text_and_fools_d_with_the_rolled_one():
    obj = _obj()
    batch = _batch()
    calls = _record(obj)
    obj.d_step(batch)
    out = obj.g_step(batch)
    ids, lengths = obj.G.tokenize(batch["captions"])
    (_, neg_ids, _, (fake, mu, logvar)), (_, rec_ids, rec_len, (recon, mu_r, logvar_r)) = calls["G"]
    assert torch.equal(neg_ids, torch.roll(ids, 1, 0))  # the D step's edits are reused
    assert torch.equal(rec_ids, ids) and torch.equal(rec_len, lengths)  # reconstruction: the positive text
    (s_ids, s_len, (logit, scores)), = calls["scores"]
    assert torch.equal(s_ids, torch.roll(ids, 1, 0)) and torch.equal(s_len, torch.roll(lengths, 1, 0))
    expected = (F.binary_cross_entropy_with_logits(logit, torch.ones(4))
                + 10.0 * F.binary_cross_entropy(scores.score, torch.ones(4))
                + 0.2 * F.l1_loss(recon, batch["images"])
                + 0.5 * (kl_to_standard_normal(mu, logvar) + kl_to_standard_normal(mu_r, logvar_r)))
    assert torch.allclose(out["loss"], expected, atol=1e-5)
    assert torch.allclose(out["reconstruction"], F.l1_loss(recon, batch["images"]))
    obj.end_step()
    assert not obj._fakes


def test_one_optimizer_step_changes_only_its_network():
    obj = _obj()
    batch = _batch()
    opts = {n: torch.optim.Adam(p, lr=1e-2) for n, p in obj.optimizer_params().items()}
    g0 = {k: v.clone() for k, v in obj.G.state_dict().items()}
    d0 = {k: v.clone() for k, v in obj.D.named_parameters()}
    obj.d_step(batch)["loss"].backward()
    assert all(p.grad is None for p in obj.G.parameters())  # the D step's fakes are detached
    opts["d"].step()
    assert any(not torch.equal(v, d0[k]) for k, v in obj.D.named_parameters())
    d1 = {k: v.detach().clone() for k, v in obj.D.named_parameters()}
    opts["d"].zero_grad(set_to_none=True)
    obj.g_step(batch)["loss"].backward()
    assert all(p.grad is None for p in obj.D.parameters())  # D frozen in the G step
    assert obj.G.text_encoder.rnn.weight_ih_l0.grad is not None
    opts["g"].step()
    g1 = obj.G.state_dict()
    assert any(not torch.equal(g1[k], v) for k, v in g0.items() if v.is_floating_point())
    assert all(torch.equal(v, d1[k]) for k, v in obj.D.named_parameters())


def test_conditions_concatenate_and_samples_are_edits_in_range():
    obj = _obj()
    a, b = obj.conditions(_batch(4)), obj.conditions({"images": _batch(2)["images"], "captions": ["a bird", "red wings"]})
    cond = {k: torch.cat([a[k], b[k]]) for k in a}
    assert cond["token_ids"].shape == (6, obj.cfg.max_length)
    ids, lengths = obj.G.tokenize(CAPTIONS[:4])
    assert torch.equal(a["lengths"], torch.roll(lengths, 1, 0))
    G = obj.G.eval()
    out = obj.sample(G, cond, obj.sample_noise(6, torch.Generator()))
    assert out.shape == (6, 3, 32, 32) and out.abs().max() <= 1.0
    assert torch.allclose(out[:4], G.edit(_batch(4)["images"], [CAPTIONS[3], *CAPTIONS[:3]]), atol=1e-6)


def test_word_vectors_fill_both_encoders_and_stay_fixed(tmp_path):
    vec = tmp_path / "tiny.vec"
    rows = {"red": [1.0] * 6, "bird": [-2.0] * 6}
    vec.write_text("2 6\n" + "".join(f"{w} {' '.join(map(str, v))}\n" for w, v in rows.items()))
    obj = _obj(word_vectors=str(vec))
    assert obj.cfg.freeze_embeddings is True
    for net in (obj.G, obj.D):
        emb = net.text_encoder.embedding.weight
        assert not emb.requires_grad
        vocab = list(net.text_encoder.vocabulary.words)
        assert torch.equal(emb[vocab.index("red")], torch.ones(6)) and torch.equal(emb[vocab.index("bird")], torch.full((6,), -2.0))
    assert not _obj().cfg.freeze_embeddings  # random vectors are trained


def _tiny_cfg(steps, **kw):
    return TrainConfig(system="tagan", model=dict(TINY), steps=steps, batch_size=4, log_every=1, sample_every=1,
                       checkpoint_every=1000, num_samples=4, tensorboard=False, progress=False, mixed_precision="no",
                       ema_decay=0.0, deterministic=True, **kw)


def test_a_few_training_steps_and_exact_resume(tmp_path):
    data = TinyCaptionData()
    full = train(_tiny_cfg(4), data=data, run_dir=tmp_path / "a")
    assert full.step == 4 and (full.run_dir / "samples").exists()
    train(_tiny_cfg(2), data=data, run_dir=tmp_path / "b")
    resumed = train(_tiny_cfg(4), data=data, run_dir=tmp_path / "b", resume="latest")
    assert resumed.step == 4
    for net in ("G", "D"):
        ref, got = getattr(full.objective, net).state_dict(), getattr(resumed.objective, net).state_dict()
        for k, v in ref.items():
            assert torch.equal(v, got[k]), (net, k)
    ema = from_pretrained(full.run_dir / "generator_ema").eval()
    assert list(ema.text_encoder.vocabulary.words) == full.objective.cfg.vocabulary
    edited = ema.edit(data.images[:2], ["a blue bird", "red circle"])
    assert edited.shape == (2, 3, 32, 32)
