"""The saliency training loop: losses go down, resume is exact, schedules run, bad data is refused."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from wordsight.config import ConfigError
from wordsight.data.records import SaliencyRecord
from wordsight.training.saliency import SaliencyTrainConfig, build_networks, check_config, train_saliency
from wordsight.training.saliency_data import SaliencyDataConfig, open_saliency_records, records_to_tensors
from wordsight.utils import InputError


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _records(n=6, size=32):
    return open_saliency_records("synthetic", "train", SaliencyDataConfig(num_scenes=n, image_size=size))


def _hash_text(texts):
    out = torch.zeros(len(texts), 8)
    for i, t in enumerate(texts):
        if t:
            g = torch.Generator().manual_seed(sum(map(ord, t)))
            out[i] = torch.rand(8, generator=g)
    return out


def _text_cfg(**kw):
    base = dict(system="text-salgan", input_size=(32, 32), model={"arch": "small", "width": 1 / 16, "text_channels": 4},
                discriminator={"variant": "D2", "width": 1 / 16, "text_channels": 4}, optimizer="adam", lr=3e-3,
                batch_size=8, steps=24, log_every=4, checkpoint_every=12, progress=False)
    return SaliencyTrainConfig(**{**base, **kw})


def _log(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_text_salgan_lowers_content_loss_and_writes_run_folder(tmp_path):
    data = records_to_tensors(_records(), (32, 32), _hash_text)
    result = train_saliency(_text_cfg(), data, tmp_path)
    content = [r["g/content"] for r in _log(result.run_dir) if "g/content" in r]
    assert content[-1] < content[0]
    assert (result.run_dir / "generator" / "model.safetensors").exists()
    assert list((result.run_dir / "samples").glob("step-*.png"))
    assert any("val/cc" in r for r in _log(result.run_dir))


def test_resume_continues_exactly(tmp_path):
    data = records_to_tensors(_records(), (32, 32), _hash_text)
    full = train_saliency(_text_cfg(steps=12), data, tmp_path / "a")
    half = train_saliency(_text_cfg(steps=6, checkpoint_every=6), data, tmp_path / "b")
    resumed = train_saliency(_text_cfg(steps=12), data, tmp_path / "b", resume=str(half.run_dir))
    assert resumed.run_dir == half.run_dir and resumed.step == 12
    for (k, a), b in zip(full.generator.state_dict().items(), resumed.generator.state_dict().values()):
        torch.testing.assert_close(a, b, msg=k)
    steps = [r["step"] for r in _log(resumed.run_dir) if "g/loss" in r]
    assert steps == sorted(set(steps))  # the resumed part was not logged twice


def test_salgan_warmup_then_alternates_d_and_g(tmp_path):
    data = records_to_tensors(_records(4), (32, 32))
    cfg = SaliencyTrainConfig(system="salgan", input_size=(32, 32), model={"width": 1 / 16}, discriminator={"width": 1 / 8},
                              objective={"warmup_epochs": 1}, random_init=True, optimizer="adam", lr=1e-3,
                              batch_size=8, steps=6, log_every=1, checkpoint_every=6, progress=False)
    result = train_saliency(cfg, data, tmp_path)
    log = [r for r in _log(result.run_dir) if "step" in r and ("g/loss" in r or "d/loss" in r)]
    assert "d/loss" not in log[0] and "d/loss" in log[2]  # 2 batches per epoch: epoch 0 is BCE only
    assert "g/adversarial" in log[3]


def test_salicon_trains_from_random_init(tmp_path):
    data = records_to_tensors(_records(4, 64), (64, 64))
    cfg = SaliencyTrainConfig(system="salicon", input_size=(64, 64), model={"width": 1 / 16}, random_init=True,
                              optimizer="adam", lr=3e-2, batch_size=8, steps=20, log_every=5, progress=False)
    result = train_saliency(cfg, data, tmp_path)
    losses = [r["g/loss"] for r in _log(result.run_dir) if "g/loss" in r]
    assert losses[-1] < losses[0]


def test_config_and_data_errors(tmp_path):
    with pytest.raises(ConfigError, match="valid"):
        check_config(SaliencyTrainConfig(system="salgan", model={"widht": 1}))
    with pytest.raises(ConfigError, match="system"):
        check_config(SaliencyTrainConfig(system="gan"))
    with pytest.raises(InputError, match="VGG-16 weights not found"):
        build_networks(SaliencyTrainConfig(system="salgan", vgg_weights=str(tmp_path / "none.pth"), model={"width": 1 / 16}))
    bad = SaliencyRecord("bad", Image.new("RGB", (32, 24)), fixation_map=np.ones((10, 10)))
    with pytest.raises(InputError, match="bad: fixation map"):
        records_to_tensors([bad], (16, 16))
    with pytest.raises(InputError, match="lacks text"):
        train_saliency(_text_cfg(), records_to_tensors(_records(2), (32, 32)), tmp_path)
    with pytest.raises(InputError, match="unknown saliency data"):
        open_saliency_records("mit:/x")


# ------------------------------------------------------------------ augmentation and the learned prior


def _salgan_cfg(**kw):
    base = dict(system="salgan", input_size=(32, 32), model={"width": 1 / 16, "center_prior": 4},
                discriminator={"width": 1 / 8}, objective={"warmup_epochs": 1}, random_init=True, optimizer="adam",
                lr=1e-3, batch_size=4, steps=8, log_every=2, checkpoint_every=8, progress=False,
                augment={"hflip": 0.5, "zoom": 0.3, "color": 0.2})
    return SaliencyTrainConfig(**{**base, **kw})


def test_resume_is_exact_with_augmentation_and_a_learned_prior(tmp_path):
    data = records_to_tensors(_records(4), (32, 32))
    full = train_saliency(_salgan_cfg(), data, tmp_path / "a")
    half = train_saliency(_salgan_cfg(steps=4, checkpoint_every=4), data, tmp_path / "b")
    resumed = train_saliency(_salgan_cfg(), data, tmp_path / "b", resume=str(half.run_dir))
    for (k, a), b in zip(full.generator.state_dict().items(), resumed.generator.state_dict().values()):
        torch.testing.assert_close(a, b, msg=k)
    assert float(full.generator.prior.weight.detach().abs().sum()) > 0  # the prior learned something
    plain = train_saliency(_salgan_cfg(augment={}), data, tmp_path / "c")
    assert not torch.equal(plain.generator.decoder.output.weight, full.generator.decoder.output.weight)


def test_augment_moves_image_and_map_together():
    from wordsight.training.saliency_data import augment_saliency_batch

    images = -torch.ones(2, 3, 16, 16)
    maps = torch.zeros(2, 1, 16, 16)
    images[:, :, 4:7, 2:5] = 1.0  # a bright patch that is also the only fixated region
    maps[:, :, 4:7, 2:5] = 1.0
    batch = {"images": images, "maps": maps}
    flipped = augment_saliency_batch(batch, torch.Generator().manual_seed(0), hflip=1.0)
    assert torch.equal(flipped["images"], images.flip(-1)) and torch.equal(flipped["maps"], maps.flip(-1))
    for seed in range(5):
        zoomed = augment_saliency_batch(batch, torch.Generator().manual_seed(seed), zoom=0.5)
        bright = zoomed["images"].mean(1, keepdim=True) > 0
        salient = zoomed["maps"] > 0.5
        assert torch.allclose(zoomed["maps"].amax(dim=(1, 2, 3)), torch.ones(2))  # still max 1
        assert (bright & salient).sum() >= 0.8 * salient.sum()  # the map stayed on the patch
    jittered = augment_saliency_batch(batch, torch.Generator().manual_seed(0), color=0.5)
    assert torch.equal(jittered["maps"], maps) and not torch.equal(jittered["images"], images)
    assert jittered["images"].min() >= -1 and jittered["images"].max() <= 1


def test_bad_augment_options_are_config_errors():
    with pytest.raises(ConfigError, match="unknown augment"):
        check_config(_salgan_cfg(augment={"rotate": 0.1}))
    with pytest.raises(ConfigError, match="in \\[0, 1\\]"):
        check_config(_salgan_cfg(augment={"hflip": 2}))


def test_learned_prior_starts_neutral_and_is_saved():
    from wordsight.hub import from_pretrained, save_pretrained
    from wordsight.models.salgan import SalGANGenerator

    torch.manual_seed(0)
    with_prior = SalGANGenerator(width=1 / 16, frozen_blocks=0, center_prior=3)
    without = SalGANGenerator(width=1 / 16, frozen_blocks=0)
    without.load_state_dict({k: v for k, v in with_prior.state_dict().items() if not k.startswith("prior.")})
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    torch.testing.assert_close(with_prior(x), without(x))  # zero weights: no change until trained
    with torch.no_grad():
        with_prior.prior.weight.fill_(2.0)
    shifted = with_prior(x)
    assert shifted[0, 0, 16, 16] > without(x)[0, 0, 16, 16]  # a positive prior raises the centre
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        save_pretrained(with_prior, d)
        torch.testing.assert_close(from_pretrained(d)(x), shifted)
