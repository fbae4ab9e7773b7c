"""Saliency objectives: what each step computes, the warm-up and alternation schedule, and that they train."""

import pytest
import torch

from wordsight.losses.saliency_objectives import SALICONObjective, SalGANObjective, TextSalGANObjective
from wordsight.models.salgan import SalGANDiscriminator, SalGANGenerator
from wordsight.models.salicon import SALICON
from wordsight.models.text_salgan import TextSalGANDiscriminator, TextSalGANGenerator
from wordsight.utils import InputError

SIZE = (32, 48)


def _batch(text_dim=None, b=2):
    torch.manual_seed(0)
    batch = {"images": torch.rand(b, 3, *SIZE) * 2 - 1, "maps": torch.rand(b, 1, *SIZE)}
    if text_dim:
        batch["text"] = torch.randn(b, text_dim)
    return batch


def _salgan(warmup=15):
    torch.manual_seed(0)
    g = SalGANGenerator(width=1 / 16)
    d = SalGANDiscriminator(input_size=SIZE, width=1 / 16)
    return g, d, SalGANObjective(g, d, warmup_epochs=warmup)


def test_salicon_objective_has_no_discriminator_and_trains():
    torch.manual_seed(0)
    model = SALICON(fine_size=(64, 96), coarse_size=(32, 48), width=1 / 16)
    objective = SALICONObjective(model)
    batch = _batch()
    assert objective.d_step(batch) == {} and not objective.train_discriminator
    assert objective.updates_for(7) == ("g",)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    losses = []
    for _ in range(15):
        loss = objective.g_step(batch)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.05


def test_salgan_warmup_is_content_only():
    g, d, objective = _salgan()
    objective.set_epoch(14)
    assert not objective.train_discriminator and objective.updates_for(0) == ("g",)
    out = objective.g_step(_batch())
    assert set(out) == {"loss", "content"} and torch.equal(out["loss"].detach(), out["content"])
    out["loss"].backward()
    assert all(p.grad is None for p in d.parameters())


def test_salgan_adversarial_phase_alternates_d_then_g():
    g, d, objective = _salgan()
    objective.set_epoch(15)
    assert objective.train_discriminator
    assert [objective.updates_for(i) for i in range(4)] == [("d",), ("g",), ("d",), ("g",)]
    out = objective.g_step(_batch())
    assert set(out) == {"loss", "content", "adversarial"}
    assert torch.allclose(out["loss"], 0.05 * out["content"] + out["adversarial"])


def test_d_step_does_not_touch_the_generator():
    g, d, objective = _salgan(warmup=0)
    out = objective.d_step(_batch())
    out["loss"].backward()
    assert all(p.grad is None for p in g.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in d.parameters())
    assert 0 < out["d_real"] < 1 and 0 < out["d_fake"] < 1


def test_text_objective_passes_text_to_g_and_d1_only():
    torch.manual_seed(0)
    g = TextSalGANGenerator(text_dim=8, variant="G1", arch="small", width=1 / 16, text_channels=4)
    d2 = TextSalGANDiscriminator(text_dim=8, variant="D2", arch="small", input_size=SIZE, width=1 / 16)
    objective = TextSalGANObjective(g, d2)
    assert objective.train_discriminator and objective.updates_for(1) == ("d", "g")
    batch = _batch(text_dim=8)
    assert set(objective.g_step(batch)) == {"loss", "content", "adversarial"}
    assert objective.d_step(batch)["loss"].ndim == 0
    with pytest.raises(InputError, match="'text'"):
        objective.g_step(_batch())


def test_missing_maps_is_an_input_error():
    _, _, objective = _salgan()
    with pytest.raises(InputError, match="'maps'"):
        objective.g_step({"images": torch.zeros(1, 3, *SIZE)})
    with pytest.raises(InputError, match="d_reduction"):
        SalGANObjective(None, None, d_reduction="max")


def test_text_generator_learns_a_text_dependent_map():
    """Two texts, two targets (left / right half salient): the small G1 model must tell them apart."""
    torch.manual_seed(0)
    g = TextSalGANGenerator(text_dim=4, variant="G1", arch="small", width=1 / 8, text_channels=4)
    d = TextSalGANDiscriminator(text_dim=4, variant="D2", arch="small", input_size=(16, 16), width=1 / 16)
    objective = TextSalGANObjective(g, d, warmup_epochs=100)  # content-only: fast and deterministic
    images = torch.zeros(2, 3, 16, 16)
    maps = torch.zeros(2, 1, 16, 16)
    maps[0, :, :, :8] = 1.0
    maps[1, :, :, 8:] = 1.0
    batch = {"images": images, "maps": maps, "text": torch.eye(4)[:2]}
    opt = torch.optim.Adam(g.parameters(), lr=1e-2)
    for _ in range(60):
        loss = objective.g_step(batch)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    g.eval()
    with torch.no_grad():
        pred = g(images, batch["text"])
    assert pred[0, 0, :, :8].mean() > pred[0, 0, :, 8:].mean() + 0.3
    assert pred[1, 0, :, 8:].mean() > pred[1, 0, :, :8].mean() + 0.3
