import math

import pytest
import torch

import wordsight.training.objectives.tirg as tirg
from wordsight.config import ConfigError
from wordsight.hub import from_pretrained
from wordsight.models.tirg import TIRG
from wordsight.training import SYSTEMS, TrainConfig, build_objective
from wordsight.training.data import RandomCaptionData
from wordsight.training.loop import train
from wordsight.utils.checks import InputError

TINY = {"embed_dim": 8, "word_embedding_dim": 6, "image_size": 16, "channels": [4, 8]}
COLOURS = ("red", "green", "blue")


class TinyTriplets(torch.utils.data.Dataset):
    """Hand-made manipulation triplets: a random image whose colour channels are rolled by k (the edit
    "make it <colour k>"); items {"images", "target_images", "instructions"} and every text in ``texts``."""

    name = "tiny-triplets"

    def __init__(self, n: int = 24):
        self.n = n
        self.texts = [self._instruction(i) for i in range(n)]

    def _instruction(self, i: int) -> str:
        return f"make the {COLOURS[i % 3]} square {COLOURS[(i + 1) % 3]}"

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        g = torch.Generator().manual_seed(100 + i)
        source = torch.rand(3, 16, 16, generator=g) * 2 - 1
        return {"images": source, "target_images": source.roll(1 + i % 2, dims=0), "instructions": self._instruction(i)}


def _objective(**model) -> tirg.TIRGObjective:
    torch.manual_seed(0)
    return build_objective("tirg", {**TINY, **model}, TinyTriplets())


def _batch(b=4):
    data = TinyTriplets()
    items = [data[i] for i in range(b)]
    return {"images": torch.stack([x["images"] for x in items]), "target_images": torch.stack([x["target_images"] for x in items]),
            "instructions": [x["instructions"] for x in items]}


# 3 queries and 3 targets in 2-d, by hand: logits q @ y^T = [[1, 1, 0], [0, 1, 1], [1, 2, 1]],
# squared distances ||q_i - y_j||^2 = [[0, 1, 2], [2, 1, 0], [1, 0, 1]]
Q = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
Y = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])


def test_registered_with_the_official_optimizer():
    assert SYSTEMS.get("tirg") is tirg.TIRGObjective
    obj = _objective()
    opt = obj.optimizer_defaults()["retrieval"]
    assert (opt.kind, opt.lr, opt.momentum, opt.weight_decay) == ("sgd", 1e-2, 0.9, 1e-6)
    assert tirg.TIRGConfig().loss == "soft_triplet"  # the official CSS3D setting
    assert isinstance(obj.generator, TIRG) and obj.networks() == {"tirg": obj.model}
    assert [p.name for p in obj.phases] == ["retrieval"]


def test_softmax_loss_on_a_hand_made_3x3_example():
    e = math.e
    # rows: CE([1, 1, 0], 0), CE([0, 1, 1], 1), CE([1, 2, 1], 2)
    expected = ((math.log(2 * e + 1) - 1) + (math.log(1 + 2 * e) - 1) + (math.log(2 * e + e * e) - 1)) / 3
    assert float(tirg.batch_softmax_loss(Q, Y)) == pytest.approx(expected, rel=1e-6)


def test_soft_triplet_loss_on_a_hand_made_3x3_example():
    sp = lambda x: math.log(1 + math.exp(x))  # noqa: E731
    # anchor i, positive d[i, i], negatives d[i, j], j != i
    terms = [sp(0 - 1), sp(0 - 2), sp(1 - 2), sp(1 - 0), sp(1 - 1), sp(1 - 0)]
    assert float(tirg.soft_triplet_loss(Q, Y)) == pytest.approx(sum(terms) / 6, rel=1e-6)


def test_batch_recall_at_1_by_hand():
    # q0 -> y0 (right); q1 -> y2 (wrong, its target is y1); q2 -> y1 (wrong)
    assert float(tirg.batch_recall_at_1(Q, Y)) == pytest.approx(1 / 3)


def test_losses_need_two_pairs_of_one_size():
    with pytest.raises(InputError):
        tirg.soft_triplet_loss(Q[:1], Y[:1])
    with pytest.raises(InputError):
        tirg.batch_softmax_loss(Q, Y[:2])


def test_the_configured_loss_is_used():
    torch.manual_seed(0)
    q, y = torch.randn(4, 8), torch.randn(4, 8)
    assert torch.equal(_objective().loss(q, y), tirg.soft_triplet_loss(q, y))
    assert torch.equal(_objective(loss="softmax").loss(q, y), tirg.batch_softmax_loss(q, y))
    with pytest.raises(ConfigError):
        _objective(loss="hinge")


def test_vocabulary_comes_from_the_data_texts():
    model = tirg.TIRGObjective.configure(dict(TINY), TinyTriplets())
    assert {"make", "red", "square", "blue"} <= set(model["vocabulary"])
    assert tirg.TIRGObjective.configure({**TINY, "vocabulary": ["<end>", "<unk>", "x"]}, TinyTriplets())["vocabulary"] == ["<end>", "<unk>", "x"]
    with pytest.raises(ConfigError):
        build_objective("tirg", dict(TINY))  # no data, no vocabulary
    with pytest.raises(ConfigError):
        build_objective("tirg", dict(TINY), RandomCaptionData(4, 16, 8))  # no texts


def test_data_without_target_images_is_a_config_error():
    obj = _objective()
    obj.check_data(TinyTriplets())
    with pytest.raises(ConfigError, match="target_images"):
        obj.check_data(RandomCaptionData(4, 16, 8))


def test_step_outputs_and_batch_checks():
    obj = _objective()
    out = obj.retrieval_step(_batch())
    assert out["loss"].dim() == 0 and torch.isfinite(out["loss"])
    assert 0.0 <= float(out["recall_at_1_batch"]) <= 1.0
    batch = _batch()
    with pytest.raises(InputError, match="target_images"):
        obj.retrieval_step({k: v for k, v in batch.items() if k != "target_images"})
    with pytest.raises(InputError):
        obj.retrieval_step({**batch, "target_images": batch["target_images"][:3]})
    with pytest.raises(InputError):
        obj.retrieval_step({**batch, "instructions": batch["instructions"][:3]})
    with pytest.raises(InputError):
        obj.retrieval_step({**batch, "images": batch["images"][:, :1]})


def test_one_optimizer_step_changes_the_weights():
    obj = _objective()
    before = {k: v.clone() for k, v in obj.model.state_dict().items()}
    opt = torch.optim.SGD(obj.optimizer_params()["retrieval"], lr=1e-2, momentum=0.9)
    obj.retrieval_step(_batch())["loss"].backward()
    opt.step()
    after = obj.model.state_dict()
    for name in ("image_encoder.blocks.0.weight", "image_encoder.fc.weight", "text_encoder.rnn.weight_ih_l0",
                 "text_head.1.weight", "composition.gate.2.weight", "composition.residual.4.weight",
                 "composition.weights", "normalization.scale"):
        assert not torch.equal(before[name], after[name]), name


def test_sample_shows_the_retrieved_target_images():
    obj = _objective()
    cond = obj.conditions(_batch())
    assert cond["token_ids"].shape == (4, obj.model.max_length)
    ema = obj.model.eval()
    images = obj.sample(ema, cond, obj.sample_noise(4, torch.Generator()))
    assert images.shape == (4, 3, 16, 16) and images.abs().max() <= 1.0
    targets = cond["target_images"]
    assert all(any(torch.equal(img, t) for t in targets) for img in images)


def _tiny_cfg(steps, **kw):
    return TrainConfig(system="tirg", model=dict(TINY), steps=steps, batch_size=8, log_every=1, sample_every=1000,
                       checkpoint_every=1000, num_samples=4, tensorboard=False, progress=False, mixed_precision="no",
                       ema_decay=0.5, deterministic=True, **kw)


def test_a_few_training_steps_and_exact_resume(tmp_path):
    data = TinyTriplets()
    full = train(_tiny_cfg(4), data=data, run_dir=tmp_path / "a")
    assert full.step == 4
    run = full.run_dir
    assert list((run / "samples").glob("*.png"))
    assert "vocabulary" in (run / "config.yaml").read_text()
    ema = from_pretrained(run / "generator_ema")
    assert isinstance(ema, TIRG) and ema.config["words"] == full.objective.model.config["words"]
    train(_tiny_cfg(2), data=data, run_dir=tmp_path / "b")
    resumed = train(_tiny_cfg(4), data=data, run_dir=tmp_path / "b", resume="latest")
    assert resumed.step == 4
    for k, v in full.objective.model.state_dict().items():
        assert torch.equal(v, resumed.objective.model.state_dict()[k]), k
    for k, v in full.ema.state_dict().items():
        assert torch.equal(v, resumed.ema.state_dict()[k]), k


def test_training_lowers_the_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    obj = _objective(loss="softmax")
    opt = torch.optim.SGD(obj.optimizer_params()["retrieval"], lr=1e-2, momentum=0.9)
    batch = _batch(8)
    first = None
    for _ in range(30):
        opt.zero_grad()
        loss = obj.retrieval_step(batch)["loss"]
        first = float(loss.detach()) if first is None else first
        loss.backward()
        opt.step()
    assert float(obj.retrieval_step(batch)["loss"].detach()) < first
