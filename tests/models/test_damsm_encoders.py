"""DAMSM image encoders: shapes, frozen Inception trunk, weight-file errors, save/load round trip."""

import pytest
import torch

from wordsight.hub import from_pretrained, save_pretrained
from wordsight.models.damsm import (
    INCEPTION_TRUNK_MODULES,
    InceptionDAMSMImageEncoder,
    SmallDAMSMImageEncoder,
    load_attngan_image_encoder_state,
    read_torchvision_inception_v3_state,
)
from wordsight.utils.checks import InputError


def _images(b=2, size=16, seed=0):
    return torch.rand(b, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_small_encoder_shapes_and_region_size():
    enc = SmallDAMSMImageEncoder(image_size=16, channels=(4, 8, 12), embed_dim=6)
    regions, glob = enc(_images())
    assert regions.shape == (2, 6, 4, 4) and glob.shape == (2, 6)
    assert enc.region_size == 4


def test_small_encoder_resizes_other_inputs_like_attngan():
    enc = SmallDAMSMImageEncoder(image_size=16, channels=(4, 8), embed_dim=6).eval()
    big = _images(size=32)
    regions, glob = enc(big)
    assert regions.shape == (2, 6, 8, 8)
    resized = torch.nn.functional.interpolate(big, size=(16, 16), mode="bilinear", align_corners=False)
    assert torch.allclose(glob, enc(resized)[1])


def test_small_encoder_images_do_not_interact_within_a_batch():
    enc = SmallDAMSMImageEncoder(image_size=16, channels=(4, 8), embed_dim=6).train()
    x = _images(b=3)
    alone = enc(x[:1])[1]
    assert torch.allclose(enc(x)[1][:1], alone, atol=1e-6)  # GroupNorm, no batch statistics


@pytest.mark.parametrize(
    "kwargs, match",
    [({"image_size": 18, "channels": (4, 8)}, "multiple"), ({"channels": (4,)}, "at least 2"), ({"embed_dim": 0}, "embed_dim")],
)
def test_small_encoder_bad_config(kwargs, match):
    with pytest.raises(InputError, match=match):
        SmallDAMSMImageEncoder(**kwargs)


def test_encoders_reject_bad_images():
    enc = SmallDAMSMImageEncoder(image_size=16, channels=(4, 8), embed_dim=6)
    with pytest.raises(InputError, match="images"):
        enc(torch.zeros(2, 1, 16, 16))
    with pytest.raises(InputError, match="float"):
        enc(torch.zeros(2, 3, 16, 16, dtype=torch.uint8))


def test_small_encoder_save_load_round_trip(tmp_path):
    enc = SmallDAMSMImageEncoder(image_size=16, channels=(4, 8), embed_dim=6).eval()
    save_pretrained(enc, tmp_path / "enc")
    loaded = from_pretrained(tmp_path / "enc")
    assert isinstance(loaded, SmallDAMSMImageEncoder) and loaded.config == enc.config
    x = _images()
    for a, b in zip(enc(x), loaded(x)):
        assert torch.equal(a, b)


def test_small_encoder_gradients_reach_every_parameter():
    enc = SmallDAMSMImageEncoder(image_size=16, channels=(4, 8), embed_dim=6)
    regions, glob = enc(_images())
    (regions.square().mean() + glob.square().mean()).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in enc.parameters())


def test_inception_missing_weights_file_names_it(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere" / "inception_v3_google-0cc3c7bd.pth"
    with pytest.raises(InputError, match="inception_v3_google-0cc3c7bd.pth"):
        InceptionDAMSMImageEncoder(weights=str(missing))
    monkeypatch.setenv("WORDSIGHT_INCEPTION_V3", str(missing))
    with pytest.raises(InputError, match=str(missing.parent)):
        InceptionDAMSMImageEncoder()


def test_inception_weights_that_are_not_a_state_dict(tmp_path):
    path = tmp_path / "bad.pth"
    torch.save({"something": torch.zeros(2)}, path)
    with pytest.raises(InputError, match="not a torchvision Inception-v3"):
        read_torchvision_inception_v3_state(path)
    path.write_bytes(b"not a pickle")
    with pytest.raises(InputError, match="cannot read"):
        read_torchvision_inception_v3_state(path)


@pytest.fixture(scope="module")
def random_inception():
    return InceptionDAMSMImageEncoder(embed_dim=8, weights=None)


def test_inception_shapes_from_a_tiny_input(random_inception):
    with torch.no_grad():
        regions, glob = random_inception(_images(b=1, size=16))
    assert regions.shape == (1, 8, 17, 17) and glob.shape == (1, 8)  # 299 px: Mixed_6e is 17 x 17


def test_inception_trunk_is_frozen_and_stays_in_eval(random_inception):
    enc = random_inception.train()
    trainable = {n.split(".")[0] for n, p in enc.named_parameters() if p.requires_grad}
    assert trainable == {"emb_features", "emb_cnn_code"}
    assert all(not getattr(enc, name).training for name in INCEPTION_TRUNK_MODULES)
    assert enc.emb_features.training
    assert enc.emb_features.weight.abs().max() <= 0.1  # AttnGAN init U(-0.1, 0.1)


def test_attngan_state_loading_errors(tmp_path, random_inception):
    with pytest.raises(InputError, match="not found"):
        load_attngan_image_encoder_state(random_inception, tmp_path / "image_encoder200.pth")
    torch.save({"emb_features.weight": torch.zeros(8, 768, 1, 1)}, tmp_path / "partial.pth")
    with pytest.raises(InputError, match="missing"):
        load_attngan_image_encoder_state(random_inception, tmp_path / "partial.pth")


@pytest.mark.slow
def test_inception_loads_torchvision_file_and_attngan_state(tmp_path, random_inception):
    """Writes ~100 MB: a torchvision-format file from a random Inception-v3, loaded back exactly."""
    from torchvision.models import inception_v3

    net = inception_v3(weights=None, aux_logits=True, init_weights=False)
    path = tmp_path / "inception_v3_google-0cc3c7bd.pth"
    torch.save(net.state_dict(), path)
    enc = InceptionDAMSMImageEncoder(embed_dim=8, weights=str(path))
    assert torch.equal(enc.Mixed_7c.branch_pool.conv.weight, net.Mixed_7c.branch_pool.conv.weight)
    # AttnGAN's released files: the whole CNN_ENCODER state dict, older ones without num_batches_tracked
    state = {k: v for k, v in enc.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(state, tmp_path / "image_encoder200.pth")
    load_attngan_image_encoder_state(random_inception, tmp_path / "image_encoder200.pth")
    assert torch.equal(random_inception.emb_cnn_code.weight, enc.emb_cnn_code.weight)
